#pragma once
// The host process table, read from /proc. A container's processes are every
// descendant of its monitor: the monitor is a child subreaper, so children that
// double-fork and setsid to escape are re-parented to it and stay in the tree.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace reaper {

struct ProcInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  char state = '?';          // R, S, D, Z, T…
  uint64_t utime_ticks = 0;  // user CPU time, clock ticks
  uint64_t stime_ticks = 0;  // system CPU time, clock ticks
  uint64_t children_ticks = 0;  // user + system time of its waited-for children
  uint64_t minor_faults = 0;
  uint64_t major_faults = 0;
  uint64_t start_ticks = 0;  // start time after boot, clock ticks (process identity)
  uint64_t rss_pages = 0;
  std::string comm;
};

Result<ProcInfo> read_proc(pid_t pid);
std::vector<ProcInfo> read_all_procs();

// Live (non-zombie) descendants of any of `roots`, roots excluded, parents first.
std::vector<ProcInfo> descendants(const std::vector<pid_t>& roots);

// Sends `sig` to every live descendant of `roots`. With SIGKILL it repeats until none
// is left alive, so processes forked while it ran are caught too.
void signal_descendants(const std::vector<pid_t>& roots, int sig);

}  // namespace reaper
