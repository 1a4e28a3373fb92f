#include <boost/json.hpp>

#include "cli/audit_verbs.hpp"
#include "cli/operator.hpp"
#include "cli/overlay_verbs.hpp"
#include "core/args.hpp"
#include "core/container.hpp"
#include "core/log.hpp"
#include "core/node_config.hpp"
#include "core/overlay.hpp"
#include "version_string.hpp"

namespace json = boost::json;

namespace reaper::cli {
namespace {

int failure(const Error& e) {
  log::error("{}", e.describe());
  return 1;
}

std::string duration(int64_t ns) {
  double s = static_cast<double>(ns) / 1e9;
  if (s < 1) return fmt::format("{:.1f} ms", s * 1e3);
  if (s < 120) return fmt::format("{:.1f} s", s);
  return fmt::format("{:.1f} min", s / 60);
}

json::object state_json(const Observed& o) {
  json::object j;
  j["id"] = o.state.id;
  j["status"] = status_name(o.status);
  j["pid"] = o.state.pid;
  j["bundle"] = o.state.bundle;
  j["created"] = format_time(o.state.created_ns);
  if (o.state.started_ns) j["started"] = format_time(*o.state.started_ns);
  if (o.state.exited_ns) j["exited"] = format_time(*o.state.exited_ns);
  if (o.state.exit_status) j["exitStatus"] = *o.state.exit_status;
  if (!o.state.error.empty()) j["error"] = o.state.error;
  if (!o.state.overlay_group.empty()) j["overlayGroup"] = o.state.overlay_group;
  return j;
}

void print_state(const Observed& o) {
  const auto& s = o.state;
  fmt::print("Container: {}\n", s.id);
  fmt::print("Status:    {}\n", status_name(o.status));
  fmt::print("PID:       {}{}\n", s.pid, o.status == Status::kStopped ? " (exited)" : "");
  if (s.exit_status) fmt::print("Exit code: {}\n", *s.exit_status);
  if (!s.error.empty()) fmt::print("Error:     {}\n", s.error);
  if (!s.overlay_group.empty()) fmt::print("Overlay:   {}\n", s.overlay_group);
  fmt::print("Bundle:    {}\n", s.bundle);
  fmt::print("Created:   {}\n", format_time(s.created_ns));
  if (s.started_ns) fmt::print("Started:   {}\n", format_time(*s.started_ns));
  if (s.exited_ns) {
    fmt::print("Exited:    {}\n", format_time(*s.exited_ns));
    if (s.started_ns) fmt::print("Ran for:   {}\n", duration(*s.exited_ns - *s.started_ns));
  }
}

int cmd_state(int argc, char** argv) {
  ArgParser p;
  p.flag({"--root"}, true).flag({"--json"});
  auto a = p.parse(argc, argv);
  if (!a) return failure(a.error());
  if (a->positionals.size() != 1) return failure(Error{0, "usage: reaper state [--root DIR] [--json] ID"});
  auto o = Containers(a->get("--root", "/run/reaper")).state(a->positionals[0]);
  if (!o) return failure(o.error());
  if (a->has("--json")) fmt::print("{}\n", json::serialize(state_json(*o)));
  else print_state(*o);
  return 0;
}

int cmd_list(int argc, char** argv) {
  ArgParser p;
  p.flag({"--root"}, true).flag({"--json"});
  auto a = p.parse(argc, argv);
  if (!a) return failure(a.error());
  auto all = Containers(a->get("--root", "/run/reaper")).list();
  if (a->has("--json")) {
    json::array arr;
    for (const auto& o : all) arr.push_back(state_json(o));
    fmt::print("{}\n", json::serialize(arr));
    return 0;
  }
  fmt::print("{:<32} {:<8} {:<8} {:<6} {}\n", "ID", "STATUS", "PID", "EXIT", "CREATED");
  for (const auto& o : all)
    fmt::print("{:<32} {:<8} {:<8} {:<6} {}\n", o.state.id, status_name(o.status), o.state.pid,
               o.state.exit_status ? std::to_string(*o.state.exit_status) : "-",
               format_time(o.state.created_ns));
  return 0;
}

// Blocks until the container's workload exits, then exits with its status.
int cmd_wait(int argc, char** argv) {
  ArgParser p;
  p.flag({"--root"}, true);
  auto a = p.parse(argc, argv);
  if (!a) return failure(a.error());
  if (a->positionals.size() != 1) return failure(Error{0, "usage: reaper wait [--root DIR] ID"});
  auto status = Containers(a->get("--root", "/run/reaper")).wait(a->positionals[0]);
  if (!status) return failure(status.error());
  return *status;
}

}  // namespace

int main(int argc, char** argv) {
  ::reaper::log::init("reaper", "", false, false).value();
  if (argc < 2) {
    fmt::print(stderr,
               "usage: reaper COMMAND ...\n"
               "  state [--root DIR] [--json] ID   one container, for a person (or --json)\n"
               "  list [--root DIR] [--json]       all containers\n"
               "  wait [--root DIR] ID             wait for the workload; exit with its status\n"
               "  overlay list [--json]            the node's overlay groups, bytes used/limit, last use\n"
               "  overlay rm GROUP...              reset groups no running container uses\n"
               "  overlay gc [--idle DURATION]     remove groups unused for DURATION\n"
               "  overlay diff GROUP [/PREFIX] [--json]  what a group changed relative to the host\n"
               "  audit [--since T] [--pod P] ... what ran on the node (reaper audit --help)\n"
               "  install-links DIR                symlink every personality into DIR\n"
               "  <personality> ARGS...            run a personality without its link\n"
               "  --version\n");
    return 1;
  }
  std::string_view cmd = argv[1];
  if (cmd == "--version" || cmd == "-v" || cmd == "version") {
    fmt::print("{}\n", version_string());
    return 0;
  }
  if (cmd == "state") return cmd_state(argc - 2, argv + 2);
  if (cmd == "list") return cmd_list(argc - 2, argv + 2);
  if (cmd == "wait") return cmd_wait(argc - 2, argv + 2);
  if (cmd == "overlay") return cmd_overlay(argc - 2, argv + 2);
  if (cmd == "audit") return cmd_audit(argc - 2, argv + 2);
  log::error("unknown command {:?} (see reaper --help)", cmd);
  return 1;
}

}  // namespace reaper::cli
