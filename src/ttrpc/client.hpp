#pragma once
// An asynchronous unary ttrpc client on the caller's io_context; the shim uses
// it to publish events to containerd (Events/Forward).
//
// The connection is made lazily by the first call() and re-made by the first
// call() after it was lost. Stream ids are odd and strictly increasing per
// connection (1, 3, 5, ...; a new connection starts again at 1), as ttrpc >= 1.2
// servers demand. Several calls may be in flight; their completions come in the
// order the server answers.
//
// All methods run on the io_context's thread; completions are invoked from
// io_context handlers, never from inside call() itself.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "core/error.hpp"

namespace reaper::ttrpc {

namespace detail {
class ClientConnection;
}

class Client {
 public:
  // The payload of a successful response, or why there is none:
  //  - Error::code != 0: transport failure (connect failed, connection lost
  //    with the call pending -> message starts with "ttrpc: closed",
  //    ETIMEDOUT when timeout_nano passed locally, EMSGSIZE for a request over
  //    4 MiB, ECANCELED after close()). Whether the server acted is unknown.
  //  - Error::code == 0: the server answered with an error status; the message
  //    is "<service>/<method>: <CODE_NAME>: <status message>".
  using Done = std::function<void(Result<std::string>)>;

  // `socket_path`: a plain path or "unix://<path>" (as in TTRPC_ADDRESS).
  Client(boost::asio::io_context& io, std::string socket_path);
  // Drops pending calls without invoking their completions.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request. `timeout_nano` > 0 goes to the server in the envelope and
  // also fails the call locally with ETIMEDOUT when it passes (a late response
  // is then ignored). `done` is invoked exactly once.
  void call(std::string service, std::string method, std::string payload,
            std::vector<std::pair<std::string, std::string>> metadata, std::int64_t timeout_nano,
            Done done);

  // Drops the connection now; pending calls complete with ECANCELED (from
  // inside close()). A later call() connects again.
  void close();

  // True while a connection is established or being established.
  bool connected() const;
  // Calls sent or queued whose completion has not run yet.
  std::size_t pending() const;
  const std::string& path() const { return path_; }

 private:
  boost::asio::io_context& io_;
  std::string path_;
  std::shared_ptr<detail::ClientConnection> conn_;
};

}  // namespace reaper::ttrpc
