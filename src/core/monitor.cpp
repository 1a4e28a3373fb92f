#include "core/monitor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <vector>

#include "core/control_socket.hpp"
#include "core/files.hpp"
#include "core/line_protocol.hpp"
#include "core/pty.hpp"
#include "core/spawn.hpp"

namespace reaper {
namespace {

// The stand-in watch (MonitorSpec::stand_in): the workload's pid while its exit is not
// recorded, and the stand-in's. Read by a signal handler, so plain globals.
volatile sig_atomic_t g_watched_child = 0;
volatile sig_atomic_t g_stand_in = 0;
constexpr int kStandInGoneSignal = SIGUSR1;  // our parent-death signal

// The stand-in is gone (killed: it exits by itself only after the exit is recorded): the
// caller already saw "its" process end, so the workload must end too. The pid is safe to
// signal: it is cleared before the workload is reaped.
void kill_if_stand_in_gone() {
  pid_t child = g_watched_child;
  if (child > 0 && ::getppid() != g_stand_in) ::kill(child, SIGKILL);
}

void on_stand_in_gone(int) { kill_if_stand_in_gone(); }

// Set up before anything can be spawned: a parent that is already gone fails the launch.
Result<void> watch_stand_in(pid_t stand_in) {
  g_stand_in = stand_in;
  struct sigaction sa {};
  sa.sa_handler = on_stand_in_gone;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (::sigaction(kStandInGoneSignal, &sa, nullptr) != 0) return sys_error("sigaction");
  if (::prctl(PR_SET_PDEATHSIG, kStandInGoneSignal) != 0) return sys_error("PR_SET_PDEATHSIG");
  if (::getppid() != stand_in) return fail("the stand-in exited during create");
  return {};
}

Result<UniqueFd> take_lock(const std::string& path) {
  UniqueFd fd = TRY(files::open(path, O_RDWR | O_CREAT, 0600));
  if (::flock(fd.get(), LOCK_EX) != 0) return sys_error("flock " + path);
  return fd;
}

void redirect_stdio_to_null() {
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return;
  for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
  ::close(null);
}

// The monitor is forked from a caller that may hold many fds (a shim's sockets, other
// containers' FIFOs): keep only those it needs, so EOFs and hangups stay exact.
// close_range over the gaps between them: a few system calls, no scan of /proc/self/fd.
void close_fds_except(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned from = 3;
  for (int fd : keep) {
    if (fd < static_cast<int>(from)) continue;  // -1 (unset), 0-2, or a duplicate
    if (static_cast<unsigned>(fd) > from) ::syscall(SYS_close_range, from, static_cast<unsigned>(fd) - 1, 0U);
    from = static_cast<unsigned>(fd) + 1;
  }
  ::syscall(SYS_close_range, from, ~0U, 0U);
}

class Monitor {
 public:
  Monitor(const MonitorSpec& spec, int report_fd)
      : spec_(spec), report_fd_(report_fd), spawn_ns_(now_ns()) {}

  [[noreturn]] void run() {
    auto ready = set_up();
    if (!ready) {
      report(line::format(line::Failure{ready.error().describe()}));
      ::_exit(1);
    }
    if (standby()) await_go();
    report(line::format(line::Launched{child_.pid}));
    if (!spec_.gated) {
      learn_exec_outcome();
      audit_start();
    }
    if (!spec_.notify_exit) {
      ::close(report_fd_);
      report_fd_ = -1;
    }
    redirect_stdio_to_null();
    for (int fd : {spec_.stdio.in, spec_.stdio.out, spec_.stdio.err, spec_.console_channel,
                   spec_.join_mounts_fd})
      if (fd > 2) ::close(fd);
    if (spec_.gated) wait_for_start();
    reap_until_alone();
    leave_group();
    ::_exit(0);
  }

 private:
  Result<void> set_up() {
    // Handlers inherited from the caller (a shim's event loop) must not run here: they
    // would write to fds that no longer exist in this process.
    for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    close_fds_except({report_fd_, spec_.stdio.in, spec_.stdio.out, spec_.stdio.err,
                      spec_.console_channel, spec_.join_mounts_fd, spec_.go_fd});
    // A caller that stops reading its notifications must not kill us.
    ::signal(SIGPIPE, SIG_IGN);
    if (::setsid() < 0) return sys_error("setsid");
    ::prctl(PR_SET_NAME, "reaper-monitor");  // what `ps` shows for it
    if (::chdir("/") != 0) return sys_error("chdir /");
    if (spec_.stand_in) TRY(watch_stand_in(spec_.initial.stand_in_pid));
    monitor_lock_ = TRY(take_lock(spec_.dir + "/monitor.lock"));
    running_lock_ = TRY(take_lock(spec_.dir + "/running.lock"));
    if (spec_.gated) control_ = TRY(listen_control(spec_.dir));

    Stdio stdio = spec_.stdio;
    Pty pty;
    if (spec_.process.terminal) {
      if (spec_.console_socket.empty() && spec_.console_channel < 0)
        return fail("process.terminal needs --console-socket");
      pty = TRY(open_pty(spec_.process.console_height, spec_.process.console_width));
      stdio = Stdio{pty.slave.get(), pty.slave.get(), pty.slave.get(), true};
    }
    EnterFn enter;
    std::optional<PreparedMounts> prepared;
    if (spec_.mounts) {
      prepared = TRY(prepare_mounts(*spec_.mounts));
      enter = [&prepared] { return enter_mounts(*prepared); };
    } else if (spec_.join_mounts_fd >= 0) {
      enter = [fd = spec_.join_mounts_fd] { return join_mounts(fd); };
    } else if (spec_.sandbox) {
      // reaper-sandbox answers SIGTERM with status 0 by sigwait; the signals stay blocked
      // from here, across its exec, so a TERM sent right after Start is never the default
      // action (status 143) however slowly the sandbox starts.
      enter = [] {
        sigset_t term;
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        sigaddset(&term, SIGINT);
        ::sigprocmask(SIG_BLOCK, &term, nullptr);
        return Result<void>{};
      };
    } else {
      return fail("no mount namespace for the workload: refusing to run it on the bare host");
    }
    if (spec_.announce_pid)
      enter = [inner = std::move(enter), fd = report_fd_]() -> Result<void> {
        auto said = write_all(fd, line::format(line::Announced{::getpid()}));
        if (!said) return said;
        return inner();
      };
    // Orphans of the workload (double-forked daemons) are re-parented to us, so they
    // stay reachable by kill --all and are reaped here. Set only now: an overlay helper
    // that stays to hold its group's namespace must not become part of this container.
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return sys_error("PR_SET_CHILD_SUBREAPER");
    child_ = TRY(spawn(spec_.process, stdio, spec_.gated || standby(), enter));
    if (spec_.stand_in) {
      g_watched_child = child_.pid;
      kill_if_stand_in_gone();  // it may have died while we spawned
    }
    // The group stays marked in use while this monitor lives; the clones and the
    // namespace fd were for the child.
    if (prepared) group_in_use_ = std::move(prepared->group.in_use);
    state_ = spec_.initial;
    state_.pid = child_.pid;
    state_.monitor_pid = ::getpid();
    state_.created_ns = now_ns();
    state_.terminal = spec_.process.terminal;
    if (spec_.process.terminal) {
      // The console's owner holds the only master; we keep no copy, so the workload
      // sees hangup exactly when the owner closes it.
      auto sent = spec_.console_channel >= 0
                      ? send_fd(spec_.console_channel, pty.master.get(), pty.slave_name)
                      : send_console(spec_.console_socket, pty.master.get(), pty.slave_name);
      if (!sent) {
        ::kill(child_.pid, SIGKILL);
        return std::unexpected(sent.error());
      }
    }
    // A standby's record is written at its start (await_go): until then the exec does
    // not exist for anyone who reads state.json (ps, Pids, kill --all).
    if (standby()) return {};
    // Not gated: it is exec'ing now. Its program was found during its set-up, so it
    // counts as running from here, and the caller is not held for the execve.
    if (!spec_.gated) state_.started_ns = now_ns();
    auto saved = save_state(spec_.dir, state_);
    if (!saved) ::kill(child_.pid, SIGKILL);
    return saved;
  }

  bool standby() const { return spec_.go_fd >= 0; }

  // A standby's wait for its Start, its workload set up and held at the gate. `start`
  // opens the gate, as a gated init's Start does (serve_start). Anything else ends the
  // standby with nothing run or recorded: the go pipe's EOF (the exec deleted, the shim
  // gone), or the held workload's death (killed by someone): Start then finds this
  // monitor gone and launches afresh, as if nothing had been prepared.
  void await_go() {
    // The record written at `start`, made once now: the pages it touches (its code, the
    // heap the copy-on-write fork shares with the shim) are faulted in before Start waits.
    state_.started_ns = now_ns();
    std::string warm = to_json(state_);
    (void)warm;
    state_.started_ns.reset();
    pollfd fds[2] = {{spec_.go_fd, POLLIN, 0}, {child_.pidfd.get(), POLLIN, 0}};
    while (::poll(fds, 2, -1) < 0 && errno == EINTR) {
    }
    // The held workload's death is a failure, said in the report: a Start that has
    // already sent `start` must not take this monitor's silent end for its workload
    // left to the shim (adopted), which this monitor reaps here.
    if (fds[1].revents) end_standby("the exec's process was killed while it waited for its start");
    auto go = read_line(spec_.go_fd);
    if (!go || !line::parse_start(*go)) end_standby("");
    ::close(spec_.go_fd);
    spawn_ns_ = now_ns();  // the time before `start` was the caller's
    state_.started_ns = spawn_ns_;
    // Released first and recorded while it execs, as an exec launched afresh is: the
    // report, and so Start's answer, still waits for the record.
    open_gate(child_);
    if (!save_state(spec_.dir, state_)) end_standby("saving the exec's state failed");
  }

  // Ends a standby: its workload killed (at its gate, unless the failure came after)
  // and reaped here, so nothing of it is left to the shim. A failure is reported as a
  // launch's would be.
  [[noreturn]] void end_standby(const std::string& failure) {
    ::kill(child_.pid, SIGKILL);
    while (::waitpid(child_.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    if (!failure.empty()) report(line::format(line::Failure{failure}));
    ::_exit(failure.empty() ? 0 : 1);
  }

  void report(const std::string& message) {
    auto ignored = write_all(report_fd_, message);
    (void)ignored;
  }

  // Serves control.sock until `start` arrives, or the workload dies before it does.
  void wait_for_start() {
    for (;;) {
      pollfd fds[2] = {{control_.get(), POLLIN, 0}, {child_.pidfd.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[1].revents) break;  // killed before start: the wait loop records it
      if (fds[0].revents && serve_start()) break;
    }
    close_control();
  }

  // Handles one control connection; true once the workload has been released.
  bool serve_start() {
    UniqueFd conn(::accept4(control_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) return false;
    struct ucred cred {};
    socklen_t len = sizeof cred;
    if (::getsockopt(conn.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        cred.uid != ::geteuid())
      return false;
    auto request = read_line(conn.get());
    if (!request || !line::parse_start(*request)) {
      auto ignored = write_all(conn.get(), line::format(line::Failure{"unknown request"}));
      (void)ignored;
      return false;
    }
    close_control();  // a second `start` must find nothing to talk to
    spawn_ns_ = now_ns();  // what came before `start` was the caller's time
    // Running from the gate's opening, recorded before it: whoever has the answer below
    // never reads "created". The execve is not waited for (as runc's start does not): its
    // program was found at create, so what can still fail is rare, and shows as the
    // process's exit, 126 or 127, with the error in state.json and the audit trail.
    state_.started_ns = now_ns();
    auto saved = save_state(spec_.dir, state_);
    (void)saved;
    open_gate(child_);
    auto answered = write_all(conn.get(), line::format(line::Ok{}));
    (void)answered;
    conn.reset();
    learn_exec_outcome();
    audit_start();
    return true;
  }

  // Once the caller has its answer: whether the execve succeeded. A process whose execve
  // failed never ran: it keeps no start time, and its error is recorded with its exit
  // (which follows at once).
  void learn_exec_outcome() {
    auto exec = exec_outcome(child_);
    if (exec) return;
    state_.error = exec.error().message;
    state_.started_ns.reset();
  }

  void close_control() {
    if (!control_) return;
    control_.reset();
    ::unlink((spec_.dir + "/" + kControlSocketName).c_str());
  }

  // Records the workload's exit; `info` comes from a WNOWAIT waitid, so the pid is
  // still ours (a zombie) while we write.
  void record_exit(const siginfo_t& info) {
    g_watched_child = 0;  // about to be reaped: its pid is no longer ours to signal
    state_.exit_status = exit_status_from_wait(info.si_code, info.si_status);
    if (info.si_code != CLD_EXITED) state_.exit_signal = info.si_status;
    state_.exited_ns = now_ns();
    auto ignored = save_state(spec_.dir, state_);
    (void)ignored;
    running_lock_.reset();  // wakes foreground `exec` and `run` waiting for the exit
    recorded_ = true;
    if (report_fd_ >= 0) {
      report(line::format(line::Exited{static_cast<uint32_t>(*state_.exit_status), *state_.exited_ns}));
      ::close(report_fd_);
      report_fd_ = -1;
    }
    audit_exit();
  }

  // Audit records are written once the caller has its answer: they never delay it.
  AuditRecord audit_record(const char* event) const {
    return process_audit_record(event, spec_.audit_context, spec_.process, state_.pid);
  }

  void audit_start() {
    if (!spec_.audit || audit_started_) return;
    audit_started_ = true;
    AuditRecord r = audit_record("start");
    r.time_ns = state_.started_ns.value_or(now_ns());
    r.error = state_.error;
    r.spawn_ns = spawn_ns_;
    write_audit_record(*spec_.audit, r);
  }

  void audit_exit() {
    // A process that failed to exec has its start record (with the error) first; one
    // killed while held before `start` never ran anything and has none.
    if (!spec_.audit) return;
    if (!audit_started_ && !state_.error.empty()) audit_start();
    if (!audit_started_) return;
    AuditRecord r = audit_record("exit");
    r.time_ns = state_.exited_ns.value_or(now_ns());
    r.exit_status = state_.exit_status;
    r.signal = state_.exit_signal;
    r.duration_ns = r.time_ns - state_.started_ns.value_or(state_.created_ns);
    write_audit_record(*spec_.audit, r);
  }

  // Reaps the workload and every orphan given to us, until no child is left.
  void reap_until_alone() {
    for (;;) {
      siginfo_t info{};
      if (::waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) != 0) {
        if (errno == EINTR) continue;
        break;  // ECHILD: nothing of the container is left
      }
      if (info.si_pid == child_.pid && !recorded_) record_exit(info);
      ::waitpid(info.si_pid, nullptr, 0);
    }
  }

  // Nothing of the container is left: its group is free of it. This is the event that
  // collects groups idle for longer than REAPER_OVERLAY_IDLE (never a timer).
  void leave_group() {
    if (!group_in_use_) return;
    release_group(group_in_use_);
    if (spec_.mounts && spec_.mounts->gc_idle_s >= 0) {
      auto ignored = collect_idle_groups(spec_.mounts->overlay.root, spec_.mounts->gc_idle_s * 1'000'000'000LL);
      (void)ignored;
    }
  }

  const MonitorSpec& spec_;
  int report_fd_;
  UniqueFd monitor_lock_, running_lock_, control_, group_in_use_;
  Spawned child_;
  ProcessState state_;
  bool recorded_ = false;
  bool audit_started_ = false;
  // When the workload was set going: this monitor's fork, or the `start` request of a
  // gated one (the audit start record's spawnNs).
  int64_t spawn_ns_ = 0;
};

}  // namespace

AuditRecord process_audit_record(const char* event, const AuditContext& context,
                                 const oci::Process& process, pid_t pid) {
  AuditRecord r;
  r.event = event;
  r.context = context;
  r.argv = process.args;
  r.cwd = process.cwd;
  r.uid = process.user.uid;
  r.gid = process.user.gid;
  r.groups.assign(process.user.additional_gids.begin(), process.user.additional_gids.end());
  r.terminal = process.terminal;
  r.pid = pid;
  return r;
}

Result<PendingLaunch> fork_monitor(const MonitorSpec& spec) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return sys_error("pipe");
  UniqueFd report_read(report[0]), report_write(report[1]);
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork monitor");
  if (pid == 0) {
    report_read.reset();
    Monitor(spec, report_write.release()).run();
  }
  report_write.reset();
  PendingLaunch p;
  p.monitor_pid = pid;
  p.report = std::move(report_read);
  p.notify_exit = spec.notify_exit;
  // Our child and not reaped yet: the pid is still this monitor's.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) p.monitor = UniqueFd(pidfd);  // close-on-exec by default
  return p;
}

Result<Launched> complete_launch(PendingLaunch&& pending, const Result<std::string>& report_line) {
  if (!report_line) return fail("the monitor died while setting up the workload");
  auto ok = line::parse_launched(*report_line);
  if (!ok) return std::unexpected(line::unexpected(*report_line, "the monitor"));
  Launched l;
  l.pid = ok->pid;
  // One line, not EOF: the gated workload holds a copy of the pipe until it execs, and
  // with notify_exit the exit line follows on it.
  if (pending.notify_exit) l.notify = std::move(pending.report);
  l.monitor = std::move(pending.monitor);
  return l;
}

Result<Launched> launch_monitor(const MonitorSpec& spec) {
  PendingLaunch pending = TRY(fork_monitor(spec));
  pid_t pid = pending.monitor_pid;
  auto report_line = read_line(pending.report.get());
  auto launched = complete_launch(std::move(pending), report_line);
  if (!launched) ::waitpid(pid, nullptr, 0);
  return launched;
}

Result<UniqueFd> send_start(const std::string& dir) {
  auto conn = connect_control(dir);
  if (!conn) return fail(ErrorKind::kFailedPrecondition, "container is not in the created state");
  TRY(write_all(conn->get(), line::format(line::Start{})));
  return std::move(*conn);
}

Result<void> start_answer(const Result<std::string>& answer) {
  if (!answer) return fail(ErrorKind::kFailedPrecondition, "container is not in the created state");
  if (line::parse_ok(*answer)) return {};
  return std::unexpected(line::unexpected(*answer, "the monitor"));
}

Result<void> request_start(const std::string& dir) {
  UniqueFd conn = TRY(send_start(dir));
  return start_answer(read_line(conn.get()));
}

Result<void> wait_exit_recorded(const std::string& dir) {
  UniqueFd fd = TRY(files::open(dir + "/running.lock", O_RDONLY));
  while (::flock(fd.get(), LOCK_SH) != 0)
    if (errno != EINTR) return sys_error("flock running.lock");
  return {};
}

}  // namespace reaper
