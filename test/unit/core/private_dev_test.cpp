// The container's private /dev (core/private_dev.*), made in a child's own mount
// namespace under a stand-in "host" namespace with shared mounts: the host's devices and
// directories are there, mount points are made only in the private tmpfs, and nothing of
// it reaches the host's namespace while it exists.
#include "core/private_dev.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

namespace reaper {
namespace {

// In the child: every check, as a line of failures ("" when all hold).
std::string check_private_dev() {
  std::string bad;
  if (::unshare(CLONE_NEWNS) != 0) return "unshare failed\n";
  auto dev = make_private_dev();
  if (!dev) return "make_private_dev: " + dev.error().describe() + "\n";
  struct stat st {};
  if (::stat("/dev/null", &st) != 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3) ||
      (st.st_mode & 0777) != 0666)
    bad += "/dev/null is not the 1:3 node, mode 0666\n";
  if (::stat("/dev/pts", &st) != 0 || st.st_dev == dev->dev) bad += "/dev/pts is not the host's devpts\n";
  if (::lstat("/dev/fd", &st) != 0 || !S_ISLNK(st.st_mode)) bad += "/dev/fd is not a symlink\n";
  if (make_dev_mount_point(*dev, "/dev/shm/reaper-unit-x")) bad += "a mount point in /dev/shm was accepted\n";
  if (::access("/dev/shm/reaper-unit-x", F_OK) == 0) bad += "/dev/shm/reaper-unit-x was made\n";
  if (make_dev_mount_point(*dev, "/proc/x")) bad += "a mount point outside /dev was accepted\n";
  auto made = make_dev_mount_point(*dev, "/dev/reaper-unit-dir/message");
  if (!made) bad += "nested mount point: " + made.error().describe() + "\n";
  else if (::stat("/dev/reaper-unit-dir/message", &st) != 0 || !S_ISREG(st.st_mode) || st.st_dev != dev->dev)
    bad += "the nested mount point is not a file of the tmpfs\n";
  return bad;
}

// Reads fd to its end (or to the first newline when `line`).
std::string read_all(int fd, bool line) {
  std::string got;
  char buf[512];
  ssize_t n;
  while ((!line || got.find('\n') == std::string::npos) && (n = ::read(fd, buf, sizeof buf)) > 0)
    got.append(buf, static_cast<size_t>(n));
  return got;
}

// The "host": a mount namespace of its own whose mounts are shared, as systemd makes
// them, so a mount the container's namespace let propagate would show up here. It runs
// the container as a child and reports every failure as a line.
std::string host_side() {
  if (::unshare(CLONE_NEWNS) != 0) return "unshare (host) failed\n";
  // Private first: nothing of this test may reach the real host's namespace, even
  // where its mounts are shared (then shared again, among this test's namespaces only).
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount(nullptr, "/", nullptr, MS_REC | MS_SHARED, nullptr) != 0)
    return "make / private, then shared, failed\n";
  int report[2], done[2];
  if (::pipe(report) != 0 || ::pipe(done) != 0) return "pipe failed\n";
  pid_t child = ::fork();
  if (child < 0) return "fork failed\n";
  if (child == 0) {
    std::string bad = check_private_dev() + "\n";  // a final newline ends the report
    (void)!::write(report[1], bad.data(), bad.size());
    char c;
    (void)!::read(done[0], &c, 1);  // stays, its /dev mounted, until the host looked
    ::_exit(0);
  }
  ::close(report[1]);
  ::close(done[0]);
  std::string bad = read_all(report[0], true);
  bad.pop_back();
  std::ifstream mi("/proc/self/mountinfo");
  std::stringstream mounts;
  mounts << mi.rdbuf();
  if (mounts.str().find("reaper-dev") != std::string::npos) bad += "the private /dev propagated to the host\n";
  if (::access("/dev/reaper-unit-dir", F_OK) == 0) bad += "/dev/reaper-unit-dir is on the host\n";
  (void)!::write(done[1], "x", 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status)) bad += "the container side did not exit\n";
  return bad;
}

}  // namespace

TEST_CASE("private /dev: the host's devices, mount points only in its tmpfs, nothing on the host") {
  if (::geteuid() != 0) {
    WARN("needs root (mount namespaces): not run");
    return;
  }
  int out[2];
  REQUIRE(::pipe(out) == 0);
  pid_t host = ::fork();
  REQUIRE(host >= 0);
  if (host == 0) {
    ::close(out[0]);
    std::string bad = host_side();
    (void)!::write(out[1], bad.data(), bad.size());
    ::_exit(0);
  }
  ::close(out[1]);
  std::string bad = read_all(out[0], false);
  ::close(out[0]);
  int status = 0;
  ::waitpid(host, &status, 0);
  CHECK(bad == "");
  CHECK(WIFEXITED(status));
}

}  // namespace reaper
