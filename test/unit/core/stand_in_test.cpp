// The stand-in ends exactly as its workload does, forwards signals, and takes the workload
// with it when killed; parent_adopts_orphans tells a subreaper parent from another.
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

#include <catch2/catch.hpp>

#include "core/files.hpp"
#include "core/stand_in.hpp"
#include "core/state_store.hpp"

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/reaper-standin-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    path = tmpl;
  }
  ~TempDir() { (void)reaper::files::remove_tree(path); }
};

// A monitor spec for `args` without mounts (a sandbox runs on the host as it is).
reaper::MonitorSpec spec_for(const std::string& dir, std::vector<std::string> args) {
  reaper::MonitorSpec ms;
  ms.dir = dir;
  ms.initial.id = "standin-test";
  ms.initial.bundle = dir;
  ms.process.args = std::move(args);
  ms.process.env = {"PATH=/usr/bin:/bin"};
  ms.process.cwd = "/";
  ms.sandbox = true;
  ms.gated = false;
  return ms;
}

int wait_raw(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) REQUIRE(errno == EINTR);
  return status;
}

reaper::ProcessState recorded(const std::string& dir) {
  REQUIRE(reaper::wait_monitor_gone(dir));
  auto o = reaper::StateStore("/").observe_dir(dir);
  REQUIRE(o);
  return o->state;
}

}  // namespace

TEST_CASE("stand-in: exits with the workload's exit code and is named in the state") {
  TempDir d;
  auto s = reaper::launch_stand_in(spec_for(d.path, {"sh", "-c", "exit 7"}));
  REQUIRE(s);
  int status = wait_raw(s->pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 7);
  auto st = recorded(d.path);
  CHECK(st.stand_in_pid == s->pid);
  CHECK(st.pid == s->workload_pid);
  CHECK(st.exit_status == 7);
  CHECK_FALSE(st.exit_signal);
}

TEST_CASE("stand-in: dies by the workload's signal, without a core dump") {
  TempDir d;
  auto s = reaper::launch_stand_in(spec_for(d.path, {"sh", "-c", "kill -SEGV $$"}));
  REQUIRE(s);
  int status = wait_raw(s->pid);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGSEGV);
  CHECK_FALSE(WCOREDUMP(status));
  CHECK(recorded(d.path).exit_signal == SIGSEGV);
}

TEST_CASE("stand-in: a signal sent to it reaches the workload") {
  TempDir d;
  auto s = reaper::launch_stand_in(spec_for(d.path, {"sleep", "1000"}));
  REQUIRE(s);
  // SIGHUP: a sandbox's process starts with TERM and INT blocked (reaper-sandbox waits
  // for them), so a plain `sleep` in its place would ignore those two.
  REQUIRE(::kill(s->pid, SIGHUP) == 0);
  int status = wait_raw(s->pid);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGHUP);
  CHECK(recorded(d.path).exit_status == 128 + SIGHUP);
}

TEST_CASE("stand-in: killed with SIGKILL, it takes the workload with it") {
  TempDir d;
  auto s = reaper::launch_stand_in(spec_for(d.path, {"sleep", "1000"}));
  REQUIRE(s);
  REQUIRE(::kill(s->pid, SIGKILL) == 0);
  (void)wait_raw(s->pid);
  // The monitor ends once the workload is dead and reaped: no wait for 1000 s.
  CHECK(recorded(d.path).exit_signal == SIGKILL);
}

TEST_CASE("stand-in: parent_adopts_orphans is true only under a subreaper parent") {
  // In a child of ours (not a subreaper): false. In a grandchild whose parent is one: true.
  for (bool subreaper : {false, true}) {
    INFO("subreaper parent: " << subreaper);
    pid_t parent = ::fork();
    REQUIRE(parent >= 0);
    if (parent == 0) {
      if (subreaper) ::prctl(PR_SET_CHILD_SUBREAPER, 1);
      pid_t asker = ::fork();
      if (asker == 0) {
        auto adopts = reaper::parent_adopts_orphans();
        ::_exit(!adopts ? 2 : *adopts ? 1 : 0);
      }
      int status = 0;
      ::waitpid(asker, &status, 0);
      while (::wait(nullptr) > 0) {}  // the probe, when it was given to us
      ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 3);
    }
    int status = wait_raw(parent);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == (subreaper ? 1 : 0));
  }
}
