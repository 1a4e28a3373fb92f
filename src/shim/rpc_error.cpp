#include "shim/rpc_error.hpp"

namespace reaper::shim {

using ttrpc::Code;

Code rpc_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNotFound: return Code::NotFound;
    case ErrorKind::kAlreadyExists: return Code::AlreadyExists;
    case ErrorKind::kFailedPrecondition: return Code::FailedPrecondition;
    case ErrorKind::kInvalidArgument: return Code::InvalidArgument;
    case ErrorKind::kPermissionDenied: return Code::PermissionDenied;
    case ErrorKind::kUnavailable: return Code::Unavailable;
    case ErrorKind::kUnimplemented: return Code::Unimplemented;
    case ErrorKind::kUnspecified:
    case ErrorKind::kUnknown: return Code::Unknown;
  }
  return Code::Unknown;
}

ttrpc::Status rpc_status(const Error& e) {
  ErrorKind kind = kind_of(e);
  std::string message = e.describe();
  // containerd's own shims end such messages with the class name; its clients and
  // people reading logs expect it.
  if (kind == ErrorKind::kNotFound || kind == ErrorKind::kAlreadyExists) {
    std::string suffix = fmt::format(": {}", kind_name(kind));
    if (!message.ends_with(suffix)) message += suffix;
  }
  return ttrpc::Status{rpc_code(kind), std::move(message)};
}

}  // namespace reaper::shim
