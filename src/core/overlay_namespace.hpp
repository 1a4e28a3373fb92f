#pragma once
// The overlay helper's work: make a group's mount namespace (helper side).
//
// Run in a fresh process (the `reaper-overlay` personality) that owns nothing else:
//  1. unshare(CLONE_NEWNS) and make every mount a slave: mounts and unmounts the host
//     makes under /proc, /sys, /dev and /run still reach the group; nothing the group
//     mounts ever reaches the host;
//  2. overlay the host's /, and each other host filesystem mounted below it (a separate
//     /var, /home, data disks) with a layer of its own;
//  3. bind the host's /proc, /sys, /dev and /run in (not /tmp: it stays protected);
//  4. pivot_root into the result and drop the old root;
//  5. detach every mount at or below the overlay root that came in with the binds and
//     cover the root with an empty read-only tmpfs: no workload of the group sees its
//     own or another group's layers, locks or namespace files;
//  6. replace an /etc/resolv.conf symlink by a copy, mask sensitive files.
// The group's directories are reached one checked component at a time (beneath.hpp);
// overlayfs gets them as /proc/self/fd paths, so nothing planted there can redirect a
// layer. The caller, still in the host namespace, then binds /proc/<helper>/ns/mnt to
// the group's `mnt` file; only a bind made from the host namespace is visible there.
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/node_config.hpp"

namespace reaper {

// Steps 1-6 in the calling process for group `key` of `overlay_root`; `log` gets one
// line per decision.
Result<void> build_group_namespace(const NodeConfig& config, const std::string& overlay_root,
                                   const std::string& key, std::vector<std::string>& log);

}  // namespace reaper
