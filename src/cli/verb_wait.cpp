// `reaper wait [-n NS] ID`: blocks until the workload exits, then exits with its status. Its
// own failures exit kWaitFailed (125), never 1, so they cannot pass for a workload's exit.
#include "cli/places.hpp"
#include "core/log.hpp"

namespace reaper::cli {

int verb_wait(const Context& ctx, int argc, char** argv) {
  ArgParser p;
  auto t = parse_target(ctx, "wait", p, argc, argv, kWaitFailed);
  if (!t) return t.error();
  const Located& l = t->at;
  auto status = Containers(l.place.dir).wait(l.observed.state.id);
  if (!status) {
    log::error("{}", status.error().describe());
    return kWaitFailed;
  }
  return *status;
}

}  // namespace reaper::cli
