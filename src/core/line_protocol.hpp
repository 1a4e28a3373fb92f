#pragma once
// The line protocol spoken between reaper's own processes over pipes and control
// sockets: one message a line, '\n'-terminated, words separated by one space.
//
//   workload → its launcher     "pid PID"         its first act, before "ok PID" (announce_pid)
//   monitor → its launcher      "ok PID"          the workload is set up (or exec'd)
//                               "error MESSAGE"   it could not be
//                               "exit STATUS NS"  the exit is recorded (notify_exit)
//   caller → monitor            "start"           let the gated workload exec
//   monitor → caller            "ok" | "error MESSAGE"
//   overlay helper → caller     "ready" | "error MESSAGE" | "held PID"
//   caller → overlay helper     "hold"
//
// Every message has one formatter (which adds the '\n') and one parser (which takes
// a line without it, rejects anything malformed, and never throws). Senders and
// receivers use nothing else, so the two sides cannot drift apart.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace reaper::line {

struct Announced { pid_t pid = 0; };             // "pid PID"
struct Launched { pid_t pid = 0; };              // "ok PID"
struct Ok {};                                    // "ok"
struct Failure { std::string message; };         // "error MESSAGE"
struct Exited { uint32_t status = 0; int64_t ns = 0; };  // "exit STATUS NS"
struct Start {};                                 // "start"
struct Ready {};                                 // "ready"
struct Hold {};                                  // "hold"
struct Held { pid_t pid = 0; };                  // "held PID"

std::string format(const Announced& m);
std::string format(const Launched& m);
std::string format(const Ok& m);
std::string format(const Failure& m);  // newlines in the message become spaces
std::string format(const Exited& m);
std::string format(const Start& m);
std::string format(const Ready& m);
std::string format(const Hold& m);
std::string format(const Held& m);

std::optional<Announced> parse_announced(std::string_view line);
std::optional<Launched> parse_launched(std::string_view line);
std::optional<Ok> parse_ok(std::string_view line);
std::optional<Failure> parse_failure(std::string_view line);
std::optional<Exited> parse_exited(std::string_view line);
std::optional<Start> parse_start(std::string_view line);
std::optional<Ready> parse_ready(std::string_view line);
std::optional<Hold> parse_hold(std::string_view line);
std::optional<Held> parse_held(std::string_view line);

// The error a line stands for when it was not the expected answer: the message of an
// "error MESSAGE" line, else "<peer> sent an unexpected line: …".
Error unexpected(std::string_view line, std::string_view peer);

// Parsers of the numbers above, exposed for other single-line records: a whole
// decimal string, nothing before or after, in range.
std::optional<int64_t> parse_int(std::string_view text);
std::optional<pid_t> parse_pid(std::string_view text);  // > 0

}  // namespace reaper::line
