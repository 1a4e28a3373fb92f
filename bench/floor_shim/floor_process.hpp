#pragma once
// The processes of the physical floor (containerd-shim-floorrun-v2, floor_shim.cpp): the
// least any runtime must do to run one, so that a runtime's distance from this floor is
// its own overhead and not the machine's price of a process. One fork and one execvp of
// the OCI process's args, with its env and cwd and the stdio FIFOs as fds 0, 1 and 2;
// no rootfs, namespaces, credentials, monitor or state files. The daemon watches the
// child through a pidfd on its event loop and reaps it there (reap below).
#include <sys/types.h>

#include <array>
#include <cstdint>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/oci_spec.hpp"

namespace floor_shim {

struct Child {
  pid_t pid = 0;
  reaper::UniqueFd pidfd;  // readable once the child has ended
};

// Forks and execs `process.args` (args[0] looked up on the process's own PATH). A
// missing stdio fd leaves the daemon's /dev/null in its place. The child cannot report
// a failed chdir or execvp: it exits 127 (not found) or 126 (any other error), as a
// shell does, and its Wait says so.
reaper::Result<Child> spawn(const reaper::oci::Process& process, const std::array<reaper::UniqueFd, 3>& stdio);

// Reaps the ended child `pid` (its pidfd was readable): its exit status as containerd
// reports it, 128 + the signal for a child ended by one.
uint32_t reap(pid_t pid);

}  // namespace floor_shim
