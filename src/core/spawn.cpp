#include "core/spawn.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/single_threaded.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "core/credentials.hpp"
#include "core/files.hpp"

namespace reaper {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// One fixed-size record on the status pipe; smaller than PIPE_BUF, so written atomically.
struct StatusRecord {
  enum Kind : uint8_t { kReady = 1, kSetupFailed = 2, kExecFailed = 3 } kind;
  int error;
  int exit_status;
  char message[240];
};

void send_record(int fd, StatusRecord::Kind kind, int error, int exit_status, const char* msg) {
  StatusRecord rec{};
  rec.kind = kind;
  rec.error = error;
  rec.exit_status = exit_status;
  if (msg) std::snprintf(rec.message, sizeof rec.message, "%s", msg);
  ssize_t ignored = ::write(fd, &rec, sizeof rec);
  (void)ignored;
}

// Reads one record; false on EOF (the pipe closed: execve succeeded or the child died).
Result<bool> read_record(int fd, StatusRecord* rec) {
  for (;;) {
    ssize_t n = ::read(fd, rec, sizeof *rec);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read spawn status");
    if (n == 0) return false;
    if (n != sizeof *rec) return fail("short spawn status record");
    return true;
  }
}

[[noreturn]] void child_fail(int status_fd, StatusRecord::Kind kind, int err, int exit_status,
                             const char* what) {
  // A parent gone meanwhile (a monitor killed) must not turn the status into SIGPIPE's.
  ::signal(SIGPIPE, SIG_IGN);
  char msg[240];
  if (kind == StatusRecord::kExecFailed || err == 0)
    std::snprintf(msg, sizeof msg, "%s", what);
  else
    std::snprintf(msg, sizeof msg, "%s: %s", what, std::strerror(err));
  send_record(status_fd, kind, err, exit_status, msg);
  if (kind == StatusRecord::kExecFailed) {
    char line[300];
    int len = std::snprintf(line, sizeof line, "reaper: %s\n", msg);
    ssize_t ignored = ::write(STDERR_FILENO, line, static_cast<size_t>(len));
    (void)ignored;
  }
  ::_exit(exit_status);
}

// Moves the three stdio fds into place, even when they overlap 0..2.
int install_stdio(const Stdio& stdio) {
  int devnull = -1;
  int src[3] = {stdio.in, stdio.out, stdio.err};
  for (int& fd : src) {
    if (fd >= 0) {
      // Lift every source above 2 first so that dup2 into 0..2 cannot clobber another.
      int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
      if (high < 0) return errno;
      fd = high;
    } else {
      if (devnull < 0 && (devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) return errno;
      fd = devnull;
    }
  }
  for (int target = 0; target < 3; ++target)
    if (::dup2(src[target], target) < 0) return errno;
  return 0;
}

void reset_signals() {
  sigset_t all;
  sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
}

// Whether `path` is a file this process may execute (execve's own checks, made early).
int check_executable(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno;
  if (!S_ISREG(st.st_mode)) return EACCES;
  return ::access(path.c_str(), X_OK) == 0 ? 0 : errno;
}

// The executable args[0] names, found as execvpe would find it: a name with a slash as it
// is (relative to the cwd), any other in the workload's own PATH (not the runtime's), the
// first entry holding an executable file winning. Done in the child before it reports
// ready, in the workload's mounts, cwd and credentials, so that a missing or forbidden
// program fails the create (runc looks it up at create too) and the start has nothing
// left to fail on but execve's own rare errors. The messages are runc's, which engines
// (podman, docker) map to the exit statuses 127 and 126.
int resolve_executable(const oci::Process& p, std::string* resolved, char* what, size_t what_size) {
  const std::string& name = p.args[0];
  int err = 0;
  if (name.find('/') != std::string::npos) {
    err = check_executable(name);
    if (err == 0) *resolved = name;
    else std::snprintf(what, what_size, "exec: \"%.150s\": %s", name.c_str(), std::strerror(err));
    return err;
  }
  auto path_env = oci::env_lookup(p.env, "PATH");
  std::string path = path_env ? *path_env : kDefaultPath;
  bool saw_eacces = false;
  for (size_t start = 0; start <= path.size();) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    int e = check_executable(candidate);
    if (e == 0) {
      *resolved = candidate;
      return 0;
    }
    if (e == EACCES) saw_eacces = true;
    start = end + 1;
  }
  err = saw_eacces ? EACCES : ENOENT;
  if (err == ENOENT)
    std::snprintf(what, what_size, "exec: \"%.150s\": executable file not found in $PATH", name.c_str());
  else
    std::snprintf(what, what_size, "exec: \"%.150s\": %s", name.c_str(), std::strerror(err));
  return err;
}

// What the child still needs once it has reported READY, when it may no longer allocate
// (see spawn()): kept by the parent in Spawned until the child has exec'd or exited.
struct ChildMemory {
  std::vector<std::string> args, env;  // copies: the caller's Process may be gone by then
  std::vector<char*> argv, envp;
  char resolved[PATH_MAX] = {};  // the executable, found by the child at set-up
  void* stack = MAP_FAILED;      // the child's own stack (clone with CLONE_VM)
  size_t stack_size = 0;

  explicit ChildMemory(const oci::Process& p) : args(p.args), env(p.env) {
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
  ~ChildMemory() {
    if (stack != MAP_FAILED) ::munmap(stack, stack_size);
  }
  ChildMemory(const ChildMemory&) = delete;
  ChildMemory& operator=(const ChildMemory&) = delete;
};

// execve of the program found at set-up. It fails only if the file changed since, or
// on errors no lookup sees (ENOEXEC, a missing ELF interpreter): the workload then ends
// with 127 (not found) or 126, as a shell's child would, and says why on its stderr.
[[noreturn]] void exec_program(const ChildMemory& mem, int status_fd) {
  ::execve(mem.resolved, mem.argv.data(), mem.envp.data());
  int err = errno;
  char what[200];
  std::snprintf(what, sizeof what, "exec: \"%.150s\": %s", mem.argv[0], std::strerror(err));
  child_fail(status_fd, StatusRecord::kExecFailed, err, err == ENOENT ? 127 : 126, what);
}

// Closes every fd from 3 up but `a` and `b` (either may be -1).
int close_all_but(int a, int b) {
  if (a > b) std::swap(a, b);
  unsigned from = 3;
  for (int keep : {a, b}) {
    if (keep < static_cast<int>(from)) continue;
    if (static_cast<unsigned>(keep) > from && ::syscall(SYS_close_range, from, keep - 1U, 0U) != 0) return -1;
    from = static_cast<unsigned>(keep) + 1;
  }
  return static_cast<int>(::syscall(SYS_close_range, from, ~0U, 0U));
}

[[noreturn]] void run_child(const oci::Process& p, const Stdio& stdio, int status_fd, int gate_fd,
                            ChildMemory& mem, const EnterFn& enter) {
  reset_signals();
  if (::setsid() < 0) child_fail(status_fd, StatusRecord::kSetupFailed, errno, 1, "setsid");
  // Mounts first: the cwd and the executable are looked up in the workload's own view.
  if (enter) {
    if (auto entered = enter(); !entered)
      child_fail(status_fd, StatusRecord::kSetupFailed, entered.error().code, 1,
                 entered.error().message.c_str());
  }
  if (int err = install_stdio(stdio))
    child_fail(status_fd, StatusRecord::kSetupFailed, err, 1, "set up stdio");
  if (stdio.controlling_tty && ::ioctl(STDIN_FILENO, TIOCSCTTY, 0) != 0)
    child_fail(status_fd, StatusRecord::kSetupFailed, errno, 1, "set controlling terminal");
  // Exactly fds 0, 1 and 2 survive the exec; the status and gate pipes close with it.
  // The rest close now: a child held at its gate must not hold its monitor's locks or
  // report pipe, which tell the shim that the monitor is gone.
  if (close_all_but(status_fd, gate_fd) != 0)
    child_fail(status_fd, StatusRecord::kSetupFailed, errno, 1, "close_range");
  for (const auto& lim : p.rlimits) {
    struct rlimit rl {lim.soft, lim.hard};
    if (::setrlimit(lim.resource, &rl) != 0)
      child_fail(status_fd, StatusRecord::kSetupFailed, errno, 1, "setrlimit");
  }
  if (p.oom_score_adj) {
    int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    char buf[16];
    int len = std::snprintf(buf, sizeof buf, "%d", *p.oom_score_adj);
    if (fd < 0 || ::write(fd, buf, static_cast<size_t>(len)) != len)
      child_fail(status_fd, StatusRecord::kSetupFailed, errno, 1, "set oom_score_adj");
    ::close(fd);
  }
  const char* step = nullptr;
  if (int err = apply_credentials(p.user, &step))
    child_fail(status_fd, StatusRecord::kSetupFailed, err, 1, step);
  if (::chdir(p.cwd.c_str()) != 0) {
    char what[300];
    std::snprintf(what, sizeof what, "chdir to cwd %.250s", p.cwd.c_str());
    child_fail(status_fd, StatusRecord::kSetupFailed, errno, 1, what);
  }
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    child_fail(status_fd, StatusRecord::kSetupFailed, errno, 1, "set no_new_privs");
  std::string resolved;
  char what[240];
  if (resolve_executable(p, &resolved, what, sizeof what) != 0)
    child_fail(status_fd, StatusRecord::kSetupFailed, 0, 1, what);
  if (resolved.size() >= sizeof mem.resolved)
    child_fail(status_fd, StatusRecord::kSetupFailed, ENAMETOOLONG, 1, "exec");
  std::memcpy(mem.resolved, resolved.c_str(), resolved.size() + 1);
  // From here on the parent may be running in this memory too: nothing is allocated or
  // freed (`resolved` is left to leak with the exec) and nothing of the caller's is read.
  send_record(status_fd, StatusRecord::kReady, 0, 0, nullptr);
  if (gate_fd >= 0) {
    char go;
    ssize_t n;
    do n = ::read(gate_fd, &go, 1); while (n < 0 && errno == EINTR);
    // The gate closed without a start: the launcher gave up on this container, or its
    // monitor is gone (killed, crashed). Never run, it ends as a workload killed before
    // Start does (128+SIGKILL), never with a status its program could have given.
    if (n != 1) {
      ::kill(::getpid(), SIGKILL);  // by pid: this child runs on its parent's thread descriptor
      ::_exit(128 + SIGKILL);
    }
  }
  exec_program(mem, status_fd);
}

std::expected<void, ExecFailure> outcome(Spawned& child) {
  StatusRecord rec{};
  auto got = read_record(child.status.get(), &rec);
  child.status.reset();
  if (!got) return std::unexpected(ExecFailure{got.error().code, got.error().describe(), 1});
  if (!*got) {
    child.memory.reset();  // the pipe closed with the exec: the child left our memory then
    return {};
  }
  return std::unexpected(ExecFailure{rec.error, rec.message, rec.exit_status});
}

// The child's own stack: its pages cost only when touched. The lowest page is left
// inaccessible, so that an overflow faults rather than writes into other memory.
constexpr size_t kChildStackSize = 1 << 20;

bool map_child_stack(ChildMemory& mem) {
  mem.stack = ::mmap(nullptr, kChildStackSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (mem.stack == MAP_FAILED) return false;
  mem.stack_size = kChildStackSize;
  return ::mprotect(mem.stack, static_cast<size_t>(::sysconf(_SC_PAGESIZE)), PROT_NONE) == 0;
}

// What the child reads of the parent's frame, before READY only.
struct ChildStart {
  const oci::Process* process;
  const Stdio* stdio;
  const EnterFn* enter;
  ChildMemory* mem;
  int status_fd, gate_fd, gate_write_fd;
};

int child_entry(void* arg) {
  const ChildStart& start = *static_cast<const ChildStart*>(arg);
  // The gate's only writer is the parent: if the parent goes, the child sees EOF.
  if (start.gate_write_fd >= 0) ::close(start.gate_write_fd);
  run_child(*start.process, *start.stdio, start.status_fd, start.gate_fd, *start.mem, *start.enter);
}

// The child shares our memory until its execve, on a stack of its own (clone with
// CLONE_VM, not a fork): no page tables are copied and nothing is copied on write, which
// on a paravirtualised node is most of a fork's cost (about 1 ms against 0.05). It is
// safe because the two never use the heap at the same time: until the child has
// reported READY we only wait for that report (all we allocate is allocated before the
// clone), and after it the child allocates and frees nothing and reads only `mem`.
// It needs a single-threaded caller (reaper's monitors and CLIs are): another thread
// could allocate meanwhile, and glibc would make the child's setuid reach the caller's
// threads. Sanitizer runtimes keep per-thread state (allocator caches, fake stacks) that
// two processes must not share while both run, and a debugger's breakpoints in a traced
// caller's code would trap the child, which nobody traces. In these cases it is a fork.
bool traced() {
  auto status = files::read("/proc/self/status");
  if (!status) return false;
  auto at = status->find("\nTracerPid:");
  return at != std::string::npos && std::atoi(status->c_str() + at + 11) != 0;
}

pid_t clone_child(ChildStart& start) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  constexpr bool sanitized = true;
#else
  constexpr bool sanitized = false;
#endif
  if (sanitized || !__libc_single_threaded || traced()) {
    pid_t pid = ::fork();
    if (pid == 0) child_entry(&start);
    return pid;
  }
  if (!map_child_stack(*start.mem)) return -1;
  char* top = static_cast<char*>(start.mem->stack) + start.mem->stack_size;
  return ::clone(child_entry, top, CLONE_VM | SIGCHLD, &start);
}

}  // namespace

Result<Spawned> spawn(const oci::Process& process, const Stdio& stdio, bool gated,
                      const EnterFn& enter) {
  // Everything the child needs is built before the clone.
  auto mem = std::make_shared<ChildMemory>(process);
  int status_pipe[2], gate_pipe[2] = {-1, -1};
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) return sys_error("pipe");
  UniqueFd status_read(status_pipe[0]), status_write(status_pipe[1]);
  if (gated && ::pipe2(gate_pipe, O_CLOEXEC) != 0) return sys_error("pipe");
  UniqueFd gate_read(gate_pipe[0]), gate_write(gate_pipe[1]);
  Spawned child;
  child.memory = mem;

  ChildStart start{&process, &stdio, &enter, mem.get(), status_write.get(), gate_read.get(), gate_write.get()};
  pid_t pid = clone_child(start);
  if (pid < 0) return sys_error("clone");
  status_write.reset();
  gate_read.reset();
  child.pid = pid;
  child.status = std::move(status_read);
  child.gate = std::move(gate_write);
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    int err = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    errno = err;
    return sys_error("pidfd_open");
  }
  child.pidfd.reset(pidfd);

  StatusRecord rec{};
  auto got = read_record(child.status.get(), &rec);
  if (!got || !*got || rec.kind != StatusRecord::kReady) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    if (!got) return std::unexpected(got.error());
    if (!*got) return fail("spawn: the child died during setup");
    return std::unexpected(Error{0, std::string(rec.message)});  // message has the errno text
  }
  return child;
}

void open_gate(Spawned& child) {
  char go = 1;
  ssize_t n;
  do n = ::write(child.gate.get(), &go, 1); while (n < 0 && errno == EINTR);
  child.gate.reset();
}

std::expected<void, ExecFailure> release(Spawned& child) {
  open_gate(child);
  return outcome(child);
}

std::expected<void, ExecFailure> exec_outcome(Spawned& child) { return outcome(child); }

int exit_status_from_wait(int code, int status) {
  if (code == CLD_EXITED) return status;
  return 128 + status;  // CLD_KILLED or CLD_DUMPED
}

}  // namespace reaper
