#include "sandbox/sandbox.hpp"

#include <csignal>
#include <cstdio>
#include <string_view>
#include <unistd.h>

namespace reaper::sandbox {
namespace {
void finish(int) { ::_exit(0); }

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
  struct sigaction sa {};
  sa.sa_handler = finish;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  for (;;) ::pause();
}

}  // namespace reaper::sandbox
