#include "core/node_config.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <functional>
#include <map>

#include "core/files.hpp"

extern char** environ;

namespace reaper {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

Result<bool> parse_bool(std::string_view v) {
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  return fail("expected true or false");
}

Result<std::vector<std::string>> parse_paths(std::string_view v) {
  std::vector<std::string> out;
  while (!v.empty()) {
    auto colon = v.find(':');
    std::string_view p = v.substr(0, colon);
    if (!p.empty()) {
      if (p.front() != '/') return failf("{:?} is not an absolute path", p);
      out.emplace_back(p);
    }
    if (colon == std::string_view::npos) break;
    v.remove_prefix(colon + 1);
  }
  return out;
}

using Setter = std::function<Result<void>(NodeConfig&, std::string_view)>;

const std::map<std::string, Setter, std::less<>>& setters() {
  static const std::map<std::string, Setter, std::less<>> table = {
      {"REAPER_OVERLAY_ROOT",
       [](NodeConfig& c, std::string_view v) -> Result<void> {
         if (v.empty() || v.front() != '/' || v.find("/../") != v.npos || v.ends_with("/.."))
           return fail("expected an absolute path");
         c.overlay_root = std::string(v);
         while (c.overlay_root.size() > 1 && c.overlay_root.back() == '/') c.overlay_root.pop_back();
         return {};
       }},
      {"REAPER_OVERLAY_GROUPS",
       [](NodeConfig& c, std::string_view v) -> Result<void> {
         if (v == "namespace") c.groups = GroupScope::kNamespace;
         else if (v == "node") c.groups = GroupScope::kNode;
         else return fail("expected namespace or node");
         return {};
       }},
      {"REAPER_DNS_MODE",
       [](NodeConfig& c, std::string_view v) -> Result<void> {
         c.dns = TRY(parse_dns_mode(v));
         return {};
       }},
      {"REAPER_ANNOTATIONS",
       [](NodeConfig& c, std::string_view v) -> Result<void> {
         c.annotations = TRY(parse_bool(v));
         return {};
       }},
      {"REAPER_MASK",
       [](NodeConfig& c, std::string_view v) -> Result<void> {
         c.mask = TRY(parse_bool(v));
         return {};
       }},
      {"REAPER_MASK_MODE",
       [](NodeConfig& c, std::string_view v) -> Result<void> {
         if (v == "append") c.mask_replace = false;
         else if (v == "replace") c.mask_replace = true;
         else return fail("expected append or replace");
         return {};
       }},
      {"REAPER_MASK_PATHS",
       [](NodeConfig& c, std::string_view v) -> Result<void> {
         c.mask_paths = TRY(parse_paths(v));
         return {};
       }},
      {"REAPER_MASK_ALLOW",
       [](NodeConfig& c, std::string_view v) -> Result<void> {
         c.mask_allow = TRY(parse_paths(v));
         return {};
       }},
      {"REAPER_OVERLAY_SIZE",
       [](NodeConfig& c, std::string_view v) -> Result<void> {
         c.overlay_size = TRY(parse_size(v));
         return {};
       }},
      {"REAPER_OVERLAY_SIZE_MAX",
       [](NodeConfig& c, std::string_view v) -> Result<void> {
         c.overlay_size_max = TRY(parse_size(v));
         return {};
       }},
      {"REAPER_OVERLAY_IDLE",
       [](NodeConfig& c, std::string_view v) -> Result<void> {
         c.overlay_idle_s = TRY(parse_duration_s(v));
         return {};
       }},
      {"REAPER_OVERLAY_LOCK_TIMEOUT",
       [](NodeConfig& c, std::string_view v) -> Result<void> {
         int64_t s = TRY(parse_duration_s(v));
         if (s <= 0 || s > 3600) return fail("expected 1 to 3600 seconds");
         c.overlay_lock_timeout_ms = static_cast<int>(s * 1000);
         return {};
       }},
      {"REAPER_AUDIT",
       [](NodeConfig& c, std::string_view v) -> Result<void> {
         c.audit.enabled = TRY(parse_bool(v));
         return {};
       }},
      {"REAPER_AUDIT_DIR",
       [](NodeConfig& c, std::string_view v) -> Result<void> {
         if (v.empty() || v.front() != '/' || v.find("/../") != v.npos || v.ends_with("/.."))
           return fail("expected an absolute path");
         c.audit.dir = std::string(v);
         return {};
       }},
      {"REAPER_AUDIT_MAX_SIZE",
       [](NodeConfig& c, std::string_view v) -> Result<void> {
         uint64_t size = TRY(parse_size(v));
         if (size < 4096) return fail("expected at least 4k");
         c.audit.max_size = size;
         return {};
       }},
      {"REAPER_AUDIT_FILES",
       [](NodeConfig& c, std::string_view v) -> Result<void> {
         int n = 0;
         auto r = std::from_chars(v.data(), v.data() + v.size(), n);
         if (r.ec != std::errc() || r.ptr != v.data() + v.size() || n < 1 || n > 1000)
           return fail("expected a number of files from 1 to 1000");
         c.audit.files = n;
         return {};
       }},
      {"REAPER_AUDIT_JOURNAL",
       [](NodeConfig& c, std::string_view v) -> Result<void> {
         c.audit.journal = TRY(parse_bool(v));
         return {};
       }},
      {"REAPER_ROOT",
       [](NodeConfig& c, std::string_view v) -> Result<void> {
         if (v.empty() || v.front() != '/') return fail("expected an absolute path");
         c.state_root = std::string(v);
         return {};
       }},
  };
  return table;
}

}  // namespace

std::string_view dns_mode_name(DnsMode m) { return m == DnsMode::kHost ? "host" : "kubernetes"; }

namespace {
// Digits, then an optional unit from `units` (each a multiplier).
Result<uint64_t> number_with_unit(std::string_view s, std::initializer_list<std::pair<char, uint64_t>> units,
                                  std::string_view expected) {
  uint64_t n = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), n);
  if (r.ec != std::errc() || r.ptr == s.data()) return failf("expected {}", expected);
  std::string_view rest(r.ptr, static_cast<size_t>(s.data() + s.size() - r.ptr));
  uint64_t mul = 1;
  if (!rest.empty()) {
    bool found = false;
    for (auto [c, m] : units)
      if (rest.size() == 1 && (rest[0] == c || rest[0] == c - 32)) {
        mul = m;
        found = true;
      }
    if (!found) return failf("expected {}", expected);
  }
  if (n > UINT64_MAX / mul / 2) return failf("{:?} is too large", s);
  return n * mul;
}
}  // namespace

Result<uint64_t> parse_size(std::string_view s) {
  return number_with_unit(s, {{'k', 1ULL << 10}, {'m', 1ULL << 20}, {'g', 1ULL << 30}, {'t', 1ULL << 40}},
                          "a size such as 0, 512m or 2g");
}

Result<int64_t> parse_duration_s(std::string_view s) {
  if (s == "never") return -1;
  uint64_t n = TRY(number_with_unit(s, {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}},
                                    "a duration such as 0, 90s, 30m, 1h, 2d or never"));
  if (n > (1ULL << 32)) return failf("{:?} is too long", s);
  return static_cast<int64_t>(n);
}

Result<DnsMode> parse_dns_mode(std::string_view s) {
  if (s == "host") return DnsMode::kHost;
  if (s == "kubernetes") return DnsMode::kKubernetes;
  return fail("expected host or kubernetes");
}

Result<NodeConfig> parse_node_config(std::string_view text, std::string_view origin,
                                     const std::vector<std::string>& environment) {
  NodeConfig c;
  const auto& table = setters();
  size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos)
      return failf("{}:{}: expected KEY=VALUE, got {:?}", origin, line_no, line);
    std::string_view key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    if (!key.starts_with("REAPER_"))
      return failf("{}:{}: {:?} is not a reaper setting (keys start with REAPER_)", origin,
                   line_no, key);
    auto it = table.find(key);
    if (it == table.end()) {
      c.warnings.push_back(fmt::format("{}:{}: unknown setting {:?} ignored", origin, line_no, key));
      continue;
    }
    if (auto set = it->second(c, value); !set)
      return failf("{}:{}: {}: {}", origin, line_no, key, set.error().message);
  }
  // The environment wins over the file.
  for (const auto& entry : environment) {
    auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    std::string_view key(entry.data(), eq);
    auto it = table.find(key);
    if (it == table.end()) continue;
    if (auto set = it->second(c, std::string_view(entry).substr(eq + 1)); !set)
      return failf("environment: {}: {}", key, set.error().message);
  }
  return c;
}

std::string node_config_path() {
  const char* env_path = std::getenv("REAPER_CONFIG");
  return env_path && *env_path ? env_path : kDefaultConfigPath;
}

Result<NodeConfig> load_node_config() {
  std::string path = node_config_path();
  std::string text;
  if (auto read = files::read(path)) {
    text = std::move(*read);
  } else if (read.error().code != ENOENT) {
    return failf("node configuration {}: {}", path, read.error().describe());
  }
  std::vector<std::string> environment;
  for (char** e = environ; e && *e; ++e)
    if (std::string_view(*e).starts_with("REAPER_")) environment.emplace_back(*e);
  return parse_node_config(text, path, environment);
}

std::string configured_state_root() {
  if (auto c = load_node_config(); c && !c->state_root.empty()) return c->state_root;
  const char* env = std::getenv("REAPER_ROOT");
  if (env && env[0] == '/') return env;
  return kDefaultStateRoot;
}

}  // namespace reaper
