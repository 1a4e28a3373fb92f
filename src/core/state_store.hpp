#pragma once
// The on-disk state of containers under the runtime root (default /run/reaper).
//
//   <root>/<id>/            0700, one per container
//     state.json            written only by the container's monitor, atomically (or by
//                           the shim once the monitor died: container_adopt.cpp; and
//                           for a pod sandbox, which has no monitor: sandbox_process.hpp)
//     monitor.lock          flock()ed by the monitor for its whole life: "is it alive?"
//                           without trusting a pid, and "wait until it is gone" without polling
//     running.lock          flock()ed by the monitor until the workload's exit is recorded
//     control.sock          the monitor listens here until `start`
//     paused                present while `reaper-runtime pause` holds the container stopped
//     execs/<exec-id>/      the same files for each exec'd process
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace reaper {

enum class Status { kCreated, kRunning, kPaused, kStopped };
std::string_view status_name(Status s);

struct ProcessState {
  std::string id;
  std::string bundle;
  pid_t pid = 0;          // the workload (or exec'd process)
  pid_t monitor_pid = 0;  // the process that spawned and waits for it
  // A pod sandbox has no monitor (monitor_pid 0): the shim that spawned it waits for it
  // and holds its locks (core/sandbox_process.hpp).
  pid_t shim_pid = 0;
  // The process a runc caller was given instead of `pid` (stand_in.hpp); 0 if none.
  pid_t stand_in_pid = 0;
  int64_t created_ns = 0;
  std::optional<int64_t> started_ns;
  std::optional<int64_t> exited_ns;
  std::optional<int> exit_status;
  std::optional<int> exit_signal;  // the signal that ended it, if one did (exit_status 128+N)
  std::string error;  // why the process failed to start, if it did
  bool terminal = false;
  std::string overlay_group;  // the key of the overlay group it runs in
  std::map<std::string, std::string> annotations;
};

// A state plus what is derived from the live system: is its monitor still there?
struct Observed {
  ProcessState state;
  Status status = Status::kStopped;
  bool monitor_alive = false;
};

std::string to_json(const ProcessState& s);
Result<ProcessState> state_from_json(std::string_view text);
std::string format_time(int64_t ns);  // RFC 3339 with nanoseconds, UTC
int64_t now_ns();

inline constexpr const char* kPausedFile = "paused";

class StateStore {
 public:
  explicit StateStore(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }

  // <root>/<id>, or for ids too long for one path component (NAME_MAX is 255) a name
  // no id can have: 200 characters of it, '~' and its SHA-256.
  std::string dir(const std::string& id) const;
  std::string exec_dir(const std::string& id, const std::string& exec_id) const {
    return dir(id) + "/execs/" + exec_id;
  }

  // Creates <root>/<id> exclusively; "already exists" if it is there.
  Result<void> create_dir(const std::string& id) const;
  bool has(const std::string& id) const;
  std::vector<std::string> list() const;

  // Reads a container's state and observes its monitor.
  Result<Observed> observe(const std::string& id) const;
  Result<Observed> observe_dir(const std::string& dir) const;

 private:
  std::string root_;
};

// Writes `state` to <dir>/state.json atomically.
Result<void> save_state(const std::string& dir, const ProcessState& state);

// True while some process holds the lock file at <dir>/monitor.lock.
bool monitor_alive(const std::string& dir);
// Blocks until nobody holds <dir>/monitor.lock (the monitor has exited).
Result<void> wait_monitor_gone(const std::string& dir);

}  // namespace reaper
