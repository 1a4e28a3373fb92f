#pragma once
// gRPC status as carried by ttrpc responses (google.rpc.Status). containerd maps
// the numeric code back to its error classes, so the value is what matters.
#include <cstdint>
#include <string>
#include <string_view>

namespace reaper::ttrpc {

// Numeric values are the gRPC codes and go on the wire as-is.
enum class Code : std::int32_t {
  Ok = 0,
  Cancelled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
};

// The canonical upper-case name, e.g. "NOT_FOUND"; "CODE(<n>)" for unknown values.
inline std::string code_name(Code code) {
  switch (code) {
    case Code::Ok:
      return "OK";
    case Code::Cancelled:
      return "CANCELLED";
    case Code::Unknown:
      return "UNKNOWN";
    case Code::InvalidArgument:
      return "INVALID_ARGUMENT";
    case Code::DeadlineExceeded:
      return "DEADLINE_EXCEEDED";
    case Code::NotFound:
      return "NOT_FOUND";
    case Code::AlreadyExists:
      return "ALREADY_EXISTS";
    case Code::PermissionDenied:
      return "PERMISSION_DENIED";
    case Code::ResourceExhausted:
      return "RESOURCE_EXHAUSTED";
    case Code::FailedPrecondition:
      return "FAILED_PRECONDITION";
    case Code::Aborted:
      return "ABORTED";
    case Code::OutOfRange:
      return "OUT_OF_RANGE";
    case Code::Unimplemented:
      return "UNIMPLEMENTED";
    case Code::Internal:
      return "INTERNAL";
    case Code::Unavailable:
      return "UNAVAILABLE";
    case Code::DataLoss:
      return "DATA_LOSS";
    case Code::Unauthenticated:
      return "UNAUTHENTICATED";
  }
  return "CODE(" + std::to_string(static_cast<std::int32_t>(code)) + ")";
}

struct Status {
  Code code = Code::Ok;
  std::string message;

  static Status ok() { return {}; }
  bool is_ok() const { return code == Code::Ok; }
};

}  // namespace reaper::ttrpc
