#include "ttrpc/server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <deque>
#include <exception>
#include <optional>
#include <thread>
#include <ctime>
#include <unordered_set>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "ttrpc.pb.h"
#include "ttrpc/frame.hpp"
#include "ttrpc/unix_socket.hpp"
#include "ttrpc/wire.hpp"

namespace reaper::ttrpc {

namespace asio = boost::asio;
using stream_protocol = asio::local::stream_protocol;
using boost::system::error_code;

namespace {

std::int64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string oversize_message(std::size_t length) {
  // Same text as the Go implementation.
  return fmt::format("message length {} exceed maximum message size of {}", length,
                     kMaxMessageSize);
}

}  // namespace

namespace detail {

class ServerConnection;

struct ServerImpl : std::enable_shared_from_this<ServerImpl> {
  ServerImpl(asio::io_context& io, Handler handler)
      : io(io), handler(std::move(handler)), acceptor(io) {}

  // Does not take the fd on failure.
  Result<void> start(int fd, std::string socket_path, bool owns_path);
  void arm_accept();
  void accept_ready();
  void shed_connection();
  void close();
  void connection_closed(ServerConnection* conn);

  asio::io_context& io;
  Handler handler;
  Server* owner = nullptr;  // cleared by ~Server: no callbacks after that
  std::thread::id owner_thread = std::this_thread::get_id();  // the io thread
  stream_protocol::acceptor acceptor;
  std::string path;
  bool owns_path = false;  // we bound it, so we unlink it
  bool started = false;
  bool closed = false;
  UniqueFd spare_fd;  // released to accept-and-drop when out of fds (EMFILE)
  std::unordered_set<std::shared_ptr<ServerConnection>> connections;
};

// One accepted client. Reads frames, hands requests to the server's handler,
// and writes responses one frame at a time from a queue.
class ServerConnection : public std::enable_shared_from_this<ServerConnection> {
 public:
  ServerConnection(std::weak_ptr<ServerImpl> server, stream_protocol::socket socket,
                   asio::io_context::executor_type executor)
      : server_(std::move(server)), socket_(std::move(socket)), executor_(executor) {}

  void start() { read(); }

  // Server close: accept no more requests, close once queued writes are out.
  void shutdown() {
    reading_done_ = true;
    if (!writing_) close_now();
  }

  // `method` and `read_ns` only when replies are timed (read_ns 0 otherwise).
  void send_response(std::uint32_t stream_id, const Status& status, std::string_view payload,
                     std::string method = {}, std::int64_t read_ns = 0) {
    if (closed_ || reading_done_) return;
    std::string data = encode_response(status, payload);
    auto frame = encode_frame(stream_id, MessageType::Response, 0, data);
    if (!frame) {
      // A reply we cannot send; tell the client instead of dropping the stream.
      data = encode_response(Status{Code::ResourceExhausted, oversize_message(data.size())}, {});
      frame = encode_frame(stream_id, MessageType::Response, 0, data);
    }
    out_.push_back(Outgoing{std::move(*frame), std::move(method), read_ns});
    if (!writing_) write_next();
  }

 private:
  // Reply functor: exactly once, on the io thread, and only while the
  // connection lives.
  struct ReplyFn {
    std::weak_ptr<ServerConnection> conn;
    std::uint32_t stream_id;
    std::shared_ptr<bool> answered;
    asio::io_context::executor_type executor;
    std::thread::id owner_thread;
    std::string method;        // set only when replies are timed
    std::int64_t read_ns = 0;  // when the request's frame was read; 0: not timed

    void operator()(Status status, std::string payload) const {
      // Deliver in place on the io thread (also outside run(), e.g. in tests),
      // so a reply made before Server::close() in the same turn still goes out.
      const bool here =
          executor.running_in_this_thread() || std::this_thread::get_id() == owner_thread;
      if (!here) {
        asio::post(executor,
                   [self = *this, status = std::move(status),
                    payload = std::move(payload)]() mutable { self.deliver(status, payload); });
        return;
      }
      deliver(status, payload);
    }

    void deliver(const Status& status, std::string_view payload) const {
      if (*answered) return;
      *answered = true;
      if (auto c = conn.lock()) c->send_response(stream_id, status, payload, method, read_ns);
    }
  };

  void read() {
    socket_.async_read_some(
        asio::buffer(buf_),
        [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(const error_code& ec, std::size_t n) {
    if (closed_) return;
    if (ec || reading_done_) {
      // EOF, ECONNRESET or any other read error ends this connection only.
      finish();
      return;
    }
    decoder_.feed(std::string_view(buf_.data(), n));
    const std::int64_t read_ns = timed() ? monotonic_ns() : 0;
    while (!reading_done_) {
      auto frame = decoder_.next();
      if (!frame) break;
      dispatch(std::move(*frame), read_ns);
    }
    if (closed_) return;
    if (reading_done_) {
      finish();
      return;
    }
    read();
  }

  bool timed() const {
    auto server = server_.lock();
    return server && server->owner && server->owner->on_reply_written;
  }

  void dispatch(Frame&& frame, std::int64_t read_ns) {
    const std::uint32_t id = frame.header.stream_id;
    if (frame.oversized) {
      send_response(id, Status{Code::ResourceExhausted, oversize_message(frame.header.length)}, {});
      return;
    }
    // ttrpc 1.1 behaviour: anything but a Request (e.g. a Data frame) is ignored.
    if (frame.header.type != MessageType::Request) return;
    if (id % 2 == 0) {
      send_response(
          id, Status{Code::InvalidArgument, "StreamID must be odd for client initiated streams"},
          {});
      return;
    }
    ::ttrpc::Request request;
    if (!request.ParseFromString(frame.data)) {
      send_response(id,
                    Status{Code::InvalidArgument,
                           fmt::format("unmarshal request error: cannot parse ttrpc.Request "
                                       "({} bytes)",
                                       frame.data.size())},
                    {});
      return;
    }

    Call call;
    call.service = std::move(*request.mutable_service());
    call.method = std::move(*request.mutable_method());
    call.payload = std::move(*request.mutable_payload());
    call.timeout_nano = request.timeout_nano();
    call.metadata.reserve(request.metadata_size());
    for (auto& kv : *request.mutable_metadata()) {
      call.metadata.emplace_back(std::move(*kv.mutable_key()), std::move(*kv.mutable_value()));
    }

    // Keeps the server state (and its handler) alive for the duration of the
    // call even if the handler destroys the Server.
    auto server = server_.lock();
    if (!server || server->closed || !server->handler) return;

    auto answered = std::make_shared<bool>(false);
    Reply reply = ReplyFn{weak_from_this(), id, answered, executor_, server->owner_thread,
                          read_ns ? call.method : std::string(), read_ns};
    std::string failure;
    try {
      server->handler(std::move(call), reply);
      return;
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "unknown exception";
    }
    // Exceptions stop here: the client gets an answer, the io_context keeps running.
    if (!*answered) reply(Status{Code::Internal, "ttrpc handler failed: " + failure}, {});
  }

  void write_next() {
    if (out_.empty()) {
      writing_ = false;
      if (reading_done_) close_now();
      return;
    }
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_.front().frame),
                      [self = shared_from_this()](const error_code& ec, std::size_t) {
                        if (self->closed_) return;
                        Outgoing done = std::move(self->out_.front());
                        self->out_.pop_front();
                        if (ec) {
                          self->close_now();
                          return;
                        }
                        if (done.read_ns) self->written(done);
                        self->write_next();
                      });
  }

  struct Outgoing {
    std::string frame;
    std::string method;        // timed replies only
    std::int64_t read_ns = 0;  // 0: not timed
  };

  void written(const Outgoing& done) {
    auto server = server_.lock();
    if (server && server->owner && server->owner->on_reply_written)
      server->owner->on_reply_written(done.method, done.read_ns, monotonic_ns());
  }

  // The read side is done; close now, or after the write queue drains.
  void finish() {
    reading_done_ = true;
    if (!writing_) close_now();
  }

  void close_now() {
    if (closed_) return;
    auto self = shared_from_this();  // the server's set may hold the last reference
    closed_ = true;
    reading_done_ = true;
    error_code ignored;
    socket_.close(ignored);  // aborts the pending read/write
    out_.clear();
    if (auto server = server_.lock()) server->connection_closed(this);
  }

  std::weak_ptr<ServerImpl> server_;
  stream_protocol::socket socket_;
  asio::io_context::executor_type executor_;
  FrameDecoder decoder_;
  // Not value-initialised: zeroing would make all 64 KiB resident in every connection
  // (docs/shim.md, "Memory"); a read touches only the pages it fills.
  std::array<char, 64 * 1024> buf_;
  std::deque<Outgoing> out_;
  bool writing_ = false;
  bool reading_done_ = false;  // no more requests are dispatched, replies are dropped
  bool closed_ = false;
};

Result<void> ServerImpl::start(int fd, std::string socket_path, bool owns) {
  error_code ec;
  acceptor.assign(stream_protocol(), fd, ec);
  if (ec) return sys_error(ec.value(), "ttrpc server: assign listening socket");
  path = std::move(socket_path);
  owns_path = owns;
  started = true;
  int spare = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (spare >= 0) spare_fd.reset(spare);
  arm_accept();
  return {};
}

void ServerImpl::arm_accept() {
  // We accept with accept4 ourselves to get SOCK_CLOEXEC atomically.
  acceptor.async_wait(stream_protocol::acceptor::wait_read,
                      [self = shared_from_this()](const error_code& ec) {
                        if (ec || self->closed) return;
                        self->accept_ready();
                        if (!self->closed) self->arm_accept();
                      });
}

void ServerImpl::accept_ready() {
  while (!closed) {
    int fd = ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
      if ((errno == EMFILE || errno == ENFILE) && spare_fd) {
        shed_connection();
        continue;
      }
      return;  // EAGAIN: drained. Anything else: try again on the next wakeup.
    }
    UniqueFd conn_fd(fd);
    if (!peer_is_same_user(fd)) continue;  // refused: closed right here
    stream_protocol::socket socket(io);
    error_code ec;
    socket.assign(stream_protocol(), conn_fd.get(), ec);
    if (ec) continue;
    conn_fd.release();
    auto conn =
        std::make_shared<ServerConnection>(weak_from_this(), std::move(socket), io.get_executor());
    connections.insert(conn);
    conn->start();
  }
}

// Out of fds: free the spare, accept the waiting client and drop it, so the
// listening socket does not stay readable forever (a busy loop otherwise).
void ServerImpl::shed_connection() {
  spare_fd.reset();
  int fd = ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
  if (fd >= 0) ::close(fd);
  int spare = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (spare >= 0) spare_fd.reset(spare);
}

void ServerImpl::close() {
  if (closed) return;
  closed = true;
  error_code ignored;
  acceptor.close(ignored);
  if (owns_path && !path.empty() && path[0] != '@') ::unlink(path.c_str());
  spare_fd.reset();
  auto snapshot = connections;  // shutdown() may erase from the set
  for (const auto& conn : snapshot) conn->shutdown();
}

void ServerImpl::connection_closed(ServerConnection* conn) {
  for (auto it = connections.begin(); it != connections.end(); ++it) {
    if (it->get() == conn) {
      connections.erase(it);
      break;
    }
  }
  if (owner && owner->on_connection_closed) owner->on_connection_closed();
}

}  // namespace detail

using detail::ServerImpl;

Server::Server(asio::io_context& io, Handler handler)
    : impl_(std::make_shared<ServerImpl>(io, std::move(handler))) {
  impl_->owner = this;
}

Server::~Server() {
  impl_->owner = nullptr;
  impl_->close();
}

Result<void> Server::listen(const std::string& socket_path) {
  if (impl_->closed) return fail("ttrpc server: listen after close");
  if (impl_->started) return fail("ttrpc server: already listening on " + impl_->path);
  const std::string path = strip_unix_scheme(socket_path);
  const UnixAddress addr = TRY_CTX(make_unix_address(path), "ttrpc server: listen");
  const bool abstract = path[0] == '@';
  UniqueFd fd = TRY_CTX(new_stream_socket(), "ttrpc server: listen " + path);

  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr.addr), addr.len) != 0) {
    if (errno != EADDRINUSE || abstract) return sys_error("ttrpc server: bind " + path);
    // Something is at the path. Replace it only if it is a socket nobody
    // accepts on; a live server keeps its address.
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return sys_error("ttrpc server: lstat " + path);
    if (!S_ISSOCK(st.st_mode)) {
      return sys_error(EADDRINUSE, "ttrpc server: " + path + " exists and is not a socket");
    }
    UniqueFd probe = TRY_CTX(new_stream_socket(), "ttrpc server: probe " + path);
    if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr.addr), addr.len) == 0 ||
        errno == EAGAIN || errno == EINPROGRESS) {
      // EAGAIN: the backlog is full, which also means someone listens.
      return sys_error(EADDRINUSE, "ttrpc server: a server is already listening on " + path);
    }
    if (errno != ECONNREFUSED) return sys_error("ttrpc server: probe " + path);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return sys_error("ttrpc server: remove stale socket " + path);
    }
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr.addr), addr.len) != 0) {
      return sys_error("ttrpc server: bind " + path);
    }
  }
  // Before listen(): nobody can connect until the mode is right.
  if (!abstract && ::chmod(path.c_str(), 0600) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    return sys_error(err, "ttrpc server: chmod 0600 " + path);
  }
  if (::listen(fd.get(), SOMAXCONN) != 0) {
    int err = errno;
    if (!abstract) ::unlink(path.c_str());
    return sys_error(err, "ttrpc server: listen " + path);
  }
  auto started = impl_->start(fd.get(), path, /*owns_path=*/true);
  if (!started) {
    if (!abstract) ::unlink(path.c_str());
    return started;
  }
  fd.release();
  return {};
}

Result<void> Server::adopt(int listening_fd) {
  if (impl_->closed) return fail("ttrpc server: adopt after close");
  if (impl_->started) return fail("ttrpc server: already listening on " + impl_->path);
  int domain = 0, type = 0, accepting = 0;
  socklen_t len = sizeof(int);
  if (::getsockopt(listening_fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) {
    return sys_error(fmt::format("ttrpc server: adopt fd {}", listening_fd));
  }
  len = sizeof(int);
  ::getsockopt(listening_fd, SOL_SOCKET, SO_TYPE, &type, &len);
  len = sizeof(int);
  ::getsockopt(listening_fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len);
  if (domain != AF_UNIX || type != SOCK_STREAM || !accepting) {
    return sys_error(ENOTSOCK, fmt::format("ttrpc server: adopt fd {}: not a listening unix "
                                           "stream socket",
                                           listening_fd));
  }
  int fd_flags = ::fcntl(listening_fd, F_GETFD);
  int fl_flags = ::fcntl(listening_fd, F_GETFL);
  if (fd_flags < 0 || fl_flags < 0 || ::fcntl(listening_fd, F_SETFD, fd_flags | FD_CLOEXEC) != 0 ||
      ::fcntl(listening_fd, F_SETFL, fl_flags | O_NONBLOCK) != 0) {
    return sys_error(fmt::format("ttrpc server: adopt fd {}: fcntl", listening_fd));
  }
  sockaddr_un addr{};
  socklen_t addr_len = sizeof(addr);
  std::string path;
  if (::getsockname(listening_fd, reinterpret_cast<sockaddr*>(&addr), &addr_len) == 0) {
    path = unix_address_path(addr, addr_len);
  }
  return impl_->start(listening_fd, path, /*owns_path=*/true);
}

std::string Server::path() const { return impl_->path; }

void Server::close() { impl_->close(); }

std::size_t Server::connection_count() const { return impl_->connections.size(); }

}  // namespace reaper::ttrpc
