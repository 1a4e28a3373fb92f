// Fuzz target: /proc/self/mountinfo lines as the overlay code and the operator's CLI
// read them (paths with escaped spaces, optional fields, a missing separator). Any input
// gives entries or an error; every entry has a mount point and a filesystem type.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/mountinfo.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto entries = reaper::parse_mountinfo(text);
  if (!entries) return 0;
  for (const auto& e : *entries) {
    if (e.mount_point.empty() || e.fstype.empty()) __builtin_trap();
    if (reaper::path_within(e.mount_point, e.mount_point) != true) __builtin_trap();
    (void)reaper::host_bound(e.mount_point);
  }
  return 0;
}
