#pragma once
// Fork-first spawning of a workload process on the host.
//
// The child sets itself up (session, stdio, rlimits, credentials, cwd), finds its
// executable, and reports READY over a close-on-exec status pipe; a gated child then
// waits for open_gate() before it execs. The exec outcome arrives on the same pipe: EOF
// means execve succeeded (the pipe closed with the exec), a record carries its errno.
// Whoever called spawn() is the parent, and so the one that waits for the child.
#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/oci_spec.hpp"

namespace reaper {

struct Stdio {
  int in = -1, out = -1, err = -1;  // fds in the parent; -1 means /dev/null
  bool controlling_tty = false;     // `in` is a PTY slave to become the controlling tty
};

struct Spawned {
  pid_t pid = -1;
  UniqueFd pidfd;   // readable once the process has exited
  UniqueFd status;  // the child's status pipe (read end)
  UniqueFd gate;    // write end of the start gate (gated spawns only)
  // The child's stack, its argv and environment: the child runs in our memory until its
  // execve (spawn.cpp), so this is kept until it has exec'd or been reaped.
  std::shared_ptr<void> memory;
};

// Why an exec failed: errno, the message the workload printed on its stderr, and the
// exit status it then exited with (127 not found, 126 not executable).
struct ExecFailure {
  int error = 0;
  std::string message;
  int exit_status = 0;
};

// Starts the workload's child (a clone that shares our memory until its execve, or a
// fork: spawn.cpp says when) and waits until it is set up. With `gated`, the child then holds
// before execve until open_gate(); otherwise it execs at once. A setup failure
// (credentials, cwd, rlimits, an executable that is missing or not executable) is
// returned as an error and the child is reaped.
// `enter`, if set, runs first in the child (after its signals are reset): it moves the
// child into the workload's mounts (container_mounts.hpp), or for a pod sandbox blocks
// the signals it will wait for; its error fails the spawn.
using EnterFn = std::function<Result<void>()>;
Result<Spawned> spawn(const oci::Process& process, const Stdio& stdio, bool gated,
                      const EnterFn& enter = {});

// Lets a gated child exec, without waiting for the execve.
void open_gate(Spawned& child);
// The exec outcome, once known: ok once execve succeeded, or the failure (the child then
// exits with failure.exit_status; the caller still reaps it). After open_gate(), or at
// once for a spawn that was not gated.
std::expected<void, ExecFailure> exec_outcome(Spawned& child);
// open_gate() and exec_outcome().
std::expected<void, ExecFailure> release(Spawned& child);

// Exit status as a shell reports it: the code, or 128 + signal number.
int exit_status_from_wait(int code, int status);

}  // namespace reaper
