#include "sandbox/sandbox.hpp"

#include <csignal>
#include <unistd.h>

namespace reaper::sandbox {
namespace {
void finish(int) { ::_exit(0); }
}  // namespace

int main(int, char**) {
  struct sigaction sa {};
  sa.sa_handler = finish;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  for (;;) ::pause();
}

}  // namespace reaper::sandbox
