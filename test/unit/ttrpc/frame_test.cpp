#include <catch2/catch.hpp>

#include <string>

#include "ttrpc/frame.hpp"

using namespace reaper::ttrpc;

namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

std::vector<Frame> drain(FrameDecoder& d) {
  std::vector<Frame> out;
  while (auto f = d.next()) out.push_back(std::move(*f));
  return out;
}

}  // namespace

TEST_CASE("frame header is 10 bytes big-endian", "[ttrpc][frame]") {
  // The Connect request containerd 1.6 sent: length 0x28, stream 5, Request.
  std::string out(kHeaderSize, '\0');
  encode_header(FrameHeader{0x28, 5, MessageType::Request, 0},
                std::span<char, kHeaderSize>(out.data(), kHeaderSize));
  CHECK(out == bytes({0, 0, 0, 0x28, 0, 0, 0, 5, 1, 0}));

  const std::string wire = bytes({0x01, 0x02, 0x03, 0x04, 0xff, 0xfe, 0xfd, 0xfc, 0x03, 0x05});
  const FrameHeader h = decode_header(std::span<const char, kHeaderSize>(wire.data(), kHeaderSize));
  CHECK(h.length == 0x01020304u);
  CHECK(h.stream_id == 0xfffefdfcu);
  CHECK(h.type == MessageType::Data);
  CHECK(h.flags == (kFlagRemoteClosed | kFlagNoData));
}

TEST_CASE("encode_frame and FrameDecoder round trip", "[ttrpc][frame]") {
  const std::string payload = "hello ttrpc";
  auto frame = encode_frame(7, MessageType::Response, 0, payload);
  REQUIRE(frame);
  CHECK(frame->size() == kHeaderSize + payload.size());

  FrameDecoder d;
  CHECK(d.at_boundary());
  d.feed(*frame);
  auto frames = drain(d);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].header ==
        FrameHeader{static_cast<std::uint32_t>(payload.size()), 7, MessageType::Response, 0});
  CHECK(frames[0].data == payload);
  CHECK_FALSE(frames[0].oversized);
  CHECK(d.at_boundary());
}

TEST_CASE("decoder handles input split at every byte", "[ttrpc][frame]") {
  std::string stream = *encode_frame(1, MessageType::Request, 0, "abc") +
                       *encode_frame(3, MessageType::Request, kFlagRemoteOpen, "") +
                       *encode_frame(5, MessageType::Request, 0, std::string(1000, 'x'));
  FrameDecoder d;
  std::vector<Frame> frames;
  for (char c : stream) {
    d.feed(std::string_view(&c, 1));
    for (auto& f : drain(d)) frames.push_back(std::move(f));
  }
  REQUIRE(frames.size() == 3);
  CHECK(frames[0].data == "abc");
  CHECK(frames[1].header.stream_id == 3);
  CHECK(frames[1].header.flags == kFlagRemoteOpen);
  CHECK(frames[1].data.empty());
  CHECK(frames[2].data == std::string(1000, 'x'));
  CHECK(d.at_boundary());
}

TEST_CASE("partial input yields nothing until complete", "[ttrpc][frame]") {
  const std::string f = *encode_frame(9, MessageType::Request, 0, "payload");
  FrameDecoder d;
  d.feed(std::string_view(f).substr(0, 4));  // half a header
  CHECK_FALSE(d.next());
  CHECK_FALSE(d.at_boundary());
  d.feed(std::string_view(f).substr(4, 8));  // header done, part of the data
  CHECK_FALSE(d.next());
  d.feed(std::string_view(f).substr(12));
  auto frame = d.next();
  REQUIRE(frame);
  CHECK(frame->data == "payload");
}

TEST_CASE("zero-length frames are legal", "[ttrpc][frame]") {
  // A successful Shutdown reply as the Go server writes it.
  const std::string wire = bytes({0, 0, 0, 0, 0, 0, 0, 0x11, 0x02, 0});
  CHECK(*encode_frame(0x11, MessageType::Response, 0, "") == wire);
  FrameDecoder d;
  d.feed(wire);
  auto frame = d.next();
  REQUIRE(frame);
  CHECK(frame->header.length == 0);
  CHECK(frame->header.stream_id == 0x11);
  CHECK(frame->data.empty());
  CHECK_FALSE(frame->oversized);
}

TEST_CASE("oversized frames are skipped and reported", "[ttrpc][frame]") {
  CHECK(kMaxMessageSize == 4194304u);
  CHECK_FALSE(encode_frame(1, MessageType::Request, 0, std::string(kMaxMessageSize + 1, 'a')));
  CHECK(encode_frame(1, MessageType::Request, 0, std::string(kMaxMessageSize, 'a')));

  SECTION("default maximum") {
    std::string header(kHeaderSize, '\0');
    encode_header(FrameHeader{kMaxMessageSize + 1, 3, MessageType::Request, 0},
                  std::span<char, kHeaderSize>(header.data(), kHeaderSize));
    FrameDecoder d;
    d.feed(header);
    // Feed the data in chunks: nothing comes out until it has all been skipped.
    const std::string chunk(65536, 'z');
    std::size_t left = kMaxMessageSize + 1;
    while (left > 0) {
      CHECK_FALSE(d.next());
      std::size_t n = std::min(left, chunk.size());
      d.feed(std::string_view(chunk).substr(0, n));
      left -= n;
    }
    d.feed(*encode_frame(5, MessageType::Request, 0, "next"));
    auto frames = drain(d);
    REQUIRE(frames.size() == 2);
    CHECK(frames[0].oversized);
    CHECK(frames[0].header.length == kMaxMessageSize + 1);
    CHECK(frames[0].header.stream_id == 3);
    CHECK(frames[0].data.empty());
    CHECK(frames[1].data == "next");
    CHECK_FALSE(frames[1].oversized);
  }

  SECTION("custom maximum, boundary values") {
    FrameDecoder d(8);
    d.feed(*encode_frame(1, MessageType::Request, 0, "12345678"));   // exactly max
    d.feed(*encode_frame(3, MessageType::Request, 0, "123456789"));  // one over
    auto frames = drain(d);
    REQUIRE(frames.size() == 2);
    CHECK_FALSE(frames[0].oversized);
    CHECK(frames[0].data == "12345678");
    CHECK(frames[1].oversized);
    CHECK(frames[1].header.length == 9);
  }
}

TEST_CASE("unknown message types and flags pass through", "[ttrpc][frame]") {
  std::string header(kHeaderSize, '\0');
  encode_header(FrameHeader{0, 2, static_cast<MessageType>(0x7f), 0xff},
                std::span<char, kHeaderSize>(header.data(), kHeaderSize));
  FrameDecoder d;
  d.feed(header);
  auto frame = d.next();
  REQUIRE(frame);
  CHECK(static_cast<int>(frame->header.type) == 0x7f);
  CHECK(frame->header.flags == 0xff);
}
