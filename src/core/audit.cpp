// The audit record: its context, its JSON form (docs/audit.md) and back.
#include "core/audit.hpp"

#include <boost/json.hpp>

#include "core/state_store.hpp"

namespace json = boost::json;

namespace reaper {
namespace {

std::string g_namespace;  // set once by the shim before it launches anything

std::string annotation(const std::map<std::string, std::string>& a, const char* key) {
  auto it = a.find(key);
  return it == a.end() ? std::string() : it->second;
}

json::value text_or_null(const std::string& s) {
  if (s.empty()) return nullptr;
  return json::string(s);
}

std::string string_or_empty(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v || !v->is_string()) return {};
  return std::string(v->get_string());
}

}  // namespace

void set_audit_namespace(std::string ns) { g_namespace = std::move(ns); }

AuditContext audit_context(const std::map<std::string, std::string>& annotations,
                           const std::string& container_id, const std::string& exec_id) {
  AuditContext c;
  c.ns = g_namespace;
  c.pod_namespace = annotation(annotations, "io.kubernetes.cri.sandbox-namespace");
  c.pod_name = annotation(annotations, "io.kubernetes.cri.sandbox-name");
  c.pod_uid = annotation(annotations, "io.kubernetes.cri.sandbox-uid");
  c.container_name = annotation(annotations, "io.kubernetes.cri.container-name");
  c.container_id = container_id;
  c.exec_id = exec_id;
  return c;
}

std::string audit_line(const AuditRecord& r) {
  json::object o;
  o["v"] = 1;
  o["event"] = r.event;
  o["time"] = format_time(r.time_ns);
  o["timeNs"] = r.time_ns;
  o["namespace"] = text_or_null(r.context.ns);
  if (r.context.pod_name.empty() && r.context.pod_namespace.empty() && r.context.pod_uid.empty())
    o["pod"] = nullptr;
  else
    o["pod"] = json::object{{"namespace", r.context.pod_namespace},
                            {"name", r.context.pod_name},
                            {"uid", r.context.pod_uid}};
  o["container"] = text_or_null(r.context.container_name);
  o["containerId"] = r.context.container_id;
  o["execId"] = text_or_null(r.context.exec_id);
  o["pid"] = r.pid;
  json::array argv;
  for (const auto& a : r.argv) argv.push_back(json::string(a));
  o["argv"] = std::move(argv);
  o["cwd"] = r.cwd;
  json::array groups;
  for (auto g : r.groups) groups.push_back(g);
  o["user"] = json::object{{"uid", r.uid}, {"gid", r.gid}, {"groups", std::move(groups)}};
  o["terminal"] = r.terminal;
  if (r.event == "start") {
    o["error"] = text_or_null(r.error);
    o["spawnNs"] = r.spawn_ns ? json::value(*r.spawn_ns) : json::value(nullptr);
  } else {
    o["exitStatus"] = r.exit_status ? json::value(*r.exit_status) : json::value(nullptr);
    o["signal"] = r.signal ? json::value(*r.signal) : json::value(nullptr);
    o["durationNs"] = r.duration_ns ? json::value(*r.duration_ns) : json::value(nullptr);
  }
  return json::serialize(o) + "\n";
}

Result<AuditRecord> parse_audit_line(std::string_view line) {
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec || !v.is_object()) return fail("not a JSON object");
  const json::object& o = v.get_object();
  AuditRecord r;
  try {
    r.event = json::value_to<std::string>(o.at("event"));
    r.time_ns = json::value_to<int64_t>(o.at("timeNs"));
    r.context.ns = string_or_empty(o, "namespace");
    if (const auto* pod = o.if_contains("pod"); pod && pod->is_object()) {
      r.context.pod_namespace = string_or_empty(pod->get_object(), "namespace");
      r.context.pod_name = string_or_empty(pod->get_object(), "name");
      r.context.pod_uid = string_or_empty(pod->get_object(), "uid");
    }
    r.context.container_name = string_or_empty(o, "container");
    r.context.container_id = string_or_empty(o, "containerId");
    r.context.exec_id = string_or_empty(o, "execId");
    r.pid = json::value_to<pid_t>(o.at("pid"));
    r.argv = json::value_to<std::vector<std::string>>(o.at("argv"));
    r.cwd = string_or_empty(o, "cwd");
    const json::object& user = o.at("user").as_object();
    r.uid = json::value_to<uint32_t>(user.at("uid"));
    r.gid = json::value_to<uint32_t>(user.at("gid"));
    r.groups = json::value_to<std::vector<uint32_t>>(user.at("groups"));
    r.terminal = o.at("terminal").as_bool();
    r.error = string_or_empty(o, "error");
    if (auto* p = o.if_contains("exitStatus"); p && !p->is_null()) r.exit_status = json::value_to<int>(*p);
    if (auto* p = o.if_contains("signal"); p && !p->is_null()) r.signal = json::value_to<int>(*p);
    if (auto* p = o.if_contains("spawnNs"); p && !p->is_null()) r.spawn_ns = json::value_to<int64_t>(*p);
    if (auto* p = o.if_contains("durationNs"); p && !p->is_null()) r.duration_ns = json::value_to<int64_t>(*p);
  } catch (const std::exception& e) {
    return failf("not an audit record: {}", e.what());
  }
  return r;
}

}  // namespace reaper
