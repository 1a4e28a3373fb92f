#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>

#include "core/process_tree.hpp"

TEST_CASE("proc: our own entry is read") {
  auto me = reaper::read_proc(::getpid());
  REQUIRE(me);
  CHECK(me->ppid == ::getppid());
  CHECK(me->state == 'R');
  CHECK(me->start_ticks > 0);
}

TEST_CASE("proc: descendants include grandchildren and signal_descendants kills them") {
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  pid_t child = ::fork();
  if (child == 0) {
    if (::fork() == 0) {  // grandchild
      ::close(ready[0]);
      ::write(ready[1], "x", 1);
      ::pause();
      ::_exit(0);
    }
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char c;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  auto tree = reaper::descendants({::getpid()});
  int ours = 0;
  for (const auto& p : tree)
    if (p.pid == child || p.ppid == child) ++ours;
  CHECK(ours == 2);
  reaper::signal_descendants({child}, SIGKILL);  // the grandchild
  ::kill(child, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  ::close(ready[0]);
}
