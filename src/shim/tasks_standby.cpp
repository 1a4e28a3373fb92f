// An exec's launch begun at its Exec request rather than at its Start.
//
// containerd's clients take about 15 ms between the two (the client opens its FIFOs and
// asks for Wait first), more than a launch takes. So once Exec is answered the exec's IO
// is opened and its monitor forked with a go pipe (MonitorSpec::go_fd): it spawns the
// workload, which joins the container's namespace, takes its credentials and finds its
// program, and holds it before execve, as an init is held between Create and Start.
// Start has `start` written there once the workload's "pid" line is handled
// (exec_reported): the monitor opens the gate, records the start and reports as for any
// launch (await_exec_report). Nothing runs before Start, and nothing of the
// exec is on disk or in Pids until then (the held workload has no state.json yet).
//
// The standby is an optimisation, never a second way to fail: anything that keeps it
// from being made, or a monitor found dead at Start, leaves Start to launch from scratch
// and report what goes wrong. Delete drops it: the go pipe closes, the monitor kills the
// held workload and ends.
#include <poll.h>

#include "core/control_socket.hpp"
#include "core/line_protocol.hpp"
#include "core/log.hpp"
#include "shim/binary_logger.hpp"
#include "shim/tasks.hpp"

namespace reaper::shim {

void Tasks::prepare_standby(const ProcessRef& ref) {
  auto t = lookup(ref);
  if (!t) return;
  Container& c = t->c;
  Process& p = t->p;
  if (p.standby || p.launching || p.machine.state() != ProcState::kCreated ||
      c.init.machine.state() != ProcState::kRunning)
    return;
  // A logging binary is started with the launch it logs, at Start.
  if (auto logger = parse_logger_uri(p.paths.stdout_path); !logger || *logger) return;
  auto pio = ProcessIo::open(io_, p.paths, p.exec_id, opts_.ns);
  if (!pio) return;
  int go[2];
  if (::pipe2(go, O_CLOEXEC) != 0) return (*pio)->close();
  UniqueFd go_read(go[0]), go_write(go[1]);
  ExecOptions eo = exec_options(c, p, **pio);
  eo.go_fd = go_read.get();
  auto pending = runtime_.begin_exec(eo);
  if (!pending) return (*pio)->close();
  if (!pending->launch.monitor) {
    // No pidfd (out of fds): nothing would see this monitor end. It ends now, on the go
    // pipe's EOF, with its held workload, and Start launches afresh.
    go_write.reset();
    (*pio)->close();
    if (auto removed = runtime_.remove_exec(c.id, p.exec_id); !removed)
      log::error("{} {}: {}", c.id, p.exec_id, removed.error().describe());
    return;
  }
  p.standby = Process::Standby{*pio, std::make_shared<PendingCreate>(std::move(*pending)), std::move(go_write)};
}

bool Tasks::start_standby(Container& c, Process& p, Done<pid_t>& done) {
  Process::Standby standby = std::move(*p.standby);
  p.standby.reset();
  UniqueFd& monitor = standby.pending->launch.monitor;
  pollfd ended{monitor.get(), POLLIN, 0};
  if (!monitor || ::poll(&ended, 1, 0) != 0) {
    // Ended (killed, say) while it waited: its fds, locks included, went before its
    // pidfd became readable, so its directory goes at once and Start begins afresh.
    log::warn("{} {}: the monitor made ready at Exec has ended; launching afresh", c.id, p.exec_id);
    standby.io->close();
    if (auto removed = runtime_.remove_exec(c.id, p.exec_id); !removed)
      log::error("{} {}: {}", c.id, p.exec_id, removed.error().describe());
    return false;
  }
  // `start` goes out once the report's first line, already there, has been handled
  // (exec_reported). Should the monitor die meanwhile, its report ends without a
  // further line: a launch whose monitor died before starting anything, answered as such.
  // A launch in flight from here: its workload's exit, should the daemon reap it before
  // the "pid" line is read, waits in unclaimed_. (Before Start, a held workload reaped
  // by the daemon means its monitor died, and Start launches afresh.)
  ++exec_launches_;
  p.go = std::move(standby.go);
  p.launching = true;
  await_exec_report({c.id, p.exec_id}, standby.pending, standby.io, std::move(done));
  return true;
}

UniqueFd Tasks::drop_standby(Process& p) {
  if (!p.standby) return {};
  p.standby->io->close();
  UniqueFd monitor = std::move(p.standby->pending->launch.monitor);
  p.standby.reset();  // the go pipe closes: the monitor kills the held workload and ends
  return monitor;
}

}  // namespace reaper::shim
