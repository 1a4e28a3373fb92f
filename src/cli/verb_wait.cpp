// `reaper wait ID`: blocks until the workload exits, then exits with its status. Its own
// failures exit kWaitFailed (125), never 1, so they cannot pass for a workload's exit.
#include "cli/verb.hpp"
#include "core/container.hpp"
#include "core/log.hpp"

namespace reaper::cli {

int verb_wait(const Context& ctx, int argc, char** argv) {
  auto a = parse_verb("wait", ArgParser(), argc, argv, 1, 1);
  if (!a) return kUsage;
  auto status = Containers(ctx.root).wait(a->positionals[0]);
  if (!status) {
    log::error("{}", status.error().describe());
    return kWaitFailed;
  }
  return *status;
}

}  // namespace reaper::cli
