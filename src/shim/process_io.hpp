#pragma once
// A task process's stdio, as containerd hands it over: FIFO paths (or "" for
// /dev/null, or file:///path, or binary:///logger?args: binary_logger.hpp).
//
// Without a terminal nothing is copied: the workload gets the FIFOs themselves as
// fds 0, 1 and 2. stdout/stderr are opened O_RDWR (never blocks, and the workload
// can never hit EPIPE); stdin is opened for reading plus a keep-alive writer of
// ours, so the workload sees EOF only after CloseIO and the client's own close.
// The shim keeps its own copy of each output FIFO until the process's exit has been
// reported: that is how it sees what the client has not read yet (FIONREAD), and the
// exit waits until the client has read it all (containerd 1.6's CRI closes its FIFO
// readers soon after the exit, so output still in a FIFO would never reach the log).
// With a terminal, the shim holds the PTY master and copies between it and the
// FIFOs on the event loop.
// With a logging binary, the process's stdout and stderr are pipes the logger reads;
// the process is started only after when_ready() (stdin, if any, is wired as above).
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/spawn.hpp"
#include "shim/binary_logger.hpp"

namespace reaper::shim {

struct IoPaths {
  std::string stdin_path, stdout_path, stderr_path;
  bool terminal = false;
};

class ProcessIo : public std::enable_shared_from_this<ProcessIo> {
 public:
  // `id` and `ns` are what a logging binary is told (CONTAINER_ID: the container id for
  // an init, the exec id for an exec; CONTAINER_NAMESPACE).
  static Result<std::shared_ptr<ProcessIo>> open(boost::asio::io_context& io, const IoPaths& paths,
                                                 const std::string& id, const std::string& ns);
  // Calls `done` once the stdio is ready for the process to start: at once, or when the
  // logging binary has signalled it (an error: the logger is gone, close() the rest).
  void when_ready(std::function<void(Result<void>)> done);

  const IoPaths& paths() const { return paths_; }
  // The fds the workload takes as its stdio (non-terminal processes).
  Stdio stdio() const;
  // The socket a terminal process's monitor sends the PTY master over (-1 otherwise).
  int console_channel() const { return console_theirs_.get(); }
  // After the process was spawned: drop our copies of what it now holds, and for a
  // terminal take the PTY master and start copying.
  Result<void> started();
  Result<void> resize(unsigned rows, unsigned cols);
  void close_stdin();  // CloseIO: the workload sees EOF once the client's writer is gone too
  void close();        // everything; pending copies stop; a logging binary is stopped
  // A pidfd readable once the logging binary has ended (empty without one).
  UniqueFd logger_end() const { return logger_ ? logger_->end_watch() : UniqueFd(); }
  // Calls `done` once the process's output has reached its reader: the terminal copy
  // has finished and nothing is left unread in the output FIFOs (woken by inotify's
  // IN_ACCESS on each read). A FIFO nobody reads holds it at most kDrainLimit after
  // the last read. Our
  // FIFO copies are closed then, so the reader sees EOF once the workload's are too.
  void on_drained(std::function<void()> done);
  // True when on_drained would call at once: nothing unread, no terminal copy running.
  bool drained() const;
  static constexpr std::chrono::seconds kDrainLimit{5};

 private:
  explicit ProcessIo(boost::asio::io_context& io) : io_(io) {}
  void copy_output();
  void copy_input();
  void output_finished();
  bool fifos_unread() const;
  void watch_fifos();
  void await_reads();
  void arm_drain_limit();
  void fifos_drained();

  boost::asio::io_context& io_;
  IoPaths paths_;
  UniqueFd in_, out_, err_, in_keepalive_;
  UniqueFd console_ours_, console_theirs_;
  UniqueFd out_watch_, err_watch_;  // our copies of the output FIFOs, for FIONREAD
  std::unique_ptr<boost::asio::posix::stream_descriptor> inotify_;
  std::unique_ptr<boost::asio::steady_timer> drain_limit_;
  // The buffers are not zeroed: value-initialised, they made 68 KiB of every process's
  // ProcessIo resident, terminal or not (docs/shim.md, "Memory").
  std::array<char, 4096> inotify_buf_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> master_, out_stream_, in_stream_;
  std::array<char, 32768> out_buf_, in_buf_;
  bool output_done_ = true;
  std::vector<std::function<void()>> drained_;
  std::shared_ptr<BinaryLogger> logger_;
};

}  // namespace reaper::shim
