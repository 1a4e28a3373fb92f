#pragma once
// Errors are values: every fallible call returns Result<T>, carrying a kind (what a
// caller can do about it), errno (0 if none) and a message with context. TRY() unwraps
// or returns the error upward. Result is [[nodiscard]]: an error is handled, passed
// on, or visibly ignored (`auto ignored = ...; (void)ignored;`).
#include <cerrno>
#include <expected>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace reaper {

// What kind of failure: the edges (the Task API, the CLIs) answer by kind, never by
// matching messages. kUnspecified means "derive it from errno" (see kind_of).
enum class ErrorKind {
  kUnspecified,
  kNotFound,            // the thing asked about does not exist (any more)
  kAlreadyExists,       // the thing to be created exists
  kFailedPrecondition,  // wrong state for the request (not running, not created…)
  kInvalidArgument,     // the request itself is bad (bad id, bad spec, bad signal)
  kPermissionDenied,    // not allowed
  kUnavailable,         // transient: try again later (busy, interrupted, no resources)
  kUnimplemented,       // reaper does not do this
  kUnknown,             // anything else
};

// A short lower-case name, e.g. "not found".
std::string_view kind_name(ErrorKind kind);

// The kind an errno value implies (ENOENT/ESRCH → not found, EEXIST → already exists…).
ErrorKind kind_from_errno(int code);

struct Error {
  int code = 0;         // errno value, 0 when the failure is not a system error
  std::string message;  // what was being done, e.g. "open /run/reaper/x/state.json"
  ErrorKind kind = ErrorKind::kUnspecified;  // unspecified: derived from `code`

  // "context: strerror" or just the message when there is no errno.
  std::string describe() const;
  // Wraps this error in more context: "outer: inner"; the kind stays.
  Error wrap(std::string_view outer) const;

  bool operator==(const Error&) const = default;
};

// The kind of an error: the explicit one, else what its errno implies, else unknown.
ErrorKind kind_of(const Error& e);

// std::expected with Error, and [[nodiscard]] (an alias cannot carry the attribute).
template <class T = void>
class [[nodiscard]] Result : public std::expected<T, Error> {
  using Base = std::expected<T, Error>;

 public:
  using Base::Base;
  Result() = default;
  // From a plain expected (inherited constructors exclude the base's copy and move).
  Result(const Base& b) : Base(b) {}
  Result(Base&& b) : Base(std::move(b)) {}
};

// A system error for the current errno (its kind follows from errno).
inline std::unexpected<Error> sys_error(std::string message) {
  return std::unexpected(Error{errno, std::move(message)});
}
inline std::unexpected<Error> sys_error(int code, std::string message) {
  return std::unexpected(Error{code, std::move(message)});
}
// A logic error (bad input, wrong state) with no errno, of kind unknown.
inline std::unexpected<Error> fail(std::string message) {
  return std::unexpected(Error{0, std::move(message)});
}
// A logic error of a given kind.
inline std::unexpected<Error> fail(ErrorKind kind, std::string message) {
  return std::unexpected(Error{0, std::move(message), kind});
}
template <class... Args>
std::unexpected<Error> failf(fmt::format_string<Args...> f, Args&&... args) {
  return std::unexpected(Error{0, fmt::format(f, std::forward<Args>(args)...)});
}
template <class... Args>
std::unexpected<Error> failf(ErrorKind kind, fmt::format_string<Args...> f, Args&&... args) {
  return std::unexpected(Error{0, fmt::format(f, std::forward<Args>(args)...), kind});
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
