#pragma once
// A unary ttrpc server on a unix stream socket, driven by a single-threaded
// Boost.Asio io_context. It knows frames and the Request/Response envelope,
// nothing about tasks: every decoded Request goes to one Handler, which
// dispatches by (service, method) and answers through its Reply whenever it
// likes. Requests of one connection are handled concurrently (containerd sends
// a blocking Wait before Start on the same connection) and responses go out in
// the order the replies are made.
//
// Construct the Server on the thread that runs the io_context; all methods,
// and the Handler, run there. A Reply made on that thread is written at once
// (queued behind earlier responses); one made on any other thread posts itself
// to the io_context.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "core/error.hpp"
#include "ttrpc/status.hpp"

namespace reaper::ttrpc {

namespace detail {
struct ServerImpl;
}

struct Call {
  std::string service;            // e.g. "containerd.task.v2.Task"
  std::string method;             // e.g. "Create"
  std::string payload;            // serialized method request
  std::int64_t timeout_nano = 0;  // relative deadline the client set, 0 = none (informational)
  std::vector<std::pair<std::string, std::string>> metadata;  // in wire order, keys may repeat
};

// Sends the response for one request. Call it exactly once, possibly much later
// (Wait replies when the process exits). Extra calls are ignored; a call after
// the connection closed is a no-op. On success `payload` is the serialized
// response message (empty for google.protobuf.Empty); on error it is ignored
// and only the status goes out. Cheap to copy.
using Reply = std::function<void(Status status, std::string payload)>;

// Invoked as soon as a Request frame is decoded. Unknown services/methods are
// the handler's business (answer UNIMPLEMENTED "service X" / "method X"). If it
// throws before replying, the request is answered INTERNAL.
using Handler = std::function<void(Call&& call, Reply reply)>;

class Server {
 public:
  Server(boost::asio::io_context& io, Handler handler);
  ~Server();  // close(); on_connection_closed is not called from here
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens on `socket_path` (an optional "unix://" prefix is
  // stripped), mode 0600. The parent directory must exist. A stale socket file
  // (nobody accepting) is unlinked and replaced; if a live server accepts on the
  // path, fails with code EADDRINUSE and leaves it alone.
  Result<void> listen(const std::string& socket_path);

  // Takes over an already listening unix stream socket (e.g. inherited as fd 3
  // from the `start` process). Ownership passes only on success. Sets
  // FD_CLOEXEC on it.
  Result<void> adopt(int listening_fd);

  // The socket's filesystem path (from getsockname for an adopted fd; abstract
  // sockets are shown as "@name"). Empty before listen/adopt.
  std::string path() const;

  // Stops accepting, unlinks the socket file, and closes every connection:
  // idle ones at once, ones with responses still queued (e.g. the Shutdown
  // reply) as soon as those are written. Later replies are dropped. Idempotent;
  // the server cannot listen again afterwards.
  void close();

  // Connections currently open (including ones draining after close()).
  std::size_t connection_count() const;

  // Called after a connection has been closed (client EOF/reset, write error,
  // close()). Peers refused by the SO_PEERCRED check never count as connections.
  std::function<void()> on_connection_closed;

  // Optional, for timing figures: called once a reply's last byte has been written, with
  // the request's method and the CLOCK_MONOTONIC times (ns) at which the read that
  // brought its frame returned and at which the reply was written. Unset, no clock is
  // read. Set it before listen/adopt.
  std::function<void(const std::string& method, std::int64_t read_ns, std::int64_t written_ns)>
      on_reply_written;

 private:
  std::shared_ptr<detail::ServerImpl> impl_;
};

}  // namespace reaper::ttrpc
