// Fuzz target: the frame decoder and the Request envelope parser (the server's whole
// untrusted-input path before the handler).
//
// The first input byte picks the chunk size, so splits at every offset are
// exercised; a small maximum makes the oversized path reachable.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ttrpc.pb.h"
#include "ttrpc/frame.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = static_cast<std::size_t>(data[0] % 32) + 1;
  const std::uint32_t max_length = (data[0] & 0x80) ? 64 : reaper::ttrpc::kMaxMessageSize;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  reaper::ttrpc::FrameDecoder decoder(max_length);
  while (!input.empty()) {
    const std::size_t n = input.size() < chunk ? input.size() : chunk;
    decoder.feed(input.substr(0, n));
    input.remove_prefix(n);
    while (auto frame = decoder.next()) {
      if (frame->oversized) {
        if (!frame->data.empty() || frame->header.length <= max_length) __builtin_trap();
        continue;
      }
      if (frame->data.size() != frame->header.length) __builtin_trap();
      if (frame->header.type != reaper::ttrpc::MessageType::Request) continue;
      ::ttrpc::Request request;
      if (request.ParseFromString(frame->data)) {
        // Re-encoding what we parsed must parse again.
        ::ttrpc::Request again;
        if (!again.ParseFromString(request.SerializeAsString())) __builtin_trap();
      }
    }
  }
  return 0;
}
