#pragma once
// The Task API of the floor shim (floor_shim.cpp says what the floor is for). It keeps
// the states containerd expects of one task and its execs, in containerd's order. In
// the answering floor (`floor`) it runs nothing and every pid it reports is the
// daemon's own; in the physical floor (`floorrun`) each Start really runs the process
// (floor_process.hpp) and everything below about exits is replaced by the next paragraph.
//
// The physical floor: the init's spec is read at Create (a spec that does not parse, or
// has no args, fails Create), an exec's at Exec. Start forks and execs the process with
// its stdio FIFOs (the daemon keeps no copy) and answers with its pid; its end, seen
// through its pidfd on the loop, is its exit with its real status. Kill sends the real
// signal (signal 0 only checks); a Kill of an init not started yet ends it as in the
// answering floor, there being no process to signal. When the init ends, the execs
// still running are killed, as the end of a container's pid namespace kills them, and
// the daemon's Shutdown waits until every child is reaped.
//
// The answering floor, what "runs" and for how long:
// - The init exits with status 0 at its Start, unless the bundle's config.json gives
//   process.args[0] the base name `sleep` (bench/ctr-exec.sh's long-running task is
//   `/bin/sleep 1000`): then it stays running until a Kill with a signal other than 0,
//   and exits with 128 + that signal, as a process ended by a signal would.
// - An exec exits with status 0 at its Start: Exec registers it (TaskExecAdded), Start
//   publishes TaskExecStarted, replies, then records the exit (an exec whose FIFOs do not
//   open fails its Start and ends with status 255, as a failed launch does).
// An exit answers the pending Waits first and then publishes TaskExit (id = the exec id
// for an exec, the container id for the init); a Wait before the exit waits for it.
// A process's stdio FIFOs are opened as a real shim opens them (the init's at Create, an
// exec's at Start: stdout and stderr read-write, which never blocks, stdin read-only and
// non-blocking) and closed at its exit, so that the client's ends open and then see the
// end of the output as with any runtime; a path that is not a plain path (file://,
// binary://) is left alone. State, Kill and Delete answer as a runc shim would for a
// process in that state (see docs/shim.md, "Processes"); State gives no stdio paths.
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/fd.hpp"
#include "core/oci_spec.hpp"
#include "shim/async_wait.hpp"
#include "shim/publisher.hpp"
#include "ttrpc/server.hpp"

namespace floor_shim {

class FloorService {
 public:
  // `physical`: the physical floor (runs the processes on `io`). `stop` ends the
  // daemon: called after a Shutdown once the task is deleted (and its children reaped).
  FloorService(reaper::shim::Publisher& publisher, boost::asio::io_context& io, bool physical,
               std::function<void()> stop)
      : publisher_(publisher), io_(io), physical_(physical), stop_(std::move(stop)) {}

  void handle(reaper::ttrpc::Call&& call, reaper::ttrpc::Reply reply);

 private:
  // The init (exec id "") or one exec.
  struct Process {
    bool started = false;
    bool exited = false;
    uint32_t exit_status = 0;
    int64_t exited_ns = 0;
    std::vector<reaper::ttrpc::Reply> waiters;  // Waits made before the exit
    std::string stdin_path, stdout_path, stderr_path;  // from Create or Exec
    std::array<reaper::UniqueFd, 3> io;                 // those FIFOs, held until the exit
    reaper::oci::Process command;                       // physical: what Start runs
    pid_t pid = 0;                                      // physical: the process, once started
    bool io_open = false;                               // an exec's: opened at Exec
  };

  Process* find(const std::string& id, const std::string& exec_id);
  static reaper::Result<void> open_fifos(Process& p);
  static bool open_io(Process& p, reaper::ttrpc::Reply& reply);
  template <class Request>
  Process* lookup(Request& req, const std::string& payload, reaper::ttrpc::Reply& reply);
  void exit(Process& p, const std::string& exec_id, uint32_t status);
  void publish_started(const std::string& exec_id, uint32_t pid);
  uint32_t pid_of(const Process& p) const;
  bool run(Process& p, const std::string& exec_id, reaper::ttrpc::Reply& reply);
  void ended(pid_t pid, const std::string& exec_id);

  void create(const std::string& payload, reaper::ttrpc::Reply& reply);
  void start(const std::string& payload, reaper::ttrpc::Reply& reply);
  void exec(const std::string& payload, reaper::ttrpc::Reply& reply);
  void wait(const std::string& payload, reaper::ttrpc::Reply& reply);
  void state(const std::string& payload, reaper::ttrpc::Reply& reply);
  void kill(const std::string& payload, reaper::ttrpc::Reply& reply);
  void remove(const std::string& payload, reaper::ttrpc::Reply& reply);
  void connect(reaper::ttrpc::Reply& reply);
  void shutdown(reaper::ttrpc::Reply& reply);

  reaper::shim::Publisher& publisher_;
  boost::asio::io_context& io_;
  bool physical_;
  std::function<void()> stop_;
  std::map<pid_t, reaper::shim::ProcessWatch> children_;  // physical: not reaped yet
  bool stopping_ = false;  // Shutdown came while children_ was not empty
  // The one task of this daemon.
  std::string id_, bundle_;
  bool created_ = false, deleted_ = false;
  bool long_running_ = false;  // the init stays running after Start
  Process init_;
  std::map<std::string, Process> execs_;
};

}  // namespace floor_shim
