#include "shim/task_service.hpp"

#include <unistd.h>

#include "cgroups_v1_metrics.pb.h"
#include "core/log.hpp"
#include "shim.pb.h"
#include "shim/proto_util.hpp"
#include "shim/rpc_error.hpp"
#include "shim/stats.hpp"
#include "version.hpp"

namespace task = containerd::task::v2;
using reaper::ttrpc::Code;
using reaper::ttrpc::Reply;

namespace reaper::shim {
namespace {

constexpr const char* kTaskService = "containerd.task.v2.Task";
constexpr const char* kTaskServiceV3 = "containerd.task.v3.Task";

template <class M>
void reply_ok(Reply& reply, const M& message) {
  reply(ttrpc::Status::ok(), message.SerializeAsString());
}
void reply_error(Reply& reply, const Error& e) { reply(rpc_status(e), ""); }

// Answers a Result: the encoded message, or the error's status.
template <class T, class Encode>
void answer(Reply& reply, const Result<T>& r, Encode encode) {
  if (!r) return reply_error(reply, r.error());
  reply_ok(reply, encode(*r));
}
void answer(Reply& reply, const Result<void>& r) {
  if (!r) return reply_error(reply, r.error());
  reply(ttrpc::Status::ok(), "");
}

template <class M>
bool decode(const std::string& payload, M& message, Reply& reply) {
  if (message.ParseFromString(payload)) return true;
  // A decoding failure of the transport, not of the request's meaning: ttrpc's own code.
  reply(ttrpc::Status{Code::Internal, "ttrpc: error unmarshalling payload"}, "");
  return false;
}

template <class Request>
ProcessRef ref(const Request& req) {
  return {req.id(), req.exec_id()};
}

containerd::v1::types::Status wire_status(ProcState s) {
  switch (s) {
    case ProcState::kCreated: return containerd::v1::types::CREATED;
    case ProcState::kRunning: return containerd::v1::types::RUNNING;
    case ProcState::kPaused: return containerd::v1::types::PAUSED;
    case ProcState::kStopped:
    case ProcState::kDeleted: return containerd::v1::types::STOPPED;
  }
  return containerd::v1::types::UNKNOWN;
}

task::WaitResponse encode_exit(const ExitInfo& e) {
  task::WaitResponse resp;
  resp.set_exit_status(e.status);
  set_time(resp.mutable_exited_at(), e.ns);
  return resp;
}

task::StateResponse encode_state(const ProcessView& v) {
  task::StateResponse resp;
  resp.set_id(v.id);
  resp.set_bundle(v.bundle);
  resp.set_pid(static_cast<uint32_t>(v.pid));
  resp.set_status(wire_status(v.state));
  resp.set_stdin(v.paths.stdin_path);
  resp.set_stdout(v.paths.stdout_path);
  resp.set_stderr(v.paths.stderr_path);
  resp.set_terminal(v.paths.terminal);
  resp.set_exit_status(v.exit.status);
  if (v.state == ProcState::kStopped) set_time(resp.mutable_exited_at(), v.exit.ns);
  else set_unset_time(resp.mutable_exited_at());
  return resp;
}

task::PidsResponse encode_pids(const std::vector<pid_t>& pids) {
  task::PidsResponse resp;
  for (pid_t pid : pids) resp.add_processes()->set_pid(static_cast<uint32_t>(pid));
  return resp;
}

}  // namespace

TaskService::TaskService(boost::asio::io_context& io, const Options& opts, Publisher& publisher)
    : tasks_(io, opts, publisher) {}

void TaskService::handle(ttrpc::Call&& call, Reply reply) {
  if (call.service != kTaskService && call.service != kTaskServiceV3)
    return reply_error(reply, Error{0, "service " + call.service, ErrorKind::kUnimplemented});
  static const std::map<std::string, Handler, std::less<>> methods = {
      {"State", &TaskService::state},         {"Create", &TaskService::create},
      {"Start", &TaskService::start},         {"Delete", &TaskService::remove},
      {"Pids", &TaskService::pids},           {"Pause", &TaskService::pause},
      {"Resume", &TaskService::resume},       {"Checkpoint", &TaskService::checkpoint},
      {"Kill", &TaskService::kill},           {"Exec", &TaskService::exec},
      {"ResizePty", &TaskService::resize_pty}, {"CloseIO", &TaskService::close_io},
      {"Update", &TaskService::update},       {"Wait", &TaskService::wait},
      {"Stats", &TaskService::stats},         {"Connect", &TaskService::connect},
      {"Shutdown", &TaskService::shutdown},
  };
  auto it = methods.find(call.method);
  if (it == methods.end()) return reply_error(reply, Error{0, "method " + call.method, ErrorKind::kUnimplemented});
  log::debug("{} {}", call.method, call.payload.size());
  (this->*(it->second))(call.payload, reply);
}

void TaskService::create(const std::string& payload, Reply& reply) {
  task::CreateTaskRequest req;
  if (!decode(payload, req, reply)) return;
  tasks_.create(req, [reply](Result<pid_t> r) mutable {
    answer(reply, r, [](pid_t pid) {
      task::CreateTaskResponse resp;
      resp.set_pid(static_cast<uint32_t>(pid));
      return resp;
    });
  });
}

void TaskService::start(const std::string& payload, Reply& reply) {
  task::StartRequest req;
  if (!decode(payload, req, reply)) return;
  tasks_.start(ref(req), [reply](Result<pid_t> r) mutable {
    answer(reply, r, [](pid_t pid) {
      task::StartResponse resp;
      resp.set_pid(static_cast<uint32_t>(pid));
      return resp;
    });
  });
}

void TaskService::remove(const std::string& payload, Reply& reply) {
  task::DeleteRequest req;
  if (!decode(payload, req, reply)) return;
  tasks_.remove(ref(req), [reply](Result<Deleted> r) mutable {
    answer(reply, r, [](const Deleted& d) {
      task::DeleteResponse resp;
      resp.set_pid(static_cast<uint32_t>(d.pid));
      resp.set_exit_status(d.exit.status);
      set_time(resp.mutable_exited_at(), d.exit.ns);
      return resp;
    });
  });
}

void TaskService::wait(const std::string& payload, Reply& reply) {
  task::WaitRequest req;
  if (!decode(payload, req, reply)) return;
  tasks_.wait(ref(req), [reply](Result<ExitInfo> r) mutable { answer(reply, r, encode_exit); });
}

void TaskService::state(const std::string& payload, Reply& reply) {
  task::StateRequest req;
  if (!decode(payload, req, reply)) return;
  answer(reply, tasks_.state(ref(req)), encode_state);
}

void TaskService::pids(const std::string& payload, Reply& reply) {
  task::PidsRequest req;
  if (!decode(payload, req, reply)) return;
  answer(reply, tasks_.pids(req.id()), encode_pids);
}

void TaskService::stats(const std::string& payload, Reply& reply) {
  task::StatsRequest req;
  if (!decode(payload, req, reply)) return;
  answer(reply, tasks_.pids(req.id()), [](const std::vector<pid_t>& pids) {
    task::StatsResponse resp;
    pack_any(resp.mutable_stats(), "io.containerd.cgroups.v1.Metrics", tree_metrics(pids));
    return resp;
  });
}

void TaskService::connect(const std::string& payload, Reply& reply) {
  task::ConnectRequest req;
  if (!decode(payload, req, reply)) return;
  // A task this shim does not serve is not found, as a State of it would be: containerd,
  // reloading its tasks after a restart, then cleans up after it (the `delete` action)
  // instead of keeping a task that no call can reach.
  if (!tasks_.knows(req.id()))
    return reply_error(reply, Error{0, "container " + req.id(), ErrorKind::kNotFound});
  task::ConnectResponse resp;
  resp.set_shim_pid(static_cast<uint32_t>(::getpid()));
  resp.set_task_pid(static_cast<uint32_t>(tasks_.init_pid(req.id())));
  resp.set_version(kVersion);
  reply_ok(reply, resp);
}

void TaskService::kill(const std::string& payload, Reply& reply) {
  task::KillRequest req;
  if (!decode(payload, req, reply)) return;
  answer(reply, tasks_.kill(ref(req), static_cast<int>(req.signal()), req.all()));
}

void TaskService::pause(const std::string& payload, Reply& reply) {
  task::PauseRequest req;
  if (!decode(payload, req, reply)) return;
  answer(reply, tasks_.pause(req.id()));
}

void TaskService::resume(const std::string& payload, Reply& reply) {
  task::ResumeRequest req;
  if (!decode(payload, req, reply)) return;
  answer(reply, tasks_.resume(req.id()));
}

void TaskService::checkpoint(const std::string& payload, Reply& reply) {
  task::CheckpointTaskRequest req;
  if (!decode(payload, req, reply)) return;
  reply_error(reply, Error{0, "checkpoint: reaper has no CRIU support (host processes are not isolated)",
                           ErrorKind::kUnimplemented});
}

void TaskService::update(const std::string& payload, Reply& reply) {
  task::UpdateTaskRequest req;
  if (!decode(payload, req, reply)) return;
  answer(reply, tasks_.update(req.id()));
}

void TaskService::exec(const std::string& payload, Reply& reply) {
  task::ExecProcessRequest req;
  if (!decode(payload, req, reply)) return;
  answer(reply, tasks_.exec(req));
}

void TaskService::resize_pty(const std::string& payload, Reply& reply) {
  task::ResizePtyRequest req;
  if (!decode(payload, req, reply)) return;
  answer(reply, tasks_.resize_pty(ref(req), req.height(), req.width()));
}

void TaskService::close_io(const std::string& payload, Reply& reply) {
  task::CloseIORequest req;
  if (!decode(payload, req, reply)) return;
  answer(reply, tasks_.close_io(ref(req)));
}

void TaskService::shutdown(const std::string& payload, Reply& reply) {
  task::ShutdownRequest req;
  if (!decode(payload, req, reply)) return;
  // Answered before the daemon may stop: containerd asks after every deleted task.
  reply(ttrpc::Status::ok(), "");
  tasks_.shutdown();
}

}  // namespace reaper::shim
