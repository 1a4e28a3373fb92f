#include "ttrpc/frame.hpp"

#include <algorithm>
#include <cstring>

namespace reaper::ttrpc {
namespace {

void put_be32(char* p, std::uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

std::uint32_t get_be32(const char* p) {
  auto b = [p](int i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

}  // namespace

void encode_header(const FrameHeader& header, std::span<char, kHeaderSize> out) {
  put_be32(out.data(), header.length);
  put_be32(out.data() + 4, header.stream_id);
  out[8] = static_cast<char>(header.type);
  out[9] = static_cast<char>(header.flags);
}

FrameHeader decode_header(std::span<const char, kHeaderSize> in) {
  return FrameHeader{
      .length = get_be32(in.data()),
      .stream_id = get_be32(in.data() + 4),
      .type = static_cast<MessageType>(static_cast<unsigned char>(in[8])),
      .flags = static_cast<std::uint8_t>(in[9]),
  };
}

std::optional<std::string> encode_frame(std::uint32_t stream_id, MessageType type,
                                        std::uint8_t flags, std::string_view data) {
  if (data.size() > kMaxMessageSize) return std::nullopt;
  std::string out(kHeaderSize + data.size(), '\0');
  encode_header(FrameHeader{static_cast<std::uint32_t>(data.size()), stream_id, type, flags},
                std::span<char, kHeaderSize>(out.data(), kHeaderSize));
  if (!data.empty()) std::memcpy(out.data() + kHeaderSize, data.data(), data.size());
  return out;
}

void FrameDecoder::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    switch (state_) {
      case State::Header: {
        std::size_t n = std::min(kHeaderSize - header_fill_, bytes.size());
        std::memcpy(header_buf_ + header_fill_, bytes.data(), n);
        header_fill_ += n;
        bytes.remove_prefix(n);
        if (header_fill_ < kHeaderSize) break;
        header_fill_ = 0;
        header_ = decode_header(std::span<const char, kHeaderSize>(header_buf_, kHeaderSize));
        remaining_ = header_.length;
        if (header_.length > max_length_) {
          state_ = State::Discard;
        } else {
          // Reserve what was announced: it is bounded by max_length_.
          body_.clear();
          body_.reserve(header_.length);
          state_ = State::Body;
        }
        if (remaining_ == 0) finish_frame(false);  // zero-length data is legal
        break;
      }
      case State::Body: {
        std::size_t n = std::min<std::size_t>(remaining_, bytes.size());
        body_.append(bytes.data(), n);
        bytes.remove_prefix(n);
        remaining_ -= static_cast<std::uint32_t>(n);
        if (remaining_ == 0) finish_frame(false);
        break;
      }
      case State::Discard: {
        std::size_t n = std::min<std::size_t>(remaining_, bytes.size());
        bytes.remove_prefix(n);
        remaining_ -= static_cast<std::uint32_t>(n);
        if (remaining_ == 0) finish_frame(true);
        break;
      }
    }
  }
}

void FrameDecoder::finish_frame(bool oversized) {
  Frame frame{header_, oversized ? std::string() : std::move(body_), oversized};
  body_ = std::string();
  ready_.push_back(std::move(frame));
  state_ = State::Header;
}

std::optional<Frame> FrameDecoder::next() {
  if (ready_.empty()) return std::nullopt;
  Frame frame = std::move(ready_.front());
  ready_.pop_front();
  return frame;
}

}  // namespace reaper::ttrpc
