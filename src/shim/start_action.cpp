#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/files.hpp"
#include "core/log.hpp"
#include "core/oci_spec.hpp"
#include "shim/actions.hpp"
#include "shim/daemon.hpp"
#include "shim/socket_address.hpp"
#include "shim/start_input.hpp"
#include "shim/timings.hpp"

namespace reaper::shim {
namespace {

Result<UniqueFd> bind_socket(const std::string& path, bool* already_served) {
  *already_served = false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return failf("socket path too long: {}", path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  for (int attempt = 0; attempt < 2; ++attempt) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return sys_error("socket");
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      if (::chmod(path.c_str(), 0600) != 0) return sys_error("chmod " + path);
      if (::listen(fd.get(), 64) != 0) return sys_error("listen " + path);
      return fd;
    }
    if (errno != EADDRINUSE) return sys_error("bind " + path);
    // Someone bound it: a live daemon of this pod, or the socket of a dead one.
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      *already_served = true;
      return UniqueFd();
    }
    ::unlink(path.c_str());
  }
  return failf("bind {}: address in use", path);
}

void adjust_oom_score(pid_t daemon) {
  // One above containerd's, so the OOM killer prefers the shim to containerd.
  auto parent = files::read(fmt::format("/proc/{}/oom_score_adj", ::getppid()));
  if (!parent) return;
  int score = std::atoi(parent->c_str()) + 1;
  if (score > 1000) score = 1000;
  // procfs: a plain write, no temp file and rename.
  if (auto fd = files::open(fmt::format("/proc/{}/oom_score_adj", daemon), O_WRONLY)) {
    std::string text = std::to_string(score);
    ssize_t ignored = ::write(fd->get(), text.data(), text.size());
    (void)ignored;
  }
}

// One line into the bundle's log FIFO, which containerd opens before it runs `start` and
// copies into its log (stdout and stderr are the address containerd reads, so nothing
// else may be printed there).
void log_line(const std::string& line) {
  int fd = ::open("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t ignored = ::write(fd, line.data(), line.size());
  (void)ignored;
  ::close(fd);
}

// With REAPER_SHIM_TIMINGS=1: the action's own time.
void log_start_timing(std::int64_t forked_ns) {
  log_line(fmt::format("containerd-shim-reaper-v2: start: address printed {} us after main(){}\n",
                       (monotonic_ns() - main_ns()) / 1000,
                       forked_ns ? fmt::format(", daemon forked at {} us", (forked_ns - main_ns()) / 1000)
                                 : std::string(", daemon already running")));
}

// The forked child's fds as a daemon's: /dev/null as 0-2 (start completes only when
// containerd's pipes reach EOF), the listening socket as 3, nothing else (not the start
// lock, which would stay held while the daemon lives). Whatever the numbering: the socket
// is first lifted above 3. Plain fds: close_range ends them all, and a failure ends the child.
Result<void> daemon_fds(int listening_fd) {
  int lifted = ::fcntl(listening_fd, F_DUPFD_CLOEXEC, 4);
  if (lifted < 0) return sys_error("dup listening socket");
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return sys_error("open /dev/null");
  for (int n = 0; n < 3; ++n)  // dup2 onto itself would leave close-on-exec set
    if ((n == null ? ::fcntl(n, F_SETFD, 0) : ::dup2(null, n)) < 0) return sys_error("/dev/null as stdio");
  if (::dup2(lifted, 3) < 0) return sys_error("listening socket as fd 3");
  if (::syscall(SYS_close_range, 4U, ~0U, 0U) != 0) return sys_error("close_range");
  return {};
}

// The daemon: this process forked, no exec. The child has our image with its start-up
// done, so it serves about as soon as the fork returns (an exec of the binary cost another
// millisecond or more, while containerd's Create already waited in the socket). It takes
// its own session, the fds above, the shim's name as its comm and `serve` in place of
// `start` on its command line (the same length: argv is rewritten in place), and never
// returns here: it exits with serve()'s status.
Result<pid_t> fork_daemon(Options opts, const std::string& path, char* action_arg, int listening_fd,
                          std::int64_t forked_ns) {
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork the daemon");
  if (pid > 0) return pid;
  if (auto ok = daemon_fds(listening_fd); !ok || ::setsid() < 0) {
    log_line(fmt::format("containerd-shim-reaper-v2: start: daemon set-up: {}\n",
                         ok ? std::string(std::strerror(errno)) : ok.error().describe()));
    ::_exit(1);
  }
  ::prctl(PR_SET_NAME, "containerd-shim-reaper-v2");  // the kernel keeps 15 characters
  if (action_arg && std::strcmp(action_arg, "start") == 0) std::memcpy(action_arg, "serve", 5);
  opts.socket = path;
  std::exit(serve(opts, forked_ns));
}

}  // namespace

int start_action(Options opts, char* action_arg) {
  // stdin: runtime options (1.6-2.2, not needed) or 2.3's BootstrapParams, which may ask
  // for another socket directory. 2.3 still passes the flags and environment; its values
  // only fill in what they lack.
  StartInput input = parse_start_input(files::read_fd(STDIN_FILENO).value_or(""));
  if (opts.ns.empty()) opts.ns = input.ns;
  if (opts.address.empty()) opts.address = input.grpc_address;
  if (opts.ttrpc_address.empty() && !input.ttrpc_address.empty()) {
    ::setenv("TTRPC_ADDRESS", input.ttrpc_address.c_str(), 1);  // as 1.6-2.2 pass it
    opts.ttrpc_address = ttrpc_socket_path(input.ttrpc_address);
  }
  std::string socket_dir = input.socket_dir.value_or(kSocketDir);
  if (opts.ns.empty() || opts.id.empty() || opts.address.empty()) {
    fmt::print(stderr, "start: -namespace, -id and -address are required\n");
    return 1;
  }
  char cwd[PATH_MAX];
  std::string bundle = ::getcwd(cwd, sizeof cwd) ? cwd : ".";
  std::map<std::string, std::string> annotations;
  if (auto spec = oci::load_bundle_spec(bundle)) annotations = spec->annotations;
  std::string path = socket_path(opts.address, opts.ns, group_id(annotations, opts.id), socket_dir);
  std::string address = "unix://" + path;

  if (auto ok = files::make_dirs(socket_dir, 0711); !ok) {
    fmt::print(stderr, "start: {}\n", ok.error().describe());
    return 1;
  }
  // Two `start`s for one pod at once must not both spawn a daemon: the probe-then-bind
  // below runs under one node-wide lock (held for a few milliseconds; one file, no leak).
  auto lock = files::open(socket_dir + "/reaper-start.lock", O_RDWR | O_CREAT, 0600);
  if (lock) ::flock(lock->get(), LOCK_EX);
  bool served = false;
  std::int64_t forked_ns = 0;
  auto sock = bind_socket(path, &served);
  if (!sock) {
    fmt::print(stderr, "start: {}\n", sock.error().describe());
    return 1;
  }
  // The bundle's address first: a start that fails leaves no daemon behind, and the
  // socket it bound goes with it.
  if (auto ok = files::replace(bundle + "/address", address, 0644); !ok) {
    if (!served) ::unlink(path.c_str());
    fmt::print(stderr, "start: {}\n", ok.error().describe());
    return 1;
  }
  if (!served) {
    if (timings_enabled()) forked_ns = monotonic_ns();
    auto daemon = fork_daemon(opts, path, action_arg, sock->get(), forked_ns);
    if (!daemon) {
      ::unlink(path.c_str());
      fmt::print(stderr, "start: {}\n", daemon.error().describe());
      return 1;
    }
    adjust_oom_score(*daemon);
  }
  fmt::print("{}", address);
  if (timings_enabled()) {
    std::fflush(stdout);
    timeline("start:main", main_ns());
    timeline("start:printed", monotonic_ns());
    log_start_timing(forked_ns);
  }
  return 0;
}

}  // namespace reaper::shim
