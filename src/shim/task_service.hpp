#pragma once
// The Task API (containerd.task.v2.Task, and v3's identical methods) of one shim
// daemon, as an edge: each handler decodes its request, makes one call into Tasks
// (tasks.hpp, where the logic and the process state machines live) and encodes the
// answer; every failure goes out through rpc_status (rpc_error.hpp).
#include <boost/asio/io_context.hpp>
#include <functional>
#include <string>

#include "shim/options.hpp"
#include "shim/publisher.hpp"
#include "shim/tasks.hpp"
#include "ttrpc/server.hpp"

namespace reaper::shim {

class TaskService {
 public:
  TaskService(boost::asio::io_context& io, const Options& opts, Publisher& publisher);

  // The ttrpc handler: dispatches on (service, method).
  void handle(ttrpc::Call&& call, ttrpc::Reply reply);

  bool empty() const { return tasks_.empty(); }
  // Every child the daemon reaps (see Tasks::reaped).
  void reaped(pid_t pid, int wait_status) { tasks_.reaped(pid, wait_status); }
  // Set by the daemon: called when a Shutdown asked us to exit and nothing is left.
  void set_on_shutdown(std::function<void()> f) { tasks_.on_shutdown = std::move(f); }

 private:
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

  Tasks tasks_;
};

}  // namespace reaper::shim
