#include "floor_service.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string_view>
#include <utility>

#include "core/files.hpp"
#include "core/oci_spec.hpp"
#include "core/state_store.hpp"
#include "events.pb.h"
#include "floor_process.hpp"
#include "shim.pb.h"
#include "shim/proto_util.hpp"
#include "shim/task_events.hpp"

namespace floor_shim {

namespace task = containerd::task::v2;
namespace events = containerd::events;
using reaper::ttrpc::Code;
using reaper::ttrpc::Reply;
using reaper::ttrpc::Status;

namespace {

uint32_t own_pid() { return static_cast<uint32_t>(::getpid()); }

void close_io(std::array<reaper::UniqueFd, 3>& io) {
  for (auto& fd : io) fd.reset();
}

template <class M>
void ok(Reply& reply, const M& m) {
  reply(Status::ok(), m.SerializeAsString());
}
void ok_empty(Reply& reply) { reply(Status::ok(), ""); }
void refuse(Reply& reply, Code code, std::string message) { reply(Status{code, std::move(message)}, ""); }

template <class M>
bool parse(M& m, const std::string& payload, Reply& reply) {
  if (m.ParseFromString(payload)) return true;
  refuse(reply, Code::InvalidArgument, "floor shim: request does not parse");
  return false;
}

// The init stays running when its command is `sleep` (by base name): the long-running
// task of bench/ctr-exec.sh. A spec that cannot be read counts as any other command.
bool runs_until_killed(const std::string& bundle) {
  auto spec = reaper::oci::load_bundle_spec(bundle);
  if (!spec || spec->process.args.empty()) return false;
  std::string_view cmd = spec->process.args[0];
  if (auto slash = cmd.rfind('/'); slash != std::string_view::npos) cmd.remove_prefix(slash + 1);
  return cmd == "sleep";
}

}  // namespace

void FloorService::handle(reaper::ttrpc::Call&& call, Reply reply) {
  const std::string& m = call.method;
  if (m == "Create") return create(call.payload, reply);
  if (m == "Start") return start(call.payload, reply);
  if (m == "Exec") return exec(call.payload, reply);
  if (m == "Wait") return wait(call.payload, reply);
  if (m == "State") return state(call.payload, reply);
  if (m == "Kill") return kill(call.payload, reply);
  if (m == "Delete") return remove(call.payload, reply);
  if (m == "Connect") return connect(reply);
  if (m == "Shutdown") return shutdown(reply);
  if (m == "CloseIO" || m == "ResizePty" || m == "Update") return ok_empty(reply);
  refuse(reply, Code::Unimplemented, "method " + m);
}

FloorService::Process* FloorService::find(const std::string& id, const std::string& exec_id) {
  if (!created_ || deleted_ || id != id_) return nullptr;
  if (exec_id.empty()) return &init_;
  auto it = execs_.find(exec_id);
  return it == execs_.end() ? nullptr : &it->second;
}

// The process a request names (parsed from `payload` into `req`), or null once the
// reply says why not.
template <class Request>
FloorService::Process* FloorService::lookup(Request& req, const std::string& payload, Reply& reply) {
  if (!parse(req, payload, reply)) return nullptr;
  Process* p = find(req.id(), req.exec_id());
  if (!p) refuse(reply, Code::NotFound, "process does not exist " + req.exec_id());
  return p;
}

// Opens the process's stdio as a shim must (p.io[0..2]: stdin, stdout, stderr); false
// once the reply says why not.
reaper::Result<void> FloorService::open_fifos(Process& p) {
  const std::pair<const std::string*, int> stdio[] = {
      {&p.stdin_path, O_RDONLY | O_NONBLOCK}, {&p.stdout_path, O_RDWR}, {&p.stderr_path, O_RDWR}};
  for (size_t i = 0; i < 3; ++i) {
    const auto& [path, flags] = stdio[i];
    if (path->empty() || path->front() != '/') continue;
    auto fd = reaper::files::open(*path, flags);
    if (!fd) {
      close_io(p.io);
      return std::unexpected(fd.error());
    }
    p.io[i] = std::move(*fd);
  }
  p.io_open = true;
  return {};
}

bool FloorService::open_io(Process& p, Reply& reply) {
  if (p.io_open) return true;
  auto opened = open_fifos(p);
  if (!opened) refuse(reply, Code::Unknown, "floor shim: " + opened.error().describe());
  return opened.has_value();
}

// The pid containerd is told: the process's once the physical floor runs one, else the
// daemon's own.
uint32_t FloorService::pid_of(const Process& p) const {
  return physical_ && p.pid > 0 ? static_cast<uint32_t>(p.pid) : own_pid();
}

// The physical floor's Start: the process forked and exec'd, watched through its pidfd;
// false once the reply says why not (the process then ends with status 255, as a failed
// launch does).
bool FloorService::run(Process& p, const std::string& exec_id, Reply& reply) {
  auto child = spawn(p.command, p.io);
  close_io(p.io);  // the process has its own copies; ours would delay its readers' end of file
  if (!child) {
    refuse(reply, Code::Unknown, "floor shim: " + child.error().describe());
    exit(p, exec_id, 255);
    return false;
  }
  p.pid = child->pid;
  children_[child->pid] = reaper::shim::watch_process_end(
      io_, std::move(child->pidfd), [this, pid = child->pid, exec_id] { ended(pid, exec_id); });
  return true;
}

// A child of the physical floor has ended: reaped, and its exit recorded if its process
// is still known (an exec id may have been deleted, or reused by a later exec).
void FloorService::ended(pid_t pid, const std::string& exec_id) {
  uint32_t status = reap(pid);
  children_.erase(pid);
  Process* p = find(id_, exec_id);
  if (p && p->pid == pid && !p->exited) exit(*p, exec_id, status);
  if (exec_id.empty()) {
    // No pid namespace ends the execs with the init: the floor does what it would.
    for (auto& [id, exec] : execs_) {
      if (exec.pid > 0 && !exec.exited) ::kill(exec.pid, SIGKILL);
    }
  }
  if (stopping_ && children_.empty()) stop_();
}

// The exit of a process: its stdio closes (the client's readers see the end), the
// pending Waits are answered, then TaskExit goes out.
void FloorService::exit(Process& p, const std::string& exec_id, uint32_t status) {
  close_io(p.io);
  p.exited = true;
  p.exit_status = status;
  p.exited_ns = reaper::now_ns();
  task::WaitResponse resp;
  resp.set_exit_status(status);
  reaper::shim::set_time(resp.mutable_exited_at(), p.exited_ns);
  for (auto& waiter : p.waiters) ok(waiter, resp);
  p.waiters.clear();
  events::TaskExit ev;
  ev.set_container_id(id_);
  ev.set_id(exec_id.empty() ? id_ : exec_id);
  ev.set_pid(pid_of(p));
  ev.set_exit_status(status);
  reaper::shim::set_time(ev.mutable_exited_at(), p.exited_ns);
  reaper::shim::publish(publisher_, ev);
}

void FloorService::create(const std::string& payload, Reply& reply) {
  task::CreateTaskRequest req;
  if (!parse(req, payload, reply)) return;
  if (created_) return refuse(reply, Code::AlreadyExists, "floor shim: serves one task, " + id_);
  init_.stdin_path = req.stdin();
  init_.stdout_path = req.stdout();
  init_.stderr_path = req.stderr();
  if (physical_) {
    auto spec = reaper::oci::load_bundle_spec(req.bundle());
    if (!spec) return refuse(reply, Code::InvalidArgument, "floor shim: " + spec.error().describe());
    if (spec->process.args.empty()) return refuse(reply, Code::InvalidArgument, "floor shim: process.args is empty");
    init_.command = std::move(spec->process);
  }
  if (!open_io(init_, reply)) return;
  created_ = true;
  id_ = req.id();
  bundle_ = req.bundle();
  long_running_ = !physical_ && runs_until_killed(bundle_);
  events::TaskCreate ev;
  ev.set_container_id(id_);
  ev.set_bundle(bundle_);
  ev.set_pid(own_pid());
  reaper::shim::publish(publisher_, ev);
  task::CreateTaskResponse resp;
  resp.set_pid(own_pid());
  ok(reply, resp);
}

void FloorService::start(const std::string& payload, Reply& reply) {
  task::StartRequest req;
  Process* p = lookup(req, payload, reply);
  if (!p) return;
  if (p->started || p->exited) return refuse(reply, Code::FailedPrecondition, "process already started");
  if (!req.exec_id().empty() && (!init_.started || init_.exited)) {
    return refuse(reply, Code::FailedPrecondition, "container " + id_ + " init process is not running");
  }
  if (!req.exec_id().empty() && !open_io(*p, reply)) {
    // A launch that failed: the exec ends there, and its Waits are answered.
    return exit(*p, req.exec_id(), 255);
  }
  if (physical_ && !run(*p, req.exec_id(), reply)) return;
  p->started = true;
  publish_started(req.exec_id(), pid_of(*p));
  task::StartResponse resp;
  resp.set_pid(pid_of(*p));
  ok(reply, resp);
  if (!physical_ && (!req.exec_id().empty() || !long_running_)) exit(*p, req.exec_id(), 0);
}

void FloorService::publish_started(const std::string& exec_id, uint32_t pid) {
  if (exec_id.empty()) {
    events::TaskStart ev;
    ev.set_container_id(id_);
    ev.set_pid(pid);
    return reaper::shim::publish(publisher_, ev);
  }
  events::TaskExecStarted ev;
  ev.set_container_id(id_);
  ev.set_exec_id(exec_id);
  ev.set_pid(pid);
  reaper::shim::publish(publisher_, ev);
}

void FloorService::exec(const std::string& payload, Reply& reply) {
  task::ExecProcessRequest req;
  if (!parse(req, payload, reply)) return;
  if (!find(req.id(), "")) return refuse(reply, Code::NotFound, "container not created");
  if (init_.exited) return refuse(reply, Code::FailedPrecondition, "cannot exec in a stopped state");
  if (req.exec_id().empty()) return refuse(reply, Code::InvalidArgument, "an exec needs an exec id");
  if (execs_.contains(req.exec_id())) {
    return refuse(reply, Code::AlreadyExists, "id " + req.exec_id() + ": already exists");
  }
  reaper::oci::Process command;
  if (physical_) {
    auto spec = reaper::oci::parse_process(req.spec().value());
    if (!spec) return refuse(reply, Code::InvalidArgument, "floor shim: exec spec: " + spec.error().describe());
    if (spec->args.empty()) return refuse(reply, Code::InvalidArgument, "floor shim: exec spec: args is empty");
    command = std::move(*spec);
  }
  Process& p = execs_[req.exec_id()];
  p.command = std::move(command);
  p.stdin_path = req.stdin();
  p.stdout_path = req.stdout();
  p.stderr_path = req.stderr();
  events::TaskExecAdded ev;
  ev.set_container_id(id_);
  ev.set_exec_id(req.exec_id());
  reaper::shim::publish(publisher_, ev);
  ok_empty(reply);
  // Opened once answered, as reaper's shim does (its exec standby): the client goes on
  // sooner once they are, and the floor must not be slower than a runtime. Failing here,
  // Start tries again and says why.
  auto opened = open_fifos(p);
  (void)opened;
}

void FloorService::wait(const std::string& payload, Reply& reply) {
  task::WaitRequest req;
  Process* p = lookup(req, payload, reply);
  if (!p) return;
  if (!p->exited) return p->waiters.push_back(reply);
  task::WaitResponse resp;
  resp.set_exit_status(p->exit_status);
  reaper::shim::set_time(resp.mutable_exited_at(), p->exited_ns);
  ok(reply, resp);
}

void FloorService::state(const std::string& payload, Reply& reply) {
  task::StateRequest req;
  Process* p = lookup(req, payload, reply);
  if (!p) return;
  task::StateResponse resp;
  resp.set_id(req.exec_id().empty() ? id_ : req.exec_id());
  resp.set_bundle(bundle_);
  // An exec has no pid before its Start; the init has one from Create (the physical
  // floor's init: the daemon's, until its process runs).
  resp.set_pid(p->started || req.exec_id().empty() ? pid_of(*p) : 0);
  namespace types = containerd::v1::types;
  resp.set_status(p->exited ? types::STOPPED : p->started ? types::RUNNING : types::CREATED);
  resp.set_exit_status(p->exit_status);
  if (p->exited) reaper::shim::set_time(resp.mutable_exited_at(), p->exited_ns);
  else reaper::shim::set_unset_time(resp.mutable_exited_at());
  ok(reply, resp);
}

// Signal 0 only checks that the process is there; any other signal ends it, as SIGKILL
// would, or, in the physical floor, is sent to the running process, whose end is then
// its exit (it is not reaped before that, so its pid is still its own). The init may
// be killed before its Start (it then exits); an exec may not.
void FloorService::kill(const std::string& payload, Reply& reply) {
  task::KillRequest req;
  Process* p = lookup(req, payload, reply);
  if (!p) return;
  if (p->exited) return refuse(reply, Code::NotFound, "process already finished");
  if (!p->started && !req.exec_id().empty()) return refuse(reply, Code::FailedPrecondition, "process not created");
  if (physical_ && p->started) {
    if (::kill(p->pid, static_cast<int>(req.signal())) != 0) {
      return refuse(reply, errno == EINVAL ? Code::InvalidArgument : Code::Unknown,
                    std::string("floor shim: kill: ") + std::strerror(errno));
    }
    return ok_empty(reply);
  }
  ok_empty(reply);
  if (req.signal() != 0) exit(*p, req.exec_id(), 128 + req.signal());
}

void FloorService::remove(const std::string& payload, Reply& reply) {
  task::DeleteRequest req;
  Process* p = lookup(req, payload, reply);
  if (!p) return;
  if (p->started && !p->exited) return refuse(reply, Code::FailedPrecondition, "cannot delete a running process");
  int64_t exited_ns = p->exited ? p->exited_ns : reaper::now_ns();
  task::DeleteResponse resp;
  resp.set_pid(p->started || req.exec_id().empty() ? pid_of(*p) : 0);
  resp.set_exit_status(p->exit_status);
  reaper::shim::set_time(resp.mutable_exited_at(), exited_ns);
  // A process deleted before it ran leaves no exit to wait for, and its stdio closes.
  for (auto& waiter : p->waiters) refuse(waiter, Code::NotFound, "process deleted");
  close_io(p->io);
  if (!req.exec_id().empty()) {
    execs_.erase(req.exec_id());
    return ok(reply, resp);
  }
  for (auto& [exec_id, exec] : execs_) {
    for (auto& waiter : exec.waiters) refuse(waiter, Code::NotFound, "process deleted");
  }
  execs_.clear();
  deleted_ = true;
  events::TaskDelete ev;
  ev.set_container_id(id_);
  ev.set_id(id_);
  ev.set_pid(pid_of(*p));
  ev.set_exit_status(p->exit_status);
  reaper::shim::set_time(ev.mutable_exited_at(), exited_ns);
  reaper::shim::publish(publisher_, ev);
  ok(reply, resp);
}

void FloorService::connect(Reply& reply) {
  task::ConnectResponse resp;
  resp.set_shim_pid(own_pid());
  resp.set_task_pid(created_ && !deleted_ ? pid_of(init_) : 0);
  ok(reply, resp);
}

// As a real shim's: the daemon ends only when it serves no task any more (and, in the
// physical floor, once its last child is reaped: an exec killed at the init's end may
// not be yet).
void FloorService::shutdown(Reply& reply) {
  ok_empty(reply);
  if (created_ && !deleted_) return;
  if (!children_.empty()) {
    stopping_ = true;
    return;
  }
  stop_();
}

}  // namespace floor_shim
