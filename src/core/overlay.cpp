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

#include "core/beneath.hpp"
#include "core/control_socket.hpp"
#include "core/line_protocol.hpp"
#include "core/mountinfo.hpp"
#include "core/process_tree.hpp"

extern char** environ;

namespace reaper {
namespace {

// How long a helper may take to assemble a namespace before it is given up on, so
// that a stuck helper never blocks the group's pods forever.
constexpr int kHelperTimeoutMs = 30000;
constexpr const char* kRootLock = ".lock";
constexpr const char* kSelfBindMark = ".self-bind";

// A group directory opened safely, with its path for messages.
struct GroupDir {
  UniqueFd fd;
  std::string path;
  std::string at(std::string_view name) const { return path + "/" + std::string(name); }
};

int64_t ns_of(const struct timespec& t) { return t.tv_sec * 1'000'000'000LL + t.tv_nsec; }

// flock()s the file `name` in `dir`; starts over if it was unlinked (its group or the
// root's bind removed) while we waited, so the lock we hold is always the one on disk.
Result<UniqueFd> lock_file_in(int dir, const char* name, const std::string& shown, bool create,
                              int op, int timeout_ms) {
  for (;;) {
    UniqueFd fd = TRY(beneath::open_file(dir, name, O_RDWR | (create ? O_CREAT : 0), 0600, shown));
    TRY(beneath::lock(fd.get(), op, timeout_ms, shown));
    struct stat held {}, on_disk {};
    if (::fstat(fd.get(), &held) == 0 && ::fstatat(dir, name, &on_disk, AT_SYMLINK_NOFOLLOW) == 0 &&
        held.st_ino == on_disk.st_ino && held.st_dev == on_disk.st_dev)
      return fd;
    if (!create) return failf("{} was removed", shown);
  }
}

// The helper holding a group's namespace, when the namespace could not be bound: the
// pid and start time recorded in <group>/helper, checked so a reused pid never counts.
std::optional<pid_t> holding_helper(const GroupDir& g) {
  auto text = beneath::read_file(g.fd.get(), "helper", g.at("helper"));
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

// A namespace file, checked before anything else is done with it: nsfs, a mount namespace.
std::optional<UniqueFd> checked_namespace(UniqueFd fd) {
  struct statfs sf {};
  if (::fstatfs(fd.get(), &sf) != 0 || sf.f_type != NSFS_MAGIC) return std::nullopt;
  int real = ::open(beneath::fd_path(fd.get()).c_str(), O_RDONLY | O_CLOEXEC);
  if (real < 0) return std::nullopt;
  UniqueFd ns(real);
  if (::ioctl(ns.get(), NS_GET_NSTYPE) != CLONE_NEWNS) return std::nullopt;
  return ns;
}

// The group's namespace if <group>/mnt really is one; after a reboot or a crash it is
// an empty file or missing.
std::optional<UniqueFd> open_namespace(const GroupDir& g) {
  // The bind is a mount reaper made: crossing it is expected, a symlink is not.
  auto opened = beneath::open_file(g.fd.get(), "mnt", O_PATH, 0, g.at("mnt"), beneath::Mount::kAllow);
  if (opened)
    if (auto ns = checked_namespace(std::move(*opened))) return ns;
  auto helper = holding_helper(g);
  if (!helper) return std::nullopt;
  int proc = ::open(fmt::format("/proc/{}/ns/mnt", *helper).c_str(), O_PATH | O_CLOEXEC);
  if (proc < 0) return std::nullopt;
  auto ns = checked_namespace(UniqueFd(proc));
  // Still the same process after the open: the namespace is the group's.
  if (!ns || holding_helper(g) != helper) return std::nullopt;
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

// Detaches the nsfs bind on <group>/mnt, if there is one.
void unbind_namespace(const GroupDir& g) {
  auto mnt = beneath::open_file(g.fd.get(), "mnt", O_PATH, 0, g.at("mnt"), beneath::Mount::kAllow);
  struct statfs sf {};
  if (mnt && ::fstatfs(mnt->get(), &sf) == 0 && sf.f_type == NSFS_MAGIC)
    ::umount2(beneath::fd_path(mnt->get()).c_str(), MNT_DETACH);
}

// Runs the helper personality, waits for "ready", binds its namespace to <group>/mnt
// from here (the host namespace), then lets it exit.
Result<void> make_namespace(const GroupDir& g, const std::string& root, const std::string& key) {
  unbind_namespace(g);  // a stale bind, if any
  ::unlinkat(g.fd.get(), "helper", 0);
  UniqueFd ns_file = TRY(beneath::open_file(g.fd.get(), "mnt", O_RDONLY | O_CREAT, 0600, g.at("mnt")));

  int report[2], hold[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return sys_error("pipe");
  UniqueFd report_r(report[0]), report_w(report[1]);
  if (::pipe2(hold, O_CLOEXEC) != 0) return sys_error("pipe");
  UniqueFd hold_r(hold[0]), hold_w(hold[1]);

  const char* argv[] = {kOverlayHelperName, "build", root.c_str(), key.c_str(), nullptr};
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
  int rc = ::mount(helper_ns.c_str(), beneath::fd_path(ns_file.get()).c_str(), nullptr, MS_BIND, nullptr);
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
    return beneath::write_file(g.fd.get(), "helper", fmt::format("{} {}\n", anchor, info.start_ticks),
                               g.at("helper"));
  }
  hold_w.reset();  // the helper exits; the bind keeps the namespace
  reap();
  if (rc != 0) return sys_error(err, "bind the group namespace to " + g.at("mnt"));
  return {};
}

// The topmost mount at `root`, if the root is a mount point.
std::optional<MountEntry> root_mount(const std::vector<MountEntry>& mounts, const std::string& root) {
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it)
    if (it->mount_point == root) return *it;
  return std::nullopt;
}

// The kernel binds a namespace file only onto a mount that propagates nowhere. Unless
// the overlay root already is such a mount, it becomes one: a bind onto itself, private,
// marked as reaper's so that the last group's removal takes it away again.
Result<void> make_root_private(const std::string& root, int timeout_ms) {
  auto top = root_mount(TRY(read_mountinfo()), root);
  if (top && !top->propagates) return {};
  // First starts that race here take turns: a second bind stacked on the first would
  // hide the groups made under the first from every later start (they would be built
  // again), and outlive the last group's removal.
  UniqueFd dir = TRY_CTX(beneath::open_root(root, false), "overlay root");
  std::string shown = root + "/" + kRootLock;
  UniqueFd turn = TRY(lock_file_in(dir.get(), kRootLock, shown, true, LOCK_EX, timeout_ms));
  top = root_mount(TRY(read_mountinfo()), root);
  if (top && !top->propagates) return {};
  if (!top) {
    std::string at = beneath::fd_path(dir.get());
    if (::mount(at.c_str(), at.c_str(), nullptr, MS_BIND, nullptr) != 0)
      return sys_error("bind the overlay root " + root + " onto itself");
  }
  UniqueFd bound = TRY(beneath::open_root(root, false));
  if (::mount(nullptr, beneath::fd_path(bound.get()).c_str(), nullptr, MS_PRIVATE, nullptr) != 0)
    return sys_error("make the overlay root " + root + " private");
  if (!top)
    TRY(beneath::open_file(bound.get(), kSelfBindMark, O_RDONLY | O_CREAT, 0600, root + "/" + kSelfBindMark));
  return {};
}

// The root (opened after it was made private) with a shared hold on its .lock, so that
// the last group's removal cannot take the bind away under a group being set up.
struct HeldRoot {
  UniqueFd fd, lock;
};

uint64_t mount_id(int fd) {
  struct statx st {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &st) != 0 || !(st.stx_mask & STATX_MNT_ID)) return 0;
  return st.stx_mnt_id;
}

bool same_mount(int fd, const std::string& root) {
  auto now = beneath::open_root(root, false);
  return now && mount_id(fd) != 0 && mount_id(fd) == mount_id(now->get());
}

Result<HeldRoot> hold_root(const OverlayOptions& o) {
  for (;;) {
    { TRY_CTX(beneath::open_root(o.root, true), "overlay root"); }
    TRY(make_root_private(o.root, o.lock_timeout_ms));
    HeldRoot r;
    r.fd = TRY_CTX(beneath::open_root(o.root, false), "overlay root");
    r.lock = TRY(lock_file_in(r.fd.get(), kRootLock, o.root + "/" + kRootLock, true, LOCK_SH,
                              o.lock_timeout_ms));
    // Still the mount that is there now: the last group's removal may have dropped the
    // bind while we waited.
    if (same_mount(r.fd.get(), o.root)) return r;
  }
}

// Opens the group directory and takes its lock; starts over if the group was removed
// while we waited (the lock unlinked, the directory gone).
Result<std::pair<GroupDir, UniqueFd>> lock_group(int root_fd, const std::string& root,
                                                 const std::string& key, bool create, int op,
                                                 int timeout_ms) {
  for (;;) {
    GroupDir g;
    g.path = root + "/" + key;
    g.fd = create ? TRY(beneath::make_dir(root_fd, key, 0700, g.path))
                  : TRY(beneath::open_dir(root_fd, key, g.path));
    auto lock = lock_file_in(g.fd.get(), "lock", g.at("lock"), create, op, timeout_ms);
    if (!lock && create && lock.error().code == ENOENT) continue;  // removed meanwhile
    if (!lock) return std::unexpected(lock.error());
    struct stat dir {}, entry {};
    if (::fstat(g.fd.get(), &dir) == 0 &&
        ::fstatat(root_fd, key.c_str(), &entry, AT_SYMLINK_NOFOLLOW) == 0 &&
        dir.st_ino == entry.st_ino && dir.st_dev == entry.st_dev)
      return std::pair{std::move(g), std::move(*lock)};
    if (!create) return failf("overlay group {} was removed", key);
  }
}

// <group>/layers: a tmpfs of `size` bytes (made now if missing), or a plain directory
// when size is 0. A mount there that is not a tmpfs is not reaper's.
Result<void> ensure_layers(const GroupDir& g, uint64_t size) {
  std::string shown = g.at("layers");
  auto plain = beneath::open_dir(g.fd.get(), "layers", shown);
  if (!plain && plain.error().code == ENOENT)
    plain = beneath::make_dir(g.fd.get(), "layers", 0700, shown);
  if (!plain && plain.error().code == EXDEV) {
    UniqueFd mounted = TRY(beneath::open_dir(g.fd.get(), "layers", shown, beneath::Mount::kAllow));
    struct statfs sf {};
    if (::fstatfs(mounted.get(), &sf) != 0 || sf.f_type != TMPFS_MAGIC)
      return failf("{} is a mount reaper did not make (not a tmpfs): refused", shown);
    return {};  // the group's own, with the limit it was made with
  }
  if (!plain) return std::unexpected(plain.error());
  if (size == 0) return {};
  int ctx = ::fsopen("tmpfs", FSOPEN_CLOEXEC);
  if (ctx < 0) return sys_error("fsopen tmpfs for " + shown);
  UniqueFd c(ctx);
  // Inodes cost memory the size limit does not count: one per 4 KiB of the limit.
  std::string bytes = std::to_string(size), inodes = std::to_string(std::max<uint64_t>(size / 4096, 1024));
  if (::fsconfig(ctx, FSCONFIG_SET_STRING, "source", "reaper-layers", 0) != 0 ||
      ::fsconfig(ctx, FSCONFIG_SET_STRING, "size", bytes.c_str(), 0) != 0 ||
      ::fsconfig(ctx, FSCONFIG_SET_STRING, "nr_inodes", inodes.c_str(), 0) != 0 ||
      ::fsconfig(ctx, FSCONFIG_SET_STRING, "mode", "0700", 0) != 0 ||
      ::fsconfig(ctx, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return sys_error("configure the layer tmpfs of " + shown);
  int mnt = ::fsmount(ctx, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0) return sys_error("fsmount the layer tmpfs of " + shown);
  UniqueFd m(mnt);
  if (::move_mount(m.get(), "", plain->get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    return sys_error("mount the layer tmpfs on " + shown);
  return {};
}

int64_t wall_ns() {
  struct timespec t {};
  ::clock_gettime(CLOCK_REALTIME, &t);
  return ns_of(t);
}

// When the group was last used: in-use.lock's mtime (stamped at each start and exit),
// else when the directory was made.
int64_t last_use(const GroupDir& g) {
  struct stat st {};
  if (::fstatat(g.fd.get(), "in-use.lock", &st, AT_SYMLINK_NOFOLLOW) == 0) return ns_of(st.st_mtim);
  if (::fstat(g.fd.get(), &st) == 0) return ns_of(st.st_mtim);
  return 0;
}

// With no group left, the root's self-bind (if reaper made it) goes, unless a group is
// being set up at this very moment (its start holds the root's lock shared).
void drop_root_bind_if_unused(int root_fd, const std::string& root) {
  auto lock = beneath::open_file(root_fd, kRootLock, O_RDWR | O_CREAT, 0600, root + "/" + kRootLock);
  if (!lock || ::flock(lock->get(), LOCK_EX | LOCK_NB) != 0) return;
  // Listed under the lock: a group made just before it was taken counts.
  auto names = beneath::list(root_fd, root);
  if (!names) return;
  bool marked = false;
  for (const auto& n : *names) {
    if (n == kSelfBindMark) marked = true;
    else if (n != kRootLock) return;
  }
  if (!marked) return;
  // Unbound before the lock file goes: a start that opens it meanwhile waits on this
  // lock, then finds it unlinked and starts over, on the root as it is by then.
  ::umount2(beneath::fd_path(root_fd).c_str(), MNT_DETACH);
  ::unlinkat(root_fd, kSelfBindMark, 0);
  ::unlinkat(root_fd, kRootLock, 0);
}

// Why a group stays (for gc), or nothing once it is gone.
using Kept = std::optional<std::string>;

Result<Kept> remove_one(int root_fd, const std::string& root, const std::string& key,
                        int timeout_ms, std::optional<int64_t> idle_ns) {
  std::string path = root + "/" + key;
  struct stat st {};
  if (::fstatat(root_fd, key.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return failf("overlay group {} does not exist", key);
    return sys_error("stat " + path);
  }
  if (!S_ISDIR(st.st_mode)) {
    // Planted: the entry goes, whatever it points to stays untouched.
    if (::unlinkat(root_fd, key.c_str(), 0) != 0) return sys_error("remove " + path);
    return Kept{};
  }
  int op = LOCK_EX | (idle_ns ? LOCK_NB : 0);
  auto locked = lock_group(root_fd, root, key, false, op, timeout_ms);
  if (!locked && idle_ns && locked.error().code == EWOULDBLOCK) return Kept{"being set up"};
  if (!locked) return std::unexpected(locked.error());
  auto& [g, lock] = *locked;
  if (auto in_use = beneath::open_file(g.fd.get(), "in-use.lock", O_RDONLY, 0, g.at("in-use.lock"))) {
    if (::flock(in_use->get(), LOCK_EX | LOCK_NB) != 0) {
      if (idle_ns) return Kept{"in use"};
      return failf("overlay group {} is in use by a running container", key);
    }
  }
  if (idle_ns) {
    int64_t idle = wall_ns() - last_use(g);
    if (idle < *idle_ns) return Kept{fmt::format("idle for {} s only", idle / 1'000'000'000)};
  }
  if (auto helper = holding_helper(g)) ::kill(*helper, SIGKILL);
  unbind_namespace(g);
  // The group's tmpfs goes first; anything but a directory there is unlinked below.
  if (::fstatat(g.fd.get(), "layers", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
    LayersDir layers = TRY(open_layers_dir(g.fd.get(), g.path));
    if (layers.tmpfs && ::umount2(beneath::fd_path(layers.fd.get()).c_str(), MNT_DETACH) != 0)
      return sys_error("unmount " + g.at("layers"));
  }
  // The lock file goes last: whoever waits on it then sees it was removed and starts over.
  for (const auto& name : TRY(beneath::list(g.fd.get(), g.path)))
    if (name != "lock") TRY(beneath::remove(g.fd.get(), name, g.at(name)));
  if (::unlinkat(g.fd.get(), "lock", 0) != 0) return sys_error("remove " + g.at("lock"));
  if (::unlinkat(root_fd, key.c_str(), AT_REMOVEDIR) != 0) return sys_error("remove " + path);
  return Kept{};
}

}  // namespace

Result<LayersDir> open_layers_dir(int group_fd, const std::string& group_path) {
  std::string shown = group_path + "/layers";
  LayersDir l;
  auto plain = beneath::open_dir(group_fd, "layers", shown);
  if (plain) {
    l.fd = std::move(*plain);
    return l;
  }
  if (plain.error().code != EXDEV) return std::unexpected(plain.error());
  l.fd = TRY(beneath::open_dir(group_fd, "layers", shown, beneath::Mount::kAllow));
  struct statfs sf {};
  if (::fstatfs(l.fd.get(), &sf) != 0 || sf.f_type != TMPFS_MAGIC)
    return failf("{} is a mount reaper did not make (not a tmpfs): refused", shown);
  l.tmpfs = true;
  return l;
}

OverlayOptions overlay_options(const NodeConfig& node) {
  OverlayOptions o;
  o.root = node.overlay_root;
  o.size = node.overlay_size;
  o.lock_timeout_ms = node.overlay_lock_timeout_ms;
  return o;
}

Result<GroupNamespace> ensure_group(const OverlayOptions& o, const OverlayGroup& group) {
  HeldRoot root = TRY(hold_root(o));
  std::string key = group.key();
  auto [g, lock] = TRY(lock_group(root.fd.get(), o.root, key, true, LOCK_EX, o.lock_timeout_ms));
  GroupNamespace out;
  auto ns = open_namespace(g);
  if (!ns) {
    // Made with the namespace, and kept while the group exists: a rebuild finds it.
    TRY_CTX(ensure_layers(g, o.size), "overlay group " + key);
    TRY_CTX(make_namespace(g, o.root, key), "overlay group " + key);
    ns = open_namespace(g);
    if (!ns) return failf("overlay group {}: the namespace did not persist", key);
    out.created = true;
  }
  out.ns = std::move(*ns);
  out.in_use = TRY(beneath::open_file(g.fd.get(), "in-use.lock", O_RDWR | O_CREAT, 0600, g.at("in-use.lock")));
  TRY(beneath::lock(out.in_use.get(), LOCK_SH, o.lock_timeout_ms, g.at("in-use.lock")));
  ::futimens(out.in_use.get(), nullptr);
  return out;
}

void release_group(UniqueFd& in_use) {
  if (!in_use) return;
  ::futimens(in_use.get(), nullptr);
  in_use.reset();
}

std::vector<GroupInfo> list_groups(const std::string& overlay_root) {
  std::vector<GroupInfo> out;
  auto root = beneath::open_root(overlay_root, false);
  if (!root) return out;
  auto names = beneath::list(root->get(), overlay_root);
  if (!names) return out;
  for (const auto& key : *names) {
    if (!parse_group_key(key)) continue;
    GroupInfo info;
    info.key = key;
    GroupDir g;
    g.path = overlay_root + "/" + key;
    auto dir = beneath::open_dir(root->get(), key, g.path);
    if (!dir) {
      info.problem = dir.error().describe();
      out.push_back(std::move(info));
      continue;
    }
    g.fd = std::move(*dir);
    info.active = open_namespace(g).has_value();
    if (auto fd = beneath::open_file(g.fd.get(), "in-use.lock", O_RDONLY, 0, g.at("in-use.lock")))
      if (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) info.in_use = errno == EWOULDBLOCK;
    info.last_use_ns = last_use(g);
    if (auto layers = open_layers_dir(g.fd.get(), g.path); layers && layers->tmpfs) {
      struct statfs sf {};
      if (::fstatfs(layers->fd.get(), &sf) == 0) {
        info.limited = true;
        info.limit_bytes = static_cast<uint64_t>(sf.f_blocks) * sf.f_bsize;
        info.used_bytes = static_cast<uint64_t>(sf.f_blocks - sf.f_bfree) * sf.f_bsize;
      }
    } else if (layers) {
      info.used_bytes = beneath::disk_usage(g.fd.get(), "layers");
    } else if (layers.error().code != ENOENT) {
      info.problem = layers.error().describe();
    }
    out.push_back(std::move(info));
  }
  return out;
}

Result<void> remove_group(const std::string& overlay_root, const std::string& key, int lock_timeout_ms) {
  TRY(parse_group_key(key));
  auto root = beneath::open_root(overlay_root, false);
  if (!root && root.error().code == ENOENT) return failf("overlay group {} does not exist", key);
  if (!root) return std::unexpected(root.error().wrap("overlay root"));
  TRY(remove_one(root->get(), overlay_root, key, lock_timeout_ms, std::nullopt));
  drop_root_bind_if_unused(root->get(), overlay_root);
  return {};
}

Collection collect_idle_groups(const std::string& overlay_root, int64_t idle_ns) {
  Collection c;
  auto root = beneath::open_root(overlay_root, false);
  if (!root) {
    if (root.error().code != ENOENT) c.errors.push_back(root.error().wrap("overlay root"));
    return c;
  }
  auto names = beneath::list(root->get(), overlay_root);
  if (!names) {
    c.errors.push_back(names.error());
    return c;
  }
  for (const auto& key : *names) {
    if (!parse_group_key(key)) continue;
    auto kept = remove_one(root->get(), overlay_root, key, 0, idle_ns);
    if (!kept) c.errors.push_back(kept.error().wrap("overlay group " + key));
    else if (*kept) c.kept.push_back(key + ": " + **kept);
    else c.removed.push_back(key);
  }
  drop_root_bind_if_unused(root->get(), overlay_root);
  return c;
}

Result<std::vector<GroupLayer>> group_layers(const std::string& overlay_root, const std::string& key) {
  TRY(parse_group_key(key));
  UniqueFd root = TRY_CTX(beneath::open_root(overlay_root, false), "overlay root");
  GroupDir g;
  g.path = overlay_root + "/" + key;
  g.fd = TRY(beneath::open_dir(root.get(), key, g.path));
  auto layers = open_layers_dir(g.fd.get(), g.path);
  if (!layers && layers.error().code == ENOENT) return std::vector<GroupLayer>{};
  if (!layers) return std::unexpected(layers.error());
  auto text = beneath::read_file(layers->fd.get(), "index", g.at("layers/index"));
  if (!text && text.error().code == ENOENT) return std::vector<GroupLayer>{};
  if (!text) return std::unexpected(text.error());
  std::vector<GroupLayer> out;
  for (const auto& e : parse_layer_index(*text))
    out.push_back({e.index, e.host_path, fmt::format("{}/layers/{}/upper", g.path, e.index)});
  return out;
}

}  // namespace reaper
