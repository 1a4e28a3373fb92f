#pragma once
// Errors are values: every fallible call returns Result<T>, carrying errno (0 if
// none) and a message with context. TRY() unwraps or returns the error upward.
#include <cerrno>
#include <expected>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace reaper {

struct Error {
  int code = 0;         // errno value, 0 when the failure is not a system error
  std::string message;  // what was being done, e.g. "open /run/reaper/x/state.json"

  // "context: strerror" or just the message when there is no errno.
  std::string describe() const;
  // Wraps this error in more context: "outer: inner".
  Error wrap(std::string_view outer) const;

  bool operator==(const Error&) const = default;
};

template <class T = void>
using Result = std::expected<T, Error>;

// A system error for the current errno.
inline std::unexpected<Error> sys_error(std::string message) {
  return std::unexpected(Error{errno, std::move(message)});
}
inline std::unexpected<Error> sys_error(int code, std::string message) {
  return std::unexpected(Error{code, std::move(message)});
}
// A logic error (bad input, wrong state) with no errno.
inline std::unexpected<Error> fail(std::string message) {
  return std::unexpected(Error{0, std::move(message)});
}
template <class... Args>
std::unexpected<Error> failf(fmt::format_string<Args...> f, Args&&... args) {
  return std::unexpected(Error{0, fmt::format(f, std::forward<Args>(args)...)});
}

}  // namespace reaper

// Unwraps a Result, or returns its error from the enclosing function (GNU statement
// expression; works for Result<void> too).
#define TRY(expr)                                                \
  ({                                                             \
    auto&& try_result_ = (expr);                                 \
    if (!try_result_) return std::unexpected(std::move(try_result_).error()); \
    std::move(try_result_).value();                              \
  })

// Like TRY, but prefixes the error message with context.
#define TRY_CTX(expr, context)                                   \
  ({                                                             \
    auto&& try_result_ = (expr);                                 \
    if (!try_result_) return std::unexpected(try_result_.error().wrap(context)); \
    std::move(try_result_).value();                              \
  })
