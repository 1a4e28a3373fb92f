#pragma once
// The containers of one shim (one pod) and what the Task API does to them: the logic
// behind every request, in terms of processes and their state machines
// (process_state.hpp). TaskService only decodes requests, makes one call here and
// encodes the answer. Each process is run by a core monitor (fork-first, child
// subreaper, exit recorded on disk before anyone is told); this layer keeps the
// protocol view: states, waiters, IO, and events in containerd's order.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/streambuf.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/container.hpp"
#include "events.pb.h"
#include "shim.pb.h"
#include "shim/async_wait.hpp"
#include "shim/options.hpp"
#include "shim/process_io.hpp"
#include "shim/process_state.hpp"
#include "shim/publisher.hpp"

namespace reaper::shim {

template <class T>
using Done = std::function<void(Result<T>)>;

// Which process a request is about: a container's init (exec_id "") or one of its execs.
struct ProcessRef {
  std::string id, exec_id;
};

struct ProcessView {  // what State answers
  std::string id, bundle;
  pid_t pid = 0;
  ProcState state = ProcState::kCreated;
  IoPaths paths;
  ExitInfo exit;
};

struct Deleted {
  pid_t pid = 0;
  ExitInfo exit;
};

class Tasks {
 public:
  Tasks(boost::asio::io_context& io, const Options& opts, Publisher& publisher);

  void create(const containerd::task::v2::CreateTaskRequest& req, Done<pid_t> done);
  void start(const ProcessRef& ref, Done<pid_t> done);
  void remove(const ProcessRef& ref, Done<Deleted> done);
  Result<void> exec(const containerd::task::v2::ExecProcessRequest& req);
  // Answered once the process's exit has been reported, however long that takes.
  void wait(const ProcessRef& ref, Done<ExitInfo> done);
  Result<ProcessView> state(const ProcessRef& ref);
  Result<std::vector<pid_t>> pids(const std::string& id);
  Result<void> kill(const ProcessRef& ref, int signal, bool all);
  Result<void> pause(const std::string& id);
  Result<void> resume(const std::string& id);
  Result<void> update(const std::string& id);
  Result<void> resize_pty(const ProcessRef& ref, unsigned rows, unsigned cols);
  Result<void> close_io(const ProcessRef& ref);
  pid_t init_pid(const std::string& id);  // 0 when unknown
  // A container this shim serves or is creating.
  bool knows(const std::string& id) const { return containers_.count(id) || creating_.count(id); }
  // containerd asks after every deleted task; we leave only when nothing is left.
  void shutdown();
  // The daemon reaped a child (`wait_status` as waitpid gives it): the workload of a
  // monitor that ended before it, whose real exit this is (docs/shim.md, "No exit is
  // lost") or of a pod sandbox (which never had a monitor), or a monitor or an orphan,
  // which are nobody's task.
  void reaped(pid_t pid, int wait_status);

  bool empty() const { return containers_.empty() && creating_.empty() && loggers_stopping_ == 0; }
  std::function<void()> on_shutdown;

 private:
  struct Process {
    explicit Process(std::string exec) : exec_id(std::move(exec)), machine(exec_id.empty()) {}
    std::string exec_id;  // "" for the container's init process
    pid_t pid = 0;
    ProcessMachine machine;
    oci::Process spec;  // exec processes: what to run at Start
    std::shared_ptr<ProcessIo> io;
    IoPaths paths;
    std::unique_ptr<boost::asio::posix::stream_descriptor> notify;
    std::shared_ptr<boost::asio::streambuf> notify_buf;
    UniqueFd monitor;        // pidfd of its monitor: Delete waits for it to end
    bool launching = false;  // an exec's Start waits for its monitor's report
    // An exec's launch begun at its Exec request (tasks_standby.cpp): its IO open, its
    // monitor set up and waiting for `start` on `go`.
    struct Standby {
      std::shared_ptr<ProcessIo> io;
      std::shared_ptr<PendingCreate> pending;
      UniqueFd go;
    };
    std::optional<Standby> standby;
    // A started standby's go pipe (moved here from `standby` at Start), written once its
    // workload's "pid" line (sent at Exec) has been handled: that work is then done
    // before the monitor runs, not beside it.
    UniqueFd go;
    // Adoption: a pidfd of the workload, which stamps when it ended (`ended_ns`). Used
    // only once its monitor has ended without recording the exit (`adopted`): the
    // workload then is our child, signalled through this pidfd and reaped by the
    // daemon (`reaped`, its real status).
    ProcessWatch workload;
    int64_t ended_ns = 0;
    bool adopted = false;
    bool never_ran = false;  // its monitor ended before Start
    // An init's Start waits for its monitor's answer on the loop; an exit (or the
    // monitor's end) seen meanwhile is handled once Start is done, so that TaskStart
    // always precedes TaskExit.
    bool starting = false;
    std::vector<std::function<void()>> after_start;
    // A pod sandbox has no monitor: its monitor.lock and running.lock are held here
    // until its exit is recorded (core/sandbox_process.hpp).
    std::vector<UniqueFd> held_locks;
    std::optional<AdoptedExit> reaped;
    std::vector<Done<ExitInfo>> waiters;
  };

  struct Container {
    std::string id, bundle;
    Process init{""};
    std::map<std::string, std::unique_ptr<Process>> execs;
    bool init_exit_held = false;  // init exited; its exit waits for the running execs'
    bool deleting = false;        // Delete waits for the monitors to end
    // The mount namespace its processes are in (st_dev, st_ino of /proc/PID/ns/mnt), to
    // know its processes among our children once a monitor is gone (`adoption`).
    std::optional<std::pair<dev_t, ino_t>> mount_ns;
    bool adoption = false;
    // A pod sandbox: its process is our own child from Create on (adopted, in the words
    // above, without ever having had a monitor), no monitor's tree to look at.
    bool sandbox = false;
  };

  struct Target {
    Container& c;
    Process& p;
  };
  // The one lookup every request starts with: NOT_FOUND for an unknown id or exec id.
  Result<Container*> container(const std::string& id);
  Result<Target> lookup(const ProcessRef& ref);

  struct Creating;
  void launch_init(std::shared_ptr<Creating> cr, Done<pid_t> done);
  void launch_sandbox(std::shared_ptr<Creating> cr, Done<pid_t> done);
  void drop_stale_record(const std::string& id);
  void publish_created(const containerd::task::v2::CreateTaskRequest& req, pid_t pid);
  void create_failed(std::shared_ptr<Creating> cr, Error e, Done<pid_t> done);
  std::unique_ptr<Container> new_container(const Creating& cr, pid_t pid);
  void created(std::shared_ptr<Creating> cr, LineRead report, Done<pid_t> done);
  // An init's Start: the checks, the request to its monitor; the answer, read on the
  // loop, goes to started_init.
  void start_init(Container& c, Process& p, Done<pid_t> done);
  Result<void> can_start_init(Container& c, Process& p);
  Result<pid_t> started_init(Container& c, Process& p);
  void start_failed(const std::string& id, Error error, Done<pid_t> done);
  void start_exec(Container& c, Process& p, Done<pid_t> done);
  ExecOptions exec_options(const Container& c, const Process& p, const ProcessIo& pio) const;
  void launch_exec(Container& c, Process& p, std::shared_ptr<ProcessIo> pio, Done<pid_t> done);
  void await_exec_report(const ProcessRef& ref, std::shared_ptr<PendingCreate> pending,
                         std::shared_ptr<ProcessIo> pio, Done<pid_t> done);
  // The standby (tasks_standby.cpp): made once Exec is answered, used by Start (false:
  // there was none fit to use, and Start launches from scratch), dropped by Delete (the
  // pidfd of its monitor, which then ends by itself).
  void prepare_standby(const ProcessRef& ref);
  bool start_standby(Container& c, Process& p, Done<pid_t>& done);
  UniqueFd drop_standby(Process& p);
  // The report of an exec's launch: "pid PID" (the workload announcing itself), then
  // "ok PID" or "error …"; EOF after "pid PID" means the monitor died and the workload
  // is adopted (exec_adopted), EOF before it that nothing was started.
  void exec_reported(const ProcessRef& ref, std::shared_ptr<PendingCreate> pending,
                     std::shared_ptr<ProcessIo> pio, LineRead report, Done<pid_t> done);
  void exec_launched(const ProcessRef& ref, std::shared_ptr<PendingCreate> pending,
                     std::shared_ptr<ProcessIo> pio, LineRead report, Done<pid_t> done);
  void exec_adopted(Container& c, Process& p, std::shared_ptr<PendingCreate> pending,
                    std::shared_ptr<ProcessIo> pio, Done<pid_t> done);
  void exec_launch_ended();
  void remove_exec(Container& c, Process& p, Done<Deleted> done);
  void remove_init(Container& c, Process& p, Done<Deleted> done);
  void removed_init(const std::string& id, Done<Deleted> done);
  // Calls `then` once every logging binary behind `loggers` (pidfds; empty ones are
  // skipped) has ended, at once without one; the shim does not shut down meanwhile.
  void after_loggers(std::vector<UniqueFd> loggers, std::function<void()> then);
  // Waits for the monitor behind `report`'s pidfd when its report was not "ok PID", so
  // that finishing a failed launch never blocks on it.
  void after_failed_report(UniqueFd& monitor, const LineRead& report, std::function<void()> next);

  void watch_exit(Container& c, Process& p, std::shared_ptr<boost::asio::streambuf> buf = nullptr);
  void watch_workload(const std::string& id, Process& p);
  // The monitor's report pipe closed without an exit line: the exit is on disk, or the
  // workload is adopted and its exit comes with reaped().
  void monitor_lost(const std::string& id, const std::string& exec_id);
  void adopted_ended(const std::string& id, Process& p);
  // An exit, reported once the process's output has been read; `after` runs then.
  void process_ended(const std::string& id, const std::string& exec_id, ExitInfo e,
                     std::function<void()> after = {});
  void exited(const std::string& id, const std::string& exec_id, ExitInfo e);
  // `sig` to every process of the container: through the live monitors' trees, and to
  // the adopted workloads and theirs.
  void signal_all(Container& c, int sig);
  std::vector<const Process*> adopted_alive(const Container& c) const;
  // Our live children that belong to the container: adopted workloads, and what they
  // left when they ended (re-parented to us), found by the container's mount namespace.
  std::vector<pid_t> adopted_roots(const Container& c) const;
  void report_exit(Container& c, Process& p);
  void answer_waiters(Process& p);
  void end_if_init_ended(const Container& c, const Process& p);
  bool execs_running(const Container& c) const;
  void kill_leftovers(const std::string& id);  // SIGKILL to every process of the container
  void abandon(Process& p);
  void maybe_shut_down();

  boost::asio::io_context& io_;
  Options opts_;
  Publisher& publisher_;
  Containers runtime_;
  std::map<std::string, std::unique_ptr<Container>> containers_;
  std::set<std::string> creating_;  // ids whose Create waits for the monitor's report
  bool shutdown_requested_ = false;
  size_t loggers_stopping_ = 0;  // Deletes waiting for their logging binaries to end
  // While an exec's launch is in flight (from its monitor's fork, a standby's from its
  // Start, to its report), a child reaped before its "pid PID" line was read may be that exec's
  // workload (its monitor died): its exit is kept here until the line is read, and
  // forgotten once no launch is in flight.
  size_t exec_launches_ = 0;
  std::map<pid_t, AdoptedExit> unclaimed_;
};

}  // namespace reaper::shim
