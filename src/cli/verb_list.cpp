// `reaper list [--json]`: every container under the root.
#include "cli/container_view.hpp"
#include "cli/verb.hpp"

namespace reaper::cli {

int verb_list(const Context& ctx, int argc, char** argv) {
  ArgParser p;
  p.flag({"--json"});
  auto a = parse_verb("list", p, argc, argv, 0, 0);
  if (!a) return kUsage;
  auto all = Containers(ctx.root).list();
  if (a->has("--json")) {
    boost::json::array arr;
    for (const auto& o : all) arr.push_back(state_json(o));
    fmt::print("{}\n", boost::json::serialize(arr));
    return kOk;
  }
  fmt::print("{:<32} {:<8} {:<8} {:<6} {}\n", "ID", "STATUS", "PID", "EXIT", "CREATED");
  for (const auto& o : all)
    fmt::print("{:<32} {:<8} {:<8} {:<6} {}\n", o.state.id, status_name(o.status), o.state.pid,
               o.state.exit_status ? std::to_string(*o.state.exit_status) : "-",
               format_time(o.state.created_ns));
  return kOk;
}

}  // namespace reaper::cli
