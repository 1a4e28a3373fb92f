#pragma once
// The ttrpc.Request / ttrpc.Response envelopes, shared by server and client so
// that the protobuf types stay out of the public headers.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ttrpc/status.hpp"

namespace reaper::ttrpc {

using Metadata = std::vector<std::pair<std::string, std::string>>;

// Success: only the payload (an Empty reply is 0 bytes, as the Go server sends
// it). Error: only status{code, message}, no payload.
std::string encode_response(const Status& status, std::string_view payload);

struct DecodedResponse {
  Status status;  // Ok when the status field is absent or has code 0
  std::string payload;
};
std::optional<DecodedResponse> decode_response(std::string_view data);

std::string encode_request(std::string_view service, std::string_view method,
                           std::string_view payload, std::int64_t timeout_nano,
                           const Metadata& metadata);

// proto3 string fields must be valid UTF-8 (Go peers reject the whole message
// otherwise); replaces each invalid byte with '?'.
std::string to_valid_utf8(std::string_view text);

}  // namespace reaper::ttrpc
