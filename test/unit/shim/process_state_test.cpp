#include <catch2/catch.hpp>

#include "shim/process_state.hpp"

using reaper::ErrorKind;
using reaper::shim::ExitInfo;
using reaper::shim::ProcessMachine;
using reaper::shim::ProcState;

TEST_CASE("process state: an init's ordinary life") {
  ProcessMachine init(true);
  CHECK(init.state() == ProcState::kCreated);
  REQUIRE(init.start());
  CHECK(init.state() == ProcState::kRunning);
  REQUIRE(init.pause());
  CHECK(init.state() == ProcState::kPaused);
  REQUIRE(init.resume());
  REQUIRE(init.exited({3, 42}));
  CHECK(init.state() == ProcState::kStopped);
  CHECK(init.exit().status == 3);
  CHECK(init.exit().ns == 42);
  REQUIRE(init.remove());
  CHECK(init.state() == ProcState::kDeleted);
}

TEST_CASE("process state: refusals carry the kind containerd expects") {
  ProcessMachine init(true);
  CHECK(init.pause().error().kind == ErrorKind::kFailedPrecondition);  // created
  CHECK(init.resume().error().kind == ErrorKind::kFailedPrecondition);
  CHECK(init.remove().error().kind == ErrorKind::kFailedPrecondition);  // must stop first
  CHECK(init.can_signal());  // a created init can be killed
  CHECK(init.can_exec().error().kind == ErrorKind::kFailedPrecondition);
  REQUIRE(init.start());
  CHECK(init.start().error().kind == ErrorKind::kFailedPrecondition);
  CHECK(init.remove().error().kind == ErrorKind::kFailedPrecondition);  // running
  CHECK(init.can_exec());
  REQUIRE(init.exited({0, 1}));
  CHECK(init.can_signal().error().kind == ErrorKind::kNotFound);  // finished
  CHECK(init.can_update().error().kind == ErrorKind::kFailedPrecondition);
  CHECK(init.can_exec().error().kind == ErrorKind::kFailedPrecondition);
}

TEST_CASE("process state: the first exit is the real one") {
  ProcessMachine p(true);
  REQUIRE(p.start());
  REQUIRE(p.exited({137, 5}));
  CHECK_FALSE(p.exited({255, 9}));
  CHECK(p.exit().status == 137);
  CHECK(p.exit().ns == 5);
}

TEST_CASE("process state: an init killed before Start stops without running") {
  ProcessMachine init(true);
  REQUIRE(init.exited({137, 7}));
  CHECK(init.state() == ProcState::kStopped);
  CHECK(init.start().error().kind == ErrorKind::kFailedPrecondition);
  CHECK(init.remove());
}

TEST_CASE("process state: execs") {
  ProcessMachine init(true);
  REQUIRE(init.start());
  ProcessMachine exec(false);
  CHECK(exec.can_signal().error().kind == ErrorKind::kFailedPrecondition);  // not started
  CHECK(exec.pause().error().kind == ErrorKind::kInvalidArgument);
  REQUIRE(exec.start());
  REQUIRE(init.pause());
  CHECK(exec.shown_state(init) == ProcState::kPaused);
  REQUIRE(init.resume());
  CHECK(exec.shown_state(init) == ProcState::kRunning);
  REQUIRE(exec.exited({0, 3}));
  REQUIRE(init.pause());
  CHECK(exec.shown_state(init) == ProcState::kStopped);  // a stopped exec stays stopped
  REQUIRE(exec.remove());
  CHECK(exec.remove().error().kind == ErrorKind::kNotFound);

  ProcessMachine never(false);
  REQUIRE(never.remove());  // registered, never started: deleted at once
  CHECK(never.state() == ProcState::kDeleted);
}
