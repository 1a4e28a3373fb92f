// state, list, ps, features: what the runtime knows, as runc prints it.
#include <boost/json.hpp>

#include "core/args.hpp"
#include "core/container.hpp"
#include "core/files.hpp"
#include "core/process_tree.hpp"
#include "runtime/verbs.hpp"

namespace json = boost::json;

namespace reaper::runtime {
namespace {

json::object oci_state(const Observed& o) {
  json::object s;
  s["ociVersion"] = "1.0.2";
  s["id"] = o.state.id;
  s["status"] = status_name(o.status);
  // The pid the caller was given: the stand-in's when there is one (stand_in.hpp).
  s["pid"] = o.state.stand_in_pid > 0 ? o.state.stand_in_pid : o.state.pid;
  s["bundle"] = o.state.bundle;
  json::object ann;
  for (const auto& [k, v] : o.state.annotations) ann[k] = v;
  s["annotations"] = std::move(ann);
  s["created"] = format_time(o.state.created_ns);
  if (o.state.started_ns) s["started"] = format_time(*o.state.started_ns);
  if (o.state.exited_ns) s["exited"] = format_time(*o.state.exited_ns);
  if (o.state.exit_status) s["exitStatus"] = *o.state.exit_status;
  if (!o.state.error.empty()) s["error"] = o.state.error;
  return s;
}

Result<std::string> format_flag(const Args& a) {
  std::string f = a.get("--format", "table");
  if (f != "table" && f != "json") return failf("invalid --format {:?}: table or json", f);
  return f;
}

}  // namespace

int verb_state(const Globals& g, int argc, char** argv) {
  auto a = ArgParser().parse(argc, argv);
  if (!a) return report(a.error());
  if (a->positionals.size() != 1) return report(Error{0, "state: expects one container id"});
  auto o = Containers(g.root).state(a->positionals[0]);
  if (!o) return report(o.error());
  fmt::print("{}\n", json::serialize(oci_state(*o)));
  return 0;
}

int verb_list(const Globals& g, int argc, char** argv) {
  ArgParser p;
  p.flag({"--format", "-f"}, true).flag({"--quiet", "-q"});
  auto a = p.parse(argc, argv);
  if (!a) return report(a.error());
  auto format = format_flag(*a);
  if (!format) return report(format.error());
  auto all = Containers(g.root).list();
  if (a->has("--quiet")) {
    for (const auto& o : all) fmt::print("{}\n", o.state.id);
  } else if (*format == "json") {
    json::array arr;
    for (const auto& o : all) arr.push_back(oci_state(o));
    fmt::print("{}\n", json::serialize(arr));
  } else {
    fmt::print("{:<24} {:<8} {:<8} {:<40} {}\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
    for (const auto& o : all)
      fmt::print("{:<24} {:<8} {:<8} {:<40} {}\n", o.state.id,
                 o.state.stand_in_pid > 0 ? o.state.stand_in_pid : o.state.pid, status_name(o.status),
                 o.state.bundle, format_time(o.state.created_ns));
  }
  return 0;
}

int verb_ps(const Globals& g, int argc, char** argv) {
  ArgParser p;
  p.flag({"--format", "-f"}, true);
  auto a = p.parse(argc, argv);
  if (!a) return report(a.error());
  auto format = format_flag(*a);
  if (!format) return report(format.error());
  if (a->positionals.size() != 1) return report(Error{0, "ps: expects one container id"});
  auto pids = Containers(g.root).pids(a->positionals[0]);
  if (!pids) return report(pids.error());
  if (*format == "json") {
    json::array arr;
    for (pid_t pid : *pids) arr.push_back(pid);
    fmt::print("{}\n", json::serialize(arr));
    return 0;
  }
  fmt::print("{:<8} {}\n", "PID", "CMD");
  for (pid_t pid : *pids) {
    auto info = read_proc(pid);
    fmt::print("{:<8} {}\n", pid, info ? info->comm : "?");
  }
  return 0;
}

int verb_features(const Globals&, int argc, char** argv) {
  auto a = ArgParser().parse(argc, argv);
  if (!a) return report(a.error());
  json::object f;
  f["ociVersionMin"] = "1.0.0";
  f["ociVersionMax"] = "1.1.0";
  f["hooks"] = json::array();
  f["mountOptions"] = json::array();
  // No namespaces, cgroups, seccomp or capabilities: reaper runs workloads on the host.
  f["linux"] = json::object();
  json::object ann;
  ann["io.github.reaper.isolation"] = "none";
  f["annotations"] = std::move(ann);
  fmt::print("{}\n", json::serialize(f));
  return 0;
}

}  // namespace reaper::runtime
