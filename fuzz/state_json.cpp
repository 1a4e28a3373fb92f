// Fuzz target: state.json, as read back by `state`, `list`, the shim and the operator's
// CLI (written by a monitor, but read after crashes, truncation or a hand edit). Any
// input gives a state or an error; a state that was read writes out as JSON that reads
// back to the same state.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/state_store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto state = reaper::state_from_json(text);
  if (!state) return 0;
  const std::string once = reaper::to_json(*state);
  auto again = reaper::state_from_json(once);
  if (!again) __builtin_trap();                        // what we write, we read
  if (reaper::to_json(*again) != once) __builtin_trap();  // and it is the same state
  return 0;
}
