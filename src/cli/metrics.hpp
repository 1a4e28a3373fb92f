#pragma once
// `reaper metrics`: the node's state as Prometheus metrics (docs/metrics.md), computed
// when asked from what is already on the node: the state root, the audit trail and its
// counters, the overlay groups, /proc. Nothing runs in the shims for it; between two
// scrapes a collector keeps only the audit trail's counts per file, so that a scrape reads
// what the trail gained since the last one (audit_trail_counts.hpp).
#include <string>

#include "cli/audit_trail_counts.hpp"
#include "cli/verb.hpp"
#include "core/node_config.hpp"

namespace reaper::cli {

struct MetricsSources {
  Context ctx;             // the state root: <root>/<id> and <root>/<namespace>/<id>
  NodeConfig config;       // the overlay root and the audit trail's directory
};

class MetricsCollector {
 public:
  explicit MetricsCollector(MetricsSources sources);
  // The exposition text of every reaper_* family.
  std::string collect();

 private:
  MetricsSources sources_;
  TrailCounter trail_;
};

}  // namespace reaper::cli
