#pragma once
// What a workload's OCI annotations may choose, within what the node allows.
//
// A pod chooses only from an allowlist under `reaper.runtime/`: `overlay-name`,
// `dns-mode`, and `overlay-size` where the node allows it (REAPER_OVERLAY_SIZE_MAX). Everything else is the administrator's (node_config.hpp). A bad value
// never refuses the pod: it falls back to the node setting, with a note to log.
#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/node_config.hpp"
#include "core/overlay_group.hpp"

namespace reaper {

inline constexpr std::string_view kAnnotationPrefix = "reaper.runtime/";
inline constexpr std::string_view kSandboxNamespaceAnnotation = "io.kubernetes.cri.sandbox-namespace";
inline constexpr std::string_view kPodNamespaceAnnotation = "io.kubernetes.pod.namespace";
inline constexpr std::string_view kContainerTypeAnnotation = "io.kubernetes.cri.container-type";

struct PodSettings {
  OverlayGroup group;
  DnsMode dns = DnsMode::kHost;
  uint64_t overlay_size = 0;  // the group's layer tmpfs when it is made (node default or pod's)
  std::vector<std::string> notes;  // ignored or invalid annotations, for the log
};

// Errors only for what Kubernetes itself guarantees (an invalid namespace name).
Result<PodSettings> pod_settings(const NodeConfig& node,
                                 const std::map<std::string, std::string>& annotations);

}  // namespace reaper
