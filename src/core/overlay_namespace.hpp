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
//  5. replace an /etc/resolv.conf symlink by a copy, mask sensitive files.
// The caller, still in the host namespace, then binds /proc/<helper>/ns/mnt to the
// group's `mnt` file; only a bind made from the host namespace is visible there.
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/node_config.hpp"

namespace reaper {

// Steps 1-5 in the calling process; `log` gets one line per decision.
Result<void> build_group_namespace(const NodeConfig& config, const std::string& group_dir,
                                   std::vector<std::string>& log);

}  // namespace reaper
