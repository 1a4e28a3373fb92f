// The overlay helper: `reaper-overlay build ROOT KEY`, run by core/overlay.cpp with
// fd 3 for its report and fd 4 held open by the caller. It builds the namespace,
// reports "ready" (or "error …"), and exits when fd 4 reaches EOF, by which time the
// caller has bound the namespace from the host side.
#include "overlay/overlay.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/line_protocol.hpp"
#include "core/beneath.hpp"
#include "core/node_config.hpp"
#include "core/overlay_namespace.hpp"
#include "core/state_store.hpp"

namespace reaper::overlay {
namespace {

constexpr int kReportFd = 3, kHoldFd = 4;

void say(const std::string& message) {
  ssize_t ignored = ::write(kReportFd, message.data(), message.size());
  (void)ignored;
}

}  // namespace

constexpr const char* kUsage =
    "usage: reaper-overlay build ROOT KEY   (fd 3: report, fd 4: held by the caller)\n"
    "       reaper-overlay hold DIR\n"
    "The overlay helper, run by the runtime: `build` makes overlay group KEY's mount\n"
    "namespace under ROOT and reports on fd 3; `hold` keeps a namespace alive until killed.\n"
    "It is not meant to be run by hand (docs/overlay.md).\n";

int main(int argc, char** argv) {
  if (argc >= 2) {
    std::string_view a = argv[1];
    if (a == "--help" || a == "-h" || (a == "help" && argc <= 3)) {
      ::dprintf(1, "%s", kUsage);
      return 0;
    }
  }
  // The holder of a group's namespace (see below): it only waits to be killed.
  if (argc == 3 && std::string_view(argv[1]) == "hold") {
    for (;;) ::pause();
  }
  if (argc != 4 || std::string_view(argv[1]) != "build" || argv[2][0] != '/' ||
      ::fcntl(kReportFd, F_GETFD) < 0 || ::fcntl(kHoldFd, F_GETFD) < 0) {
    ::dprintf(2, "reaper-overlay: internal helper of reaper; it is run by the runtime, not by hand\n"
                 "see 'reaper-overlay --help'\n");
    return 2;
  }
  ::prctl(PR_SET_NAME, "reaper-overlay");
  std::string root = argv[2], key = argv[3], dir = root + "/" + key;
  auto config = load_node_config();
  if (!config) {
    say(line::format(line::Failure{config.error().describe()}));
    return 1;
  }
  // Opened before pivot_root: the group directory is hidden afterwards.
  int log_fd = -1;
  if (auto root_fd = beneath::open_root(root, false))
    if (auto group = beneath::open_dir(root_fd->get(), key, dir))
      if (auto log_file = beneath::open_file(group->get(), "build.log", O_WRONLY | O_CREAT | O_APPEND,
                                             0600, dir + "/build.log"))
        log_fd = log_file->release();
  std::vector<std::string> log;
  auto built = build_group_namespace(*config, root, key, log);
  std::string text = "built " + format_time(now_ns()) + (built ? "" : " (failed)") + "\n";
  for (const auto& l : log) text += "  " + l + "\n";
  if (!built) text += "  error: " + built.error().describe() + "\n";
  if (log_fd >= 0) {
    ssize_t ignored = ::write(log_fd, text.data(), text.size());
    (void)ignored;
    ::close(log_fd);
  }
  if (!built) {
    say(line::format(line::Failure{built.error().describe()}));
    return 1;
  }
  say(line::format(line::Ready{}));
  // EOF: the caller bound the namespace, nothing to hold. "hold": it could not, so a
  // child of ours stays in its own session holding the namespace until it is killed
  // (reaper overlay rm), and the caller reaps us.
  std::string request;
  char c;
  while (::read(kHoldFd, &c, 1) == 1 && c != '\n') request += c;
  if (!line::parse_hold(request)) return 0;
  pid_t anchor = ::fork();
  if (anchor < 0) {
    say(line::format(line::Failure{"fork: " + std::string(std::strerror(errno))}));
    return 1;
  }
  if (anchor > 0) {
    say(line::format(line::Held{anchor}));
    return 0;
  }
  // Re-executed with nothing of its caller's: no fds, no environment. It belongs to the
  // group, not to the container or the containerd that happened to start it.
  ::setsid();
  ::close(kReportFd);
  ::close(kHoldFd);
  const char* hold_argv[] = {"reaper-overlay", "hold", dir.c_str(), nullptr};
  const char* no_env[] = {nullptr};
  ::execve("/proc/self/exe", const_cast<char**>(hold_argv), const_cast<char**>(no_env));
  for (;;) ::pause();  // exec failed: hold the namespace as we are
}

}  // namespace reaper::overlay
