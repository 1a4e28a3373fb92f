#pragma once
// Overlay groups on disk and their mount namespaces (host side).
//
//   <overlay root>/            a private bind of itself (.self-bind says reaper made it)
//     .lock                    shared while a group is set up, exclusive to drop the bind
//     <group key>/   0700
//       lock          flock()ed while the group is made, checked or removed
//       in-use.lock   flock(LOCK_SH)ed by the monitor of every container of the group;
//                     its mtime is the group's last use
//       mnt           bind mount of the group's mount namespace (nsfs): it keeps the
//                     namespace alive without any process
//       layers/       a tmpfs of the group's size limit (REAPER_OVERLAY_SIZE), or a plain
//                     directory on the root's filesystem when the limit is 0
//         index       "N<TAB>host path" for each layer: numbers stay with their path
//         N/{upper,work}   the writable layers (0 is the host's /)
//       merged/       where the overlay was assembled before pivot_root
//       build.log     what the helper did: layers, binds, masks
//
// Every path below the root is opened one component at a time (core/beneath.hpp): an
// entry planted there (a symlink, a FIFO, a foreign mount) is an error naming it, and
// nothing outside the root is ever created, written or removed. Inside every group's
// namespace the root is covered by an empty read-only tmpfs (overlay_namespace.hpp).
//
// The namespace is made by the overlay helper (the `reaper-overlay` personality), run
// as a fresh process; see overlay_namespace.hpp.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/node_config.hpp"
#include "core/overlay_group.hpp"

namespace reaper {

inline constexpr const char* kOverlayHelperName = "reaper-overlay";

struct OverlayOptions {
  std::string root;
  uint64_t size = 0;  // a new group's layer tmpfs, bytes; 0: layers on the root's filesystem
  int lock_timeout_ms = 40000;
};
OverlayOptions overlay_options(const NodeConfig& node);

struct GroupNamespace {
  UniqueFd ns;      // the group's mount namespace, for setns()
  UniqueFd in_use;  // a shared lock on in-use.lock: hold it while a container runs
  bool created = false;
};

// Opens the group's namespace, making it first if it is missing or stale (a crash, a
// reboot with the root on disk, a dead helper). Concurrent callers make one namespace.
// The layer tmpfs gets `options.size` when it is made; an existing one keeps its own.
Result<GroupNamespace> ensure_group(const OverlayOptions& options, const OverlayGroup& group);

// Marks the group's last use (now) and lets go of the shared lock.
void release_group(UniqueFd& in_use);

struct GroupInfo {
  std::string key;
  bool active = false;  // the namespace exists
  bool in_use = false;  // a container of it is running
  bool limited = false;  // the layers are a tmpfs of `limit_bytes`
  uint64_t used_bytes = 0, limit_bytes = 0;
  int64_t last_use_ns = 0;  // 0: never used
  std::string problem;      // a planted or broken entry: what is wrong with it
};
std::vector<GroupInfo> list_groups(const std::string& overlay_root);

// Drops the group's namespace and layers; refused while a container uses it. A group
// entry that is not a directory (a planted symlink) is unlinked, never followed.
// With the last group goes the root's self-bind.
Result<void> remove_group(const std::string& overlay_root, const std::string& key,
                          int lock_timeout_ms = 40000);

// Removes every group no container uses whose last use is at least `idle_ns` ago.
// Never waits for a lock: a group being set up or removed is left for the next run.
struct Collection {
  std::vector<std::string> removed;
  std::vector<std::string> kept;    // "key: why"
  std::vector<Error> errors;
};
Collection collect_idle_groups(const std::string& overlay_root, int64_t idle_ns);

// The writable layers of a group, from its layers/index: which host directory each
// covers and where its upper directory is on the host. For readers of a group's
// changes (reaper overlay diff); empty when the group was never built.
// <group>/layers as it is now: the group's tmpfs (limited) or a plain directory.
struct LayersDir {
  UniqueFd fd;
  bool tmpfs = false;
};
Result<LayersDir> open_layers_dir(int group_fd, const std::string& group_path);

struct GroupLayer {
  int index = 0;
  std::string host_path;  // "/" for layer 0
  std::string upper_dir;  // <root>/<key>/layers/<index>/upper
};
Result<std::vector<GroupLayer>> group_layers(const std::string& overlay_root, const std::string& key);

}  // namespace reaper
