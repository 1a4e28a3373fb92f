#include "core/overlay.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "core/control_socket.hpp"
#include "core/files.hpp"
#include "core/line_protocol.hpp"
#include "core/mountinfo.hpp"
#include "core/process_tree.hpp"

extern char** environ;

namespace reaper {
namespace {

// How long a helper may take to assemble a namespace before it is given up on, so
// that a stuck helper never blocks the group's pods forever.
constexpr int kHelperTimeoutMs = 30000;

// flock()s <dir>/lock; retries if the group was removed (and the file unlinked)
// while we waited, so the lock we hold is always the one on disk.
Result<UniqueFd> lock_group_dir(const std::string& dir, bool create) {
  for (;;) {
    if (create) TRY(files::make_dirs(dir, 0700));
    UniqueFd fd = TRY(files::open(dir + "/lock", O_RDWR | (create ? O_CREAT : 0), 0600));
    while (::flock(fd.get(), LOCK_EX) != 0)
      if (errno != EINTR) return sys_error("flock " + dir + "/lock");
    struct stat held {}, on_disk {};
    if (::fstat(fd.get(), &held) == 0 && ::stat((dir + "/lock").c_str(), &on_disk) == 0 &&
        held.st_ino == on_disk.st_ino && held.st_dev == on_disk.st_dev)
      return fd;
    if (!create) return failf("overlay group {} was removed", dir);
  }
}

// The helper holding a group's namespace, when the namespace could not be bound: the
// pid and start time recorded in <dir>/helper, checked so a reused pid never counts.
std::optional<pid_t> holding_helper(const std::string& dir) {
  auto text = files::read(dir + "/helper");
  if (!text) return std::nullopt;
  // "PID TICKS\n"
  std::string_view record(*text);
  if (record.ends_with('\n')) record.remove_suffix(1);
  auto space = record.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto pid = line::parse_pid(record.substr(0, space));
  auto ticks = line::parse_int(record.substr(space + 1));
  if (!pid || !ticks) return std::nullopt;
  auto info = read_proc(*pid);
  if (!info || static_cast<int64_t>(info->start_ticks) != *ticks) return std::nullopt;
  return *pid;
}

// The group's namespace if <dir>/mnt really is one (nsfs, a mount namespace); after a
// reboot or a crash it is an empty file or missing.
std::optional<UniqueFd> open_namespace_file(const std::string& path);

std::optional<UniqueFd> open_namespace(const std::string& dir) {
  if (auto ns = open_namespace_file(dir + "/mnt")) return ns;
  auto helper = holding_helper(dir);
  if (!helper) return std::nullopt;
  auto ns = open_namespace_file(fmt::format("/proc/{}/ns/mnt", *helper));
  // Still the same process after the open: the namespace is the group's.
  if (!ns || holding_helper(dir) != helper) return std::nullopt;
  return ns;
}

std::optional<UniqueFd> open_namespace_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  UniqueFd ns(fd);
  struct statfs sf {};
  if (::fstatfs(fd, &sf) != 0 || sf.f_type != NSFS_MAGIC) return std::nullopt;
  if (::ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNS) return std::nullopt;
  return ns;
}

Result<std::string> read_line_timeout(int fd, int timeout_ms) {
  std::string line;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, timeout_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return sys_error("poll overlay helper");
    if (rc == 0) return fail("the overlay helper did not finish in time");
    char c;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read overlay helper");
    if (n == 0) return fail("the overlay helper died before the namespace was ready");
    if (c == '\n') return line;
    line += c;
  }
}

// Runs the helper personality, waits for "ready", binds its namespace to <dir>/mnt
// from here (the host namespace), then lets it exit.
Result<void> make_namespace(const std::string& dir) {
  std::string ns_file = dir + "/mnt";
  ::umount2(ns_file.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);  // a stale bind, if any
  ::unlink((dir + "/helper").c_str());
  { TRY(files::open(ns_file, O_RDONLY | O_CREAT, 0600)); }

  int report[2], hold[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return sys_error("pipe");
  UniqueFd report_r(report[0]), report_w(report[1]);
  if (::pipe2(hold, O_CLOEXEC) != 0) return sys_error("pipe");
  UniqueFd hold_r(hold[0]), hold_w(hold[1]);

  const char* argv[] = {kOverlayHelperName, "build", dir.c_str(), nullptr};
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork overlay helper");
  if (pid == 0) {
    // Lifted above 4 first, so that placing one cannot overwrite the other.
    int rep = ::fcntl(report_w.get(), F_DUPFD_CLOEXEC, 10);
    int hld = ::fcntl(hold_r.get(), F_DUPFD_CLOEXEC, 10);
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (rep < 0 || hld < 0 || null < 0 || ::dup2(null, 0) < 0 || ::dup2(null, 1) < 0 ||
        ::dup2(null, 2) < 0 || ::dup2(rep, 3) < 0 || ::dup2(hld, 4) < 0)
      ::_exit(1);
    ::syscall(SYS_close_range, 5U, ~0U, 0U);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve("/proc/self/exe", const_cast<char**>(argv), environ);
    ::_exit(127);
  }
  report_w.reset();
  hold_r.reset();
  auto reap = [&] {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  };
  auto report_line = read_line_timeout(report_r.get(), kHelperTimeoutMs);
  if (!report_line || !line::parse_ready(*report_line)) {
    ::kill(pid, SIGKILL);
    reap();
    if (!report_line) return std::unexpected(report_line.error());
    return std::unexpected(line::unexpected(*report_line, "the overlay helper"));
  }
  std::string helper_ns = fmt::format("/proc/{}/ns/mnt", pid);
  int rc = ::mount(helper_ns.c_str(), ns_file.c_str(), nullptr, MS_BIND, nullptr);
  int err = errno;
  if (rc != 0 && (err == EINVAL || err == ELOOP)) {
    // Some kernels refuse the bind (nested namespaces, namespace ids out of order): the
    // helper then stays, holding the namespace itself, and the group records who it is.
    TRY(write_all(hold_w.get(), line::format(line::Hold{})));
    auto held_line = read_line_timeout(report_r.get(), kHelperTimeoutMs);
    hold_w.reset();
    reap();
    auto held = held_line ? line::parse_held(*held_line) : std::nullopt;
    if (!held) return fail("the overlay helper could not stay to hold the namespace");
    pid_t anchor = held->pid;
    auto info = TRY(read_proc(anchor));
    return files::write_atomic(dir + "/helper", fmt::format("{} {}\n", anchor, info.start_ticks), 0600);
  }
  hold_w.reset();  // the helper exits; the bind keeps the namespace
  reap();
  if (rc != 0) return sys_error(err, "bind the group namespace to " + ns_file);
  return {};
}

// The kernel binds a namespace file only onto a mount that propagates nowhere. Unless
// the overlay root already is such a mount, it becomes one: a bind onto itself, private.
Result<void> make_root_private(const std::string& overlay_root) {
  auto mounts = TRY(read_mountinfo());
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it)
    if (it->mount_point == overlay_root) {
      if (!it->propagates) return {};
      break;
    }
  bool mounted = false;
  for (const auto& m : mounts) mounted = mounted || m.mount_point == overlay_root;
  if (!mounted && ::mount(overlay_root.c_str(), overlay_root.c_str(), nullptr, MS_BIND, nullptr) != 0)
    return sys_error("bind the overlay root " + overlay_root + " onto itself");
  if (::mount(nullptr, overlay_root.c_str(), nullptr, MS_PRIVATE, nullptr) != 0)
    return sys_error("make the overlay root " + overlay_root + " private");
  return {};
}

}  // namespace

Result<GroupNamespace> ensure_group(const std::string& overlay_root, const OverlayGroup& group) {
  TRY(files::make_dirs(overlay_root, 0700));
  std::string dir = overlay_root + "/" + group.key();
  UniqueFd lock = TRY(lock_group_dir(dir, true));
  GroupNamespace g;
  auto ns = open_namespace(dir);
  if (!ns) {
    TRY(make_root_private(overlay_root));
    TRY_CTX(make_namespace(dir), "overlay group " + group.key());
    ns = open_namespace(dir);
    if (!ns) return failf("overlay group {}: the namespace did not persist", group.key());
    g.created = true;
  }
  g.ns = std::move(*ns);
  g.in_use = TRY(files::open(dir + "/in-use.lock", O_RDWR | O_CREAT, 0600));
  while (::flock(g.in_use.get(), LOCK_SH) != 0)
    if (errno != EINTR) return sys_error("flock " + dir + "/in-use.lock");
  return g;
}

std::vector<GroupInfo> list_groups(const std::string& overlay_root) {
  std::vector<GroupInfo> out;
  auto names = files::list_dir(overlay_root);
  if (!names) return out;
  for (const auto& key : *names) {
    if (!parse_group_key(key)) continue;
    std::string dir = overlay_root + "/" + key;
    GroupInfo info{key, open_namespace(dir).has_value(), false};
    if (auto fd = files::open(dir + "/in-use.lock", O_RDONLY)) {
      if (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) info.in_use = errno == EWOULDBLOCK;
    }
    out.push_back(info);
  }
  return out;
}

Result<void> remove_group(const std::string& overlay_root, const std::string& key) {
  TRY(parse_group_key(key));
  std::string dir = overlay_root + "/" + key;
  if (!files::exists(dir)) return failf("overlay group {} does not exist", key);
  UniqueFd lock = TRY(lock_group_dir(dir, false));
  if (auto in_use = files::open(dir + "/in-use.lock", O_RDONLY)) {
    if (::flock(in_use->get(), LOCK_EX | LOCK_NB) != 0)
      return failf("overlay group {} is in use by a running container", key);
  }
  if (auto helper = holding_helper(dir)) ::kill(*helper, SIGKILL);
  std::string ns_file = dir + "/mnt";
  if (::umount2(ns_file.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL &&
      errno != ENOENT)
    return sys_error("unmount " + ns_file);
  // The lock file goes last: whoever waits on it then sees it was removed and starts over.
  for (const char* part : {"layers", "merged", "mnt", "helper", "in-use.lock", "build.log"}) {
    std::string path = dir + "/" + part;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) TRY(files::remove_tree(path));
    else if (::unlink(path.c_str()) != 0) return sys_error("remove " + path);
  }
  if (::unlink((dir + "/lock").c_str()) != 0) return sys_error("remove " + dir + "/lock");
  if (::rmdir(dir.c_str()) != 0) return sys_error("remove " + dir);
  return {};
}

}  // namespace reaper
