// Fuzz target: the ttrpc messages reaper decodes beyond the frame (fuzz/ttrpc_frame.cpp):
// a Response envelope as the client reads it from containerd, what containerd writes on
// the shim's stdin at `start` (an Any or a BootstrapParams), and the UTF-8 repair every
// string sent to a Go peer goes through. The first byte picks which.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shim/start_input.hpp"
#include "ttrpc/wire.hpp"

namespace {

// Strict UTF-8 as Go's protobuf checks it: no overlong forms, no surrogates, <= U+10FFFF.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    const unsigned c = p[i];
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) { ++i; continue; }
    if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
    else return false;
    if (i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return false;
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return false;
    i += n + 1;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto response = reaper::ttrpc::decode_response(input);
      if (!response) break;
      // What the server encodes for a decoded status and payload decodes the same.
      auto again = reaper::ttrpc::decode_response(
          reaper::ttrpc::encode_response(response->status, response->payload));
      if (!again || again->status.code != response->status.code) __builtin_trap();
      if (response->status.code == reaper::ttrpc::Code::Ok && again->payload != response->payload)
        __builtin_trap();
      break;
    }
    case 1: {
      auto start = reaper::shim::parse_start_input(input);
      if (!start.bootstrap && (!start.ns.empty() || start.socket_dir)) __builtin_trap();
      break;
    }
    case 2: {
      const std::string repaired = reaper::ttrpc::to_valid_utf8(input);
      if (!valid_utf8(repaired)) __builtin_trap();
      if (valid_utf8(input) && repaired != input) __builtin_trap();  // valid text is kept
      break;
    }
  }
  return 0;
}
