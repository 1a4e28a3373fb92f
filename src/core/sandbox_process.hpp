#pragma once
// A pod sandbox without a monitor of its own.
//
// A sandbox runs `reaper-sandbox`, which holds a pid for the pod's life and only waits for
// a signal: it forks nothing, writes nothing and needs no overlay, so a monitor in front
// of it (a process, a fork and half a megabyte of memory per pod) would watch nothing. A
// caller that waits for its children anyway (the shim: a child subreaper on an event
// loop) spawns it as its own child instead, watches it through a pidfd and keeps its
// record in a monitor's stead: state.json (`shimPid` names that caller, `monitorPid` is
// 0) and the two locks, held until the exit is recorded, so `reaper list`, `state`,
// `wait` and `ps` see it as any other container. The exit is recorded as an adopted
// workload's is (Containers::record_adopted_exit, container_adopt.cpp).
//
// `reaper-sandbox --parent PID` ends with its parent (PR_SET_PDEATHSIG): a shim that is
// killed takes its sandbox along, as a monitor's death would leave it to containerd's
// cleanup, so nothing is left that nobody watches.
#include <sys/types.h>

#include <map>
#include <string>

#include "core/fd.hpp"

namespace reaper {

// The CRI marks a pod sandbox by its annotation; the command is never looked at.
bool is_pod_sandbox(const std::map<std::string, std::string>& annotations);

struct SandboxProcess {
  pid_t pid = -1;
  UniqueFd pidfd;  // readable once it has ended; it is the caller's child, to reap
  // Held by the caller in a monitor's stead until the exit is recorded (state_store.hpp).
  UniqueFd monitor_lock, running_lock;
};

}  // namespace reaper
