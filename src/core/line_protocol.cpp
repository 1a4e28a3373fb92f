#include "core/line_protocol.hpp"

#include <charconv>
#include <limits>

namespace reaper::line {
namespace {

template <class N>
std::optional<N> parse_number(std::string_view text) {
  N value{};
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The rest of `line` after "WORD ", or nothing when the line does not start so.
std::optional<std::string_view> after(std::string_view line, std::string_view word) {
  if (line.size() <= word.size() || !line.starts_with(word) || line[word.size()] != ' ')
    return std::nullopt;
  return line.substr(word.size() + 1);
}

}  // namespace

std::optional<int64_t> parse_int(std::string_view text) { return parse_number<int64_t>(text); }

std::optional<pid_t> parse_pid(std::string_view text) {
  auto pid = parse_number<pid_t>(text);
  if (!pid || *pid <= 0) return std::nullopt;
  return pid;
}

std::string format(const Announced& m) { return fmt::format("pid {}\n", m.pid); }
std::string format(const Launched& m) { return fmt::format("ok {}\n", m.pid); }
std::string format(const Ok&) { return "ok\n"; }
std::string format(const Failure& m) {
  std::string text = m.message;
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return "error " + text + "\n";
}
std::string format(const Exited& m) { return fmt::format("exit {} {}\n", m.status, m.ns); }
std::string format(const Start&) { return "start\n"; }
std::string format(const Ready&) { return "ready\n"; }
std::string format(const Hold&) { return "hold\n"; }
std::string format(const Held& m) { return fmt::format("held {}\n", m.pid); }

std::optional<Announced> parse_announced(std::string_view line) {
  auto rest = after(line, "pid");
  if (!rest) return std::nullopt;
  auto pid = parse_pid(*rest);
  if (!pid) return std::nullopt;
  return Announced{*pid};
}

std::optional<Launched> parse_launched(std::string_view line) {
  auto rest = after(line, "ok");
  if (!rest) return std::nullopt;
  auto pid = parse_pid(*rest);
  if (!pid) return std::nullopt;
  return Launched{*pid};
}

std::optional<Ok> parse_ok(std::string_view line) {
  if (line != "ok") return std::nullopt;
  return Ok{};
}

std::optional<Failure> parse_failure(std::string_view line) {
  auto rest = after(line, "error");
  if (!rest) return std::nullopt;
  return Failure{std::string(*rest)};
}

std::optional<Exited> parse_exited(std::string_view line) {
  auto rest = after(line, "exit");
  if (!rest) return std::nullopt;
  auto space = rest->find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto status = parse_number<uint32_t>(rest->substr(0, space));
  auto ns = parse_number<int64_t>(rest->substr(space + 1));
  if (!status || !ns || *ns < 0) return std::nullopt;
  return Exited{*status, *ns};
}

std::optional<Start> parse_start(std::string_view line) {
  if (line != "start") return std::nullopt;
  return Start{};
}

std::optional<Ready> parse_ready(std::string_view line) {
  if (line != "ready") return std::nullopt;
  return Ready{};
}

std::optional<Hold> parse_hold(std::string_view line) {
  if (line != "hold") return std::nullopt;
  return Hold{};
}

std::optional<Held> parse_held(std::string_view line) {
  auto rest = after(line, "held");
  if (!rest) return std::nullopt;
  auto pid = parse_pid(*rest);
  if (!pid) return std::nullopt;
  return Held{*pid};
}

Error unexpected(std::string_view line, std::string_view peer) {
  if (auto f = parse_failure(line)) {
    // "error " alone still says something went wrong; the caller gets a message.
    if (f->message.empty()) return Error{0, fmt::format("{} reported an error without a message", peer)};
    return Error{0, std::move(f->message)};
  }
  std::string shown(line.substr(0, 80));
  return Error{0, fmt::format("{} sent an unexpected line: \"{}\"", peer, shown)};
}

}  // namespace reaper::line
