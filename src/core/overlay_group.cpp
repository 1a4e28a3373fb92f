#include "core/overlay_group.hpp"

#include <charconv>

namespace reaper {

std::string OverlayGroup::key() const {
  std::string k = k8s_namespace ? "k8s." + *k8s_namespace : "node";
  if (name) k += "." + *name;
  return k;
}

Result<void> validate_group_label(std::string_view label, std::string_view what) {
  if (label.empty() || label.size() > 63)
    return failf("{} {:?}: must be 1 to 63 characters", what, label);
  for (char c : label)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return failf("{} {:?}: only lowercase letters, digits and '-' are allowed", what, label);
  return {};
}

Result<OverlayGroup> parse_group_key(std::string_view key) {
  OverlayGroup g;
  std::string_view rest;
  if (key == "node" || key.starts_with("node.")) {
    rest = key.substr(4);
  } else if (key.starts_with("k8s.")) {
    key.remove_prefix(4);
    auto dot = key.find('.');
    std::string_view ns = key.substr(0, dot);
    TRY(validate_group_label(ns, "namespace"));
    g.k8s_namespace = std::string(ns);
    rest = dot == std::string_view::npos ? std::string_view{} : key.substr(dot);
  } else {
    return failf("{:?} is not an overlay group (expected node[.NAME] or k8s.NAMESPACE[.NAME])", key);
  }
  if (!rest.empty()) {
    rest.remove_prefix(1);  // the '.'
    TRY(validate_group_label(rest, "overlay name"));
    g.name = std::string(rest);
  }
  return g;
}

std::vector<LayerEntry> parse_layer_index(std::string_view text) {
  std::vector<LayerEntry> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    auto tab = line.find('\t');
    if (tab == std::string_view::npos) continue;
    LayerEntry e;
    auto r = std::from_chars(line.data(), line.data() + tab, e.index);
    std::string_view path = line.substr(tab + 1);
    if (r.ec != std::errc() || r.ptr != line.data() + tab || e.index < 0 || path.empty() ||
        path.front() != '/')
      continue;
    e.host_path = std::string(path);
    out.push_back(std::move(e));
  }
  return out;
}

std::string format_layer_index(const std::vector<LayerEntry>& entries) {
  std::string out;
  for (const auto& e : entries) out += fmt::format("{}\t{}\n", e.index, e.host_path);
  return out;
}

}  // namespace reaper
