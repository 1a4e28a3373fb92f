#pragma once
// The Task API (containerd.task.v2.Task) of one shim daemon, which serves every
// container of a pod. Each process is run by a core monitor (fork-first, child
// subreaper, exit recorded on disk before anyone is told); the daemon keeps the
// protocol view: states, waiters, IO and events in containerd's order.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/streambuf.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/container.hpp"
#include "shim/options.hpp"
#include "shim/process_io.hpp"
#include "shim/publisher.hpp"
#include "ttrpc/server.hpp"

namespace reaper::shim {

class TaskService {
 public:
  TaskService(boost::asio::io_context& io, const Options& opts, Publisher& publisher);

  // The ttrpc handler: dispatches on (service, method).
  void handle(ttrpc::Call&& call, ttrpc::Reply reply);

  bool empty() const { return containers_.empty(); }
  // Set by the daemon: called when a Shutdown asked us to exit and nothing is left.
  std::function<void()> on_shutdown;

 private:
  enum class Phase { kRegistered, kCreated, kRunning, kPaused, kStopped };

  struct Process {
    std::string exec_id;  // "" for the container's init process
    pid_t pid = 0;
    Phase phase = Phase::kRegistered;
    uint32_t exit_status = 0;
    int64_t exited_ns = 0;
    bool exit_published = false;
    oci::Process spec;  // exec processes: what to run at Start
    std::shared_ptr<ProcessIo> io;
    IoPaths paths;
    std::unique_ptr<boost::asio::posix::stream_descriptor> notify;
    std::shared_ptr<boost::asio::streambuf> notify_buf;
    std::vector<ttrpc::Reply> waiters;
  };

  struct Container {
    std::string id, bundle;
    Process init;
    std::map<std::string, std::unique_ptr<Process>> execs;
    bool init_exit_held = false;  // init exited; its exit waits for the running execs'
  };

  using Handler = void (TaskService::*)(const std::string&, ttrpc::Reply&);
  void state(const std::string& payload, ttrpc::Reply& reply);
  void create(const std::string& payload, ttrpc::Reply& reply);
  void start(const std::string& payload, ttrpc::Reply& reply);
  void remove(const std::string& payload, ttrpc::Reply& reply);
  void pids(const std::string& payload, ttrpc::Reply& reply);
  void pause(const std::string& payload, ttrpc::Reply& reply);
  void resume(const std::string& payload, ttrpc::Reply& reply);
  void checkpoint(const std::string& payload, ttrpc::Reply& reply);
  void kill(const std::string& payload, ttrpc::Reply& reply);
  void exec(const std::string& payload, ttrpc::Reply& reply);
  void resize_pty(const std::string& payload, ttrpc::Reply& reply);
  void close_io(const std::string& payload, ttrpc::Reply& reply);
  void update(const std::string& payload, ttrpc::Reply& reply);
  void wait(const std::string& payload, ttrpc::Reply& reply);
  void stats(const std::string& payload, ttrpc::Reply& reply);
  void connect(const std::string& payload, ttrpc::Reply& reply);
  void shutdown(const std::string& payload, ttrpc::Reply& reply);

  Container* find(const std::string& id);
  Process* find_process(Container& c, const std::string& exec_id);
  // Lookups that answer NOT_FOUND themselves when they come back empty.
  Container* find_or_reply(const std::string& id, ttrpc::Reply& reply);
  Process* find_process_or_reply(Container& c, const std::string& exec_id, ttrpc::Reply& reply);
  void answer_waiters(Process& p);
  void watch_exit(Container& c, Process& p);
  void exited(const std::string& id, const std::string& exec_id, uint32_t status, int64_t ns);
  void finish_exit(Container& c, Process& p);
  bool execs_running(const Container& c) const;
  void kill_leftovers(const std::string& id);  // SIGKILL to every process of the container
  void publish_exit(const Container& c, const Process& p);
  void abandon(Process& p);
  void maybe_shut_down();

  boost::asio::io_context& io_;
  Options opts_;
  Publisher& publisher_;
  Containers runtime_;
  std::map<std::string, std::unique_ptr<Container>> containers_;
  bool shutdown_requested_ = false;
};

}  // namespace reaper::shim
