#include "shim/process_io.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <boost/asio/write.hpp>
#include <cstring>

#include "core/files.hpp"
#include "core/log.hpp"
#include "core/pty.hpp"

namespace asio = boost::asio;

namespace reaper::shim {
namespace {

// An output path: a FIFO (or regular file) path, or file:///path.
Result<UniqueFd> open_output(const std::string& path) {
  if (path.empty()) return UniqueFd();
  // A logging binary is named by the stdout URI alone, and then takes both streams.
  if (path.starts_with("binary://") || path.starts_with("binary-v2://"))
    return fail(ErrorKind::kInvalidArgument, "a logging binary is named by the stdout URI, not " + path);
  if (path.starts_with("file://")) {
    std::string file = path.substr(7);
    TRY(files::make_dirs(file.substr(0, file.rfind('/')), 0755));
    return files::open(file, O_WRONLY | O_APPEND | O_CREAT, 0644);
  }
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode))
    return files::open(path, O_WRONLY | O_APPEND);
  // O_RDWR on a FIFO never blocks and keeps a reader alive, so writes never EPIPE.
  return files::open(path, O_RDWR);
}

Result<UniqueFd> receive_fd(int sock) {
  char name[256];
  struct iovec iov {name, sizeof name};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
  if (n < 0) return sys_error("receive console");
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return fail("console: no fd received");
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return UniqueFd(fd);
}

bool is_fifo(int fd) {
  struct stat st {};
  return fd >= 0 && ::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

// Bytes written to a FIFO that no reader has taken yet.
int unread(int fd) {
  int n = 0;
  return fd >= 0 && ::ioctl(fd, FIONREAD, &n) == 0 ? n : 0;
}

}  // namespace

Result<std::shared_ptr<ProcessIo>> ProcessIo::open(asio::io_context& io, const IoPaths& paths,
                                                   const std::string& id, const std::string& ns) {
  auto logger = TRY(parse_logger_uri(paths.stdout_path));
  std::shared_ptr<ProcessIo> p(new ProcessIo(io));
  p->paths_ = paths;
  if (!paths.stdin_path.empty()) {
    // Reader first (non-blocking open succeeds without a writer), then our keep-alive writer.
    p->in_ = TRY(files::open(paths.stdin_path, O_RDONLY | O_NONBLOCK));
    p->in_keepalive_ = TRY(files::open(paths.stdin_path, O_WRONLY | O_NONBLOCK));
    if (!paths.terminal) {
      int flags = ::fcntl(p->in_.get(), F_GETFL);
      ::fcntl(p->in_.get(), F_SETFL, flags & ~O_NONBLOCK);
    }
  }
  if (logger) {
    // Started last: an earlier failure leaves no logger behind.
    p->logger_ = TRY(BinaryLogger::start(io, *logger, id, ns));
    p->out_ = p->logger_->take_stdout();
  } else {
    p->out_ = TRY(open_output(paths.stdout_path));
  }
  if (paths.terminal) {
    // stderr is not used with a terminal: the PTY carries both streams.
    if (p->logger_) p->logger_->take_stderr().reset();  // the logger sees EOF on its fd 4
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return sys_error("socketpair");
    p->console_ours_.reset(pair[0]);
    p->console_theirs_.reset(pair[1]);
  } else if (p->logger_) {
    p->err_ = p->logger_->take_stderr();
  } else if (!paths.stderr_path.empty()) {
    if (paths.stderr_path == paths.stdout_path && paths.stdout_path.starts_with("file://"))
      p->err_.reset(::fcntl(p->out_.get(), F_DUPFD_CLOEXEC, 3));
    else
      p->err_ = TRY(open_output(paths.stderr_path));
  }
  return p;
}

void ProcessIo::when_ready(std::function<void(Result<void>)> done) {
  if (!logger_) return done({});
  logger_->when_ready(std::move(done));
}

Stdio ProcessIo::stdio() const {
  if (paths_.terminal) return Stdio{};
  return Stdio{in_.get(), out_.get(), err_.get(), false};
}

Result<void> ProcessIo::started() {
  if (!paths_.terminal) {
    // The workload holds them now; only the output FIFOs stay watched (on_drained).
    in_.reset();
    // A logger's pipes are its own to drain: the exit never waits for them.
    if (!logger_ && is_fifo(out_.get())) out_watch_ = std::move(out_);
    if (!logger_ && is_fifo(err_.get())) err_watch_ = std::move(err_);
    out_.reset();
    err_.reset();
    return {};
  }
  console_theirs_.reset();
  UniqueFd master = TRY(receive_fd(console_ours_.get()));
  console_ours_.reset();
  master_ = std::make_unique<asio::posix::stream_descriptor>(io_, master.release());
  if (out_) {
    if (!logger_ && is_fifo(out_.get())) out_watch_.reset(::fcntl(out_.get(), F_DUPFD_CLOEXEC, 3));
    out_stream_ = std::make_unique<asio::posix::stream_descriptor>(io_, out_.release());
    output_done_ = false;
    copy_output();
  }
  if (in_) {
    in_stream_ = std::make_unique<asio::posix::stream_descriptor>(io_, in_.release());
    copy_input();
  }
  return {};
}

void ProcessIo::copy_output() {
  if (!master_ || !out_stream_) return output_finished();  // closed meanwhile
  auto self = shared_from_this();
  master_->async_read_some(asio::buffer(out_buf_), [self](boost::system::error_code ec, size_t n) {
    // EIO: every holder of the slave is gone; the output is complete.
    if (ec || !self->out_stream_) return self->output_finished();
    asio::async_write(*self->out_stream_, asio::buffer(self->out_buf_.data(), n),
                      [self](boost::system::error_code wec, size_t) {
                        if (wec || !self->master_) return self->output_finished();
                        if (!self->drained_.empty()) self->arm_drain_limit();  // progress
                        self->copy_output();
                      });
  });
}

void ProcessIo::copy_input() {
  if (!in_stream_ || !master_) return;  // closed meanwhile
  auto self = shared_from_this();
  in_stream_->async_read_some(asio::buffer(in_buf_), [self](boost::system::error_code ec, size_t n) {
    if (ec || !self->master_) {
      self->in_stream_.reset();
      return;
    }
    asio::async_write(*self->master_, asio::buffer(self->in_buf_.data(), n),
                      [self](boost::system::error_code wec, size_t) {
                        if (!wec) self->copy_input();
                      });
  });
}

void ProcessIo::output_finished() {
  if (output_done_) return;
  // Closing our end of the stdout FIFO is what gives the client its EOF.
  out_stream_.reset();
  output_done_ = true;
  if (!drained_.empty()) watch_fifos();  // an exit was waiting for the copy
}

void ProcessIo::on_drained(std::function<void()> done) {
  drained_.push_back(std::move(done));
  if (drained_.size() > 1) return;  // already waiting
  // A terminal's copy ends when the last holder of the PTY closes it; a silent
  // leftover that holds it delays the exit by kDrainLimit at most.
  if (paths_.terminal && !output_done_) return arm_drain_limit();
  watch_fifos();
}

bool ProcessIo::drained() const {
  return drained_.empty() && (!paths_.terminal || output_done_) && !fifos_unread();
}

bool ProcessIo::fifos_unread() const {
  return unread(out_watch_.get()) > 0 || unread(err_watch_.get()) > 0;
}

void ProcessIo::watch_fifos() {
  if (!fifos_unread()) return fifos_drained();
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    log::warn("output drain: inotify: {}", std::strerror(errno));
    return fifos_drained();
  }
  inotify_ = std::make_unique<asio::posix::stream_descriptor>(io_, fd);
  for (const std::string* path : {&paths_.stdout_path, &paths_.stderr_path})
    if (!path->empty() && !path->starts_with("file://"))
      ::inotify_add_watch(fd, path->c_str(), IN_ACCESS | IN_CLOSE_NOWRITE);
  arm_drain_limit();
  // Reads between the first check and the watch produced no event: look again.
  if (!fifos_unread()) return fifos_drained();
  await_reads();
}

void ProcessIo::await_reads() {
  auto self = shared_from_this();
  inotify_->async_read_some(asio::buffer(inotify_buf_), [self](boost::system::error_code ec, size_t) {
    if (ec || self->drained_.empty() || !self->inotify_) return;
    if (!self->fifos_unread()) return self->fifos_drained();
    self->arm_drain_limit();  // the reader is making progress: give it time again
    self->await_reads();
  });
}

void ProcessIo::arm_drain_limit() {
  if (!drain_limit_) drain_limit_ = std::make_unique<asio::steady_timer>(io_);
  drain_limit_->expires_after(kDrainLimit);  // cancels a pending wait
  auto self = shared_from_this();
  drain_limit_->async_wait([self](boost::system::error_code ec) {
    if (ec || self->drained_.empty()) return;
    log::warn("output drain: {} bytes unread and no read for {} s; reporting the exit anyway",
              unread(self->out_watch_.get()) + unread(self->err_watch_.get()), kDrainLimit.count());
    self->fifos_drained();
  });
}

void ProcessIo::fifos_drained() {
  if (drain_limit_) drain_limit_->cancel();
  if (inotify_) inotify_->cancel();
  // Destroying them aborts their pending waits (the handlers see operation_aborted).
  inotify_.reset();
  drain_limit_.reset();
  out_watch_.reset();
  err_watch_.reset();
  auto waiting = std::move(drained_);
  drained_.clear();
  for (auto& f : waiting) f();
}

Result<void> ProcessIo::resize(unsigned rows, unsigned cols) {
  if (!master_) return {};  // not a terminal, or no console yet: nothing to resize
  return resize_pty(master_->native_handle(), rows, cols);
}

void ProcessIo::close_stdin() { in_keepalive_.reset(); }

void ProcessIo::close() {
  // Descriptors are cancelled, not destroyed under a running operation: pending
  // handlers see operation_aborted and the null checks above.
  in_keepalive_.reset();
  if (in_stream_) in_stream_->cancel();
  if (master_) master_->cancel();
  if (out_stream_) out_stream_->cancel();
  output_finished();
  in_stream_.reset();
  master_.reset();
  in_.reset();
  out_.reset();
  err_.reset();
  console_ours_.reset();
  console_theirs_.reset();
  if (!drained_.empty()) fifos_drained();
  out_watch_.reset();
  err_watch_.reset();
  if (logger_) logger_->stop();
}

}  // namespace reaper::shim
