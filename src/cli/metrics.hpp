#pragma once
// `reaper metrics`: the node's state as Prometheus metrics (docs/metrics.md), computed
// when asked from what is already on the node: the state root, the audit trail and its
// counters, the overlay groups, /proc. Nothing is kept between two scrapes and nothing
// runs in the shims for it.
#include <string>

#include "cli/verb.hpp"
#include "core/node_config.hpp"

namespace reaper::cli {

struct MetricsSources {
  Context ctx;             // the state root: <root>/<id> and <root>/<namespace>/<id>
  NodeConfig config;       // the overlay root and the audit trail's directory
};

// The exposition text of every reaper_* family.
std::string collect_metrics(const MetricsSources& sources);

}  // namespace reaper::cli
