#include "floor_process.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <string>
#include <vector>

extern char** environ;

namespace floor_shim {

namespace {

// A NULL-terminated argv/envp over `strings`, built before the fork: the child only
// makes system calls.
std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

[[noreturn]] void run_child(const std::array<reaper::UniqueFd, 3>& stdio, const char* cwd, char** argv,
                            char** envp) {
  for (int i = 0; i < 3; ++i) {
    // The daemon's own 0-2 are /dev/null, so the FIFOs' fds are all above 2.
    if (stdio[i] && ::dup2(stdio[i].get(), i) < 0) ::_exit(126);
  }
  // stdin was opened non-blocking (an open that waits for ctr's writer would hold the
  // loop); the process reads it as any stdin.
  if (stdio[0]) ::fcntl(0, F_SETFL, ::fcntl(0, F_GETFL) & ~O_NONBLOCK);
  ::syscall(SYS_close_range, 3U, ~0U, 0U);
  // The daemon ignores SIGPIPE, and an ignored signal stays ignored across exec.
  ::signal(SIGPIPE, SIG_DFL);
  if (::chdir(cwd) != 0) ::_exit(errno == ENOENT ? 127 : 126);
  environ = envp;  // execvp searches the process's own PATH
  ::execvp(argv[0], argv);
  ::_exit(errno == ENOENT ? 127 : 126);
}

}  // namespace

reaper::Result<Child> spawn(const reaper::oci::Process& process, const std::array<reaper::UniqueFd, 3>& stdio) {
  if (process.args.empty()) return reaper::fail(reaper::ErrorKind::kInvalidArgument, "process.args is empty");
  std::vector<char*> argv = c_strings(process.args);
  std::vector<char*> envp = c_strings(process.env);
  pid_t pid = ::fork();
  if (pid < 0) return reaper::sys_error("fork");
  if (pid == 0) run_child(stdio, process.cwd.c_str(), argv.data(), envp.data());
  Child child{pid, reaper::UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)))};
  if (!child.pidfd) {
    int err = errno;
    ::kill(pid, SIGKILL);
    reap(pid);
    return reaper::sys_error(err, "pidfd_open");
  }
  return child;
}

uint32_t reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) return 128 + static_cast<uint32_t>(WTERMSIG(status));
  return static_cast<uint32_t>(WEXITSTATUS(status));
}

}  // namespace floor_shim
