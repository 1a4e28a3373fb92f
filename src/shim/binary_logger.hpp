#pragma once
// containerd's logging-plugin contract: a stdout URI `binary:///path/to/logger?k=v`
// names a program that takes a process's output, and the shim runs it. As containerd's
// runc shim does, the logger gets the read ends of the process's stdout and stderr pipes
// as fds 3 and 4 and the write end of a readiness pipe as fd 5; its whole environment is
// CONTAINER_ID (the container id for an init, the exec id for an exec) and
// CONTAINER_NAMESPACE; each query key becomes an argument followed by its first value.
// The process starts once the logger is ready: it wrote a byte on fd 5 or closed it
// (`binary-v2://`, containerd 2.2: a byte is required, EOF is a failure).
//
// Where this differs from runc's shim, on purpose:
// - readiness is awaited on the event loop and bounded by kReadyLimit (runc's shim blocks
//   the request until the logger answers, forever if it never does);
// - the shim keeps a read end of both pipes, so a logger that dies costs the workload
//   nothing: no SIGPIPE or EPIPE (runc's shim closes its read ends after the start, so a
//   workload then dies of SIGPIPE), and once the logger has ended the shim reads and
//   discards what is written, so no write blocks on a full pipe either.
// Stopping (at Delete) is runc's: SIGTERM, SIGKILL after kStopLimit. The daemon's SIGCHLD
// handler reaps the logger like any other child; its pidfd tells us when it has ended.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "shim/async_wait.hpp"

namespace reaper::shim {

struct LoggerUri {
  std::string program;            // absolute path
  std::vector<std::string> args;  // key, value, key, value ... (first value of each key)
  bool byte_required = false;     // binary-v2://: readiness is a byte, EOF is a failure
};

// nullopt when `uri` is not a logger URI (a FIFO path, file://, ""); an error when it is
// one that cannot be used (no absolute path, a bad %-escape, a ';' in the query).
Result<std::optional<LoggerUri>> parse_logger_uri(std::string_view uri);

class BinaryLogger : public std::enable_shared_from_this<BinaryLogger> {
 public:
  static constexpr std::chrono::seconds kReadyLimit{10};
  static constexpr std::chrono::seconds kStopLimit{12};
  ~BinaryLogger();

  // Starts the logger for the process `id` of namespace `ns`. Fails (nothing left behind)
  // when the program cannot be executed.
  static Result<std::shared_ptr<BinaryLogger>> start(boost::asio::io_context& io, const LoggerUri& uri,
                                                     const std::string& id, const std::string& ns);
  // The process's ends of the pipes (each taken once).
  UniqueFd take_stdout() { return std::move(out_w_); }
  UniqueFd take_stderr() { return std::move(err_w_); }
  // Calls `done` once, when the logger is ready, or with the reason it is not.
  void when_ready(std::function<void(Result<void>)> done);
  // SIGTERM, then SIGKILL after kStopLimit; our pipe ends close once it has ended.
  void stop();
  // A pidfd of the logger: readable once it has ended (Delete waits for it).
  UniqueFd end_watch() const;

 private:
  BinaryLogger(boost::asio::io_context& io, std::string program)
      : io_(io), program_(std::move(program)), kill_timer_(io), ready_timer_(io) {}
  void ready(Result<void> r);
  void ended();
  void discard(std::unique_ptr<boost::asio::posix::stream_descriptor>& pipe);

  boost::asio::io_context& io_;
  std::string program_;
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  ProcessWatch end_;
  UniqueFd out_w_, err_w_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> out_r_, err_r_, ready_r_;
  boost::asio::steady_timer kill_timer_, ready_timer_;
  std::function<void(Result<void>)> on_ready_;
  bool byte_required_ = false, stopping_ = false, ended_ = false;
  char ready_byte_ = 0;
  std::array<char, 16384> sink_{};  // what a dead logger's pipes are drained into
};

}  // namespace reaper::shim
