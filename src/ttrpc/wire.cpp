#include "ttrpc/wire.hpp"

#include "ttrpc.pb.h"

namespace reaper::ttrpc {

std::string encode_response(const Status& status, std::string_view payload) {
  ::ttrpc::Response response;
  if (status.is_ok()) {
    response.set_payload(std::string(payload));
  } else {
    auto* st = response.mutable_status();
    st->set_code(static_cast<std::int32_t>(status.code));
    st->set_message(to_valid_utf8(status.message));
  }
  return response.SerializeAsString();
}

std::optional<DecodedResponse> decode_response(std::string_view data) {
  ::ttrpc::Response response;
  if (!response.ParseFromArray(data.data(), static_cast<int>(data.size()))) return std::nullopt;
  DecodedResponse out;
  if (response.has_status()) {
    out.status.code = static_cast<Code>(response.status().code());
    out.status.message = std::move(*response.mutable_status()->mutable_message());
  }
  out.payload = std::move(*response.mutable_payload());
  return out;
}

std::string encode_request(std::string_view service, std::string_view method,
                           std::string_view payload, std::int64_t timeout_nano,
                           const Metadata& metadata) {
  ::ttrpc::Request request;
  request.set_service(to_valid_utf8(service));
  request.set_method(to_valid_utf8(method));
  request.set_payload(std::string(payload));
  request.set_timeout_nano(timeout_nano);
  for (const auto& [key, value] : metadata) {
    auto* kv = request.add_metadata();
    kv->set_key(to_valid_utf8(key));
    kv->set_value(to_valid_utf8(value));
  }
  return request.SerializeAsString();
}

std::string to_valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    }
    bool ok = len != 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80)
        ok = false;
      else
        cp = cp << 6 | (p[i + k] & 0x3F);
    }
    // Reject overlong forms, surrogates and values past U+10FFFF.
    if (ok) {
      static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (ok) {
      out.append(text.data() + i, len);
      i += len;
    } else {
      out.push_back('?');
      ++i;
    }
  }
  return out;
}

}  // namespace reaper::ttrpc
