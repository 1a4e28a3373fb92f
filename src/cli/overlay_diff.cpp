// `reaper overlay diff GROUP [PATH-PREFIX] [--json]`: what a group's workloads changed
// relative to the host, layer by layer (core/overlay_diff.hpp).
#include <boost/json.hpp>

#include "cli/overlay_verbs.hpp"
#include "core/args.hpp"
#include "core/log.hpp"
#include "core/masking.hpp"
#include "core/overlay.hpp"
#include "core/overlay_diff.hpp"

namespace json = boost::json;

namespace reaper::cli {
namespace {

json::object entry_json(const DiffEntry& e) {
  json::object j{{"path", e.path}, {"kind", diff_kind_name(e.kind)}, {"type", e.type}, {"layer", e.layer}};
  if (!e.changes.empty()) {
    json::array changes;
    for (const auto& c : e.changes) changes.emplace_back(c);
    j["changes"] = std::move(changes);
  }
  return j;
}

char letter(DiffKind kind) {
  switch (kind) {
    case DiffKind::kAdded: return 'A';
    case DiffKind::kChanged: return 'C';
    case DiffKind::kDeleted: return 'D';
    case DiffKind::kMasked: return 'M';
  }
  return '?';
}

void print_text(const std::vector<DiffEntry>& entries) {
  for (const auto& e : entries) {
    std::string detail;
    for (const auto& c : e.changes) detail += (detail.empty() ? " (" : ", ") + c;
    if (!detail.empty()) detail += ")";
    fmt::print("{} {}{}{}\n", letter(e.kind), e.path, e.type == "dir" ? "/" : "", detail);
  }
}

DiffOptions options_for(const NodeConfig& config, const std::string& prefix) {
  DiffOptions options;
  options.prefix = prefix.size() > 1 && prefix.back() == '/' ? prefix.substr(0, prefix.size() - 1) : prefix;
  for (auto& pattern : mask_patterns(config))
    if (std::find(config.mask_allow.begin(), config.mask_allow.end(), pattern) == config.mask_allow.end())
      options.mask_patterns.push_back(std::move(pattern));
  return options;
}

}  // namespace

int overlay_diff(const NodeConfig& config, int argc, char** argv) {
  ArgParser p;
  p.flag({"--json"});
  auto a = p.parse(argc, argv);
  if (!a) {
    log::error("{}", a.error().describe());
    return 1;
  }
  if (a->positionals.empty() || a->positionals.size() > 2 ||
      (a->positionals.size() == 2 && a->positionals[1].front() != '/')) {
    fmt::print(stderr, "usage: reaper overlay diff GROUP [/PATH-PREFIX] [--json]\n");
    return 1;
  }
  auto layers = group_layers(config.overlay_root, a->positionals[0]);
  if (!layers) {
    log::error("{}", layers.error().describe());
    return 1;
  }
  auto options = options_for(config, a->positionals.size() == 2 ? a->positionals[1] : "/");
  std::vector<DiffEntry> entries;
  for (const auto& layer : *layers)
    if (auto r = diff_layer(layer.index, layer.host_path, layer.upper_dir, options, entries); !r) {
      log::error("{}", r.error().describe());
      return 1;
    }
  if (!a->has("--json")) {
    print_text(entries);
    return 0;
  }
  json::array arr;
  for (const auto& e : entries) arr.push_back(entry_json(e));
  fmt::print("{}\n", json::serialize(arr));
  return 0;
}

}  // namespace reaper::cli
