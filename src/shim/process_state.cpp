#include "shim/process_state.hpp"

namespace reaper::shim {

std::string_view state_name(ProcState s) {
  switch (s) {
    case ProcState::kCreated: return "created";
    case ProcState::kRunning: return "running";
    case ProcState::kPaused: return "paused";
    case ProcState::kStopped: return "stopped";
    case ProcState::kDeleted: return "deleted";
  }
  return "unknown";
}

Result<void> ProcessMachine::can_start() const {
  if (state_ != ProcState::kCreated) return failf(ErrorKind::kFailedPrecondition, "start: process is {}, not created", state_name(state_));
  return {};
}

Result<void> ProcessMachine::start() {
  TRY(can_start());
  state_ = ProcState::kRunning;
  return {};
}

Result<void> ProcessMachine::pause() {
  if (!init_) return fail(ErrorKind::kInvalidArgument, "pause: a container is paused through its init");
  if (state_ != ProcState::kRunning) return failf(ErrorKind::kFailedPrecondition, "pause: container is {}, not running", state_name(state_));
  state_ = ProcState::kPaused;
  return {};
}

Result<void> ProcessMachine::resume() {
  if (!init_) return fail(ErrorKind::kInvalidArgument, "resume: a container is resumed through its init");
  if (state_ != ProcState::kPaused) return failf(ErrorKind::kFailedPrecondition, "resume: container is {}, not paused", state_name(state_));
  state_ = ProcState::kRunning;
  return {};
}

Result<void> ProcessMachine::exited(ExitInfo e) {
  if (state_ == ProcState::kStopped || state_ == ProcState::kDeleted)
    return failf(ErrorKind::kFailedPrecondition, "exit: process is already {}", state_name(state_));
  state_ = ProcState::kStopped;
  exit_ = e;
  return {};
}

Result<void> ProcessMachine::remove() {
  if (live()) return failf(ErrorKind::kFailedPrecondition, "cannot delete a {} process", state_name(state_));
  if (state_ == ProcState::kDeleted) return fail(ErrorKind::kNotFound, "process is already deleted");
  if (state_ == ProcState::kCreated && init_)
    return fail(ErrorKind::kFailedPrecondition, "delete: a created init must be stopped first");
  state_ = ProcState::kDeleted;
  return {};
}

Result<void> ProcessMachine::can_signal() const {
  if (state_ == ProcState::kCreated && !init_)
    return fail(ErrorKind::kFailedPrecondition, "process not created");
  if (state_ == ProcState::kStopped || state_ == ProcState::kDeleted)
    return fail(ErrorKind::kNotFound, "process already finished");
  return {};
}

Result<void> ProcessMachine::can_exec() const {
  if (state_ != ProcState::kRunning)
    return failf(ErrorKind::kFailedPrecondition, "exec: container is {}, not running", state_name(state_));
  return {};
}

Result<void> ProcessMachine::can_update() const {
  if (state_ == ProcState::kStopped || state_ == ProcState::kDeleted)
    return failf(ErrorKind::kFailedPrecondition, "update: container is {}", state_name(state_));
  return {};
}

ProcState ProcessMachine::shown_state(const ProcessMachine& init) const {
  if (!init_ && init.state_ == ProcState::kPaused && live()) return ProcState::kPaused;
  return state_;
}

}  // namespace reaper::shim
