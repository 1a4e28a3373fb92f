#include "core/beneath.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

namespace reaper::beneath {
namespace {

bool single_component(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos;
}

// What an errno from a checked open means for the entry `shown`.
std::unexpected<Error> refused(int err, const std::string& shown) {
  if (err == ELOOP)
    return sys_error(err, shown + " is a symbolic link: refused (reaper never follows links here)");
  if (err == EXDEV)
    return sys_error(err, shown + " is a mount point reaper did not make: refused");
  if (err == ENOTDIR) return sys_error(err, shown + " is not a directory: refused");
  return sys_error(err, "open " + shown);
}

std::atomic<bool> no_openat2{false};

// openat2(dir, name) with the resolve rules above; an older kernel gets O_NOFOLLOW
// and an st_dev comparison with `dir` instead.
int open_checked(int dir, std::string_view name, int flags, mode_t mode, Mount mount) {
  std::string n(name);
  if (!no_openat2.load(std::memory_order_relaxed)) {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_NOFOLLOW | O_CLOEXEC);
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH |
                  (mount == Mount::kRefuse ? RESOLVE_NO_XDEV : 0);
    long fd = ::syscall(SYS_openat2, dir, n.c_str(), &how, sizeof how);
    if (fd >= 0 || errno != ENOSYS) return static_cast<int>(fd);
    no_openat2.store(true, std::memory_order_relaxed);
  }
  int fd = ::openat(dir, n.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0 || mount == Mount::kAllow) return fd;
  struct stat parent {}, entry {};
  if (::fstat(dir, &parent) != 0 || ::fstat(fd, &entry) != 0 || parent.st_dev != entry.st_dev) {
    ::close(fd);
    errno = EXDEV;
    return -1;
  }
  return fd;
}

// O_PATH open, then the type check, then the real open through the fd itself.
Result<UniqueFd> reopen_checked(int dir, std::string_view name, int flags, mode_t type,
                                const std::string& shown, Mount mount, bool single_link) {
  int path_fd = open_checked(dir, name, O_PATH, 0, mount);
  if (path_fd < 0) return refused(errno, shown);
  UniqueFd p(path_fd);
  struct stat st {};
  if (::fstat(p.get(), &st) != 0) return sys_error("stat " + shown);
  if (S_ISLNK(st.st_mode)) return refused(ELOOP, shown);
  if ((st.st_mode & S_IFMT) != type)
    return failf("{} is not a {}: refused", shown, type == S_IFDIR ? "directory" : "regular file");
  if (single_link && type == S_IFREG && st.st_nlink != 1)
    return failf("{} has {} hard links: refused", shown, st.st_nlink);
  int fd = ::open(fd_path(p.get()).c_str(), (flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_CLOEXEC);
  if (fd < 0) return sys_error("open " + shown);
  UniqueFd out(fd);
  if ((flags & O_TRUNC) && ::ftruncate(fd, 0) != 0) return sys_error("truncate " + shown);
  return out;
}

Result<void> check_name(std::string_view name, const std::string& shown) {
  if (!single_component(name)) return failf("{}: {:?} is not a single path component", shown, name);
  return {};
}

void on_timer(int) {}

}  // namespace

std::string fd_path(int fd) { return fmt::format("/proc/self/fd/{}", fd); }

Result<UniqueFd> open_root(const std::string& path, bool create) {
  if (path.empty() || path.front() != '/') return failf("{:?} is not an absolute path", path);
  int fd = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error("open /");
  UniqueFd cur(fd);
  std::string walked;
  size_t i = 1;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string part = path.substr(i, j - i);
    i = j + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return failf("{}: '..' is not allowed", path);
    walked += "/" + part;
    int next = open_checked(cur.get(), part, O_PATH | O_DIRECTORY, 0, Mount::kAllow);
    if (next < 0 && errno == ENOENT && create) {
      if (::mkdirat(cur.get(), part.c_str(), 0700) != 0 && errno != EEXIST)
        return sys_error("mkdir " + walked);
      next = open_checked(cur.get(), part, O_PATH | O_DIRECTORY, 0, Mount::kAllow);
    }
    if (next < 0) {
      int err = errno;
      struct stat st {};
      if (::fstatat(cur.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        err = ELOOP;
      return std::unexpected(refused(err, walked).error().wrap(path));
    }
    cur.reset(next);
  }
  fd = ::open(fd_path(cur.get()).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error("open " + path);
  return UniqueFd(fd);
}

Result<UniqueFd> open_dir(int dir, std::string_view name, const std::string& shown, Mount mount) {
  TRY(check_name(name, shown));
  return reopen_checked(dir, name, O_RDONLY | O_DIRECTORY, S_IFDIR, shown, mount, false);
}

Result<UniqueFd> make_dir(int dir, std::string_view name, mode_t mode, const std::string& shown) {
  TRY(check_name(name, shown));
  if (::mkdirat(dir, std::string(name).c_str(), mode) != 0 && errno != EEXIST)
    return sys_error("mkdir " + shown);
  return open_dir(dir, name, shown);
}

Result<UniqueFd> open_file(int dir, std::string_view name, int flags, mode_t mode,
                           const std::string& shown, Mount mount) {
  TRY(check_name(name, shown));
  if (flags & O_CREAT) {
    // Made here, or already there: either way checked below before it is opened.
    int fd = open_checked(dir, name, (flags & ~O_TRUNC) | O_CREAT | O_EXCL, mode, mount);
    if (fd >= 0) return UniqueFd(fd);
    if (errno != EEXIST) return refused(errno, shown);
  }
  return reopen_checked(dir, name, flags, S_IFREG, shown, mount, true);
}

Result<void> write_file(int dir, std::string_view name, std::string_view data,
                        const std::string& shown) {
  TRY(check_name(name, shown));
  std::string tmp = std::string(name) + ".tmp";
  ::unlinkat(dir, tmp.c_str(), 0);
  UniqueFd fd = TRY(open_file(dir, tmp, O_WRONLY | O_CREAT, 0600, shown + ".tmp"));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("write " + shown);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return sys_error("fsync " + shown);
  if (::renameat(dir, tmp.c_str(), dir, std::string(name).c_str()) != 0)
    return sys_error("rename " + shown);
  return {};
}

Result<std::string> read_file(int dir, std::string_view name, const std::string& shown) {
  UniqueFd fd = TRY(open_file(dir, name, O_RDONLY, 0, shown));
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read " + shown);
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

Result<std::vector<std::string>> list(int dir, const std::string& shown) {
  int copy = ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (copy < 0) return sys_error("open " + shown);
  DIR* d = ::fdopendir(copy);
  if (!d) {
    ::close(copy);
    return sys_error("opendir " + shown);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Result<void> remove(int dir, std::string_view name, const std::string& shown) {
  TRY(check_name(name, shown));
  std::string n(name);
  struct stat st {};
  if (::fstatat(dir, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return sys_error("stat " + shown);
  }
  if (S_ISDIR(st.st_mode)) {
    UniqueFd sub = TRY(open_dir(dir, name, shown));
    for (const auto& child : TRY(list(sub.get(), shown)))
      TRY(remove(sub.get(), child, shown + "/" + child));
    if (::unlinkat(dir, n.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
      return sys_error("remove " + shown);
    return {};
  }
  if (::unlinkat(dir, n.c_str(), 0) != 0 && errno != ENOENT) return sys_error("remove " + shown);
  return {};
}

uint64_t disk_usage(int dir, std::string_view name) {
  struct stat st {};
  if (::fstatat(dir, std::string(name).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return 0;
  uint64_t total = static_cast<uint64_t>(st.st_blocks) * 512;
  if (!S_ISDIR(st.st_mode)) return total;
  auto sub = open_dir(dir, name, std::string(name));
  if (!sub) return total;
  auto names = list(sub->get(), std::string(name));
  if (!names) return total;
  for (const auto& child : *names) total += disk_usage(sub->get(), child);
  return total;
}

Result<void> lock(int fd, int op, int timeout_ms, const std::string& shown) {
  if (::flock(fd, op | LOCK_NB) == 0) return {};
  if (errno != EWOULDBLOCK) return sys_error("flock " + shown);
  if (op & LOCK_NB) return sys_error(EWOULDBLOCK, "flock " + shown);
  // A one-shot timer signals this thread; the handler does nothing, so flock returns
  // EINTR (installed without SA_RESTART) and the wait ends.
  struct sigaction quiet {}, saved {};
  quiet.sa_handler = on_timer;
  sigemptyset(&quiet.sa_mask);
  ::sigaction(SIGALRM, &quiet, &saved);
  sigset_t alarm_only, old_mask;
  sigemptyset(&alarm_only);
  sigaddset(&alarm_only, SIGALRM);
  ::pthread_sigmask(SIG_UNBLOCK, &alarm_only, &old_mask);
  sigevent ev{};
  ev.sigev_notify = SIGEV_THREAD_ID;
  ev.sigev_signo = SIGALRM;
  ev._sigev_un._tid = static_cast<pid_t>(::gettid());
  timer_t timer{};
  bool armed = ::timer_create(CLOCK_MONOTONIC, &ev, &timer) == 0;
  struct timespec start {};
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  int rc = -1, err = 0;
  for (;;) {
    struct timespec now {};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    long long left = timeout_ms - ((now.tv_sec - start.tv_sec) * 1000LL +
                                   (now.tv_nsec - start.tv_nsec) / 1000000);
    if (left <= 0 || !armed) {
      rc = ::flock(fd, op | LOCK_NB);
      err = rc == 0 ? 0 : errno;
      break;
    }
    itimerspec when{};
    when.it_value.tv_sec = left / 1000;
    when.it_value.tv_nsec = (left % 1000) * 1000000;
    ::timer_settime(timer, 0, &when, nullptr);
    rc = ::flock(fd, op);
    err = rc == 0 ? 0 : errno;
    if (rc == 0 || err != EINTR) break;
  }
  if (armed) ::timer_delete(timer);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGALRM, &saved, nullptr);
  if (rc == 0) return {};
  if (err == EWOULDBLOCK)
    return sys_error(err, fmt::format("{} is still locked by another process after {} ms: gave up",
                                      shown, timeout_ms));
  return sys_error(err, "flock " + shown);
}

}  // namespace reaper::beneath
