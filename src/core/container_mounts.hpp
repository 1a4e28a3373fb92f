#pragma once
// A container's own mount namespace, layered over its group's overlay.
//
// The overlay's files (and writes) are the group's; the volume mounts are the
// container's alone, in a namespace made for it (unshare of the group's), so two pods
// mounting different volumes at one path each see their own. Three steps, each where
// it can be done:
//   plan_mounts     the caller, before anything is made: every mount entry checked
//   prepare_mounts  the monitor, in the host namespace: the group's namespace opened
//                   (made if needed), each volume source cloned with open_tree(), so
//                   sources only the host sees (kubelet's tmpfs secrets) come along
//   enter_mounts    the workload's child, before exec: setns into the group,
//                   unshare, a private /dev if a file is bound below it
//                   (core/private_dev.hpp), attach the clones (move_mount), DNS
// Exec'd processes join their container's namespace instead (join_mounts).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/node_config.hpp"
#include "core/oci_spec.hpp"
#include "core/overlay.hpp"
#include "core/pod_settings.hpp"

namespace reaper {

struct VolumeMount {
  std::string source;       // absolute, in the host namespace
  std::string destination;  // absolute, normalised, inside the container
  bool recursive = true;    // rbind (the default) or bind
  bool readonly = false;
  uint64_t attributes = 0;  // MOUNT_ATTR_* (nosuid, nodev, noexec, rdonly)
  bool in_dev = false;      // a file below /dev: attached in the container's own /dev
};

struct MountPlan {
  OverlayOptions overlay;  // root, the group's size limit, lock bound
  int64_t gc_idle_s = -1;  // collect idle groups at this container's exit (-1: never)
  OverlayGroup group;
  DnsMode dns = DnsMode::kHost;
  std::vector<VolumeMount> volumes;
  std::optional<VolumeMount> resolv_conf;  // dns kubernetes: the pod's own
  std::vector<std::string> notes;          // for the log: annotations ignored, entries skipped
};

// Checks the spec's mounts and annotations against the node's settings.
Result<MountPlan> plan_mounts(const NodeConfig& node, const oci::Spec& spec);

struct PreparedMounts {
  GroupNamespace group;
  std::vector<std::pair<VolumeMount, UniqueFd>> trees;
};

Result<PreparedMounts> prepare_mounts(const MountPlan& plan);

// In the workload's child: leaves it in its own namespace over the group's overlay.
Result<void> enter_mounts(const PreparedMounts& prepared);
// In an exec'd process's child: joins the namespace of the process behind `pidfd`.
Result<void> join_mounts(int pidfd);

// Where `destination` leads inside the current root, symlinks followed (never above
// the root); missing components are kept as they are.
Result<std::string> resolve_in_root(std::string_view destination);

}  // namespace reaper
