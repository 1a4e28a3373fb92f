#pragma once
// Container operations shared by the runtime CLI and the operator CLI: the verbs of
// an OCI runtime over the state store and the monitor.
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/monitor.hpp"
#include "core/oci_spec.hpp"
#include "core/sandbox_process.hpp"
#include "core/state_store.hpp"

namespace reaper {

// How a workload's stdio and console reach the caller (see MonitorSpec).
struct ProcessIo {
  Stdio stdio{STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, false};
  std::string console_socket;  // required for terminal workloads, or:
  int console_channel = -1;
  bool notify_exit = false;
  bool announce_pid = false;  // see MonitorSpec
};

struct CreateOptions {
  std::string id;
  std::string bundle;    // absolute
  std::string pid_file;  // optional
  ProcessIo io;
  // Set when the caller already parsed config.json (the shim); otherwise it is read.
  std::optional<oci::Spec> spec;
  // The pid file names a stand-in (stand_in.hpp) the caller can wait for: runc's contract.
  bool stand_in = false;
};

struct ExecOptions {
  std::string id;
  std::string exec_id;  // generated when empty
  oci::Process process;
  std::string pid_file;
  ProcessIo io;
  bool detach = false;
  bool stand_in = false;  // as for CreateOptions (detached execs only)
  int go_fd = -1;         // a standby: see MonitorSpec::go_fd
};

// A create or exec checked and planned, its state directory made, not launched yet.
struct PreparedLaunch {
  std::string dir;
  MonitorSpec ms;
  UniqueFd init_pidfd;  // an exec joins the namespace of the init behind it
};

// A create or exec whose monitor is setting the workload up (see PendingLaunch): the
// caller reads the report line however it likes, then calls finish_create/finish_exec.
struct PendingCreate {
  std::string id, dir, pid_file;
  PendingLaunch launch;
};

// The exit of a workload whose monitor ended before recording it (see
// Containers::record_adopted_exit), as its adopter reaped it.
struct AdoptedExit {
  int exit_status = 0;        // 0-255, 128+N when killed by signal N
  std::optional<int> signal;  // the signal that ended it, if one did
  int64_t ns = 0;             // CLOCK_REALTIME of the exit
};

class Containers {
 public:
  explicit Containers(std::string root) : store_(std::move(root)) {}
  const StateStore& store() const { return store_; }

  Result<Launched> create(const CreateOptions& opts);  // begin, blocking read, finish
  // Everything up to the monitor's fork: checks, mount plan, state directory.
  Result<PendingCreate> begin_create(const CreateOptions& opts);
  // With the monitor's report: the pid, or the error with nothing left behind.
  Result<Launched> finish_create(PendingCreate&& pending, const Result<std::string>& report);
  Result<void> start(const std::string& id);
  // start() in two halves for an event loop: the request sent, the answer to be read
  // from the returned connection and given to start_answer (monitor.hpp).
  Result<UniqueFd> send_start(const std::string& id);
  // A pod sandbox spawned as the caller's own child, without a monitor, its record kept
  // by the caller (sandbox_process.hpp); `opts.io.stdio` only. It runs from here on (it
  // only waits for a signal); sandbox_started() records Start.
  Result<SandboxProcess> spawn_sandbox(const CreateOptions& opts);
  Result<void> sandbox_started(const std::string& id);
  Result<Observed> state(const std::string& id) const;
  Result<void> kill(const std::string& id, int sig, bool all);
  Result<void> kill_exec(const std::string& id, const std::string& exec_id, int sig);
  Result<void> remove(const std::string& id, bool force);
  // Stops every process of a running container with SIGSTOP / continues a paused one
  // (container_pause.cpp: there is no cgroup freezer).
  Result<void> pause(const std::string& id);
  Result<void> resume(const std::string& id);
  // Foreground: the process's exit status. Detached: 0 once it has been exec'd.
  Result<int> exec(const ExecOptions& opts);
  // Detached exec for callers that watch the exit themselves.
  Result<Launched> exec_detached(const ExecOptions& opts);
  Result<PendingCreate> begin_exec(const ExecOptions& opts);  // as begin_create
  Result<Launched> finish_exec(PendingCreate&& pending, const Result<std::string>& report);
  // Forgets an exec'd process that has exited (its record and directory).
  Result<void> remove_exec(const std::string& id, const std::string& exec_id);
  // SIGKILL to everything an exec'd process left (its monitor then ends by itself).
  Result<void> kill_exec_tree(const std::string& id, const std::string& exec_id);
  // A monitor killed or crashed before recording its workload's exit leaves the workload
  // to the nearest child subreaper above it (the shim), which reaps it and records the
  // exit in the monitor's stead (container_adopt.cpp): in state.json (exec_id "" for the
  // init), then, once the exit has been reported, in the audit trail as the monitor
  // would have (`process`: an exec's; an init's is read from its bundle).
  Result<void> record_adopted_exit(const std::string& id, const std::string& exec_id, const AdoptedExit& e) const;
  void audit_adopted_exit(const std::string& id, const std::string& exec_id, const oci::Process* process,
                          const AdoptedExit& e) const;
  // An exec whose monitor died after its workload announced itself (announce_pid) and
  // before "ok PID": its adopter records it as started, in state.json and the audit
  // trail, as the monitor would have (`monitor_pid`: the dead monitor's).
  Result<void> record_adopted_start(const std::string& id, const std::string& exec_id, pid_t pid,
                                    pid_t monitor_pid, const oci::Process& process) const;
  // Blocks until the workload's exit is recorded; returns its exit status.
  Result<int> wait(const std::string& id);
  // Every live process of the container (workload, descendants, exec'd processes).
  Result<std::vector<pid_t>> pids(const std::string& id) const;
  std::vector<Observed> list() const;

 private:
  Result<PreparedLaunch> prepare_create(const CreateOptions& opts);
  Result<PreparedLaunch> prepare_exec(const ExecOptions& opts);
  // The monitors still alive for a container and its exec'd processes.
  std::vector<pid_t> live_monitors(const std::string& id) const;
  // A sandbox's process while its shim watches it and its exit is not recorded.
  std::optional<pid_t> shim_watched(const std::string& id) const;
  std::vector<std::string> exec_dirs(const std::string& id) const;
  // Signals the process recorded in `dir`; fails with `not_running` once its exit is recorded.
  Result<void> signal_recorded(const std::string& dir, const std::string& not_running,
                               int sig) const;

  StateStore store_;
};

Result<void> write_pid_file(const std::string& path, pid_t pid);

}  // namespace reaper
