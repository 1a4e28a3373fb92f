#pragma once
// The monitor: the process that spawns a workload is the one that waits for it.
//
// launch_monitor() forks a small detached process (own session, child subreaper) that
// spawns the workload, records its state, and then blocks in waitid() until the
// workload and everything it left behind have exited. It records the exit in
// state.json *before* reaping the workload, so the pid cannot be reused while the
// state still calls it running, and it reaps every orphan re-parented to it.
//
// Its locks tell others about it without polling:
//   monitor.lock  held for the monitor's whole life
//   running.lock  held until the workload's exit has been recorded
#include <sys/types.h>

#include <string>

#include "core/audit.hpp"
#include "core/container_mounts.hpp"
#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/oci_spec.hpp"
#include "core/spawn.hpp"
#include "core/state_store.hpp"

namespace reaper {

struct MonitorSpec {
  std::string dir;       // this process's state directory (exists, empty)
  ProcessState initial;  // id, bundle, annotations
  oci::Process process;
  Stdio stdio{STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, false};  // fds of the caller
  // Where a terminal workload's PTY master goes: a unix socket path (runc's
  // --console-socket) or an already connected socket of the caller.
  std::string console_socket;
  int console_channel = -1;
  bool gated = false;        // hold before exec until `start` arrives on control.sock
  bool notify_exit = false;  // tell the caller "exit STATUS NS\n" once the exit is recorded
  // The workload's first act, before anything that could fail or run, is to write
  // "pid PID\n" on the report pipe itself: a caller whose monitor dies before "ok PID"
  // still knows what was started (it is then the caller's child, if the caller is a
  // child subreaper), and a report that ends without that line proves nothing ran.
  bool announce_pid = false;
  // Where the workload runs: a container's init gets its own mount namespace over its
  // group's overlay (`mounts`); an exec'd process joins the namespace of the process
  // behind `join_mounts_fd` (a pidfd of the container's init). One of them is always set:
  // nothing runs on the bare host.
  std::optional<MountPlan> mounts;
  int join_mounts_fd = -1;
  // A standby (an exec prepared at its Exec request, ahead of its Start): the workload
  // is spawned and set up, then held at its gate, and nothing is recorded in state.json,
  // until a `start` line arrives here; EOF instead (the exec deleted, its caller gone),
  // or the held workload's death, ends the monitor with nothing run or reported.
  int go_fd = -1;
  // A pod sandbox runs reaper's own do-nothing process and needs neither.
  bool sandbox = false;
  // The launching process is a stand-in (stand_in.hpp) whose pid a runc caller waits for:
  // if it dies before the workload's exit is recorded, the workload is killed, so the
  // caller's pid and the workload never disagree. initial.stand_in_pid names it.
  bool stand_in = false;
  // Where and as whose the monitor records the process's start and exit (audit.hpp);
  // unset: no audit record.
  std::optional<AuditSettings> audit;
  AuditContext audit_context;
};

struct Launched {
  pid_t pid = -1;
  UniqueFd notify;   // with notify_exit: readable when the exit has been recorded
  UniqueFd monitor;  // a pidfd of the monitor (our child): readable once it has ended
};

// A monitor forked and still setting its workload up: its report, one line (see
// core/line_protocol.hpp), comes on `report`. Callers with an event loop read it
// asynchronously; building an overlay group can take long.
struct PendingLaunch {
  pid_t monitor_pid = -1;
  UniqueFd report;
  UniqueFd monitor;  // pidfd
  bool notify_exit = false;
};

// The audit record of `process` (launched with `context` as `pid`) as its monitor
// writes it: an adopter that records an exit in a dead monitor's stead writes the same.
AuditRecord process_audit_record(const char* event, const AuditContext& context,
                                 const oci::Process& process, pid_t pid);

// Forks the monitor and returns at once. The monitor keeps none of the caller's
// other fds.
Result<PendingLaunch> fork_monitor(const MonitorSpec& spec);

// The outcome of a launch from the monitor's report line (an error when the report
// was an error, malformed, or missing: `line` is the read's result). Never blocks; on
// failure the monitor has ended or is ending, and its caller reaps it.
Result<Launched> complete_launch(PendingLaunch&& pending, const Result<std::string>& line);

// fork_monitor + a blocking read of the report + complete_launch, reaping the monitor
// on failure: for callers without an event loop (the runtime CLI).
Result<Launched> launch_monitor(const MonitorSpec& spec);

// Asks the monitor in `dir` to let its workload exec; returns once it has.
Result<void> request_start(const std::string& dir);
// The same in two halves, for callers with an event loop: send_start connects to the
// monitor's control socket and writes the request (neither blocks: the monitor listens
// from its start on); the connection's one answer line, read however the caller likes,
// goes to start_answer (`line` is the read's result: an error at EOF).
Result<UniqueFd> send_start(const std::string& dir);
Result<void> start_answer(const Result<std::string>& line);

// Blocks until the workload's exit has been recorded in <dir>/state.json.
Result<void> wait_exit_recorded(const std::string& dir);

}  // namespace reaper
