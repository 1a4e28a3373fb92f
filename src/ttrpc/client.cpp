#include "ttrpc/client.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "ttrpc/frame.hpp"
#include "ttrpc/status.hpp"
#include "ttrpc/unix_socket.hpp"
#include "ttrpc/wire.hpp"

namespace reaper::ttrpc {

namespace asio = boost::asio;
using stream_protocol = asio::local::stream_protocol;
using boost::system::error_code;

namespace detail {

// One connection and the calls sent on it. Client replaces it once it is dead,
// so a late completion of an old connection never touches the new one.
class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  ClientConnection(asio::io_context& io, std::string path)
      : io_(io), socket_(io), path_(std::move(path)) {}

  bool alive() const { return state_ != State::Dead; }
  // Can take another call: alive and stream ids left.
  bool usable() const { return alive() && next_id_ <= kLastStreamId; }
  std::size_t pending() const { return pending_.size(); }

  void connect() {
    auto fail_later = [this](Error err) {
      asio::post(io_, [self = shared_from_this(), err = std::move(err)] { self->fail_all(err); });
    };
    auto addr = make_unix_address(path_);
    if (!addr) return fail_later(addr.error().wrap("ttrpc: connect"));
    auto fd = new_stream_socket();
    if (!fd) return fail_later(fd.error().wrap("ttrpc: connect " + path_));
    error_code ec;
    socket_.assign(stream_protocol(), fd->get(), ec);
    if (ec) return fail_later(Error{ec.value(), "ttrpc: connect " + path_});
    fd->release();
    stream_protocol::endpoint endpoint;
    std::memcpy(endpoint.data(), &addr->addr, addr->len);
    endpoint.resize(addr->len);  // cannot throw: make_unix_address checked the size
    socket_.async_connect(
        endpoint, [self = shared_from_this()](const error_code& ec) { self->on_connected(ec); });
  }

  void submit(std::string service, std::string method, const std::string& payload,
              const Metadata& metadata, std::int64_t timeout_nano, Client::Done done) {
    const std::uint32_t id = next_id_;
    next_id_ += 2;
    std::string what = service + "/" + method;
    auto frame = encode_frame(id, MessageType::Request, 0,
                              encode_request(service, method, payload, timeout_nano, metadata));
    if (!frame) {
      asio::post(io_, [done = std::move(done), what = std::move(what)] {
        done(sys_error(EMSGSIZE, fmt::format("ttrpc: {}: request larger than {} bytes", what,
                                             kMaxMessageSize)));
      });
      return;
    }
    Pending call{std::move(done), std::move(what), nullptr};
    if (timeout_nano > 0) {
      call.timer = std::make_unique<asio::steady_timer>(io_);
      call.timer->expires_after(std::chrono::nanoseconds(timeout_nano));
      call.timer->async_wait([weak = weak_from_this(), id](const error_code& ec) {
        if (ec) return;  // cancelled: the call completed
        if (auto self = weak.lock()) self->timed_out(id);
      });
    }
    pending_.emplace(id, std::move(call));
    out_.push_back(std::move(*frame));
    if (state_ == State::Open && !writing_) write_next();
  }

  // Closes the connection and completes every pending call with `err`.
  void fail_all(const Error& err) {
    auto self = shared_from_this();  // a completion may destroy the Client
    shut();
    auto calls = std::move(pending_);
    pending_.clear();
    for (auto& [id, call] : calls) {
      if (call.timer) call.timer->cancel();
      call.done(std::unexpected(Error{err.code, fmt::format("{} ({})", err.message, call.what)}));
    }
  }

  // Closes without running completions (Client destroyed).
  void abandon() {
    shut();
    pending_.clear();
  }

 private:
  enum class State { Connecting, Open, Dead };
  static constexpr std::uint32_t kLastStreamId = 0xFFFFFFFFu - 2;

  struct Pending {
    Client::Done done;
    std::string what;  // "service/method", for error messages
    std::unique_ptr<asio::steady_timer> timer;
  };

  void on_connected(const error_code& ec) {
    if (state_ == State::Dead) return;
    if (ec) {
      fail_all(Error{ec.value(), "ttrpc: connect " + path_});
      return;
    }
    state_ = State::Open;
    read();
    if (!out_.empty() && !writing_) write_next();
  }

  void read() {
    socket_.async_read_some(
        asio::buffer(buf_),
        [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(const error_code& ec, std::size_t n) {
    if (state_ == State::Dead) return;
    if (ec) {
      const int code = ec == asio::error::eof ? ECONNRESET : ec.value();
      fail_all(Error{code, "ttrpc: closed"});
      return;
    }
    decoder_.feed(std::string_view(buf_.data(), n));
    while (state_ != State::Dead) {
      auto frame = decoder_.next();
      if (!frame) break;
      on_frame(std::move(*frame));
    }
    if (state_ != State::Dead) read();
  }

  void on_frame(Frame&& frame) {
    const std::uint32_t id = frame.header.stream_id;
    auto it = pending_.find(id);
    if (it == pending_.end()) return;  // e.g. the answer to a call that timed out
    const std::string& what = it->second.what;
    if (frame.oversized) {
      complete(id, sys_error(EMSGSIZE, fmt::format("ttrpc: {}: response of {} bytes exceeds {}",
                                                   what, frame.header.length, kMaxMessageSize)));
      return;
    }
    if (frame.header.type != MessageType::Response) {
      complete(id, sys_error(EPROTO, fmt::format("ttrpc: {}: unexpected message type {}", what,
                                                 static_cast<int>(frame.header.type))));
      return;
    }
    auto response = decode_response(frame.data);
    if (!response) {
      complete(id, sys_error(EPROTO, fmt::format("ttrpc: {}: cannot parse ttrpc.Response", what)));
      return;
    }
    if (!response->status.is_ok()) {
      complete(id, failf("{}: {}: {}", what, code_name(response->status.code),
                         response->status.message));
      return;
    }
    complete(id, std::move(response->payload));
  }

  void timed_out(std::uint32_t id) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    complete(id,
             sys_error(ETIMEDOUT, fmt::format("ttrpc: {}: deadline exceeded", it->second.what)));
  }

  void complete(std::uint32_t id, Result<std::string> result) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    auto self = shared_from_this();
    Pending call = std::move(it->second);
    pending_.erase(it);
    if (call.timer) call.timer->cancel();
    // Out of stream ids: the Client already uses a new connection; retire this
    // one once its last answer is in.
    if (!usable() && pending_.empty()) shut();
    call.done(std::move(result));
  }

  void write_next() {
    if (out_.empty()) {
      writing_ = false;
      return;
    }
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_.front()),
                      [self = shared_from_this()](const error_code& ec, std::size_t) {
                        if (self->state_ == State::Dead) return;
                        self->out_.pop_front();
                        if (ec) {
                          self->fail_all(Error{ec.value(), "ttrpc: closed"});
                          return;
                        }
                        self->write_next();
                      });
  }

  void shut() {
    state_ = State::Dead;
    error_code ignored;
    socket_.close(ignored);
    out_.clear();
    writing_ = false;
  }

  asio::io_context& io_;
  stream_protocol::socket socket_;
  std::string path_;
  State state_ = State::Connecting;
  std::uint32_t next_id_ = 1;
  FrameDecoder decoder_;
  std::array<char, 16 * 1024> buf_;  // not zeroed: only what a read fills is touched
  std::deque<std::string> out_;
  bool writing_ = false;
  std::map<std::uint32_t, Pending> pending_;
};

}  // namespace detail

Client::Client(asio::io_context& io, std::string socket_path)
    : io_(io), path_(strip_unix_scheme(socket_path)) {}

Client::~Client() {
  if (conn_) conn_->abandon();
}

void Client::call(std::string service, std::string method, std::string payload,
                  std::vector<std::pair<std::string, std::string>> metadata,
                  std::int64_t timeout_nano, Done done) {
  if (!conn_ || !conn_->usable()) {
    conn_ = std::make_shared<detail::ClientConnection>(io_, path_);
    conn_->connect();
  }
  conn_->submit(std::move(service), std::move(method), payload, metadata, timeout_nano,
                std::move(done));
}

void Client::close() {
  if (auto conn = std::move(conn_)) conn->fail_all(Error{ECANCELED, "ttrpc: client closed"});
}

bool Client::connected() const { return conn_ && conn_->alive(); }

std::size_t Client::pending() const { return conn_ ? conn_->pending() : 0; }

}  // namespace reaper::ttrpc
