// The exit of an adopted workload. A monitor records its workload's exit before it
// reaps it; one that is killed or crashes first leaves the workload (alive, or a zombie
// it never reaped) to the nearest child subreaper above it. That adopter (the shim)
// reaps it and records the exit here, in the monitor's stead and in the monitor's
// words: the same state.json fields, the same audit exit record. A pod sandbox, which
// has no monitor at all (sandbox_process.hpp), has its exit recorded the same way.
#include "core/container.hpp"
#include "core/log.hpp"
#include "core/node_config.hpp"
#include "core/pod_settings.hpp"

namespace reaper {
namespace {

std::string process_dir(const StateStore& store, const std::string& id, const std::string& exec_id) {
  return exec_id.empty() ? store.dir(id) : store.exec_dir(id, exec_id);
}

}  // namespace

Result<void> Containers::record_adopted_exit(const std::string& id, const std::string& exec_id,
                                             const AdoptedExit& e) const {
  std::string dir = process_dir(store_, id, exec_id);
  // Its monitor is gone (a sandbox never had one): nobody else writes this record.
  Observed o = TRY(store_.observe_dir(dir));
  if (o.state.exit_status) return {};  // the monitor recorded it after all
  o.state.exit_status = e.exit_status;
  o.state.exit_signal = e.signal;
  o.state.exited_ns = e.ns;
  return save_state(dir, o.state);
}

Result<void> Containers::record_adopted_start(const std::string& id, const std::string& exec_id, pid_t pid,
                                             pid_t monitor_pid, const oci::Process& process) const {
  Observed init = TRY(store_.observe(id));
  std::string dir = store_.exec_dir(id, exec_id);
  ProcessState s;
  s.id = exec_id;
  s.bundle = init.state.bundle;
  s.overlay_group = init.state.overlay_group;
  s.pid = pid;
  s.monitor_pid = monitor_pid;
  s.created_ns = now_ns();
  s.started_ns = s.created_ns;
  s.terminal = process.terminal;
  TRY(save_state(dir, s));
  auto node = load_node_config();
  if (!node || !node->audit.enabled) return {};
  AuditRecord r = process_audit_record("start", audit_context(init.state.annotations, id, exec_id), process, pid);
  r.time_ns = *s.started_ns;
  write_audit_record(node->audit, r);
  return {};
}

void Containers::audit_adopted_exit(const std::string& id, const std::string& exec_id,
                                    const oci::Process* process, const AdoptedExit& e) const {
  auto init = store_.observe(id);
  auto self = exec_id.empty() ? init : store_.observe_dir(store_.exec_dir(id, exec_id));
  if (!init || !self) return;
  // As the monitor: a sandbox runs reaper's own process and is not audited, and a
  // process held before Start never ran anything and has no records.
  if (is_pod_sandbox(init->state.annotations)) return;
  if (!self->state.started_ns) return;
  auto node = load_node_config();
  if (!node || !node->audit.enabled) return;
  oci::Process from_bundle;
  if (!process) {
    auto spec = oci::load_bundle_spec(init->state.bundle);
    if (!spec) {
      log::warn("{}: audit of the adopted exit: {}", id, spec.error().describe());
      return;
    }
    from_bundle = std::move(spec->process);
    from_bundle.terminal = init->state.terminal;
    process = &from_bundle;
  }
  AuditRecord r = process_audit_record("exit", audit_context(init->state.annotations, id, exec_id), *process,
                                       self->state.pid);
  r.time_ns = e.ns;
  r.exit_status = e.exit_status;
  r.signal = e.signal;
  r.duration_ns = e.ns - *self->state.started_ns;
  write_audit_record(node->audit, r);
}

}  // namespace reaper
