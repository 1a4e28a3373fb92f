#include <catch2/catch.hpp>

#include "shim/rpc_error.hpp"

using reaper::Error;
using reaper::ErrorKind;
using reaper::shim::rpc_status;
using reaper::ttrpc::Code;

TEST_CASE("rpc errors: the code follows the kind") {
  CHECK(rpc_status(Error{0, "x", ErrorKind::kNotFound}).code == Code::NotFound);
  CHECK(rpc_status(Error{0, "x", ErrorKind::kAlreadyExists}).code == Code::AlreadyExists);
  CHECK(rpc_status(Error{0, "x", ErrorKind::kFailedPrecondition}).code == Code::FailedPrecondition);
  CHECK(rpc_status(Error{0, "x", ErrorKind::kInvalidArgument}).code == Code::InvalidArgument);
  CHECK(rpc_status(Error{0, "x", ErrorKind::kUnimplemented}).code == Code::Unimplemented);
  CHECK(rpc_status(Error{0, "x"}).code == Code::Unknown);
  // No explicit kind: errno decides (a kill refused with EPERM is not "not found").
  CHECK(rpc_status(Error{EPERM, "signal"}).code == Code::PermissionDenied);
  CHECK(rpc_status(Error{ESRCH, "signal"}).code == Code::NotFound);
  CHECK(rpc_status(Error{EAGAIN, "fork"}).code == Code::Unavailable);
}

TEST_CASE("rpc errors: messages carry containerd's class suffix once") {
  CHECK(rpc_status(Error{0, "container not created", ErrorKind::kNotFound}).message ==
        "container not created: not found");
  CHECK(rpc_status(Error{0, "id a: already exists", ErrorKind::kAlreadyExists}).message ==
        "id a: already exists");
  CHECK(rpc_status(Error{EPERM, "signal"}).message == "signal: Operation not permitted");
}
