#include "sandbox/sandbox.hpp"

#include <sys/prctl.h>
#include <unistd.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <string_view>

namespace reaper::sandbox {
namespace {
constexpr const char* kUsage =
    "usage: reaper-sandbox [--parent PID]\n"
    "A pod sandbox's process, started by the runtime instead of /pause: it waits for\n"
    "SIGTERM or SIGINT and exits 0. With --parent PID (the shim that spawned it), it is\n"
    "killed when that parent ends, and at once if its parent already is another process.\n";

int usage_error(const char* arg) {
  std::fprintf(stderr, "reaper-sandbox: unexpected argument %s\nsee 'reaper-sandbox --help'\n", arg);
  return 2;
}

// Its shim watches it in a monitor's stead (core/sandbox_process.hpp): a shim that ends
// takes it along, so nothing is left that nobody watches. The parent may have ended
// between our spawn and the prctl: then we are someone else's child already.
void end_with_parent(pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::kill(::getpid(), SIGKILL);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    std::string_view a = argv[1];
    if (argc == 2 && (a == "--help" || a == "-h" || a == "help")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a != "--parent" || argc != 3) return usage_error(argv[1]);
    std::string_view v = argv[2];
    pid_t parent = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), parent);
    if (ec != std::errc() || end != v.data() + v.size() || parent <= 1) return usage_error(argv[2]);
    end_with_parent(parent);
  }
  // Started with SIGTERM and SIGINT blocked (by the monitor, or the shim's spawn), so a
  // signal sent before we got here is pending, not lost; blocking them again covers a
  // start from a shell.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigaddset(&term, SIGINT);
  ::sigprocmask(SIG_BLOCK, &term, nullptr);
  int sig = 0;
  ::sigwait(&term, &sig);
  return 0;
}

}  // namespace reaper::sandbox
