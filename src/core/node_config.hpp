#pragma once
// The node's settings: /etc/reaper/reaper.conf (or $REAPER_CONFIG), KEY=VALUE lines
// of REAPER_* keys, each overridden by the same variable in the environment. These
// are the administrator's: a pod can never change them (see pod_settings.hpp for the
// few choices a pod may make).
#include <string>
#include <vector>

#include "core/audit.hpp"
#include "core/error.hpp"

namespace reaper {

enum class DnsMode { kHost, kKubernetes };
enum class GroupScope { kNamespace, kNode };  // one overlay per Kubernetes namespace, or one

struct NodeConfig {
  std::string overlay_root = "/run/reaper/overlay";  // REAPER_OVERLAY_ROOT
  GroupScope groups = GroupScope::kNamespace;        // REAPER_OVERLAY_GROUPS=namespace|node
  DnsMode dns = DnsMode::kHost;                      // REAPER_DNS_MODE=host|kubernetes
  bool annotations = true;                           // REAPER_ANNOTATIONS=true|false
  bool mask = true;                                  // REAPER_MASK=true|false
  bool mask_replace = false;                         // REAPER_MASK_MODE=append|replace
  std::vector<std::string> mask_paths;               // REAPER_MASK_PATHS=a:b (globs allowed)
  std::vector<std::string> mask_allow;               // REAPER_MASK_ALLOW=a:b (exact paths)
  uint64_t overlay_size = 1ULL << 30;                // REAPER_OVERLAY_SIZE=1g (0: no tmpfs)
  uint64_t overlay_size_max = 0;                     // REAPER_OVERLAY_SIZE_MAX (0: pods may not choose)
  int64_t overlay_idle_s = 3600;                     // REAPER_OVERLAY_IDLE=1h|30m|0|never (-1)
  int overlay_lock_timeout_ms = 40000;               // REAPER_OVERLAY_LOCK_TIMEOUT=40 (seconds)
  AuditSettings audit;                               // REAPER_AUDIT, _DIR, _MAX_SIZE, _FILES, _JOURNAL
  std::string state_root;                            // REAPER_ROOT (the shim's), empty = default
  std::vector<std::string> warnings;                 // unknown keys, for the caller to log
};

inline constexpr const char* kDefaultConfigPath = "/etc/reaper/reaper.conf";
inline constexpr const char* kDefaultStateRoot = "/run/reaper";

// The path of the node's reaper.conf: $REAPER_CONFIG, else kDefaultConfigPath.
std::string node_config_path();

// Where every personality keeps container state (the shim under <root>/<namespace>):
// REAPER_ROOT from the environment, else from reaper.conf, else kDefaultStateRoot. A
// reaper.conf that does not load still leaves the environment's REAPER_ROOT in force;
// whoever loads the configuration in full reports what is wrong with it.
std::string configured_state_root();

// Reads the file (a missing file is an empty configuration) and the environment.
// A malformed line, a key outside REAPER_* or a bad value is an error naming the line.
Result<NodeConfig> load_node_config();
// The same from given text and environment lookups, for tests and tools.
Result<NodeConfig> parse_node_config(std::string_view text, std::string_view origin,
                                     const std::vector<std::string>& environment);

std::string_view dns_mode_name(DnsMode m);
// "0", "512k", "64m", "1g", "2t" (binary units; a bare number is bytes).
Result<uint64_t> parse_size(std::string_view s);
// "never" (-1), "0", "90s", "30m", "1h", "2d" (a bare number is seconds).
Result<int64_t> parse_duration_s(std::string_view s);
Result<DnsMode> parse_dns_mode(std::string_view s);

}  // namespace reaper
