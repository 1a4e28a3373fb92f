#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/files.hpp"
#include "core/log.hpp"
#include "core/oci_spec.hpp"
#include "shim/actions.hpp"
#include "shim/socket_address.hpp"
#include "shim/start_input.hpp"
#include "shim/timings.hpp"

extern char** environ;

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

// With REAPER_SHIM_TIMINGS=1: the action's own time into the bundle's log FIFO, which
// containerd opens before it runs `start` and copies into its log (stdout and stderr are
// the address containerd reads, so nothing else may be printed there).
void log_start_timing(std::int64_t forked_ns) {
  std::int64_t done = monotonic_ns();
  int fd = ::open("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;
  std::string line = fmt::format("containerd-shim-reaper-v2: start: address printed {} us after main(){}\n",
                                 (done - main_ns()) / 1000,
                                 forked_ns ? fmt::format(", daemon forked at {} us", (forked_ns - main_ns()) / 1000)
                                           : std::string(", daemon already running"));
  ssize_t ignored = ::write(fd, line.data(), line.size());
  (void)ignored;
  ::close(fd);
}

// The daemon: `SELF ... -socket PATH serve` in its own session, the listening socket as its
// fd 3, /dev/null as 0-2 (start completes only when containerd's pipes reach EOF), every
// other fd of ours closed by close-on-exec. posix_spawn: glibc clones with CLONE_VM |
// CLONE_VFORK, so `start` is held only until the exec and its page tables are not copied
// (a fork here cost half a millisecond, and copy-on-write faults after it). By the path
// containerd used, so the daemon's name (comm) is the shim's own.
Result<pid_t> spawn_daemon(const Options& opts, const std::string& path, const std::string& self_path,
                           int listening_fd, std::int64_t forked_ns) {
  std::vector<std::string> args = {"containerd-shim-reaper-v2", "-namespace", opts.ns, "-id", opts.id,
                                   "-address", opts.address, "-publish-binary", opts.publish_binary,
                                   "-socket", path};
  if (opts.debug) args.push_back("-debug");
  args.push_back("serve");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string forked = forked_ns ? fmt::format("{}={}", kForkedEnv, forked_ns) : std::string();
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  if (!forked.empty()) envp.push_back(forked.data());
  envp.push_back(nullptr);

  // dup2 onto itself would leave close-on-exec set: lift the socket above 3 first.
  UniqueFd lifted;
  if (listening_fd == 3) {
    lifted = UniqueFd(::fcntl(listening_fd, F_DUPFD_CLOEXEC, 4));
    if (!lifted) return sys_error("dup listening socket");
    listening_fd = lifted.get();
  }
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  ::posix_spawnattr_init(&attr);
  ::posix_spawn_file_actions_init(&actions);
  int rc = ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  for (int n = 0; n < 3 && rc == 0; ++n)
    rc = ::posix_spawn_file_actions_addopen(&actions, n, "/dev/null", O_RDWR, 0);
  if (rc == 0) rc = ::posix_spawn_file_actions_adddup2(&actions, listening_fd, 3);
  pid_t pid = -1;
  if (rc == 0) {
    rc = ::posix_spawn(&pid, self_path.c_str(), &actions, &attr, argv.data(), envp.data());
    if (rc != 0) rc = ::posix_spawn(&pid, "/proc/self/exe", &actions, &attr, argv.data(), envp.data());
  }
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    errno = rc;
    return sys_error("spawn the daemon");
  }
  return pid;
}

}  // namespace

int start_action(Options opts, const std::string& self_path) {
  // stdin: runtime options (1.6-2.2, not needed) or 2.3's BootstrapParams, which may ask
  // for another socket directory. 2.3 still passes the flags and environment; its values
  // only fill in what they lack.
  StartInput input = parse_start_input(files::read_fd(STDIN_FILENO).value_or(""));
  if (opts.ns.empty()) opts.ns = input.ns;
  if (opts.address.empty()) opts.address = input.grpc_address;
  if (opts.ttrpc_address.empty() && !input.ttrpc_address.empty())
    ::setenv("TTRPC_ADDRESS", input.ttrpc_address.c_str(), 1);  // for the daemon
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
  if (!served) {
    if (timings_enabled()) forked_ns = monotonic_ns();
    auto daemon = spawn_daemon(opts, path, self_path, sock->get(), forked_ns);
    if (!daemon) {
      fmt::print(stderr, "start: {}\n", daemon.error().describe());
      return 1;
    }
    adjust_oom_score(*daemon);
  }
  if (auto ok = files::replace(bundle + "/address", address, 0644); !ok) {
    fmt::print(stderr, "start: {}\n", ok.error().describe());
    return 1;
  }
  fmt::print("{}", address);
  if (timings_enabled()) {
    std::fflush(stdout);
    log_start_timing(forked_ns);
  }
  return 0;
}

}  // namespace reaper::shim
