#pragma once
// Container metrics without cgroups: the CPU time and memory of the container's
// process tree, read from /proc, in the cgroup v1 Metrics type containerd decodes.
#include <sys/types.h>

#include <vector>

#include "cgroups_v1_metrics.pb.h"

namespace reaper::shim {

io::containerd::cgroups::v1::Metrics tree_metrics(const std::vector<pid_t>& pids);

}  // namespace reaper::shim
