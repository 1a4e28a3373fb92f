#include "core/container.hpp"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>

#include "core/container_mounts.hpp"
#include "core/files.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/node_config.hpp"
#include "core/control_socket.hpp"
#include "core/monitor.hpp"
#include "core/process_tree.hpp"
#include "core/stand_in.hpp"

namespace reaper {

Result<void> write_pid_file(const std::string& path, pid_t pid) {
  if (path.empty()) return {};
  return files::replace(path, std::to_string(pid), 0644);
}

namespace {

void apply_io(MonitorSpec& ms, const ProcessIo& io) {
  ms.stdio = io.stdio;
  ms.console_socket = io.console_socket;
  ms.console_channel = io.console_channel;
  ms.notify_exit = io.notify_exit;
  ms.announce_pid = io.announce_pid;
}

bool has_console(const ProcessIo& io) { return !io.console_socket.empty() || io.console_channel >= 0; }

// A pidfd of the container's init, checked to be that process: the monitor records an
// exit before it reaps, so a pidfd opened while no exit is recorded is the right one.
Result<UniqueFd> open_init(const StateStore& store, const std::string& id) {
  Observed o = TRY(store.observe(id));
  int pidfd = o.state.pid > 0 ? static_cast<int>(::syscall(SYS_pidfd_open, o.state.pid, 0)) : -1;
  if (pidfd < 0) return failf(ErrorKind::kNotFound, "container {:?} is not running", id);
  UniqueFd fd(pidfd);
  Observed again = TRY(store.observe(id));
  if (again.state.exit_status || again.status != Status::kRunning)
    return failf(ErrorKind::kNotFound, "container {:?} is not running", id);
  return fd;
}

// Launches the monitor, through a stand-in if asked, and writes the pid file: the
// stand-in's pid, or the workload's. A pid file that cannot be written kills the workload.
Result<Launched> launch(const MonitorSpec& ms, bool stand_in, const std::string& pid_file) {
  Launched l;
  pid_t named = -1;
  if (stand_in) {
    StandIn s = TRY(launch_stand_in(ms));
    l.pid = s.workload_pid;
    named = s.pid;
  } else {
    l = TRY(launch_monitor(ms));
    named = l.pid;
  }
  if (auto written = write_pid_file(pid_file, named); !written) {
    ::kill(l.pid, SIGKILL);  // its exit is not recorded yet: still ours
    return std::unexpected(written.error());
  }
  return l;
}

}  // namespace

Result<PreparedLaunch> Containers::prepare_create(const CreateOptions& opts) {
  TRY(validate_id(opts.id));
  // Everything that can be checked is checked before anything is made.
  oci::Spec spec = opts.spec ? *opts.spec
                             : TRY_CTX(oci::load_bundle_spec(opts.bundle), "bundle " + opts.bundle);
  if (spec.process.terminal && !has_console(opts.io))
    return fail(ErrorKind::kInvalidArgument, "process.terminal is set: --console-socket is required");
  // A pod sandbox is known by the CRI's annotation only, never by its command: it runs
  // reaper's own do-nothing personality, a real pid for the pod's lifetime, and needs
  // no overlay.
  bool sandbox = is_pod_sandbox(spec.annotations);
  std::optional<MountPlan> plan;
  std::optional<AuditSettings> audit;  // a sandbox runs reaper's own process: not audited
  if (sandbox) {
    spec.process.args = {"/proc/self/exe", "reaper-sandbox"};
  } else {
    NodeConfig node = TRY(load_node_config());
    for (const auto& w : node.warnings) log::warn("{}", w);
    audit = node.audit;
    plan = TRY_CTX(plan_mounts(node, spec), "container " + opts.id);
    for (const auto& note : plan->notes) log::warn("container {}: {}", opts.id, note);
  }
  TRY(store_.create_dir(opts.id));
  std::string dir = store_.dir(opts.id);

  PreparedLaunch prepared;
  prepared.dir = dir;
  MonitorSpec& ms = prepared.ms;
  ms.dir = dir;
  ms.initial.id = opts.id;
  ms.initial.bundle = opts.bundle;
  ms.initial.annotations = spec.annotations;
  if (plan) ms.initial.overlay_group = plan->group.key();
  ms.process = spec.process;
  ms.sandbox = sandbox;
  ms.audit = audit;
  ms.audit_context = audit_context(spec.annotations, opts.id, "");
  ms.mounts = std::move(plan);
  apply_io(ms, opts.io);
  ms.gated = true;
  return prepared;
}

Result<Launched> Containers::create(const CreateOptions& opts) {
  PreparedLaunch p = TRY(prepare_create(opts));
  auto launched = launch(p.ms, opts.stand_in, opts.pid_file);
  if (!launched) {
    // Nothing half-made stays behind: wait for the monitor, then drop the directory.
    auto ignored = wait_monitor_gone(p.dir);
    (void)ignored;
    auto removed = files::remove_tree(p.dir);
    (void)removed;
    return std::unexpected(launched.error());
  }
  return launched;
}

Result<PendingCreate> Containers::begin_create(const CreateOptions& opts) {
  PreparedLaunch p = TRY(prepare_create(opts));
  auto pending = fork_monitor(p.ms);
  if (!pending) {
    auto removed = files::remove_tree(p.dir);
    (void)removed;
    return std::unexpected(pending.error());
  }
  return PendingCreate{opts.id, p.dir, opts.pid_file, std::move(*pending)};
}

Result<Launched> Containers::finish_create(PendingCreate&& pending, const Result<std::string>& report) {
  auto launched = complete_launch(std::move(pending.launch), report);
  Result<void> recorded = launched ? write_pid_file(pending.pid_file, launched->pid)
                                   : Result<void>(std::unexpected(launched.error()));
  if (!recorded) {
    if (launched) ::kill(launched->pid, SIGKILL);
    // Nothing half-made stays behind: wait for the monitor (it ends at once after a
    // failed report, or after the kill), then drop the directory.
    auto ignored = wait_monitor_gone(pending.dir);
    (void)ignored;
    auto removed = files::remove_tree(pending.dir);
    (void)removed;
    return std::unexpected(recorded.error());
  }
  return launched;
}

Result<void> Containers::start(const std::string& id) {
  UniqueFd conn = TRY(send_start(id));
  return start_answer(read_line(conn.get()));
}

Result<UniqueFd> Containers::send_start(const std::string& id) {
  Observed o = TRY(store_.observe(id));
  if (o.status != Status::kCreated)
    return failf(ErrorKind::kFailedPrecondition, "container {:?} is {}, not created", id, status_name(o.status));
  return reaper::send_start(store_.dir(id));
}

Result<Observed> Containers::state(const std::string& id) const { return store_.observe(id); }

std::vector<std::string> Containers::exec_dirs(const std::string& id) const {
  std::vector<std::string> dirs;
  std::string base = store_.dir(id) + "/execs";
  if (auto names = files::list_dir(base))
    for (const auto& n : *names) dirs.push_back(base + "/" + n);
  return dirs;
}

std::vector<pid_t> Containers::live_monitors(const std::string& id) const {
  std::vector<pid_t> roots;
  auto add = [&](const std::string& dir) {
    if (!monitor_alive(dir)) return;
    // A sandbox's lock is held by its shim, which is not the sandbox's to signal.
    if (auto o = store_.observe_dir(dir); o && o->state.monitor_pid > 0) roots.push_back(o->state.monitor_pid);
  };
  add(store_.dir(id));
  for (const auto& d : exec_dirs(id)) add(d);
  return roots;
}

Result<void> Containers::signal_recorded(const std::string& dir, const std::string& not_running,
                                         int sig) const {
  Observed o = TRY(store_.observe_dir(dir));
  if (o.status == Status::kStopped) return fail(ErrorKind::kNotFound, not_running);
  // The monitor records the exit before it reaps, so a pidfd opened while the state
  // shows no exit refers to our process, never to one that reused its pid.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, o.state.pid, 0));
  if (pidfd < 0) return fail(ErrorKind::kNotFound, not_running);
  UniqueFd guard(pidfd);
  Observed again = TRY(store_.observe_dir(dir));
  if (again.state.exit_status) return fail(ErrorKind::kNotFound, not_running);
  if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) != 0) {
    if (errno == ESRCH) return fail(ErrorKind::kNotFound, not_running);
    return sys_error("signal " + not_running);
  }
  return {};
}

Result<void> Containers::kill(const std::string& id, int sig, bool all) {
  TRY(store_.observe(id));
  if (all) {
    signal_descendants(live_monitors(id), sig);
    if (shim_watched(id)) {
      auto ignored = signal_recorded(store_.dir(id), "", sig);
      (void)ignored;
    }
    return {};
  }
  // runc's words: its callers (containerd's runc shim) match "container not running".
  return signal_recorded(store_.dir(id), fmt::format("container not running: {:?}", id), sig);
}

Result<void> Containers::kill_exec(const std::string& id, const std::string& exec_id, int sig) {
  TRY(validate_id(exec_id, "exec id"));
  return signal_recorded(store_.exec_dir(id, exec_id), fmt::format("exec {:?} is not running", exec_id),
                         sig);
}

Result<void> Containers::remove(const std::string& id, bool force) {
  TRY(validate_id(id));
  if (!store_.has(id)) {
    if (force) return {};
    return failf(ErrorKind::kNotFound, "container {:?} does not exist", id);
  }
  std::string dir = store_.dir(id);
  auto o = store_.observe(id);
  if (o && (o->status == Status::kRunning || o->status == Status::kPaused) && !force)
    return failf(ErrorKind::kFailedPrecondition, "container {:?} is {}: stop it first or use --force", id, status_name(o->status));
  // Whatever is left of the tree (a held workload, a running one with --force,
  // daemons that outlived a stopped workload) goes, then its monitors end by themselves.
  signal_descendants(live_monitors(id), SIGKILL);
  if (shim_watched(id)) {  // its shim records the exit and lets go of the locks
    auto ignored = signal_recorded(dir, "", SIGKILL);
    (void)ignored;
  }
  for (const auto& d : exec_dirs(id)) TRY(wait_monitor_gone(d));
  TRY(wait_monitor_gone(dir));
  return files::remove_tree(dir);
}

Result<PreparedLaunch> Containers::prepare_exec(const ExecOptions& opts) {
  Observed o = TRY(store_.observe(opts.id));
  if (o.status != Status::kRunning)
    return failf(ErrorKind::kFailedPrecondition, "container {:?} is {}: exec needs a running container", opts.id,
                 status_name(o.status));
  if (opts.process.terminal && !has_console(opts.io))
    return fail(ErrorKind::kInvalidArgument, "a terminal exec needs --console-socket");
  const std::string& exec_id = opts.exec_id;
  TRY(validate_id(exec_id, "exec id"));
  std::string base = store_.dir(opts.id) + "/execs";
  if (::mkdir(base.c_str(), 0700) != 0 && errno != EEXIST) return sys_error("mkdir " + base);
  std::string dir = store_.exec_dir(opts.id, exec_id);
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) return failf(ErrorKind::kAlreadyExists, "exec id {:?} already exists", exec_id);
    return sys_error("mkdir " + dir);
  }

  auto init = open_init(store_, opts.id);
  if (!init) {
    auto ignored = files::remove_tree(dir);
    (void)ignored;
    return std::unexpected(init.error());
  }
  PreparedLaunch prepared;
  prepared.dir = dir;
  prepared.init_pidfd = std::move(*init);
  MonitorSpec& ms = prepared.ms;
  ms.dir = dir;
  ms.initial.id = exec_id;
  ms.initial.bundle = o.state.bundle;
  ms.initial.overlay_group = o.state.overlay_group;
  ms.process = opts.process;
  ms.join_mounts_fd = prepared.init_pidfd.get();
  if (auto node = load_node_config()) ms.audit = node->audit;
  ms.audit_context = audit_context(o.state.annotations, opts.id, exec_id);
  apply_io(ms, opts.io);
  ms.gated = false;
  ms.go_fd = opts.go_fd;
  return prepared;
}

Result<Launched> Containers::exec_detached(const ExecOptions& opts) {
  PreparedLaunch p = TRY(prepare_exec(opts));
  auto launched = launch(p.ms, opts.stand_in && opts.detach, opts.pid_file);
  if (!launched) {
    auto ignored = wait_monitor_gone(p.dir);
    (void)ignored;
    auto removed = files::remove_tree(p.dir);
    (void)removed;
    return std::unexpected(launched.error());
  }
  return launched;
}

Result<PendingCreate> Containers::begin_exec(const ExecOptions& opts) {
  PreparedLaunch p = TRY(prepare_exec(opts));
  auto pending = fork_monitor(p.ms);
  if (!pending) {
    auto ignored = files::remove_tree(p.dir);
    (void)ignored;
    return std::unexpected(pending.error());
  }
  return PendingCreate{opts.id, p.dir, opts.pid_file, std::move(*pending)};
}

Result<Launched> Containers::finish_exec(PendingCreate&& pending, const Result<std::string>& report) {
  auto launched = complete_launch(std::move(pending.launch), report);
  if (!launched) {
    auto ignored = wait_monitor_gone(pending.dir);
    (void)ignored;
    auto removed = files::remove_tree(pending.dir);
    (void)removed;
    return std::unexpected(launched.error());
  }
  TRY(write_pid_file(pending.pid_file, launched->pid));
  return launched;
}

Result<void> Containers::kill_exec_tree(const std::string& id, const std::string& exec_id) {
  TRY(validate_id(exec_id, "exec id"));
  std::string dir = store_.exec_dir(id, exec_id);
  if (monitor_alive(dir))
    if (auto o = store_.observe_dir(dir)) signal_descendants({o->state.monitor_pid}, SIGKILL);
  return {};
}

Result<void> Containers::remove_exec(const std::string& id, const std::string& exec_id) {
  // Whatever the exec'd process left behind dies with its record.
  TRY(kill_exec_tree(id, exec_id));
  std::string dir = store_.exec_dir(id, exec_id);
  TRY(wait_monitor_gone(dir));
  return files::remove_tree(dir);
}

Result<int> Containers::exec(const ExecOptions& opts) {
  ExecOptions o = opts;
  if (o.exec_id.empty()) o.exec_id = fmt::format("exec-{}-{}", ::getpid(), now_ns());
  TRY(exec_detached(o));
  if (opts.detach) return 0;
  std::string dir = store_.exec_dir(o.id, o.exec_id);
  TRY(wait_exit_recorded(dir));
  Observed done = TRY(store_.observe_dir(dir));
  // The exec's own record goes once nothing of it is left; daemons it started stay
  // tracked until the container is deleted.
  if (!monitor_alive(dir) || descendants({done.state.monitor_pid}).empty()) {
    auto ignored = wait_monitor_gone(dir);
    (void)ignored;
    auto removed = files::remove_tree(dir);
    (void)removed;
  }
  return done.state.exit_status.value_or(1);
}

Result<int> Containers::wait(const std::string& id) {
  TRY(store_.observe(id));
  TRY(wait_exit_recorded(store_.dir(id)));
  Observed o = TRY(store_.observe(id));
  return o.state.exit_status.value_or(1);
}

Result<std::vector<pid_t>> Containers::pids(const std::string& id) const {
  TRY(store_.observe(id));
  std::vector<pid_t> out;
  // Stand-ins first (the pids a runc caller holds): alive while their exit is not recorded.
  std::vector<std::string> dirs = exec_dirs(id);
  dirs.insert(dirs.begin(), store_.dir(id));
  for (const auto& d : dirs) {
    auto o = store_.observe_dir(d);
    if (!o || o->state.stand_in_pid <= 0 || o->state.exit_status) continue;
    if (auto p = read_proc(o->state.stand_in_pid); p && p->state != 'Z') out.push_back(p->pid);
  }
  if (auto pid = shim_watched(id))
    if (auto p = read_proc(*pid); p && p->state != 'Z') out.push_back(p->pid);
  for (const auto& p : descendants(live_monitors(id))) out.push_back(p.pid);
  return out;
}

std::vector<Observed> Containers::list() const {
  std::vector<Observed> out;
  for (const auto& id : store_.list())
    if (auto o = store_.observe(id)) out.push_back(std::move(*o));
  return out;
}

}  // namespace reaper
