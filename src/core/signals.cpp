#include "core/signals.hpp"

#include <csignal>
#include <charconv>

namespace reaper {
namespace {

struct Named {
  std::string_view name;
  int number;
};

constexpr Named kSignals[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},   {"ABRT", SIGABRT},     {"IOT", SIGIOT},     {"BUS", SIGBUS},
    {"FPE", SIGFPE},     {"KILL", SIGKILL},     {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},   {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT},   {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},
    {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH}, {"IO", SIGIO},         {"POLL", SIGPOLL},   {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

}  // namespace

Result<int> parse_signal(std::string_view text) {
  if (text.empty()) return fail("invalid signal: empty");
  if (text[0] >= '0' && text[0] <= '9') {
    int n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    // 0 signals nothing and only checks that the process is there, as kill(2) does.
    if (ec != std::errc() || end != text.data() + text.size() || n < 0 || n > SIGRTMAX)
      return failf("invalid signal {:?}", text);
    return n;
  }
  // Names in any case, with or without SIG (runc upper-cases them too).
  std::string upper(text);
  for (char& c : upper)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  std::string_view name = upper;
  if (name.starts_with("SIG")) name.remove_prefix(3);
  for (const auto& s : kSignals)
    if (s.name == name) return s.number;
  return failf("invalid signal {:?}", text);
}

std::string signal_name(int sig) {
  for (const auto& s : kSignals)
    if (s.number == sig) return "SIG" + std::string(s.name);
  return std::to_string(sig);
}

}  // namespace reaper
