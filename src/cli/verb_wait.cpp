// `reaper wait [-n NS] ID`: blocks until the workload exits, then exits with its status. Its
// own failures exit kWaitFailed (125), never 1, so they cannot pass for a workload's exit.
#include "cli/places.hpp"
#include "core/log.hpp"

namespace reaper::cli {

int verb_wait(const Context& ctx, int argc, char** argv) {
  ArgParser p;
  add_namespace_flag(p);
  auto a = parse_verb("wait", p, argc, argv, 1, 1);
  if (!a) return kUsage;
  auto ns = namespace_of(*a);
  if (!ns) return usage_error("wait", ns.error().describe());
  auto l = locate(ctx, *ns, a->positionals[0]);
  if (!l) {
    log::error("{}", l.error().describe());
    return kWaitFailed;
  }
  auto status = Containers(l->place.dir).wait(l->observed.state.id);
  if (!status) {
    log::error("{}", status.error().describe());
    return kWaitFailed;
  }
  return *status;
}

}  // namespace reaper::cli
