#include "core/oci_spec.hpp"

#include <sys/resource.h>

#include <boost/json.hpp>
#include <initializer_list>

#include "core/files.hpp"

namespace json = boost::json;

namespace reaper::oci {
namespace {

// Refuses members of `obj` that the OCI spec does not define at this level.
Result<void> check_known(const json::object& obj, std::string_view where,
                         std::initializer_list<std::string_view> known) {
  for (const auto& member : obj) {
    bool found = false;
    for (auto k : known) found = found || member.key() == k;
    if (!found) return failf(ErrorKind::kInvalidArgument, "{}: unknown field {:?}", where, std::string_view(member.key()));
  }
  return {};
}

Result<const json::object*> as_object(const json::value& v, std::string_view where) {
  if (!v.is_object()) return failf(ErrorKind::kInvalidArgument, "{}: must be an object", where);
  return &v.get_object();
}

Result<std::string> as_string(const json::value& v, std::string_view where) {
  if (!v.is_string()) return failf(ErrorKind::kInvalidArgument, "{}: must be a string", where);
  return std::string(v.get_string());
}

Result<bool> as_bool(const json::value& v, std::string_view where) {
  if (!v.is_bool()) return failf(ErrorKind::kInvalidArgument, "{}: must be a boolean", where);
  return v.get_bool();
}

Result<int64_t> as_int(const json::value& v, std::string_view where) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX))
    return static_cast<int64_t>(v.get_uint64());
  return failf(ErrorKind::kInvalidArgument, "{}: must be an integer", where);
}

Result<uint64_t> as_uint(const json::value& v, std::string_view where) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<uint64_t>(v.get_int64());
  return failf(ErrorKind::kInvalidArgument, "{}: must be a non-negative integer", where);
}

Result<uint32_t> as_u32(const json::value& v, std::string_view where) {
  uint64_t n = TRY(as_uint(v, where));
  if (n > UINT32_MAX) return failf(ErrorKind::kInvalidArgument, "{}: out of range", where);
  return static_cast<uint32_t>(n);
}

Result<std::vector<std::string>> as_strings(const json::value& v, std::string_view where) {
  if (!v.is_array()) return failf(ErrorKind::kInvalidArgument, "{}: must be an array of strings", where);
  std::vector<std::string> out;
  for (const auto& e : v.get_array()) {
    if (!e.is_string()) return failf(ErrorKind::kInvalidArgument, "{}: must be an array of strings", where);
    out.emplace_back(e.get_string());
  }
  return out;
}

Result<int> rlimit_resource(std::string_view name) {
  static const std::pair<std::string_view, int> table[] = {
      {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
  };
  for (auto [n, r] : table)
    if (n == name) return r;
  return failf(ErrorKind::kInvalidArgument, "process.rlimits: unknown type {:?}", name);
}

Result<User> parse_user(const json::value& v) {
  const json::object& obj = *TRY(as_object(v, "process.user"));
  TRY(check_known(obj, "process.user", {"uid", "gid", "umask", "additionalGids", "username"}));
  User user;
  if (auto* p = obj.if_contains("uid")) user.uid = TRY(as_u32(*p, "process.user.uid"));
  if (auto* p = obj.if_contains("gid")) user.gid = TRY(as_u32(*p, "process.user.gid"));
  if (auto* p = obj.if_contains("umask"); p && !p->is_null()) {
    uint32_t mask = TRY(as_u32(*p, "process.user.umask"));
    if (mask > 0777) return fail(ErrorKind::kInvalidArgument, "process.user.umask: must be at most 0777");
    user.umask = static_cast<mode_t>(mask);
  }
  if (auto* p = obj.if_contains("additionalGids"); p && !p->is_null()) {
    if (!p->is_array()) return fail(ErrorKind::kInvalidArgument, "process.user.additionalGids: must be an array");
    for (const auto& g : p->get_array())
      user.additional_gids.push_back(TRY(as_u32(g, "process.user.additionalGids")));
  }
  return user;
}

Result<Process> parse_process_value(const json::value& v) {
  const json::object& obj = *TRY(as_object(v, "process"));
  TRY(check_known(obj, "process",
                  {"terminal", "consoleSize", "user", "args", "commandLine", "env", "cwd",
                   "capabilities", "rlimits", "noNewPrivileges", "apparmorProfile",
                   "oomScoreAdj", "selinuxLabel", "ioPriority", "scheduler",
                   "execCPUAffinity"}));
  Process proc;
  if (auto* p = obj.if_contains("terminal")) proc.terminal = TRY(as_bool(*p, "process.terminal"));
  if (auto* p = obj.if_contains("consoleSize")) {
    const json::object& cs = *TRY(as_object(*p, "process.consoleSize"));
    TRY(check_known(cs, "process.consoleSize", {"height", "width"}));
    if (auto* h = cs.if_contains("height"))
      proc.console_height = TRY(as_u32(*h, "process.consoleSize.height"));
    if (auto* w = cs.if_contains("width"))
      proc.console_width = TRY(as_u32(*w, "process.consoleSize.width"));
  }
  if (auto* p = obj.if_contains("user")) proc.user = TRY(parse_user(*p));
  const json::value* args = obj.if_contains("args");
  if (!args || args->is_null()) return fail(ErrorKind::kInvalidArgument, "process.args: missing");
  proc.args = TRY(as_strings(*args, "process.args"));
  if (proc.args.empty() || proc.args[0].empty()) return fail(ErrorKind::kInvalidArgument, "process.args: must not be empty");
  if (auto* p = obj.if_contains("env"); p && !p->is_null())
    proc.env = TRY(as_strings(*p, "process.env"));
  if (auto* p = obj.if_contains("cwd")) proc.cwd = TRY(as_string(*p, "process.cwd"));
  if (proc.cwd.empty() || proc.cwd[0] != '/') return fail(ErrorKind::kInvalidArgument, "process.cwd: must be an absolute path");
  if (auto* p = obj.if_contains("rlimits"); p && !p->is_null()) {
    if (!p->is_array()) return fail(ErrorKind::kInvalidArgument, "process.rlimits: must be an array");
    for (const auto& r : p->get_array()) {
      const json::object& ro = *TRY(as_object(r, "process.rlimits[]"));
      TRY(check_known(ro, "process.rlimits[]", {"type", "soft", "hard"}));
      const json::value* type = ro.if_contains("type");
      if (!type) return fail(ErrorKind::kInvalidArgument, "process.rlimits[]: missing type");
      Rlimit lim;
      lim.resource = TRY(rlimit_resource(TRY(as_string(*type, "process.rlimits[].type"))));
      if (auto* s = ro.if_contains("soft")) lim.soft = TRY(as_uint(*s, "process.rlimits[].soft"));
      if (auto* h = ro.if_contains("hard")) lim.hard = TRY(as_uint(*h, "process.rlimits[].hard"));
      if (lim.soft > lim.hard) return fail(ErrorKind::kInvalidArgument, "process.rlimits[]: soft limit above hard limit");
      proc.rlimits.push_back(lim);
    }
  }
  if (auto* p = obj.if_contains("noNewPrivileges"))
    proc.no_new_privileges = TRY(as_bool(*p, "process.noNewPrivileges"));
  if (auto* p = obj.if_contains("oomScoreAdj"); p && !p->is_null()) {
    int64_t adj = TRY(as_int(*p, "process.oomScoreAdj"));
    if (adj < -1000 || adj > 1000) return fail(ErrorKind::kInvalidArgument, "process.oomScoreAdj: must be in [-1000, 1000]");
    proc.oom_score_adj = static_cast<int>(adj);
  }
  return proc;
}

Result<Mount> parse_mount(const json::value& v) {
  const json::object& obj = *TRY(as_object(v, "mounts[]"));
  TRY(check_known(obj, "mounts[]",
                  {"destination", "type", "source", "options", "uidMappings", "gidMappings"}));
  Mount m;
  const json::value* dest = obj.if_contains("destination");
  if (!dest) return fail(ErrorKind::kInvalidArgument, "mounts[]: missing destination");
  m.destination = TRY(as_string(*dest, "mounts[].destination"));
  if (auto* p = obj.if_contains("type")) m.type = TRY(as_string(*p, "mounts[].type"));
  if (auto* p = obj.if_contains("source")) m.source = TRY(as_string(*p, "mounts[].source"));
  if (auto* p = obj.if_contains("options"); p && !p->is_null())
    m.options = TRY(as_strings(*p, "mounts[].options"));
  return m;
}

Result<json::value> parse_json(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return failf(ErrorKind::kInvalidArgument, "{}: malformed JSON: {}", what, ec.message());
  return v;
}

}  // namespace

Result<Process> parse_process(std::string_view text) {
  json::value v = TRY(parse_json(text, "process"));
  return parse_process_value(v);
}

Result<Spec> parse_spec(std::string_view text) {
  json::value v = TRY(parse_json(text, "config.json"));
  const json::object& obj = *TRY(as_object(v, "config.json"));
  TRY(check_known(obj, "config.json",
                  {"ociVersion", "process", "root", "hostname", "domainname", "mounts", "hooks",
                   "annotations", "linux", "solaris", "windows", "vm", "zos"}));
  Spec spec;
  const json::value* version = obj.if_contains("ociVersion");
  if (!version) return fail(ErrorKind::kInvalidArgument, "config.json: missing ociVersion");
  spec.oci_version = TRY(as_string(*version, "ociVersion"));
  const json::value* process = obj.if_contains("process");
  if (!process) return fail(ErrorKind::kInvalidArgument, "config.json: missing process");
  spec.process = TRY(parse_process_value(*process));
  if (auto* p = obj.if_contains("mounts"); p && !p->is_null()) {
    if (!p->is_array()) return fail(ErrorKind::kInvalidArgument, "mounts: must be an array");
    for (const auto& m : p->get_array()) spec.mounts.push_back(TRY(parse_mount(m)));
  }
  if (auto* p = obj.if_contains("annotations"); p && !p->is_null()) {
    const json::object& ann = *TRY(as_object(*p, "annotations"));
    for (const auto& [k, val] : ann) {
      if (!val.is_string()) return failf(ErrorKind::kInvalidArgument, "annotations.{}: must be a string", std::string_view(k));
      spec.annotations.emplace(std::string(k), std::string(val.get_string()));
    }
  }
  return spec;
}

Result<Spec> load_bundle_spec(const std::string& bundle) {
  std::string text = TRY(files::read(bundle + "/config.json"));
  return parse_spec(text);
}

std::optional<std::string> env_lookup(const std::vector<std::string>& env, std::string_view name) {
  for (const auto& kv : env)
    if (kv.size() > name.size() && kv.compare(0, name.size(), name) == 0 && kv[name.size()] == '=')
      return kv.substr(name.size() + 1);
  return std::nullopt;
}

}  // namespace reaper::oci
