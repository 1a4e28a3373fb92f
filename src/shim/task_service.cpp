#include "shim/task_service.hpp"

#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <csignal>

#include "cgroups_v1_metrics.pb.h"
#include "core/files.hpp"
#include "core/ids.hpp"
#include "core/line_protocol.hpp"
#include "core/log.hpp"
#include "core/process_tree.hpp"
#include "core/signals.hpp"
#include "events.pb.h"
#include "shim.pb.h"
#include "shim/proto_util.hpp"
#include "shim/rpc_error.hpp"
#include "shim/stats.hpp"
#include "version.hpp"

namespace asio = boost::asio;
namespace task = containerd::task::v2;
namespace events = containerd::events;
using reaper::ttrpc::Code;
using reaper::ttrpc::Reply;

namespace reaper::shim {
namespace {

using RpcStatus = ttrpc::Status;  // reaper::Status is a container's state

constexpr const char* kTaskService = "containerd.task.v2.Task";
constexpr const char* kTaskServiceV3 = "containerd.task.v3.Task";

// Every failure of a handler goes through rpc_status: the code follows the kind.
void reply_error(Reply& reply, const Error& e) { reply(rpc_status(e), ""); }
void reply_error(Reply& reply, ErrorKind kind, std::string message) {
  reply_error(reply, Error{0, std::move(message), kind});
}
template <class M>
void reply_ok(Reply& reply, const M& message) {
  reply(RpcStatus::ok(), message.SerializeAsString());
}
void reply_empty(Reply& reply) { reply(RpcStatus::ok(), ""); }

template <class M>
bool parse(const std::string& payload, M& message, Reply& reply) {
  if (message.ParseFromString(payload)) return true;
  // A decoding failure of the transport, not of the request's meaning: ttrpc's own code.
  reply(RpcStatus{Code::Internal, "ttrpc: error unmarshalling payload"}, "");
  return false;
}

containerd::v1::types::Status wire_status(int phase) {
  switch (phase) {
    case 1: return containerd::v1::types::CREATED;
    case 2: return containerd::v1::types::RUNNING;
    case 3: return containerd::v1::types::PAUSED;
    case 4: return containerd::v1::types::STOPPED;
    default: return containerd::v1::types::CREATED;  // registered exec
  }
}

}  // namespace

TaskService::TaskService(asio::io_context& io, const Options& opts, Publisher& publisher)
    : io_(io), opts_(opts), publisher_(publisher), runtime_(state_root(opts.ns)) {}

void TaskService::handle(ttrpc::Call&& call, Reply reply) {
  if (call.service != kTaskService && call.service != kTaskServiceV3)
    return reply_error(reply, ErrorKind::kUnimplemented, "service " + call.service);
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
  if (it == methods.end()) return reply_error(reply, ErrorKind::kUnimplemented, "method " + call.method);
  log::debug("{} {}", call.method, call.payload.size());
  (this->*(it->second))(call.payload, reply);
}

TaskService::Container* TaskService::find(const std::string& id) {
  auto it = containers_.find(id);
  return it == containers_.end() ? nullptr : it->second.get();
}

TaskService::Process* TaskService::find_process(Container& c, const std::string& exec_id) {
  if (exec_id.empty()) return &c.init;
  auto it = c.execs.find(exec_id);
  return it == c.execs.end() ? nullptr : it->second.get();
}

TaskService::Container* TaskService::find_or_reply(const std::string& id, Reply& reply) {
  Container* c = find(id);
  if (!c) reply_error(reply, ErrorKind::kNotFound, "container not created");
  return c;
}

TaskService::Process* TaskService::find_process_or_reply(Container& c, const std::string& exec_id,
                                                         Reply& reply) {
  Process* p = find_process(c, exec_id);
  if (!p) reply_error(reply, ErrorKind::kNotFound, "process does not exist " + exec_id);
  return p;
}

void TaskService::answer_waiters(Process& p) {
  for (auto& w : std::exchange(p.waiters, {})) {
    task::WaitResponse wr;
    wr.set_exit_status(p.exit_status);
    set_time(wr.mutable_exited_at(), p.exited_ns);
    reply_ok(w, wr);
  }
}

// ----------------------------------------------------------------------------- Create

void TaskService::create(const std::string& payload, Reply& reply) {
  task::CreateTaskRequest req;
  if (!parse(payload, req, reply)) return;
  if (auto ok = validate_id(req.id()); !ok) return reply_error(reply, ok.error());
  if (find(req.id())) return reply_error(reply, ErrorKind::kAlreadyExists, "id " + req.id());
  if (!req.checkpoint().empty() || !req.parent_checkpoint().empty())
    return reply_error(reply, ErrorKind::kUnimplemented, "checkpoint restore: reaper has no CRIU support");
  auto spec = oci::load_bundle_spec(req.bundle());
  if (!spec) return reply_error(reply, Error{spec.error().code, "bundle " + req.bundle() + ": " + spec.error().message, ErrorKind::kInvalidArgument});
  spec->process.terminal = req.terminal();

  IoPaths paths{req.stdin(), req.stdout(), req.stderr(), req.terminal()};
  auto pio = ProcessIo::open(io_, paths);
  if (!pio) return reply_error(reply, pio.error().wrap("open IO"));

  // A record left by a shim that died (same id, nothing alive) must not block a new task.
  if (auto old = runtime_.state(req.id()); old && !old->monitor_alive) {
    auto ignored = runtime_.remove(req.id(), true);
    (void)ignored;
  }
  CreateOptions co;
  co.id = req.id();
  co.bundle = req.bundle();
  co.spec = *spec;
  co.io.stdio = (*pio)->stdio();
  co.io.console_channel = (*pio)->console_channel();
  co.io.notify_exit = true;
  auto launched = runtime_.create(co);
  if (!launched) {
    (*pio)->close();
    return reply_error(reply, launched.error().wrap("OCI runtime create failed"));
  }
  if (auto ok = (*pio)->started(); !ok) log::error("{}: console: {}", req.id(), ok.error().describe());

  auto c = std::make_unique<Container>();
  c->id = req.id();
  c->bundle = req.bundle();
  c->init.pid = launched->pid;
  c->init.phase = Phase::kCreated;
  c->init.io = *pio;
  c->init.paths = paths;
  c->init.notify = std::make_unique<asio::posix::stream_descriptor>(io_, launched->notify.release());
  Container& ref = *c;
  containers_.emplace(req.id(), std::move(c));
  watch_exit(ref, ref.init);

  events::TaskCreate ev;
  ev.set_container_id(req.id());
  ev.set_bundle(req.bundle());
  *ev.mutable_rootfs() = req.rootfs();
  ev.mutable_io()->set_stdin(req.stdin());
  ev.mutable_io()->set_stdout(req.stdout());
  ev.mutable_io()->set_stderr(req.stderr());
  ev.mutable_io()->set_terminal(req.terminal());
  ev.set_pid(static_cast<uint32_t>(launched->pid));
  publisher_.publish("/tasks/create", "containerd.events.TaskCreate", ev.SerializeAsString());

  task::CreateTaskResponse resp;
  resp.set_pid(static_cast<uint32_t>(launched->pid));
  reply_ok(reply, resp);
}

// ----------------------------------------------------------------------------- Start

void TaskService::start(const std::string& payload, Reply& reply) {
  task::StartRequest req;
  if (!parse(payload, req, reply)) return;
  Container* c = find_or_reply(req.id(), reply);
  if (!c) return;
  Process* p = find_process_or_reply(*c, req.exec_id(), reply);
  if (!p) return;
  task::StartResponse resp;

  if (req.exec_id().empty()) {
    if (p->phase != Phase::kCreated)
      return reply_error(reply, ErrorKind::kFailedPrecondition, "container " + req.id() + " is not in the created state");
    // Returns once the workload has exec'd; its exit notification cannot be handled
    // before this handler returns, so TaskStart always precedes TaskExit.
    if (auto o = runtime_.state(req.id()); !o || o->status != reaper::Status::kCreated)
      return reply_error(reply, ErrorKind::kFailedPrecondition, "container " + req.id() + " is not in the created state");
    auto started = runtime_.start(req.id());
    if (!started) return reply_error(reply, started.error().wrap("OCI runtime start failed"));
    p->phase = Phase::kRunning;
    events::TaskStart ev;
    ev.set_container_id(c->id);
    ev.set_pid(static_cast<uint32_t>(p->pid));
    publisher_.publish("/tasks/start", "containerd.events.TaskStart", ev.SerializeAsString());
    resp.set_pid(static_cast<uint32_t>(p->pid));
    return reply_ok(reply, resp);
  }

  if (p->phase != Phase::kRegistered)
    return reply_error(reply, ErrorKind::kFailedPrecondition, "process " + req.exec_id() + " already started");
  auto on_disk = runtime_.state(c->id);
  if (c->init.phase != Phase::kRunning || !on_disk || on_disk->status != reaper::Status::kRunning)
    return reply_error(reply, ErrorKind::kFailedPrecondition, "container " + c->id + " init process is not running");
  auto pio = ProcessIo::open(io_, p->paths);
  if (!pio) return reply_error(reply, pio.error().wrap("open IO"));
  ExecOptions eo;
  eo.id = c->id;
  eo.exec_id = req.exec_id();
  eo.process = p->spec;
  eo.io.stdio = (*pio)->stdio();
  eo.io.console_channel = (*pio)->console_channel();
  eo.io.notify_exit = true;
  auto launched = runtime_.exec_detached(eo);
  if (!launched) {
    (*pio)->close();
    // Nobody may wait forever for a process that never ran.
    p->phase = Phase::kStopped;
    p->exit_status = 255;
    p->exited_ns = now_ns();
    answer_waiters(*p);
    return reply_error(reply, launched.error().wrap("OCI runtime exec failed"));
  }
  if (auto ok = (*pio)->started(); !ok) log::error("{}: console: {}", req.exec_id(), ok.error().describe());
  p->io = *pio;
  p->pid = launched->pid;
  p->phase = Phase::kRunning;
  p->notify = std::make_unique<asio::posix::stream_descriptor>(io_, launched->notify.release());
  watch_exit(*c, *p);
  events::TaskExecStarted ev;
  ev.set_container_id(c->id);
  ev.set_exec_id(req.exec_id());
  ev.set_pid(static_cast<uint32_t>(p->pid));
  publisher_.publish("/tasks/exec-started", "containerd.events.TaskExecStarted", ev.SerializeAsString());
  resp.set_pid(static_cast<uint32_t>(p->pid));
  reply_ok(reply, resp);
}

// ----------------------------------------------------------------------------- exits

void TaskService::watch_exit(Container& c, Process& p) {
  // The monitor writes one line, "exit STATUS NS", after recording the exit on disk.
  p.notify_buf = std::make_shared<asio::streambuf>();
  std::string id = c.id, exec_id = p.exec_id;
  auto buf = p.notify_buf;
  asio::async_read_until(*p.notify, *buf, '\n',
                         [this, id, exec_id, buf](boost::system::error_code ec, size_t) {
                           if (ec == asio::error::operation_aborted) return;
                           std::string text(asio::buffers_begin(buf->data()), asio::buffers_end(buf->data()));
                           if (!text.empty() && text.back() == '\n') text.pop_back();
                           // A monitor that died without a word leaves the status unknown: 255.
                           auto exit = ec ? std::nullopt : line::parse_exited(text);
                           uint32_t status = exit ? exit->status : 255;
                           int64_t ns = exit ? exit->ns : now_ns();
                           // The exit is reported once its output has been read (ProcessIo).
                           // When an init exits, what is left of its container goes too, as
                           // a pid namespace's end would take it: after the report when
                           // nothing is left to read (the common case, kept fast), before
                           // the wait otherwise, so that nothing writes on meanwhile.
                           Container* c = find(id);
                           Process* p = c ? find_process(*c, exec_id) : nullptr;
                           auto report = [this, id, exec_id, status, ns] { exited(id, exec_id, status, ns); };
                           bool waits = p && p->io && !p->io->drained();
                           if (waits && exec_id.empty()) kill_leftovers(id);
                           // At once when nothing is unread; either way the shim lets go of
                           // the FIFOs then, so the reader sees EOF (an exec's reader waits
                           // for it).
                           if (p && p->io) p->io->on_drained(report);
                           else report();
                           if (!waits && exec_id.empty()) kill_leftovers(id);
                         });
}

void TaskService::kill_leftovers(const std::string& id) {
  auto ignored = runtime_.kill(id, SIGKILL, true);
  (void)ignored;
}

bool TaskService::execs_running(const Container& c) const {
  for (const auto& [id, p] : c.execs)
    if (p->phase == Phase::kRunning || p->phase == Phase::kPaused) return true;
  return false;
}

void TaskService::exited(const std::string& id, const std::string& exec_id, uint32_t status, int64_t ns) {
  Container* c = find(id);
  if (!c) return;  // deleted meanwhile
  Process* p = find_process(*c, exec_id);
  if (!p || p->phase == Phase::kStopped) return;
  p->phase = Phase::kStopped;
  p->exit_status = status;
  p->exited_ns = ns;
  p->notify.reset();
  if (!exec_id.empty()) {
    finish_exit(*c, *p);
    if (c->init_exit_held && !execs_running(*c)) {
      c->init_exit_held = false;
      finish_exit(*c, c->init);
    }
    return;
  }
  // Nothing of a stopped container goes on running (watch_exit kills its leftovers),
  // exec'd processes included. Exec exits come before the container's, so with execs
  // running the init's exit waits for theirs.
  if (execs_running(*c)) {
    c->init_exit_held = true;
    kill_leftovers(id);
    return;
  }
  finish_exit(*c, *p);
}

void TaskService::finish_exit(Container& c, Process& p) {
  // Waiters first, then the event, as runc does.
  size_t waiters = p.waiters.size();
  answer_waiters(p);
  // The latency from the recorded exit to the Wait replies (bench/ctr-run.sh reads it).
  log::info("exit {} {}: status {}, {} Wait replies {} us after the exit", c.id,
            p.exec_id.empty() ? "init" : p.exec_id, p.exit_status, waiters,
            (now_ns() - p.exited_ns) / 1000);
  publish_exit(c, p);
}

void TaskService::abandon(Process& p) {
  // A process that is being forgotten never leaves a Wait unanswered.
  if (p.phase != Phase::kStopped) {
    p.exit_status = 255;
    p.exited_ns = now_ns();
  }
  answer_waiters(p);
}

void TaskService::publish_exit(const Container& c, const Process& p) {
  events::TaskExit ev;
  ev.set_container_id(c.id);
  ev.set_id(p.exec_id.empty() ? c.id : p.exec_id);
  ev.set_pid(static_cast<uint32_t>(p.pid));
  ev.set_exit_status(p.exit_status);
  set_time(ev.mutable_exited_at(), p.exited_ns);
  publisher_.publish("/tasks/exit", "containerd.events.TaskExit", ev.SerializeAsString());
}

// ----------------------------------------------------------------------------- queries

void TaskService::state(const std::string& payload, Reply& reply) {
  task::StateRequest req;
  if (!parse(payload, req, reply)) return;
  Container* c = find_or_reply(req.id(), reply);
  if (!c) return;
  Process* p = find_process_or_reply(*c, req.exec_id(), reply);
  if (!p) return;
  task::StateResponse resp;
  resp.set_id(req.exec_id().empty() ? c->id : req.exec_id());
  resp.set_bundle(c->bundle);
  resp.set_pid(static_cast<uint32_t>(p->pid));
  Phase shown = p->phase;
  if (!req.exec_id().empty() && c->init.phase == Phase::kPaused && p->phase != Phase::kStopped)
    shown = Phase::kPaused;
  resp.set_status(wire_status(static_cast<int>(shown)));
  resp.set_stdin(p->paths.stdin_path);
  resp.set_stdout(p->paths.stdout_path);
  resp.set_stderr(p->paths.stderr_path);
  resp.set_terminal(p->paths.terminal);
  resp.set_exit_status(p->exit_status);
  if (p->phase == Phase::kStopped) set_time(resp.mutable_exited_at(), p->exited_ns);
  else set_unset_time(resp.mutable_exited_at());
  reply_ok(reply, resp);
}

void TaskService::pids(const std::string& payload, Reply& reply) {
  task::PidsRequest req;
  if (!parse(payload, req, reply)) return;
  if (!find_or_reply(req.id(), reply)) return;
  task::PidsResponse resp;
  if (auto all = runtime_.pids(req.id()))
    for (pid_t pid : *all) resp.add_processes()->set_pid(static_cast<uint32_t>(pid));
  reply_ok(reply, resp);
}

void TaskService::stats(const std::string& payload, Reply& reply) {
  task::StatsRequest req;
  if (!parse(payload, req, reply)) return;
  if (!find_or_reply(req.id(), reply)) return;
  auto all = runtime_.pids(req.id());
  task::StatsResponse resp;
  pack_any(resp.mutable_stats(), "io.containerd.cgroups.v1.Metrics", tree_metrics(all ? *all : std::vector<pid_t>{}));
  reply_ok(reply, resp);
}

void TaskService::connect(const std::string& payload, Reply& reply) {
  task::ConnectRequest req;
  if (!parse(payload, req, reply)) return;
  task::ConnectResponse resp;
  resp.set_shim_pid(static_cast<uint32_t>(::getpid()));
  if (Container* c = find(req.id())) resp.set_task_pid(static_cast<uint32_t>(c->init.pid));
  resp.set_version(kVersion);
  reply_ok(reply, resp);
}

void TaskService::wait(const std::string& payload, Reply& reply) {
  task::WaitRequest req;
  if (!parse(payload, req, reply)) return;
  Container* c = find_or_reply(req.id(), reply);
  if (!c) return;
  Process* p = find_process_or_reply(*c, req.exec_id(), reply);
  if (!p) return;
  bool held = req.exec_id().empty() && c->init_exit_held;
  if (p->phase == Phase::kStopped && !held) {
    task::WaitResponse resp;
    resp.set_exit_status(p->exit_status);
    set_time(resp.mutable_exited_at(), p->exited_ns);
    return reply_ok(reply, resp);
  }
  p->waiters.push_back(std::move(reply));  // answered by finish_exit, however long it takes
}

// ----------------------------------------------------------------------------- control

void TaskService::kill(const std::string& payload, Reply& reply) {
  task::KillRequest req;
  if (!parse(payload, req, reply)) return;
  Container* c = find_or_reply(req.id(), reply);
  if (!c) return;
  Process* p = find_process_or_reply(*c, req.exec_id(), reply);
  if (!p) return;
  int sig = static_cast<int>(req.signal());
  if (sig < 1 || sig > SIGRTMAX) return reply_error(reply, ErrorKind::kInvalidArgument, fmt::format("invalid signal {}", sig));
  if (p->phase == Phase::kRegistered) return reply_error(reply, ErrorKind::kFailedPrecondition, "process not created");
  if (req.all() && req.exec_id().empty()) {
    auto ignored = runtime_.kill(c->id, sig, true);  // everything of the container, execs included
    (void)ignored;
    if (p->phase == Phase::kStopped) return reply_error(reply, ErrorKind::kNotFound, "process already finished");
    return reply_empty(reply);
  }
  if (p->phase == Phase::kStopped) return reply_error(reply, ErrorKind::kNotFound, "process already finished");
  auto sent = req.exec_id().empty() ? runtime_.kill(c->id, sig, false)
                                    : runtime_.kill_exec(c->id, req.exec_id(), sig);
  if (!sent) return reply_error(reply, sent.error());
  reply_empty(reply);
}

void TaskService::pause(const std::string& payload, Reply& reply) {
  task::PauseRequest req;
  if (!parse(payload, req, reply)) return;
  Container* c = find_or_reply(req.id(), reply);
  if (!c) return;
  if (c->init.phase != Phase::kRunning) return reply_error(reply, ErrorKind::kFailedPrecondition, "container is not running");
  // No cgroup freezer without cgroups: every process of the container is stopped instead.
  auto ignored = runtime_.kill(c->id, SIGSTOP, true);
  (void)ignored;
  c->init.phase = Phase::kPaused;
  events::TaskPaused ev;
  ev.set_container_id(c->id);
  publisher_.publish("/tasks/paused", "containerd.events.TaskPaused", ev.SerializeAsString());
  reply_empty(reply);
}

void TaskService::resume(const std::string& payload, Reply& reply) {
  task::ResumeRequest req;
  if (!parse(payload, req, reply)) return;
  Container* c = find_or_reply(req.id(), reply);
  if (!c) return;
  if (c->init.phase != Phase::kPaused) return reply_error(reply, ErrorKind::kFailedPrecondition, "container is not paused");
  auto ignored = runtime_.kill(c->id, SIGCONT, true);
  (void)ignored;
  c->init.phase = Phase::kRunning;
  events::TaskResumed ev;
  ev.set_container_id(c->id);
  publisher_.publish("/tasks/resumed", "containerd.events.TaskResumed", ev.SerializeAsString());
  reply_empty(reply);
}

void TaskService::checkpoint(const std::string& payload, Reply& reply) {
  task::CheckpointTaskRequest req;
  if (!parse(payload, req, reply)) return;
  reply_error(reply, ErrorKind::kUnimplemented, "checkpoint: reaper has no CRIU support (host processes are not isolated)");
}

void TaskService::update(const std::string& payload, Reply& reply) {
  task::UpdateTaskRequest req;
  if (!parse(payload, req, reply)) return;
  Container* c = find_or_reply(req.id(), reply);
  if (!c) return;
  if (c->init.phase == Phase::kStopped) return reply_error(reply, ErrorKind::kFailedPrecondition, "container is stopped");
  // Resource limits need cgroups, which reaper does not use: accepted and not enforced,
  // so that kubelet's resource updates do not fail.
  log::info("{}: resource update accepted, not enforced (no cgroups)", c->id);
  reply_empty(reply);
}

void TaskService::exec(const std::string& payload, Reply& reply) {
  task::ExecProcessRequest req;
  if (!parse(payload, req, reply)) return;
  Container* c = find_or_reply(req.id(), reply);
  if (!c) return;
  if (auto ok = validate_id(req.exec_id(), "exec id"); !ok)
    return reply_error(reply, ok.error());
  if (c->execs.count(req.exec_id()))
    return reply_error(reply, ErrorKind::kAlreadyExists, "id " + req.exec_id());
  if (c->init.phase != Phase::kRunning)
    return reply_error(reply, ErrorKind::kFailedPrecondition, "container " + c->id + " is not running");
  auto spec = oci::parse_process(req.spec().value());
  if (!spec) return reply_error(reply, ErrorKind::kInvalidArgument, "exec spec: " + spec.error().message);
  spec->terminal = req.terminal();
  auto p = std::make_unique<Process>();
  p->exec_id = req.exec_id();
  p->spec = std::move(*spec);
  p->paths = IoPaths{req.stdin(), req.stdout(), req.stderr(), req.terminal()};
  c->execs.emplace(req.exec_id(), std::move(p));
  events::TaskExecAdded ev;
  ev.set_container_id(c->id);
  ev.set_exec_id(req.exec_id());
  publisher_.publish("/tasks/exec-added", "containerd.events.TaskExecAdded", ev.SerializeAsString());
  reply_empty(reply);
}

void TaskService::resize_pty(const std::string& payload, Reply& reply) {
  task::ResizePtyRequest req;
  if (!parse(payload, req, reply)) return;
  Container* c = find_or_reply(req.id(), reply);
  if (!c) return;
  Process* p = find_process_or_reply(*c, req.exec_id(), reply);
  if (!p) return;
  if (p->io)
    if (auto ok = p->io->resize(req.height(), req.width()); !ok)
      return reply_error(reply, ok.error());
  reply_empty(reply);
}

void TaskService::close_io(const std::string& payload, Reply& reply) {
  task::CloseIORequest req;
  if (!parse(payload, req, reply)) return;
  Container* c = find_or_reply(req.id(), reply);
  if (!c) return;
  Process* p = find_process_or_reply(*c, req.exec_id(), reply);
  if (!p) return;
  if (p->io) p->io->close_stdin();
  reply_empty(reply);
}

void TaskService::remove(const std::string& payload, Reply& reply) {
  task::DeleteRequest req;
  if (!parse(payload, req, reply)) return;
  Container* c = find_or_reply(req.id(), reply);
  if (!c) return;
  Process* p = find_process_or_reply(*c, req.exec_id(), reply);
  if (!p) return;
  if (p->phase == Phase::kRunning || p->phase == Phase::kPaused ||
      (req.exec_id().empty() && c->init_exit_held))
    return reply_error(reply, ErrorKind::kFailedPrecondition, "cannot delete a running process");

  task::DeleteResponse resp;
  resp.set_pid(static_cast<uint32_t>(p->pid));
  if (!req.exec_id().empty()) {
    resp.set_exit_status(p->exit_status);
    set_time(resp.mutable_exited_at(), p->exited_ns ? p->exited_ns : now_ns());
    if (p->phase != Phase::kRegistered) {
      auto ignored = runtime_.remove_exec(c->id, req.exec_id());
      (void)ignored;
    }
    if (p->io) p->io->close();
    abandon(*p);
    c->execs.erase(req.exec_id());
    return reply_ok(reply, resp);
  }

  // The init: whatever is left of the container goes, its record too.
  if (p->phase == Phase::kCreated) {
    // Never started: killed now, with its exit recorded, answered and published.
    auto ignored = runtime_.kill(c->id, SIGKILL, true);
    (void)ignored;
    auto status = runtime_.wait(c->id);
    p->phase = Phase::kStopped;
    p->exit_status = static_cast<uint32_t>(status.value_or(128 + SIGKILL));
    p->exited_ns = now_ns();
    p->notify.reset();
    finish_exit(*c, *p);
  }
  auto removed = runtime_.remove(c->id, true);
  if (!removed) log::error("{}: delete: {}", c->id, removed.error().describe());
  for (auto& [id, e] : c->execs) abandon(*e);
  resp.set_exit_status(p->exit_status);
  set_time(resp.mutable_exited_at(), p->exited_ns);
  for (auto& [id, e] : c->execs)
    if (e->io) e->io->close();
  if (p->io) p->io->close();
  events::TaskDelete ev;
  ev.set_container_id(c->id);
  ev.set_pid(resp.pid());
  ev.set_exit_status(resp.exit_status());
  *ev.mutable_exited_at() = resp.exited_at();
  publisher_.publish("/tasks/delete", "containerd.events.TaskDelete", ev.SerializeAsString());
  containers_.erase(req.id());
  reply_ok(reply, resp);
  maybe_shut_down();
}

void TaskService::shutdown(const std::string& payload, Reply& reply) {
  task::ShutdownRequest req;
  if (!parse(payload, req, reply)) return;
  // containerd asks after every deleted task; we leave only when nothing is left,
  // and remember the request for when the last container goes.
  shutdown_requested_ = true;
  reply_empty(reply);
  maybe_shut_down();
}

void TaskService::maybe_shut_down() {
  if (shutdown_requested_ && containers_.empty() && on_shutdown) on_shutdown();
}

}  // namespace reaper::shim
