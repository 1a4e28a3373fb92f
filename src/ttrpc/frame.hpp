#pragma once
// ttrpc framing: a 10-byte big-endian header (data length, stream id, type,
// flags) followed by `length` bytes of protobuf data.
//
// Deliberately free of core/error.hpp (std::expected) so that the fuzz harness
// can be built with clang 14, whose libstdc++ <expected> support is missing.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace reaper::ttrpc {

inline constexpr std::size_t kHeaderSize = 10;
// Largest data length either side accepts (ttrpc's messageLengthMax).
inline constexpr std::uint32_t kMaxMessageSize = 4u << 20;

// A fixed uint8_t underlying type, so any byte off the wire is a valid value.
enum class MessageType : std::uint8_t {
  Request = 0x01,
  Response = 0x02,
  Data = 0x03,
};

// Flag bits; their meaning depends on the message type (streaming only).
inline constexpr std::uint8_t kFlagRemoteClosed = 0x01;
inline constexpr std::uint8_t kFlagRemoteOpen = 0x02;
inline constexpr std::uint8_t kFlagNoData = 0x04;

struct FrameHeader {
  std::uint32_t length = 0;
  std::uint32_t stream_id = 0;
  MessageType type = MessageType::Request;
  std::uint8_t flags = 0;

  bool operator==(const FrameHeader&) const = default;
};

void encode_header(const FrameHeader& header, std::span<char, kHeaderSize> out);
FrameHeader decode_header(std::span<const char, kHeaderSize> in);

// Header + data as one buffer, ready to write. nullopt if data is larger than
// kMaxMessageSize (ttrpc >= 1.2 peers refuse to send such frames, so do we).
std::optional<std::string> encode_frame(std::uint32_t stream_id, MessageType type,
                                        std::uint8_t flags, std::string_view data);

struct Frame {
  FrameHeader header;
  std::string data;
  // The peer announced more than the decoder's maximum: the data was read and
  // thrown away (data is empty). The receiver answers RESOURCE_EXHAUSTED on
  // header.stream_id and keeps the connection.
  bool oversized = false;
};

// Incremental decoder for a byte stream: feed() whatever the socket returned,
// then drain next() until it yields nullopt. Holds at most one partial frame;
// the data of an oversized frame is skipped, never buffered.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::uint32_t max_length = kMaxMessageSize) : max_length_(max_length) {}

  void feed(std::string_view bytes);
  std::optional<Frame> next();

  // True when no partial frame is pending (i.e. the stream is at a boundary).
  bool at_boundary() const { return state_ == State::Header && header_fill_ == 0; }

 private:
  enum class State { Header, Body, Discard };

  void finish_frame(bool oversized);

  std::uint32_t max_length_;
  State state_ = State::Header;
  char header_buf_[kHeaderSize] = {};
  std::size_t header_fill_ = 0;
  FrameHeader header_;
  std::string body_;
  std::uint32_t remaining_ = 0;  // body bytes still expected (Body or Discard)
  std::deque<Frame> ready_;
};

}  // namespace reaper::ttrpc
