#include "core/error.hpp"

#include <cstring>

namespace reaper {

std::string Error::describe() const {
  if (code == 0) return message;
  return fmt::format("{}: {}", message, std::strerror(code));
}

Error Error::wrap(std::string_view outer) const {
  return Error{code, fmt::format("{}: {}", outer, message), kind};
}

std::string_view kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kUnspecified: return "unspecified";
    case ErrorKind::kNotFound: return "not found";
    case ErrorKind::kAlreadyExists: return "already exists";
    case ErrorKind::kFailedPrecondition: return "failed precondition";
    case ErrorKind::kInvalidArgument: return "invalid argument";
    case ErrorKind::kPermissionDenied: return "permission denied";
    case ErrorKind::kUnavailable: return "unavailable";
    case ErrorKind::kUnimplemented: return "unimplemented";
    case ErrorKind::kUnknown: return "unknown";
  }
  return "unknown";
}

ErrorKind kind_from_errno(int code) {
  switch (code) {
    case ENOENT:
    case ESRCH:
    case ENXIO:
    case ENODEV:
      return ErrorKind::kNotFound;
    case EEXIST:
    case EADDRINUSE:
      return ErrorKind::kAlreadyExists;
    case EINVAL:
    case ENAMETOOLONG:
    case E2BIG:
    case ENOTDIR:
    case EISDIR:
    case ELOOP:
    case EBADF:
      return ErrorKind::kInvalidArgument;
    case EPERM:
    case EACCES:
    case EROFS:
      return ErrorKind::kPermissionDenied;
    case EAGAIN:
    case EINTR:
    case EBUSY:
    case ENOMEM:
    case ENOSPC:
    case EMFILE:
    case ENFILE:
    case ETIMEDOUT:
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
      return ErrorKind::kUnavailable;
    case ENOSYS:
    case EOPNOTSUPP:
      return ErrorKind::kUnimplemented;
    default:
      return ErrorKind::kUnknown;
  }
}

ErrorKind kind_of(const Error& e) {
  if (e.kind != ErrorKind::kUnspecified) return e.kind;
  return kind_from_errno(e.code);
}

}  // namespace reaper
