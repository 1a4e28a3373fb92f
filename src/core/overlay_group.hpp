#pragma once
// Overlay groups: the workloads that share one overlay (one upper layer, one mount
// namespace). By default one group per Kubernetes namespace; optionally one for the
// whole node; either split further by a pod's `reaper.runtime/overlay-name`.
//
// On disk a group is <overlay root>/<key>, where the key is
//   k8s.<namespace>[.<name>]   or   node[.<name>]
// Namespaces and names are [a-z0-9-] (1-63), so the '.' separator keeps distinct
// (namespace, name) pairs from ever sharing a directory.
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace reaper {

struct OverlayGroup {
  std::optional<std::string> k8s_namespace;  // none: the node-wide group
  std::optional<std::string> name;           // a named sub-group

  std::string key() const;
  bool operator==(const OverlayGroup&) const = default;
};

// 1..63 characters of [a-z0-9-].
Result<void> validate_group_label(std::string_view label, std::string_view what);
// The inverse of key(): refuses anything key() cannot produce.
Result<OverlayGroup> parse_group_key(std::string_view key);

}  // namespace reaper
