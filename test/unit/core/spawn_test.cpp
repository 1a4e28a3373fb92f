#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "core/spawn.hpp"

namespace {
reaper::oci::Process process(std::vector<std::string> args) {
  reaper::oci::Process p;
  p.args = std::move(args);
  p.env = {"PATH=/usr/bin:/bin"};
  return p;
}

int wait_status(pid_t pid) {
  siginfo_t info{};
  REQUIRE(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED) == 0);
  return reaper::exit_status_from_wait(info.si_code, info.si_status);
}
}  // namespace

TEST_CASE("spawn: a gated child runs only after release") {
  auto child = reaper::spawn(process({"sh", "-c", "exit 7"}), {}, true);
  REQUIRE(child);
  siginfo_t info{};
  // Still held: nothing to reap yet.
  CHECK(::waitid(P_PID, static_cast<id_t>(child->pid), &info, WEXITED | WNOHANG) == 0);
  CHECK(info.si_pid == 0);
  REQUIRE(reaper::release(*child));
  CHECK(wait_status(child->pid) == 7);
}

TEST_CASE("spawn: a missing executable exits 127 with 'not found'") {
  auto child = reaper::spawn(process({"no-such-binary-here"}), {}, false);
  REQUIRE(child);
  auto outcome = reaper::exec_outcome(*child);
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().exit_status == 127);
  CHECK_THAT(outcome.error().message, Catch::Contains("not found"));
  CHECK(wait_status(child->pid) == 127);
}

TEST_CASE("spawn: a non-executable file exits 126") {
  auto child = reaper::spawn(process({"/etc/hostname"}), {}, false);
  REQUIRE(child);
  auto outcome = reaper::exec_outcome(*child);
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().exit_status == 126);
  CHECK(wait_status(child->pid) == 126);
}

TEST_CASE("spawn: a bad cwd fails the spawn itself") {
  auto p = process({"true"});
  p.cwd = "/nonexistent-dir";
  auto child = reaper::spawn(p, {}, false);
  REQUIRE_FALSE(child);
  CHECK_THAT(child.error().message, Catch::Contains("chdir"));
}

TEST_CASE("spawn: exit status for signals is 128 + signal") {
  auto child = reaper::spawn(process({"sh", "-c", "kill -TERM $$"}), {}, false);
  REQUIRE(child);
  REQUIRE(reaper::exec_outcome(*child));
  CHECK(wait_status(child->pid) == 143);
}
