#include <unistd.h>

#include <csignal>

#include "core/container.hpp"
#include "shim.pb.h"
#include "shim/actions.hpp"
#include "shim/proto_util.hpp"

namespace reaper::shim {

int delete_action(const Options& opts) {
  // Runs after every task's connection closes, and after a shim died: idempotent,
  // and only ever about container opts.id.
  containerd::task::v2::DeleteResponse resp;
  resp.set_exit_status(128 + SIGKILL);
  set_time(resp.mutable_exited_at(), now_ns());
  if (!opts.ns.empty() && !opts.id.empty()) {
    Containers containers(state_root(opts.ns));
    if (auto o = containers.state(opts.id)) {
      resp.set_pid(static_cast<uint32_t>(o->state.pid));
      if (o->state.exit_status) {
        resp.set_exit_status(static_cast<uint32_t>(*o->state.exit_status));
        set_time(resp.mutable_exited_at(), o->state.exited_ns.value_or(now_ns()));
      }
    }
    if (auto removed = containers.remove(opts.id, true); !removed)
      fmt::print(stderr, "delete {}: {}\n", opts.id, removed.error().describe());
  }
  std::string out = resp.SerializeAsString();
  return ::write(STDOUT_FILENO, out.data(), out.size()) == static_cast<ssize_t>(out.size()) ? 0 : 1;
}

}  // namespace reaper::shim
