#pragma once
// The life of a task process as the Task API sees it, in one place: which states exist,
// which requests each state allows, and where each transition leads. Handlers ask the
// machine instead of checking states inline; every refusal is an Error whose kind
// becomes the ttrpc code (src/shim/rpc_error.hpp).
//
//   init:  created ──start──→ running ⇄ paused (pause/resume)
//             │                  │         │
//             └──exit──→ stopped ←──exit───┘ ──delete──→ deleted
//   exec:  created ──start──→ running ──exit──→ stopped ──delete──→ deleted
//             └───────────────────delete──────────────────────────↗
//
// An init killed or deleted before Start goes through `stopped` (its exit is real and
// is reported), and so does an exec whose launch failed; an exec deleted before Start
// never ran and goes straight to `deleted`. Pause belongs to
// the container: an exec shows `paused` while its init is (see shown_state).
#include <cstdint>
#include <string_view>

#include "core/error.hpp"

namespace reaper::shim {

enum class ProcState { kCreated, kRunning, kPaused, kStopped, kDeleted };

std::string_view state_name(ProcState s);

struct ExitInfo {
  uint32_t status = 0;
  int64_t ns = 0;  // CLOCK_REALTIME of the exit
};

class ProcessMachine {
 public:
  explicit ProcessMachine(bool init) : init_(init) {}

  ProcState state() const { return state_; }
  bool is_init() const { return init_; }
  bool live() const { return state_ == ProcState::kRunning || state_ == ProcState::kPaused; }
  const ExitInfo& exit() const { return exit_; }

  // created → running
  Result<void> start();
  // running → paused, paused → running (inits only: a container is paused as a whole)
  Result<void> pause();
  Result<void> resume();
  // created|running|paused → stopped, with the exit (from created: killed before
  // Start, or an exec that could not be launched); a second exit is refused (the first
  // one is the real one).
  Result<void> exited(ExitInfo e);
  // → deleted: from stopped, or from created (an exec that never ran; an init must be
  // stopped first, which Delete does by killing it). Running or paused is refused.
  Result<void> remove();

  // Preconditions of requests that change nothing here.
  Result<void> can_start() const;
  Result<void> can_signal() const;  // an exec must have started; nothing stopped/deleted
  Result<void> can_exec() const;    // on the init: running (not created, paused, stopped)
  Result<void> can_update() const;  // on the init: not stopped or deleted

  // The state State reports: an exec of a paused container shows paused.
  ProcState shown_state(const ProcessMachine& init) const;

 private:
  bool init_;
  ProcState state_ = ProcState::kCreated;
  ExitInfo exit_;
};

}  // namespace reaper::shim
