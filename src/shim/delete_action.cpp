#include <unistd.h>

#include <climits>
#include <csignal>

#include <boost/asio/io_context.hpp>

#include "core/container.hpp"
#include "core/files.hpp"
#include "shim.pb.h"
#include "shim/actions.hpp"
#include "shim/proto_util.hpp"
#include "ttrpc/client.hpp"

namespace reaper::shim {
namespace {

constexpr std::int64_t kShutdownTimeoutNs = 2'000'000'000;

// containerd runs `delete` when it gives a task up without the daemon's help: the daemon
// died, or it lives on but no longer serves the task (containerd was killed during the
// task's Delete and its successor found nothing). A daemon still listening at the task's
// address is asked to shut down; it does so only once it serves no container, so one
// that serves others keeps serving them.
void shut_down_idle_daemon(const Options& opts) {
  std::string bundle = opts.bundle;
  if (bundle.empty()) {
    char cwd[PATH_MAX];
    if (!::getcwd(cwd, sizeof cwd)) return;
    bundle = cwd;
  }
  auto address = files::read(bundle + "/address");
  if (!address) return;
  while (!address->empty() && (address->back() == '\n' || address->back() == ' ')) address->pop_back();
  if (address->empty()) return;
  boost::asio::io_context io;
  ttrpc::Client client(io, *address);
  containerd::task::v2::ShutdownRequest req;
  req.set_id(opts.id);
  // Answered, refused, gone or timed out: nothing to add. The connection's own reads would
  // keep io.run() going for as long as a daemon that stays keeps it open: stop there.
  client.call("containerd.task.v2.Task", "Shutdown", req.SerializeAsString(), {}, kShutdownTimeoutNs,
              [&io](Result<std::string>) { io.stop(); });
  io.run();
}

}  // namespace

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
    shut_down_idle_daemon(opts);
  }
  std::string out = resp.SerializeAsString();
  return ::write(STDOUT_FILENO, out.data(), out.size()) == static_cast<ssize_t>(out.size()) ? 0 : 1;
}

}  // namespace reaper::shim
