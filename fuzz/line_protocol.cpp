// Fuzz target: the line protocol between monitor, shim and overlay helper
// (core/line_protocol.hpp). Each input line goes through every parser; whatever parses
// formats as exactly one line that parses back to the same message, and an unexpected
// line always makes an error with a message.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/line_protocol.hpp"

namespace {

using namespace reaper::line;

// A formatted message is one line: '\n' at the end and nowhere else.
void check_one_line(const std::string& text) {
  if (text.empty() || text.back() != '\n' || text.find('\n') != text.size() - 1) __builtin_trap();
}

std::string_view body(const std::string& text) {
  return std::string_view(text).substr(0, text.size() - 1);
}

void check_line(std::string_view line) {
  if (auto m = parse_launched(line)) {
    const auto text = format(*m);
    check_one_line(text);
    auto again = parse_launched(body(text));
    if (!again || again->pid != m->pid || m->pid <= 0) __builtin_trap();
  }
  if (auto m = parse_announced(line)) {
    const auto text = format(*m);
    check_one_line(text);
    auto again = parse_announced(body(text));
    if (!again || again->pid != m->pid || m->pid <= 0) __builtin_trap();
  }
  if (auto m = parse_ok(line)) check_one_line(format(*m));
  if (auto m = parse_failure(line)) {
    const auto text = format(*m);
    check_one_line(text);
    auto again = parse_failure(body(text));
    if (!again) __builtin_trap();
    std::string expected = m->message;
    for (char& c : expected)
      if (c == '\n' || c == '\r') c = ' ';
    if (again->message != expected) __builtin_trap();
  }
  if (auto m = parse_exited(line)) {
    const auto text = format(*m);
    check_one_line(text);
    auto again = parse_exited(body(text));
    if (!again || again->status != m->status || again->ns != m->ns || m->ns < 0) __builtin_trap();
  }
  if (auto m = parse_start(line)) check_one_line(format(*m));
  if (auto m = parse_ready(line)) check_one_line(format(*m));
  if (auto m = parse_hold(line)) check_one_line(format(*m));
  if (auto m = parse_held(line)) {
    const auto text = format(*m);
    check_one_line(text);
    auto again = parse_held(body(text));
    if (!again || again->pid != m->pid || m->pid <= 0) __builtin_trap();
  }
  if (unexpected(line, "peer").message.empty()) __builtin_trap();
  if (auto n = parse_int(line); n && std::to_string(*n).size() > line.size()) __builtin_trap();
  if (auto p = parse_pid(line); p && *p <= 0) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The whole input as one line (a peer may send anything, newlines included), then
  // each of its lines as a reader that splits at '\n' sees them.
  check_line(input);
  while (!input.empty()) {
    const auto nl = input.find('\n');
    check_line(input.substr(0, nl));
    input.remove_prefix(nl == std::string_view::npos ? input.size() : nl + 1);
  }
  return 0;
}
