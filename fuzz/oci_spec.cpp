// Fuzz target: the config.json parser (a bundle's OCI spec, and the process.json of an
// exec). Any input gives a value or an error: never a crash, a hang or undefined
// behaviour.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/oci_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = reaper::oci::parse_spec(text);
  if (spec && spec->process.args.empty()) __builtin_trap();  // the parser promises args
  auto process = reaper::oci::parse_process(text);
  if (process && (process->args.empty() || process->args[0].empty())) __builtin_trap();
  return 0;
}
