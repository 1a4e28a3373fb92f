// Which writes are durable: run-time state (state.json, pid and address files) is replaced
// without an fsync, other files with one. Shown by running each write in a child whose
// fsync and fdatasync fail (a seccomp filter): a write that syncs fails there.
#include <catch2/catch.hpp>

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <functional>
#include <string>

#include "core/files.hpp"
#include "core/state_store.hpp"

namespace {

// Runs `write` in a child where fsync and fdatasync fail with EIO; true if it succeeded.
bool succeeds_without_fsync(const std::function<bool()>& write) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fsync, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fdatasync, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EIO & SECCOMP_RET_DATA)),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
      ::_exit(3);
    ::_exit(write() ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) != 3);  // the filter itself could not be installed
  return WEXITSTATUS(status) == 0;
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/reaper-durability.XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    path = tmpl;
  }
  ~TempDir() { (void)reaper::files::remove_tree(path); }
};

}  // namespace

TEST_CASE("files: replace does not fsync, write_atomic does") {
  TempDir d;
  CHECK(succeeds_without_fsync([&] { return bool(reaper::files::replace(d.path + "/a", "x")); }));
  CHECK(reaper::files::read(d.path + "/a").value_or("") == "x");
  CHECK_FALSE(succeeds_without_fsync([&] { return bool(reaper::files::write_atomic(d.path + "/b", "x")); }));
  CHECK_FALSE(reaper::files::exists(d.path + "/b"));
  CHECK_FALSE(reaper::files::exists(d.path + "/b.tmp"));  // the failed write left nothing
}

TEST_CASE("state: state.json is written without an fsync, still whole") {
  TempDir d;
  reaper::ProcessState s;
  s.id = "c1";
  s.pid = 42;
  CHECK(succeeds_without_fsync([&] { return bool(reaper::save_state(d.path, s)); }));
  auto back = reaper::state_from_json(reaper::files::read(d.path + "/state.json").value_or(""));
  REQUIRE(back);
  CHECK(back->pid == 42);
  CHECK_FALSE(reaper::files::exists(d.path + "/state.json.tmp"));
}
