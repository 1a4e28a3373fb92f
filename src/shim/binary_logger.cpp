#include "shim/binary_logger.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>

#include "core/log.hpp"

namespace asio = boost::asio;

namespace reaper::shim {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX escapes as Go's url package decodes them; in a query '+' is a space too.
Result<std::string> unescape(std::string_view s, bool query) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      int hi = i + 2 < s.size() ? hex_digit(s[i + 1]) : -1, lo = hi >= 0 ? hex_digit(s[i + 2]) : -1;
      if (lo < 0) return failf(ErrorKind::kInvalidArgument, "bad escape in \"{}\"", s);
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += query && s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

// A duplicate of `fd` numbered above the logger's 3, 4 and 5, so that placing them there
// never overwrites one another, whatever numbers pipe2 handed out.
Result<UniqueFd> above_five(const UniqueFd& fd) {
  UniqueFd d(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 6));
  if (!d) return sys_error("dup");
  return d;
}

Result<std::pair<UniqueFd, UniqueFd>> make_pipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe");
  return std::make_pair(UniqueFd(p[0]), UniqueFd(p[1]));
}

// The logger's process: fds 0-2 on /dev/null, 3-5 as the contract says, default signal
// dispositions (the shim ignores SIGPIPE, which execve would otherwise pass on) and an
// empty mask. posix_spawn reports a failed execve as its result.
Result<pid_t> spawn_logger(const LoggerUri& uri, const std::string& id, const std::string& ns,
                           const UniqueFd& out, const UniqueFd& err, const UniqueFd& ready) {
  UniqueFd o = TRY(above_five(out)), e = TRY(above_five(err)), r = TRY(above_five(ready));
  std::vector<std::string> env = {"CONTAINER_ID=" + id, "CONTAINER_NAMESPACE=" + ns};
  std::vector<char*> argv{const_cast<char*>(uri.program.c_str())}, envp;
  for (const auto& a : uri.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& v : env) envp.push_back(v.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&fa);
  ::posix_spawnattr_init(&attr);
  ::posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  ::posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  ::posix_spawn_file_actions_adddup2(&fa, o.get(), 3);
  ::posix_spawn_file_actions_adddup2(&fa, e.get(), 4);
  ::posix_spawn_file_actions_adddup2(&fa, r.get(), 5);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  ::posix_spawnattr_setsigdefault(&attr, &all);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, uri.program.c_str(), &fa, &attr, argv.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&fa);
  ::posix_spawnattr_destroy(&attr);
  if (rc != 0) return sys_error(rc, "start logging binary " + uri.program);
  return pid;
}

}  // namespace

Result<std::optional<LoggerUri>> parse_logger_uri(std::string_view uri) {
  LoggerUri l;
  if (uri.starts_with("binary-v2://")) {
    uri.remove_prefix(12);
    l.byte_required = true;
  } else if (uri.starts_with("binary://")) {
    uri.remove_prefix(9);
  } else {
    return std::nullopt;
  }
  uri = uri.substr(0, uri.find('#'));
  std::string_view query;
  if (size_t q = uri.find('?'); q != std::string_view::npos) {
    query = uri.substr(q + 1);
    uri = uri.substr(0, q);
  }
  // What follows "//" up to the path is a host, which containerd ignores.
  size_t slash = uri.find('/');
  if (slash == std::string_view::npos)
    return fail(ErrorKind::kInvalidArgument, "logging binary URI without an absolute path");
  l.program = TRY(unescape(uri.substr(slash), false));
  std::vector<std::string> keys;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.find(';') != std::string_view::npos)
      return fail(ErrorKind::kInvalidArgument, "logging binary URI: ';' in the query");
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key = TRY(unescape(pair.substr(0, eq), true));
    std::string value = eq == std::string_view::npos ? "" : TRY(unescape(pair.substr(eq + 1), true));
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;  // first value only
    keys.push_back(key);
    l.args.push_back(std::move(key));
    l.args.push_back(std::move(value));
  }
  return l;
}

Result<std::shared_ptr<BinaryLogger>> BinaryLogger::start(asio::io_context& io, const LoggerUri& uri,
                                                          const std::string& id, const std::string& ns) {
  auto [out_r, out_w] = TRY(make_pipe());
  auto [err_r, err_w] = TRY(make_pipe());
  auto [ready_r, ready_w] = TRY(make_pipe());
  std::shared_ptr<BinaryLogger> l(new BinaryLogger(io, uri.program));
  l->pid_ = TRY(spawn_logger(uri, id, ns, out_r, err_r, ready_w));
  // Nothing reaps on the loop before this returns, so the pid is still the logger's.
  l->pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, l->pid_, 0)));
  if (!l->pidfd_) {
    int e = errno;
    ::kill(l->pid_, SIGKILL);
    return sys_error(e, "pidfd of logging binary");
  }
  l->byte_required_ = uri.byte_required;
  l->out_w_ = std::move(out_w);
  l->err_w_ = std::move(err_w);
  l->out_r_ = std::make_unique<asio::posix::stream_descriptor>(io, out_r.release());
  l->err_r_ = std::make_unique<asio::posix::stream_descriptor>(io, err_r.release());
  l->ready_r_ = std::make_unique<asio::posix::stream_descriptor>(io, ready_r.release());
  // ready_w closes here: once the logger's copy goes too, the read sees EOF.
  UniqueFd watched(::fcntl(l->pidfd_.get(), F_DUPFD_CLOEXEC, 3));
  if (!watched) return sys_error("dup pidfd of logging binary");  // the destructor kills it
  std::weak_ptr<BinaryLogger> weak = l;
  l->end_ = watch_process_end(io, std::move(watched), [weak] {
    if (auto self = weak.lock()) self->ended();
  });
  log::debug("logging binary {} started, pid {}", uri.program, l->pid_);
  return l;
}

void BinaryLogger::when_ready(std::function<void(Result<void>)> done) {
  on_ready_ = std::move(done);
  auto self = shared_from_this();
  ready_timer_.expires_after(kReadyLimit);
  ready_timer_.async_wait([self](boost::system::error_code ec) {
    if (ec) return;
    self->ready(failf(ErrorKind::kFailedPrecondition,
                      "logging binary {} did not signal readiness on fd 5 within {} s", self->program_,
                      kReadyLimit.count()));
  });
  ready_r_->async_read_some(asio::buffer(&ready_byte_, 1), [self](boost::system::error_code ec, size_t n) {
    if (ec == asio::error::operation_aborted) return;
    if (n == 1 || (ec == asio::error::eof && !self->byte_required_)) return self->ready({});
    self->ready(failf(ErrorKind::kFailedPrecondition, "logging binary {} {} before signalling readiness",
                      self->program_, ec == asio::error::eof ? "closed fd 5" : "failed: " + ec.message()));
  });
}

void BinaryLogger::ready(Result<void> r) {
  if (!on_ready_) return;  // the other of the two waits answered first
  ready_timer_.cancel();
  if (ready_r_) ready_r_->cancel();
  ready_r_.reset();
  // A logger that is not ready goes at once: nothing of this request stays behind.
  if (!r) {
    if (!ended_) ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
    stop();
  }
  std::exchange(on_ready_, nullptr)(std::move(r));
}

void BinaryLogger::stop() {
  if (stopping_) return;
  stopping_ = true;
  out_w_.reset();
  err_w_.reset();
  if (ended_) return ended();
  ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGTERM, nullptr, 0);
  auto self = shared_from_this();
  kill_timer_.expires_after(kStopLimit);
  kill_timer_.async_wait([self](boost::system::error_code ec) {
    if (ec || self->ended_) return;
    log::warn("logging binary {} (pid {}) still running {} s after SIGTERM: SIGKILL", self->program_,
              self->pid_, kStopLimit.count());
    ::syscall(SYS_pidfd_send_signal, self->pidfd_.get(), SIGKILL, nullptr, 0);
  });
}

void BinaryLogger::ended() {
  ended_ = true;
  end_.reset();
  if (stopping_) {
    // Nothing writes any more: our ends go, and with them the last of the logger.
    kill_timer_.cancel();
    if (out_r_) out_r_->cancel();
    if (err_r_) err_r_->cancel();
    out_r_.reset();
    err_r_.reset();
    return;
  }
  log::warn("logging binary {} (pid {}) ended; the process's output is discarded from now on", program_, pid_);
  discard(out_r_);
  discard(err_r_);
}

void BinaryLogger::discard(std::unique_ptr<asio::posix::stream_descriptor>& pipe) {
  if (!pipe) return;
  auto self = shared_from_this();
  auto* slot = &pipe;
  pipe->async_read_some(asio::buffer(sink_), [self, slot](boost::system::error_code ec, size_t) {
    if (ec == asio::error::operation_aborted || !*slot) return;
    if (ec) return slot->reset();  // EOF: every writer has gone
    self->discard(*slot);
  });
}

BinaryLogger::~BinaryLogger() {
  // Dropped without stop() (the shim going down): the logger does not outlive its owner.
  if (!ended_ && pidfd_) ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
}

UniqueFd BinaryLogger::end_watch() const { return UniqueFd(::fcntl(pidfd_.get(), F_DUPFD_CLOEXEC, 3)); }

}  // namespace reaper::shim
