// The sandbox's process, spawned by its watcher (sandbox_process.hpp). posix_spawn: glibc
// spawns with clone(CLONE_VM | CLONE_VFORK), so the caller is suspended only until the
// child has exec'd (a few hundred microseconds, no copy of its page tables) and learns an
// exec failure from posix_spawn's result.
#include "core/sandbox_process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <vector>

#include "core/container.hpp"
#include "core/files.hpp"
#include "core/ids.hpp"
#include "core/pod_settings.hpp"

namespace reaper {
namespace {

Result<UniqueFd> hold_lock(const std::string& path) {
  UniqueFd fd = TRY(files::open(path, O_RDWR | O_CREAT, 0600));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return sys_error("flock " + path);
  return fd;
}

struct SpawnAttrs {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnAttrs() {
    ::posix_spawnattr_init(&attr);
    ::posix_spawn_file_actions_init(&actions);
  }
  ~SpawnAttrs() {
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attr);
  }
  SpawnAttrs(const SpawnAttrs&) = delete;
  SpawnAttrs& operator=(const SpawnAttrs&) = delete;
};

// `/proc/self/exe reaper-sandbox --parent OUR_PID` in its own session, at `/`, with the
// spec's environment, default signal dispositions, and SIGTERM and SIGINT blocked from
// the start to its sigwait (a TERM sent right after Start ends it with status 0, never by
// the default action). All our fds are close-on-exec: it gets 0, 1 and 2 only.
Result<pid_t> spawn_sandbox_process(const Stdio& stdio, const std::vector<std::string>& env) {
  std::vector<std::string> args = {"/proc/self/exe", "reaper-sandbox", "--parent", std::to_string(::getpid())};
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_copy = env;
  for (auto& e : env_copy) envp.push_back(e.data());
  envp.push_back(nullptr);

  SpawnAttrs s;
  sigset_t blocked, all;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  sigfillset(&all);
  int rc = ::posix_spawnattr_setsigmask(&s.attr, &blocked);
  if (rc == 0) rc = ::posix_spawnattr_setsigdefault(&s.attr, &all);
  if (rc == 0)
    rc = ::posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
  const int fds[3] = {stdio.in, stdio.out, stdio.err};
  for (int n = 0; n < 3 && rc == 0; ++n)
    rc = fds[n] >= 0 ? ::posix_spawn_file_actions_adddup2(&s.actions, fds[n], n)
                     : ::posix_spawn_file_actions_addopen(&s.actions, n, "/dev/null", O_RDWR, 0);
  if (rc == 0) rc = ::posix_spawn_file_actions_addchdir_np(&s.actions, "/");
  pid_t pid = -1;
  if (rc == 0) rc = ::posix_spawn(&pid, "/proc/self/exe", &s.actions, &s.attr, argv.data(), envp.data());
  if (rc != 0) {
    errno = rc;
    return sys_error("spawn reaper-sandbox");
  }
  return pid;
}

}  // namespace

bool is_pod_sandbox(const std::map<std::string, std::string>& annotations) {
  auto type = annotations.find(std::string(kContainerTypeAnnotation));
  return type != annotations.end() && type->second == "sandbox";
}

Result<SandboxProcess> Containers::spawn_sandbox(const CreateOptions& opts) {
  TRY(validate_id(opts.id));
  oci::Spec spec = opts.spec ? *opts.spec : TRY_CTX(oci::load_bundle_spec(opts.bundle), "bundle " + opts.bundle);
  if (!is_pod_sandbox(spec.annotations)) return fail(ErrorKind::kInvalidArgument, "not a pod sandbox");
  TRY(store_.create_dir(opts.id));
  std::string dir = store_.dir(opts.id);
  auto spawned = [&]() -> Result<SandboxProcess> {
    SandboxProcess sp;
    sp.monitor_lock = TRY(hold_lock(dir + "/monitor.lock"));
    sp.running_lock = TRY(hold_lock(dir + "/running.lock"));
    sp.pid = TRY(spawn_sandbox_process(opts.io.stdio, spec.process.env));
    // Our child, not reaped yet: the pid is still its own.
    sp.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, sp.pid, 0)));
    ProcessState st;
    st.id = opts.id;
    st.bundle = opts.bundle;
    st.pid = sp.pid;
    st.shim_pid = ::getpid();
    st.created_ns = now_ns();
    st.annotations = spec.annotations;
    Result<void> saved = sp.pidfd ? save_state(dir, st) : sys_error("pidfd_open");
    if (!saved) {
      ::kill(sp.pid, SIGKILL);  // the caller reaps it, as any child of its
      return std::unexpected(saved.error());
    }
    return sp;
  }();
  if (!spawned) {
    auto removed = files::remove_tree(dir);
    (void)removed;
  }
  return spawned;
}

Result<void> Containers::sandbox_started(const std::string& id) {
  std::string dir = store_.dir(id);
  Observed o = TRY(store_.observe_dir(dir));
  if (o.state.shim_pid <= 0 || o.state.exit_status)
    return failf(ErrorKind::kFailedPrecondition, "container {:?} is {}, not created", id, status_name(o.status));
  o.state.started_ns = now_ns();
  return save_state(dir, o.state);
}

std::optional<pid_t> Containers::shim_watched(const std::string& id) const {
  auto o = store_.observe(id);
  if (!o || o->state.shim_pid <= 0 || o->state.exit_status || !o->monitor_alive) return std::nullopt;
  return o->state.pid;
}

}  // namespace reaper
