// `reaper state [--json] [-n NS] ID`: one container, for a person or as JSON.
#include <boost/json.hpp>

#include "cli/container_view.hpp"
#include "cli/places.hpp"
#include "cli/verb.hpp"
#include "core/container.hpp"

namespace reaper::cli {
namespace {

std::string duration(int64_t ns) {
  double s = static_cast<double>(ns) / 1e9;
  if (s < 1) return fmt::format("{:.1f} ms", s * 1e3);
  if (s < 120) return fmt::format("{:.1f} s", s);
  return fmt::format("{:.1f} min", s / 60);
}

void print_state(const Located& l) {
  const auto& o = l.observed;
  const auto& s = o.state;
  fmt::print("Container: {}\n", s.id);
  fmt::print("Namespace: {}\n", l.place.ns.empty() ? "- (reaper-runtime)" : l.place.ns);
  fmt::print("Status:    {}\n", status_name(o.status));
  fmt::print("PID:       {}{}\n", s.pid, o.status == Status::kStopped ? " (exited)" : "");
  if (s.exit_status) fmt::print("Exit code: {}\n", *s.exit_status);
  if (!s.error.empty()) fmt::print("Error:     {}\n", s.error);
  if (!s.overlay_group.empty()) fmt::print("Overlay:   {}\n", s.overlay_group);
  fmt::print("Bundle:    {}\n", s.bundle);
  fmt::print("State:     {}\n", Containers(l.place.dir).store().dir(s.id));
  fmt::print("Created:   {}\n", format_time(s.created_ns));
  if (s.started_ns) fmt::print("Started:   {}\n", format_time(*s.started_ns));
  if (s.exited_ns) {
    fmt::print("Exited:    {}\n", format_time(*s.exited_ns));
    if (s.started_ns) fmt::print("Ran for:   {}\n", duration(*s.exited_ns - *s.started_ns));
  }
}

}  // namespace

int verb_state(const Context& ctx, int argc, char** argv) {
  ArgParser p;
  p.flag({"--json"});
  auto t = parse_target(ctx, "state", p, argc, argv);
  if (!t) return t.error();
  const Args& a = t->args;
  const Located& l = t->at;
  if (a.has("--json")) fmt::print("{}\n", boost::json::serialize(state_json(l)));
  else print_state(l);
  return kOk;
}

}  // namespace reaper::cli
