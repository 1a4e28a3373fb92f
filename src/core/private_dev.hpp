#pragma once
// A container's own /dev, for the files kubelet binds below it.
//
// Every group binds the host's /dev in, live; a bind mount at /dev/termination-log
// would need its mount point created there, i.e. in the host's devtmpfs. So a
// container with such a mount (a regular file bound below /dev: kubelet's
// terminationMessagePath) gets, in its own mount namespace only, a small tmpfs over
// /dev that mirrors the host's at that moment:
//   device nodes   made again (same type, numbers, mode, owner) in the tmpfs
//   symlinks       made again (fd, stdin, ptmx -> pts/ptmx, ...)
//   directories    the host's, bound recursively (pts, shm, mqueue, net, ...: live)
//   anything else  and every mount point (sockets such as /dev/log, a masked file):
//                  the host's, bound
// The file mounts are then attached inside the tmpfs. Nothing is created, changed
// or mounted in the host's /dev, and the container's mounts are made slaves first so
// nothing propagates back to the group or the host.
#include <sys/types.h>

#include <string>

#include "core/error.hpp"

namespace reaper {

struct PrivateDev {
  dev_t dev = 0;  // the tmpfs's st_dev: what may be written below /dev
};

// In the container's own (already unshared) mount namespace.
Result<PrivateDev> make_private_dev();

// The mount point for a file mount at `target` (resolved, below /dev): refused unless
// every existing part of the path is in the private tmpfs (not a host directory bound
// into it, such as /dev/shm); missing directories and the file are created there.
Result<void> make_dev_mount_point(const PrivateDev& dev, const std::string& target);

}  // namespace reaper
