// `reaper list [--json] [-q] [-n NS]`: the containers of every namespace under the root.
#include "cli/container_view.hpp"
#include "cli/places.hpp"

namespace reaper::cli {

int verb_list(const Context& ctx, int argc, char** argv) {
  ArgParser p;
  p.flag({"--json"}).flag({"--quiet", "-q"});
  add_namespace_flag(p);
  auto a = parse_verb("list", p, argc, argv, 0, 0);
  if (!a) return kUsage;
  auto ns = namespace_of(*a);
  if (!ns) return usage_error("list", ns.error().describe());
  auto all = list_containers(ctx, *ns);
  if (a->has("--json")) {
    boost::json::array arr;
    for (const auto& l : all) arr.push_back(state_json(l));
    fmt::print("{}\n", boost::json::serialize(arr));
    return kOk;
  }
  if (a->has("--quiet")) {
    for (const auto& l : all) fmt::print("{}\n", l.observed.state.id);
    return kOk;
  }
  fmt::print("{:<16} {:<32} {:<8} {:<8} {:<6} {}\n", "NAMESPACE", "ID", "STATUS", "PID", "EXIT",
             "CREATED");
  for (const auto& l : all) {
    const auto& o = l.observed;
    fmt::print("{:<16} {:<32} {:<8} {:<8} {:<6} {}\n", namespace_label(l.place), o.state.id,
               status_name(o.status), o.state.pid,
               o.state.exit_status ? std::to_string(*o.state.exit_status) : "-",
               format_time(o.state.created_ns));
  }
  return kOk;
}

}  // namespace reaper::cli
