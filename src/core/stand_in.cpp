#include "core/stand_in.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>

#include <charconv>
#include <csignal>
#include <vector>

#include "core/control_socket.hpp"
#include "core/files.hpp"
#include "core/process_tree.hpp"
#include "core/state_store.hpp"

namespace reaper {
namespace {

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

void send_via(int pidfd, int sig) {
  if (pidfd >= 0) ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0);
}

// The recorded state, read through a directory fd opened before we changed mount
// namespace (the state root need not be visible from the container's).
Result<ProcessState> read_state(int dirfd) {
  UniqueFd fd(::openat(dirfd, "state.json", O_RDONLY | O_CLOEXEC));
  if (!fd) return sys_error("open state.json");
  std::string text = TRY(files::read_fd(fd.get()));
  return state_from_json(text);
}

// Ends this process the way the workload ended: by the same signal (no core file: we are
// not dumpable), or with the same exit code.
[[noreturn]] void die_like(int sig) {
  ::signal(sig, SIG_DFL);
  ::kill(::getpid(), sig);  // pending while blocked
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  ::sigprocmask(SIG_UNBLOCK, &one, nullptr);
  ::_exit(128 + sig);  // only for a signal whose default is not to terminate
}

void close_fds_except(const std::vector<int>& keep) {
  std::vector<int> open_fds;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') open_fds.push_back(std::atoi(e->d_name));
    ::closedir(d);
  }
  for (int fd : open_fds) {
    bool kept = fd <= 2;
    for (int k : keep) kept = kept || fd == k;
    if (!kept) ::close(fd);
  }
}

void detach_from_caller() {
  ::setsid();
  ::prctl(PR_SET_NAME, "reaper-standin");
  ::prctl(PR_SET_DUMPABLE, 0);  // a mirrored SIGSEGV must not write a core of ours
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
    ::close(null);
  }
}

// Forwards signals sent to us until the monitor reports the exit (or dies), then ends
// like the workload.
[[noreturn]] void stand_in_for(int notify, int workload, int dirfd) {
  sigset_t all;
  sigfillset(&all);
  UniqueFd sigs(::signalfd(-1, &all, SFD_CLOEXEC));
  for (;;) {
    pollfd fds[2] = {{notify, POLLIN, 0}, {sigs.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo si{};
      // Only signals someone sent (kill, sigqueue, tgkill: codes <= 0); the kernel's own,
      // such as SIGCHLD when the monitor ends, are ours.
      if (::read(sigs.get(), &si, sizeof si) == sizeof si && si.ssi_code <= 0)
        send_via(workload, static_cast<int>(si.ssi_signo));
    }
    if (fds[0].revents) break;  // "exit …" once the exit is on disk, or EOF: monitor gone
  }
  auto state = read_state(dirfd);
  if (state && state->exit_signal) die_like(*state->exit_signal);
  if (state && state->exit_status) ::_exit(*state->exit_status & 0xff);
  // The monitor died without recording an exit: nobody can report this workload.
  send_via(workload, SIGKILL);
  die_like(SIGKILL);
}

// The workload's pidfd, or -1 if its exit is already recorded (it may have been reaped
// and its pid reused: the monitor records before it reaps, so the order of checks is safe).
int open_workload(pid_t pid, int dirfd) {
  int fd = pidfd_open(pid);
  if (fd < 0) return -1;
  auto state = read_state(dirfd);
  if (state && !state->exit_status) return fd;
  ::close(fd);
  return -1;
}

// In the forked stand-in: launch the monitor, answer on `report`, then stand in.
[[noreturn]] void run_stand_in(MonitorSpec spec, int report) {
  // Blocked from the start: a signal the caller sends as soon as it has our pid waits in
  // the queue for the signalfd instead of killing us. (The monitor and the workload set
  // their own masks.)
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  spec.stand_in = true;
  spec.initial.stand_in_pid = ::getpid();
  spec.notify_exit = true;
  auto launched = launch_monitor(spec);
  if (!launched) {
    auto ignored = write_all(report, "error " + launched.error().describe() + "\n");
    (void)ignored;
    ::_exit(1);
  }
  int dirfd = ::open(spec.dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  int workload = dirfd >= 0 ? open_workload(launched->pid, dirfd) : -1;
  // In the workload's mount namespace, /proc/PID/root and ns/mnt of the pid the caller
  // holds show the container's view (Podman's `cp` joins it, for one).
  // ESRCH: it has exited already (a short exec), and there is nothing left to join.
  if (workload >= 0 && !spec.sandbox && ::setns(workload, CLONE_NEWNS) != 0 && errno != ESRCH) {
    Error e = sys_error("stand-in: join the workload's mount namespace").error();  // errno now
    send_via(workload, SIGKILL);
    auto ignored = write_all(report, "error " + e.describe() + "\n");
    (void)ignored;
    ::_exit(1);
  }
  close_fds_except({report, launched->notify.get(), workload, dirfd});
  detach_from_caller();
  auto ignored = write_all(report, fmt::format("ok {}\n", launched->pid));
  (void)ignored;
  ::close(report);
  stand_in_for(launched->notify.get(), workload, dirfd);
}

Result<pid_t> parse_ok(std::string_view line) {
  pid_t pid = 0;
  if (!line.starts_with("ok ")) return failf("stand-in: unexpected answer {:?}", line);
  std::string_view rest = line.substr(3);
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
  if (ec != std::errc() || end != rest.data() + rest.size() || pid <= 0)
    return failf("stand-in: unexpected answer {:?}", line);
  return pid;
}

}  // namespace

Result<bool> parent_adopts_orphans() {
  int hold[2], report[2];
  if (::pipe2(hold, O_CLOEXEC) != 0) return sys_error("pipe");
  UniqueFd hold_read(hold[0]), hold_write(hold[1]);
  if (::pipe2(report, O_CLOEXEC) != 0) return sys_error("pipe");
  UniqueFd report_read(report[0]), report_write(report[1]);
  pid_t middle = ::fork();
  if (middle < 0) return sys_error("fork probe");
  if (middle == 0) {
    pid_t probe = ::fork();
    if (probe == 0) {  // the orphan: lives until we close the hold pipe (or die)
      ::close(hold[1]);
      char c;
      while (::read(hold[0], &c, 1) < 0 && errno == EINTR) {}
      ::_exit(0);
    }
    ssize_t ignored = ::write(report[1], &probe, sizeof probe);
    (void)ignored;
    ::_exit(probe > 0 ? 0 : 1);
  }
  report_write.reset();
  hold_read.reset();
  pid_t probe = -1;
  ssize_t n;
  while ((n = ::read(report_read.get(), &probe, sizeof probe)) < 0 && errno == EINTR) {}
  while (::waitpid(middle, nullptr, 0) < 0 && errno == EINTR) {}
  if (n != sizeof probe || probe <= 0) return fail("probe for a subreaper parent failed");
  // The middle process is gone, so the probe has been re-parented by now.
  auto info = read_proc(probe);
  hold_write.reset();  // the probe exits; its new parent reaps it
  if (!info) return std::unexpected(info.error());
  return info->ppid == ::getppid();
}

Result<StandIn> launch_stand_in(MonitorSpec spec) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return sys_error("pipe");
  UniqueFd report_read(report[0]), report_write(report[1]);
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork stand-in");
  if (pid == 0) {
    report_read.reset();
    run_stand_in(std::move(spec), report_write.release());
  }
  report_write.reset();
  auto line = read_line(report_read.get());
  if (!line || !line->starts_with("ok ")) {
    ::waitpid(pid, nullptr, 0);
    if (!line) return fail("the stand-in died while setting up the workload");
    return fail(line->starts_with("error ") ? line->substr(6) : *line);
  }
  StandIn s;
  s.pid = pid;
  s.workload_pid = TRY(parse_ok(*line));
  return s;
}

}  // namespace reaper
