#pragma once
// Overlay groups on disk and their mount namespaces (host side).
//
//   <overlay root>/<group key>/   0700
//     lock          flock()ed while the group is made, checked or removed
//     in-use.lock   flock(LOCK_SH)ed by the monitor of every container of the group
//     mnt           bind mount of the group's mount namespace (nsfs): it keeps the
//                   namespace alive without any process
//     layers/N/{upper,work}   the writable layers (0 is the host's /)
//     merged/       where the overlay was assembled before pivot_root
//     build.log     what the helper did: layers, binds, masks
//
// The namespace is made by the overlay helper (the `reaper-overlay` personality), run
// as a fresh process; see overlay_namespace.hpp.
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/overlay_group.hpp"

namespace reaper {

inline constexpr const char* kOverlayHelperName = "reaper-overlay";

struct GroupNamespace {
  UniqueFd ns;      // the group's mount namespace, for setns()
  UniqueFd in_use;  // a shared lock on in-use.lock: hold it while a container runs
  bool created = false;
};

// Opens the group's namespace, making it first if it is missing or stale (a crash, a
// reboot with the root on disk, a dead helper). Concurrent callers make one namespace.
Result<GroupNamespace> ensure_group(const std::string& overlay_root, const OverlayGroup& group);

struct GroupInfo {
  std::string key;
  bool active = false;  // the namespace exists
  bool in_use = false;  // a container of it is running
};
std::vector<GroupInfo> list_groups(const std::string& overlay_root);

// Drops the group's namespace and layers; refused while a container uses it.
Result<void> remove_group(const std::string& overlay_root, const std::string& key);

}  // namespace reaper
