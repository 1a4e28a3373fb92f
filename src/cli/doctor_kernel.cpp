// The kernel features reaper needs, each tried for real in a short-lived child so that
// nothing it does (a mount namespace, the subreaper flag) touches the caller or the host.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/doctor.hpp"
#include "core/files.hpp"

namespace reaper::cli {
namespace {

// Runs `probe` in a forked child. The child's exit status is 0 when the feature works,
// else the errno of the step that failed.
int in_child(int (*probe)()) {
  pid_t pid = ::fork();
  if (pid < 0) return errno;
  if (pid == 0) ::_exit(probe());
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : EINTR;
}

int err() { return errno ? errno : EIO; }

// An overlay whose lower layer is the host's / and whose upper layer is a tmpfs, as a
// group's overlay is made, in a private mount namespace over the namespace's own /tmp.
int probe_overlay() {
  if (::unshare(CLONE_NEWNS) != 0) return err();
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return err();
  if (::mount("reaper-doctor", "/tmp", "tmpfs", 0, "size=1m,mode=0700") != 0) return err();
  for (const char* d : {"/tmp/upper", "/tmp/work", "/tmp/merged"})
    if (::mkdir(d, 0700) != 0) return err();
  if (::mount("overlay", "/tmp/merged", "overlay", 0,
              "lowerdir=/,upperdir=/tmp/upper,workdir=/tmp/work") != 0)
    return err();
  struct stat st {};
  return ::stat("/tmp/merged/proc", &st) == 0 ? 0 : err();
}

// fsopen/fsconfig/fsmount (a detached tmpfs) and open_tree (a detached copy of /).
int probe_mount_api() {
  int ctx = ::fsopen("tmpfs", FSOPEN_CLOEXEC);
  if (ctx < 0) return err();
  if (::fsconfig(ctx, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) return err();
  int mnt = ::fsmount(ctx, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0) return err();
  ::close(mnt);
  ::close(ctx);
  int tree = ::open_tree(AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0) return err();
  ::close(tree);
  return 0;
}

int probe_pidfd() {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, ::getppid(), 0));
  if (fd < 0) return err();
  ::close(fd);
  return 0;
}

int probe_subreaper() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) return err();
  int on = 0;
  if (::prctl(PR_GET_CHILD_SUBREAPER, &on, 0, 0, 0) != 0) return err();
  return on ? 0 : EINVAL;
}

std::string why(int e) { return fmt::format("{} (errno {})", std::strerror(e), e); }

Check overlay_check() {
  int e = in_child(probe_overlay);
  if (e == 0) return passed("overlayfs", "an overlay over / with a tmpfs upper layer mounts");
  auto fs = files::read("/proc/filesystems");
  bool listed = fs && fs->find("\toverlay\n") != std::string::npos;
  return failed("overlayfs",
                fmt::format("cannot mount an overlay over /: {}; overlay is {}in /proc/filesystems",
                            why(e), listed ? "" : "not "),
                listed ? "run as root (CAP_SYS_ADMIN); an overlay needs / on a filesystem overlayfs "
                         "accepts as a lower layer (ext4, xfs, btrfs, tmpfs)"
                       : "load the module: modprobe overlay (and add it to /etc/modules-load.d)");
}

}  // namespace

std::vector<Check> kernel_checks() {
  std::vector<Check> out{overlay_check()};
  if (int e = in_child(probe_mount_api); e == 0)
    out.push_back(passed("mount API", "fsopen, fsconfig, fsmount and open_tree work"));
  else
    out.push_back(failed("mount API", "the new mount API failed: " + why(e),
                         "reaper needs Linux 5.2 or later, and root"));
  if (int e = in_child(probe_pidfd); e == 0) out.push_back(passed("pidfd", "pidfd_open works"));
  else out.push_back(failed("pidfd", "pidfd_open failed: " + why(e), "reaper needs Linux 5.3 or later"));
  if (int e = in_child(probe_subreaper); e == 0)
    out.push_back(passed("child subreaper", "PR_SET_CHILD_SUBREAPER works"));
  else
    out.push_back(failed("child subreaper", "PR_SET_CHILD_SUBREAPER failed: " + why(e),
                         "reaper needs Linux 3.4 or later"));
  return out;
}

}  // namespace reaper::cli
