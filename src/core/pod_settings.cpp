#include "core/pod_settings.hpp"

namespace reaper {

Result<PodSettings> pod_settings(const NodeConfig& node,
                                 const std::map<std::string, std::string>& annotations) {
  PodSettings s;
  s.dns = node.dns;
  s.overlay_size = node.overlay_size;
  auto get = [&](std::string_view key) -> const std::string* {
    auto it = annotations.find(std::string(key));
    return it == annotations.end() || it->second.empty() ? nullptr : &it->second;
  };
  if (node.groups == GroupScope::kNamespace) {
    const std::string* ns = get(kSandboxNamespaceAnnotation);
    if (!ns) ns = get(kPodNamespaceAnnotation);
    // Workloads that are not Kubernetes pods (ctr, the runtime CLI) share the node group.
    if (ns) {
      TRY(validate_group_label(*ns, "Kubernetes namespace"));
      s.group.k8s_namespace = *ns;
    }
  }
  for (const auto& [key, value] : annotations) {
    if (!key.starts_with(kAnnotationPrefix)) continue;
    std::string_view option = std::string_view(key).substr(kAnnotationPrefix.size());
    if (!node.annotations) {
      s.notes.push_back(fmt::format("annotation {} ignored: annotations are disabled on this node", key));
      continue;
    }
    if (option == "overlay-name") {
      if (value.empty()) continue;  // "not set"
      if (auto ok = validate_group_label(value, "overlay name"); !ok) {
        s.notes.push_back(fmt::format("annotation {} ignored: {}", key, ok.error().message));
        continue;
      }
      s.group.name = value;
    } else if (option == "dns-mode") {
      auto mode = parse_dns_mode(value);
      if (!mode) {
        s.notes.push_back(fmt::format("annotation {}={:?} ignored: {}; using the node's {}", key,
                                      value, mode.error().message, dns_mode_name(node.dns)));
        continue;
      }
      s.dns = *mode;
    } else if (option == "overlay-size") {
      auto size = parse_size(value);
      if (node.overlay_size_max == 0)
        s.notes.push_back(fmt::format("annotation {} ignored: this node does not let pods choose (REAPER_OVERLAY_SIZE_MAX)", key));
      else if (!size || *size == 0 || *size > node.overlay_size_max)
        s.notes.push_back(fmt::format("annotation {}={:?} ignored: expected a size from 1 to {} bytes", key,
                                      value, node.overlay_size_max));
      else
        s.overlay_size = *size;
    } else {
      s.notes.push_back(fmt::format("annotation {} ignored: pods may set only overlay-name, overlay-size and dns-mode", key));
    }
  }
  return s;
}

}  // namespace reaper
