// `reaper overlay VERB`: dispatches to the overlay group verbs (overlay_verbs.hpp).
#include "cli/overlay_verbs.hpp"
#include "cli/verb.hpp"
#include "core/log.hpp"

namespace reaper::cli {
namespace {

struct OverlayVerb {
  std::string_view name;
  int (*run)(const NodeConfig&, int, char**);
};

constexpr OverlayVerb kOverlayVerbs[] = {
    {"list", overlay_list},
    {"rm", overlay_rm},
    {"gc", overlay_gc},
    {"diff", overlay_diff},
};

}  // namespace

int verb_overlay(const Context&, int argc, char** argv) {
  if (argc < 1) return usage_error("overlay", "which verb? list, rm, gc or diff");
  std::string_view name = argv[0];
  for (const auto& v : kOverlayVerbs) {
    if (v.name != name) continue;
    auto config = load_node_config();
    if (!config) return failure(config.error());
    return v.run(*config, argc - 1, argv + 1);
  }
  return usage_error("overlay", fmt::format("unknown verb {:?}", name));
}

}  // namespace reaper::cli
