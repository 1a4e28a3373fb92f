// `reaper overlay`, `overlay list` and `overlay rm`.
#include <boost/json.hpp>

#include "cli/overlay_verbs.hpp"
#include "cli/verb.hpp"
#include "core/args.hpp"
#include "core/log.hpp"
#include "core/overlay.hpp"
#include "core/state_store.hpp"

namespace json = boost::json;

namespace reaper::cli {
namespace {

json::object group_json(const GroupInfo& g) {
  json::object j{{"group", g.key}, {"active", g.active}, {"inUse", g.in_use},
                 {"usedBytes", g.used_bytes}};
  if (g.limited) j["limitBytes"] = g.limit_bytes;
  else j["limitBytes"] = nullptr;
  if (g.last_use_ns) j["lastUse"] = format_time(g.last_use_ns);
  if (!g.problem.empty()) j["problem"] = g.problem;
  return j;
}

}  // namespace

std::string human_bytes(uint64_t n) {
  if (n < 1024) return fmt::format("{}B", n);
  const char* units[] = {"K", "M", "G", "T"};
  double v = static_cast<double>(n) / 1024;
  int u = 0;
  while (v >= 1024 && u < 3) v /= 1024, ++u;
  return fmt::format("{:.1f}{}", v, units[u]);
}

int overlay_list(const NodeConfig& config, int argc, char** argv) {
  ArgParser p;
  p.flag({"--json"});
  auto a = parse_verb("overlay", p, argc, argv, 0, 0);
  if (!a) return kUsage;
  auto groups = list_groups(config.overlay_root);
  if (a->has("--json")) {
    json::array arr;
    for (const auto& g : groups) arr.push_back(group_json(g));
    fmt::print("{}\n", json::serialize(arr));
    return 0;
  }
  fmt::print("{:<32} {:<9} {:<7} {:<17} {}\n", "GROUP", "NAMESPACE", "USE", "USED/LIMIT", "LAST USE");
  for (const auto& g : groups) {
    if (!g.problem.empty()) {
      fmt::print("{:<32} {}\n", g.key, g.problem);
      continue;
    }
    std::string usage = human_bytes(g.used_bytes) + "/" + (g.limited ? human_bytes(g.limit_bytes) : "none");
    fmt::print("{:<32} {:<9} {:<7} {:<17} {}\n", g.key, g.active ? "active" : "none",
               g.in_use ? "in use" : "idle", usage, g.last_use_ns ? format_time(g.last_use_ns) : "-");
  }
  return 0;
}

int overlay_rm(const NodeConfig& config, int argc, char** argv) {
  if (argc < 1) return usage_error("overlay", "rm: which GROUP?");
  int rc = 0;
  for (int i = 0; i < argc; ++i)
    if (auto removed = remove_group(config.overlay_root, argv[i], config.overlay_lock_timeout_ms); !removed) {
      log::error("{}", removed.error().describe());
      rc = 1;
    }
  return rc;
}

}  // namespace reaper::cli
