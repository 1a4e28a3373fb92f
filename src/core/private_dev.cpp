#include "core/private_dev.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <climits>
#include <vector>

#include "core/fd.hpp"
#include "core/files.hpp"
#include "core/mountinfo.hpp"

namespace reaper {
namespace {

// Room for what a workload writes into /dev itself (its termination message goes to
// the host file bound there, not into this tmpfs).
constexpr const char* kTmpfsOptions = "mode=0755,size=1m";

bool is_mount_root(int dir, const char* name, dev_t parent_dev, const struct stat& st) {
  if (st.st_dev != parent_dev) return true;
  struct statx sx {};
  if (::statx(dir, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) != 0) return false;
  return (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

// The host's entry `name`, bound (recursively) onto a mount point made in `own`.
Result<void> bind_entry(int host, int own, const char* name, bool is_dir) {
  if (is_dir) {
    if (::mkdirat(own, name, 0755) != 0) return sys_error(fmt::format("mkdir /dev/{}", name));
  } else {
    int fd = ::openat(own, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return sys_error(fmt::format("create /dev/{}", name));
    ::close(fd);
  }
  int tree = ::open_tree(host, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW);
  if (tree < 0) return sys_error(fmt::format("clone the host's /dev/{}", name));
  UniqueFd t(tree);
  if (::move_mount(tree, "", own, name, MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return sys_error(fmt::format("bind the host's /dev/{}", name));
  return {};
}

Result<void> copy_entry(int host, int own, dev_t host_dev, const std::string& entry) {
  const char* name = entry.c_str();
  struct stat st {};
  if (::fstatat(host, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};  // gone meanwhile (a device unplugged)
    return sys_error(fmt::format("stat the host's /dev/{}", name));
  }
  if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t n = ::readlinkat(host, name, target, sizeof target - 1);
    if (n < 0) return sys_error(fmt::format("readlink the host's /dev/{}", name));
    target[n] = '\0';
    if (::symlinkat(target, own, name) != 0) return sys_error(fmt::format("symlink /dev/{}", name));
    return {};
  }
  bool mounted = is_mount_root(host, name, host_dev, st);
  if (S_ISDIR(st.st_mode)) return bind_entry(host, own, name, true);
  if ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && !mounted) {
    if (::mknodat(own, name, st.st_mode & (S_IFMT | 07777), st.st_rdev) != 0)
      return sys_error(fmt::format("mknod /dev/{} ({}:{})", name, major(st.st_rdev), minor(st.st_rdev)));
    // mknod honours the umask: the mode and owner are set as the host has them.
    if (::fchownat(own, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0 ||
        ::fchmodat(own, name, st.st_mode & 07777, 0) != 0)
      return sys_error(fmt::format("set owner and mode of /dev/{}", name));
    return {};
  }
  // Sockets (/dev/log), FIFOs, regular files and whatever is mounted over an entry
  // (a masked device) must be the host's very inode: bound.
  return bind_entry(host, own, name, false);
}

}  // namespace

Result<PrivateDev> make_private_dev() {
  // Whatever this namespace mounts stays in it (the group's mounts are slaves of the
  // host's already; this makes sure none is shared with the group).
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
    return sys_error("make the container's mounts slaves");
  UniqueFd host = TRY(files::open("/dev", O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
  struct stat hs {};
  if (::fstat(host.get(), &hs) != 0) return sys_error("stat the host's /dev");
  std::vector<std::string> entries = TRY(files::list_dir("/dev"));
  if (::mount("reaper-dev", "/dev", "tmpfs", MS_NOSUID, kTmpfsOptions) != 0)
    return sys_error("mount the container's /dev");
  UniqueFd own = TRY(files::open("/dev", O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
  if (::fchown(own.get(), hs.st_uid, hs.st_gid) != 0 || ::fchmod(own.get(), hs.st_mode & 07777) != 0)
    return sys_error("set owner and mode of the container's /dev");
  for (const auto& e : entries) TRY(copy_entry(host.get(), own.get(), hs.st_dev, e));
  struct stat os {};
  if (::fstat(own.get(), &os) != 0) return sys_error("stat the container's /dev");
  return PrivateDev{os.st_dev};
}

Result<void> make_dev_mount_point(const PrivateDev& dev, const std::string& target) {
  if (!path_within(target, "/dev") || target == "/dev")
    return failf("mount {}: not below /dev", target);
  // The deepest part of the path that exists must be the private tmpfs's own.
  std::string existing = target;
  struct stat st {};
  while (::lstat(existing.c_str(), &st) != 0) {
    if (errno != ENOENT) return sys_error("stat " + existing);
    existing.erase(existing.rfind('/'));
  }
  if (st.st_dev != dev.dev)
    return failf("mount {}: {} is the host's (bound into the container's /dev): refused", target, existing);
  if (existing == target) {
    if (S_ISDIR(st.st_mode)) return failf("mount {}: the destination is a directory but the source is a file", target);
    return {};
  }
  std::string parent = target.substr(0, target.rfind('/'));
  TRY(files::make_dirs(parent, 0755));
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return sys_error("create mount point " + target);
  ::close(fd);
  return {};
}

}  // namespace reaper
