#pragma once
// The node's settings: /etc/reaper/reaper.conf (or $REAPER_CONFIG), KEY=VALUE lines
// of REAPER_* keys, each overridden by the same variable in the environment. These
// are the administrator's: a pod can never change them (see pod_settings.hpp for the
// few choices a pod may make).
#include <string>
#include <vector>

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
  std::string state_root;                            // REAPER_ROOT (the shim's), empty = default
  std::vector<std::string> warnings;                 // unknown keys, for the caller to log
};

inline constexpr const char* kDefaultConfigPath = "/etc/reaper/reaper.conf";

// Reads the file (a missing file is an empty configuration) and the environment.
// A malformed line, a key outside REAPER_* or a bad value is an error naming the line.
Result<NodeConfig> load_node_config();
// The same from given text and environment lookups, for tests and tools.
Result<NodeConfig> parse_node_config(std::string_view text, std::string_view origin,
                                     const std::vector<std::string>& environment);

std::string_view dns_mode_name(DnsMode m);
Result<DnsMode> parse_dns_mode(std::string_view s);

}  // namespace reaper
