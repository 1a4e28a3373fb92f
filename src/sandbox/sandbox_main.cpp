#include "sandbox/sandbox.hpp"

#include <csignal>
#include <cstdio>
#include <string_view>
#include <unistd.h>

namespace reaper::sandbox {
namespace {
constexpr const char* kUsage =
    "usage: reaper-sandbox\n"
    "A pod sandbox's process, started by the runtime instead of /pause: it waits for\n"
    "SIGTERM or SIGINT and exits 0. It takes no arguments.\n";
}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    std::string_view a = argv[1];
    if (argc == 2 && (a == "--help" || a == "-h" || a == "help")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "reaper-sandbox: unexpected argument %s\nsee 'reaper-sandbox --help'\n", argv[1]);
    return 2;
  }
  // The monitor starts us with SIGTERM and SIGINT blocked (a signal sent before we got
  // here is pending, not lost); blocking them again covers a start from a shell.
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
