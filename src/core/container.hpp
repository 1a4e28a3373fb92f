#pragma once
// Container operations shared by the runtime CLI and the operator CLI: the verbs of
// an OCI runtime over the state store and the monitor.
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/oci_spec.hpp"
#include "core/state_store.hpp"

namespace reaper {

struct CreateOptions {
  std::string id;
  std::string bundle;          // absolute
  std::string pid_file;        // optional
  std::string console_socket;  // required for terminal workloads
};

struct ExecOptions {
  std::string id;
  std::string exec_id;  // generated when empty
  oci::Process process;
  std::string pid_file;
  std::string console_socket;
  bool detach = false;
};

class Containers {
 public:
  explicit Containers(std::string root) : store_(std::move(root)) {}
  const StateStore& store() const { return store_; }

  Result<pid_t> create(const CreateOptions& opts);
  Result<void> start(const std::string& id);
  Result<Observed> state(const std::string& id) const;
  Result<void> kill(const std::string& id, int sig, bool all);
  Result<void> remove(const std::string& id, bool force);
  // Foreground: the process's exit status. Detached: 0 once it has been exec'd.
  Result<int> exec(const ExecOptions& opts);
  // Blocks until the workload's exit is recorded; returns its exit status.
  Result<int> wait(const std::string& id);
  // Every live process of the container (workload, descendants, exec'd processes).
  Result<std::vector<pid_t>> pids(const std::string& id) const;
  std::vector<Observed> list() const;

 private:
  // The monitors still alive for a container and its exec'd processes.
  std::vector<pid_t> live_monitors(const std::string& id) const;
  std::vector<std::string> exec_dirs(const std::string& id) const;

  StateStore store_;
};

Result<void> write_pid_file(const std::string& path, pid_t pid);

}  // namespace reaper
