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
#include <vector>

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

// A group's layers/index: one line per writable layer, "N<TAB>host path", so that a
// layer keeps its number (and its upper directory) for the same host path across
// rebuilds, and readers know which host directory each upper layer covers.
struct LayerEntry {
  int index = 0;
  std::string host_path;
  bool operator==(const LayerEntry&) const = default;
};
// Lines that are not "N<TAB>/path" are skipped.
std::vector<LayerEntry> parse_layer_index(std::string_view text);
std::string format_layer_index(const std::vector<LayerEntry>& entries);

}  // namespace reaper
