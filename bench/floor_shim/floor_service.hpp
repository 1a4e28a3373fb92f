#pragma once
// The Task API of the floor shim (floor_shim.cpp says what the floor is for). It keeps
// the states containerd expects of one task and its execs, in containerd's order, and
// runs nothing. Every pid it reports is the daemon's own: there is no other process.
//
// What "runs" and for how long:
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
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/fd.hpp"
#include "shim/publisher.hpp"
#include "ttrpc/server.hpp"

namespace floor_shim {

class FloorService {
 public:
  // `stop` ends the daemon: called after a Shutdown once the task is deleted.
  FloorService(reaper::shim::Publisher& publisher, std::function<void()> stop)
      : publisher_(publisher), stop_(std::move(stop)) {}

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
    std::vector<reaper::UniqueFd> io;                   // those FIFOs, held until the exit
  };

  Process* find(const std::string& id, const std::string& exec_id);
  static bool open_io(Process& p, reaper::ttrpc::Reply& reply);
  template <class Request>
  Process* lookup(Request& req, const std::string& payload, reaper::ttrpc::Reply& reply);
  void exit(Process& p, const std::string& exec_id, uint32_t status);
  void publish_started(const std::string& exec_id);

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
  std::function<void()> stop_;
  // The one task of this daemon.
  std::string id_, bundle_;
  bool created_ = false, deleted_ = false;
  bool long_running_ = false;  // the init stays running after Start
  Process init_;
  std::map<std::string, Process> execs_;
};

}  // namespace floor_shim
