#pragma once
// The stand-in: what a runc caller gets in --pid-file.
//
// Engines that drive runc (containerd's runc shim, conmon under Podman) are child
// subreapers: once `create` exits, the process named in --pid-file is re-parented to them,
// they wait for it and take its exit status as the workload's. reaper's workload is the
// child of its monitor instead (the monitor stays a subreaper over everything the workload
// forks), so the runtime CLI puts a stand-in between the two:
//
//   caller ── stand-in ── monitor ── workload (and its escaped daemons)
//             (pid file)  (subreaper, records the exit)
//
// The stand-in is forked by the CLI and launches the monitor as its own child. Once
// `create` exits it is the caller's child. It joins the workload's mount namespace (so
// /proc/PID/root and ns/mnt show the container's view), forwards every signal sent to it to
// the workload, and when the monitor reports the exit (recorded on disk first) it ends
// exactly as the workload did: the same exit code, or killed by the same signal. When it
// exits the monitor is re-parented to the caller and keeps reaping the container's
// leftovers. If the stand-in is killed (SIGKILL cannot be forwarded), the monitor kills the
// workload, so the caller's view and the workload never disagree.
#include <sys/types.h>

#include "core/error.hpp"
#include "core/monitor.hpp"

namespace reaper {

// True when the calling process's parent adopts the orphans it leaves behind (a child
// subreaper, as runc's callers are): found by orphaning a probe and seeing who adopts it.
// Only then is a stand-in worth having; a person's shell is not one, nor is test/run.
Result<bool> parent_adopts_orphans();

struct StandIn {
  pid_t pid = -1;           // the stand-in: for the pid file and `state`
  pid_t workload_pid = -1;  // the workload, as launch_monitor() reports it
};

// Forks the stand-in, which launches the monitor for `spec` (gated or not, as in the
// spec) and answers once the workload is set up. The stand-in is not waited for here: it
// belongs to whoever inherits it when this process exits.
Result<StandIn> launch_stand_in(MonitorSpec spec);

}  // namespace reaper
