// `reaper metrics [--listen ADDR:PORT | --output FILE]`: the node's state as Prometheus
// metrics (metrics.cpp collects, metrics_server.cpp serves; docs/metrics.md).
#include <memory>

#include "cli/metrics.hpp"
#include "cli/metrics_server.hpp"
#include "cli/verb.hpp"
#include "core/files.hpp"

namespace reaper::cli {

int verb_metrics(const Context& ctx, int argc, char** argv) {
  ArgParser p;
  p.flag({"--listen"}, true).flag({"--output", "-o"}, true);
  auto a = parse_verb("metrics", p, argc, argv, 0, 0);
  if (!a) return kUsage;
  if (a->has("--listen") && a->has("--output"))
    return usage_error("metrics", "--listen and --output exclude each other");
  std::optional<ListenAddress> listen;
  if (a->has("--listen")) {
    auto parsed = parse_listen_address(a->get("--listen"));
    if (!parsed) return usage_error("metrics", parsed.error().describe());
    listen = *parsed;
  }
  auto config = load_node_config();
  if (!config) return failure(config.error());
  MetricsSources sources{ctx, *config};
  if (listen) {
    // One collector for the server's life: each scrape reads only what the trail gained.
    auto collector = std::make_shared<MetricsCollector>(sources);
    return serve_metrics(*listen, [collector] { return collector->collect(); });
  }
  std::string text = MetricsCollector(sources).collect();
  if (a->has("--output")) {
    // Whole or not at all: node_exporter's textfile collector may read it any time.
    if (auto written = files::write_atomic(a->get("--output"), text, 0644); !written)
      return failure(written.error());
    return kOk;
  }
  fmt::print("{}", text);
  return kOk;
}

}  // namespace reaper::cli
