// `reaper overlay gc [--idle DURATION] [--json]`: collects the groups no container has
// used for DURATION (REAPER_OVERLAY_IDLE by default). Every container's exit does the
// same on its own; this verb is for a timer, an uninstall, or an impatient operator.
#include <boost/json.hpp>

#include "cli/overlay_verbs.hpp"
#include "cli/verb.hpp"
#include "core/args.hpp"
#include "core/log.hpp"
#include "core/overlay.hpp"

namespace json = boost::json;

namespace reaper::cli {

int overlay_gc(const NodeConfig& config, int argc, char** argv) {
  ArgParser p;
  p.flag({"--idle"}, true).flag({"--json"});
  auto a = parse_verb("overlay", p, argc, argv, 0, 0);
  if (!a) return kUsage;
  int64_t idle_s = config.overlay_idle_s;
  if (a->has("--idle")) {
    auto parsed = parse_duration_s(a->get("--idle"));
    if (!parsed) return usage_error("overlay", "gc --idle: " + parsed.error().describe());
    idle_s = *parsed;
  }
  if (idle_s < 0) {
    log::error("idle groups are never collected here (REAPER_OVERLAY_IDLE=never); pass --idle");
    return 1;
  }
  Collection c = collect_idle_groups(config.overlay_root, idle_s * 1'000'000'000LL);
  for (const auto& e : c.errors) log::error("{}", e.describe());
  if (a->has("--json")) {
    json::array removed, kept;
    for (const auto& r : c.removed) removed.push_back(json::string(r));
    for (const auto& k : c.kept) kept.push_back(json::string(k));
    fmt::print("{}\n", json::serialize(json::object{{"removed", removed}, {"kept", kept}}));
  } else {
    for (const auto& r : c.removed) fmt::print("removed {}\n", r);
    for (const auto& k : c.kept) fmt::print("kept {}\n", k);
  }
  return c.errors.empty() ? 0 : 1;
}

}  // namespace reaper::cli
