#pragma once
// Helpers for the ttrpc tests: a temp dir, an io_context pump with a safety
// deadline, and a raw frame-level peer for feeding the server bad input.
#include <stdlib.h>

#include <array>
#include <chrono>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>

#include "ttrpc/frame.hpp"

namespace reaper::ttrpc::test {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/reaper-ttrpc-XXXXXX";
    const char* p = ::mkdtemp(tmpl);
    path = p ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

// Runs handlers until pred() is true. The deadline only guards against a hung
// test; a passing test never waits for it.
template <class Pred>
bool pump_until(boost::asio::io_context& io, Pred pred,
                std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(std::chrono::milliseconds(100));
  }
  return true;
}

// Runs whatever is ready right now, without waiting.
inline void drain_ready(boost::asio::io_context& io) {
  if (io.stopped()) io.restart();
  io.poll();
}

inline std::string frame_bytes(std::uint32_t id, MessageType type, std::string_view data,
                               std::uint8_t flags = 0) {
  return *encode_frame(id, type, flags, data);
}

// A client that speaks raw frames, on the same io_context as the server.
class RawPeer {
 public:
  RawPeer(boost::asio::io_context& io, const std::string& path) : io_(io), socket_(io) {
    boost::system::error_code ec;
    socket_.connect(boost::asio::local::stream_protocol::endpoint(path), ec);
    connected_ = !ec;
    if (connected_) read();
  }

  bool connected() const { return connected_; }
  bool eof() const { return state_->eof; }

  // Writes are queued and sent one at a time (concurrent async_writes on one
  // socket would interleave).
  void send(std::string bytes) {
    out_.push_back(std::move(bytes));
    if (out_.size() == 1) write_next();
  }

  // Next decoded frame, or nullopt on EOF / deadline.
  std::optional<Frame> next_frame() {
    pump_until(io_, [&] { return !state_->frames.empty() || state_->eof; });
    if (state_->frames.empty()) return std::nullopt;
    Frame f = std::move(state_->frames.front());
    state_->frames.pop_front();
    return f;
  }

  // Frames already received, without running the io_context.
  std::size_t buffered_frames() const { return state_->frames.size(); }

  void close() {
    boost::system::error_code ec;
    socket_.close(ec);
  }

 private:
  struct State {
    FrameDecoder decoder;
    std::deque<Frame> frames;
    bool eof = false;
    std::array<char, 65536> buf{};
  };

  void write_next() {
    if (out_.empty()) return;
    boost::asio::async_write(socket_, boost::asio::buffer(out_.front()),
                             [this](const boost::system::error_code& ec, std::size_t) {
                               if (ec) return;  // `this` may be gone once the socket is closed
                               out_.pop_front();
                               write_next();
                             });
  }

  void read() {
    socket_.async_read_some(
        boost::asio::buffer(state_->buf),
        [this, st = state_](const boost::system::error_code& ec, std::size_t n) {
          if (ec) {
            st->eof = true;
            return;
          }
          st->decoder.feed(std::string_view(st->buf.data(), n));
          while (auto f = st->decoder.next()) st->frames.push_back(std::move(*f));
          read();
        });
  }

  boost::asio::io_context& io_;
  std::deque<std::string> out_;  // outlives socket_, whose pending write uses it
  boost::asio::local::stream_protocol::socket socket_;
  bool connected_ = false;
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace reaper::ttrpc::test
