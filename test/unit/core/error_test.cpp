#include <catch2/catch.hpp>

#include "core/error.hpp"

using reaper::Error;
using reaper::ErrorKind;
using reaper::Result;

TEST_CASE("errors: the kind follows errno unless one is given") {
  CHECK(kind_of(Error{ENOENT, "open x"}) == ErrorKind::kNotFound);
  CHECK(kind_of(Error{ESRCH, "kill"}) == ErrorKind::kNotFound);
  CHECK(kind_of(Error{EEXIST, "mkdir"}) == ErrorKind::kAlreadyExists);
  CHECK(kind_of(Error{EPERM, "kill"}) == ErrorKind::kPermissionDenied);
  CHECK(kind_of(Error{EACCES, "open"}) == ErrorKind::kPermissionDenied);
  CHECK(kind_of(Error{EINVAL, "x"}) == ErrorKind::kInvalidArgument);
  CHECK(kind_of(Error{EAGAIN, "fork"}) == ErrorKind::kUnavailable);
  CHECK(kind_of(Error{ENOSYS, "pidfd"}) == ErrorKind::kUnimplemented);
  CHECK(kind_of(Error{EIO, "read"}) == ErrorKind::kUnknown);
  CHECK(kind_of(Error{0, "logic"}) == ErrorKind::kUnknown);
  CHECK(kind_of(Error{ENOENT, "x", ErrorKind::kFailedPrecondition}) == ErrorKind::kFailedPrecondition);
}

TEST_CASE("errors: wrapping keeps the kind and errno") {
  auto inner = reaper::fail(ErrorKind::kNotFound, "container \"a\" does not exist").error();
  auto outer = inner.wrap("delete");
  CHECK(outer.kind == ErrorKind::kNotFound);
  CHECK(outer.message == "delete: container \"a\" does not exist");
  CHECK(kind_of(Error{EPERM, "kill"}.wrap("signal")) == ErrorKind::kPermissionDenied);
}

namespace {
Result<int> half(int n) {
  if (n % 2) return reaper::failf(ErrorKind::kInvalidArgument, "{} is odd", n);
  return n / 2;
}
Result<int> quarter(int n) { return half(TRY(half(n))); }
Result<void> nothing() { return {}; }
}  // namespace

TEST_CASE("errors: Result carries values and kinds through TRY") {
  CHECK(quarter(8) == 2);
  auto r = quarter(6);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::kInvalidArgument);
  CHECK(r.error().message == "3 is odd");
  CHECK(nothing());
  std::expected<int, Error> plain = 5;
  Result<int> from_plain = plain;
  CHECK(from_plain == 5);
}
