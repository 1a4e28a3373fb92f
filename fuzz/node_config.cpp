// Fuzz target: reaper.conf (KEY=VALUE lines) and the REAPER_* environment that overrides
// it. The input is the file's text, then optionally a NUL byte and environment entries
// separated by NUL bytes. Any input gives a configuration or an error naming the line.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/node_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nul = input.find('\0');
  std::string_view text = input.substr(0, nul);
  std::vector<std::string> environment;
  if (nul != std::string_view::npos) {
    std::string_view rest = input.substr(nul + 1);
    while (!rest.empty()) {
      const auto next = rest.find('\0');
      environment.emplace_back(rest.substr(0, next));
      rest.remove_prefix(next == std::string_view::npos ? rest.size() : next + 1);
    }
  }
  auto config = reaper::parse_node_config(text, "fuzz.conf", environment);
  if (config) {
    // A valid configuration has an absolute overlay root that never climbs out ("..")
    // and absolute mask paths.
    const std::string& root = config->overlay_root;
    if (root.empty() || root.front() != '/') __builtin_trap();
    if (root.find("/../") != std::string::npos || root.ends_with("/..")) __builtin_trap();
    for (const auto& p : config->mask_paths)
      if (p.empty() || p.front() != '/') __builtin_trap();
    for (const auto& p : config->mask_allow)
      if (p.empty() || p.front() != '/') __builtin_trap();
  } else if (config.error().message.empty()) {
    __builtin_trap();  // an error says what is wrong
  }
  return 0;
}
