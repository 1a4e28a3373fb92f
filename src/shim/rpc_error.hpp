#pragma once
// The one place where a core error becomes a ttrpc status: containerd acts on the
// code (errdefs: not found, already exists, failed precondition…), so every Task API
// handler answers its failures through rpc_status, never with a code of its own.
#include "core/error.hpp"
#include "ttrpc/status.hpp"

namespace reaper::shim {

// The gRPC code for an error's kind (kind_of: explicit, else from errno).
ttrpc::Code rpc_code(ErrorKind kind);

// The status a handler answers for `e`: its code, and its message with containerd's
// conventional suffix (": not found", ": already exists"…) that its clients print.
ttrpc::Status rpc_status(const Error& e);

}  // namespace reaper::shim
