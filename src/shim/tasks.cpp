#include "shim/tasks.hpp"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <csignal>

#include "core/control_socket.hpp"
#include "core/ids.hpp"
#include "core/line_protocol.hpp"
#include "core/monitor.hpp"
#include "core/log.hpp"
#include "core/process_tree.hpp"
#include "shim/task_events.hpp"

namespace asio = boost::asio;
namespace task = containerd::task::v2;
namespace events = containerd::events;

namespace reaper::shim {
namespace {

void set_time(google::protobuf::Timestamp* ts, int64_t ns) {
  ts->set_seconds(ns / 1'000'000'000);
  ts->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
}

std::string_view process_name(const std::string& exec_id) { return exec_id.empty() ? "init" : exec_id; }

// The exit of a child the daemon reaped, `wait_status` as waitpid gives it.
AdoptedExit adopted_exit(int wait_status, int64_t ns) {
  AdoptedExit e;
  if (WIFSIGNALED(wait_status)) {
    e.signal = WTERMSIG(wait_status);
    e.exit_status = 128 + *e.signal;
  } else {
    e.exit_status = WEXITSTATUS(wait_status);
  }
  e.ns = ns;
  return e;
}

std::optional<std::pair<dev_t, ino_t>> mount_ns_of(const std::string& pid) {
  struct stat st {};
  if (::stat(("/proc/" + pid + "/ns/mnt").c_str(), &st) != 0) return std::nullopt;
  return std::make_pair(st.st_dev, st.st_ino);
}

}  // namespace

Tasks::Tasks(asio::io_context& io, const Options& opts, Publisher& publisher)
    : io_(io), opts_(opts), publisher_(publisher), runtime_(state_root(opts.ns)) {}

// ----------------------------------------------------------------------------- lookup

Result<Tasks::Container*> Tasks::container(const std::string& id) {
  auto it = containers_.find(id);
  if (it == containers_.end()) return fail(ErrorKind::kNotFound, "container not created");
  return it->second.get();
}

Result<Tasks::Target> Tasks::lookup(const ProcessRef& ref) {
  Container* c = TRY(container(ref.id));
  if (ref.exec_id.empty()) return Target{*c, c->init};
  auto it = c->execs.find(ref.exec_id);
  if (it == c->execs.end()) return fail(ErrorKind::kNotFound, "process does not exist " + ref.exec_id);
  return Target{*c, *it->second};
}

// ----------------------------------------------------------------------------- Create

// A Create between the monitor's fork and its report.
struct Tasks::Creating {
  task::CreateTaskRequest req;
  oci::Spec spec;
  IoPaths paths;
  std::shared_ptr<ProcessIo> io;
  PendingCreate pending;

  // What a monitored init and a sandbox both tell the runtime: the id, the bundle, the
  // parsed spec (moved out: call once) and the stdio.
  CreateOptions take_create_options() {
    CreateOptions co;
    co.id = req.id();
    co.bundle = req.bundle();
    co.spec = std::move(spec);
    co.io.stdio = io->stdio();
    return co;
  }
};

void Tasks::create(const task::CreateTaskRequest& req, Done<pid_t> done) {
  auto opened = [&]() -> Result<std::shared_ptr<Creating>> {
    TRY(validate_id(req.id()));
    if (containers_.count(req.id()) || creating_.count(req.id()))
      return failf(ErrorKind::kAlreadyExists, "id {}", req.id());
    if (!req.checkpoint().empty() || !req.parent_checkpoint().empty())
      return fail(ErrorKind::kUnimplemented, "checkpoint restore: reaper has no CRIU support");
    auto spec = oci::load_bundle_spec(req.bundle());
    if (!spec)
      return std::unexpected(Error{spec.error().code, "bundle " + req.bundle() + ": " + spec.error().message,
                                   ErrorKind::kInvalidArgument});
    spec->process.terminal = req.terminal();
    auto cr = std::make_shared<Creating>();
    cr->req = req;
    cr->spec = std::move(*spec);
    cr->paths = IoPaths{req.stdin(), req.stdout(), req.stderr(), req.terminal()};
    cr->io = TRY_CTX(ProcessIo::open(io_, cr->paths, req.id(), opts_.ns), "open IO");
    return cr;
  }();
  if (!opened) return done(std::unexpected(opened.error()));
  auto cr = *opened;
  creating_.insert(req.id());
  // A logging binary must be ready before the process starts (at once without one).
  cr->io->when_ready([this, cr, done = std::move(done)](Result<void> ready) mutable {
    if (!ready) return create_failed(cr, ready.error().wrap("open IO"), std::move(done));
    if (is_pod_sandbox(cr->spec.annotations)) return launch_sandbox(cr, std::move(done));
    launch_init(cr, std::move(done));
  });
}

void Tasks::create_failed(std::shared_ptr<Creating> cr, Error e, Done<pid_t> done) {
  creating_.erase(cr->req.id());
  cr->io->close();
  done(std::unexpected(std::move(e)));
  maybe_shut_down();
}

void Tasks::launch_init(std::shared_ptr<Creating> cr, Done<pid_t> done) {
  const task::CreateTaskRequest& req = cr->req;
  auto begun = [&]() -> Result<void> {
    drop_stale_record(req.id());
    CreateOptions co = cr->take_create_options();
    co.io.console_channel = cr->io->console_channel();
    co.io.notify_exit = true;
    auto pending = runtime_.begin_create(co);
    if (!pending) return std::unexpected(pending.error().wrap("OCI runtime create failed"));
    cr->pending = std::move(*pending);
    return {};
  }();
  if (!begun) return create_failed(cr, begun.error(), std::move(done));
  // The monitor's report ("ok PID") may take as long as the group's overlay takes to
  // build: read on the loop, which meanwhile serves every other request.
  async_read_line(io_, std::move(cr->pending.launch.report), [this, cr, done = std::move(done)](LineRead report) mutable {
    auto r = std::make_shared<LineRead>(std::move(report));
    after_failed_report(cr->pending.launch.monitor, *r, [this, cr, r, done] { created(cr, std::move(*r), done); });
  });
}

void Tasks::drop_stale_record(const std::string& id) {
  // A record left by a shim that died (same id, nothing alive) must not block a new task.
  if (auto old = runtime_.state(id); old && !old->monitor_alive) {
    auto ignored = runtime_.remove(id, true);
    (void)ignored;
  }
}

// A pod sandbox needs no monitor (core/sandbox_process.hpp): its process is spawned here
// as our own child, without blocking the loop, and is watched as an adopted workload is:
// a pidfd stamps its end, the SIGCHLD reaper gives its status, adopted_ended() records
// the exit in state.json and lets go of the locks held in a monitor's stead.
void Tasks::launch_sandbox(std::shared_ptr<Creating> cr, Done<pid_t> done) {
  const task::CreateTaskRequest& req = cr->req;
  creating_.erase(req.id());
  drop_stale_record(req.id());
  auto spawned = runtime_.spawn_sandbox(cr->take_create_options());
  if (!spawned) return create_failed(cr, spawned.error().wrap("OCI runtime create failed"), std::move(done));
  auto c = new_container(*cr, spawned->pid);
  c->sandbox = true;
  c->adoption = true;
  Process& p = c->init;
  p.adopted = true;
  p.held_locks.push_back(std::move(spawned->monitor_lock));
  p.held_locks.push_back(std::move(spawned->running_lock));
  std::string id = req.id();
  p.workload = watch_process_end(io_, std::move(spawned->pidfd), [this, id] {
    if (auto t = lookup({id, ""}); t && t->p.ended_ns == 0) t->p.ended_ns = now_ns();
  });
  containers_.emplace(id, std::move(c));
  publish_created(req, spawned->pid);
  done(spawned->pid);
}

void Tasks::after_failed_report(UniqueFd& monitor, const LineRead& report, std::function<void()> next) {
  if ((report.line && line::parse_launched(*report.line)) || !monitor) return next();
  UniqueFd pidfd(::dup(monitor.get()));
  if (!pidfd) return next();
  auto watch = std::make_shared<ProcessWatch>();
  *watch = watch_process_end(io_, std::move(pidfd), [watch, next = std::move(next)] {
    auto keep = std::move(*watch);  // the watch ends with this call
    next();
  });
}

void Tasks::created(std::shared_ptr<Creating> cr, LineRead report, Done<pid_t> done) {
  const task::CreateTaskRequest& req = cr->req;
  creating_.erase(req.id());
  cr->pending.launch.report = std::move(report.fd);
  auto launched = runtime_.finish_create(std::move(cr->pending), report.line);
  if (!launched) return create_failed(cr, launched.error().wrap("OCI runtime create failed"), std::move(done));
  auto c = new_container(*cr, launched->pid);
  c->init.monitor = std::move(launched->monitor);
  c->init.notify = std::make_unique<asio::posix::stream_descriptor>(io_, launched->notify.release());
  Container& ref = *c;
  containers_.emplace(req.id(), std::move(c));
  watch_exit(ref, ref.init, report.rest);
  watch_workload(ref.id, ref.init);
  // Entered before "ok PID" (spawn.hpp). A sandbox has none of its own: it shares ours.
  if (auto ns = mount_ns_of(std::to_string(launched->pid)); ns && ns != mount_ns_of("self")) ref.mount_ns = ns;
  publish_created(req, launched->pid);
  done(launched->pid);
}

// A launched init's record, the same for a sandbox and a monitored init; its IO runs from
// here on (a console is relayed once the process exists).
std::unique_ptr<Tasks::Container> Tasks::new_container(const Creating& cr, pid_t pid) {
  if (auto ok = cr.io->started(); !ok) log::error("{}: console: {}", cr.req.id(), ok.error().describe());
  auto c = std::make_unique<Container>();
  c->id = cr.req.id();
  c->bundle = cr.req.bundle();
  c->init.pid = pid;
  c->init.io = cr.io;
  c->init.paths = cr.paths;
  return c;
}

void Tasks::publish_created(const task::CreateTaskRequest& req, pid_t pid) {
  events::TaskCreate ev;
  ev.set_container_id(req.id());
  ev.set_bundle(req.bundle());
  *ev.mutable_rootfs() = req.rootfs();
  ev.mutable_io()->set_stdin(req.stdin());
  ev.mutable_io()->set_stdout(req.stdout());
  ev.mutable_io()->set_stderr(req.stderr());
  ev.mutable_io()->set_terminal(req.terminal());
  ev.set_pid(static_cast<uint32_t>(pid));
  publish(publisher_, ev);
}

// ----------------------------------------------------------------------------- Start

void Tasks::start(const ProcessRef& ref, Done<pid_t> done) {
  auto t = lookup(ref);
  if (!t) return done(std::unexpected(t.error()));
  if (!ref.exec_id.empty()) return start_exec(t->c, t->p, std::move(done));
  start_init(t->c, t->p, std::move(done));
}

void Tasks::start_init(Container& c, Process& p, Done<pid_t> done) {
  if (auto ok = can_start_init(c, p); !ok) return start_failed(c.id, ok.error(), std::move(done));
  // A sandbox runs from Create on and only waits for a signal: Start is its record.
  if (c.sandbox) {
    if (auto ok = runtime_.sandbox_started(c.id); !ok)
      return start_failed(c.id, ok.error().wrap("OCI runtime start failed"), std::move(done));
    return done(started_init(c, p));
  }
  // The monitor answers once it has opened the gate (the execve is not waited for); the
  // answer is read on the loop, so a stalled monitor holds this Start only.
  auto conn = runtime_.send_start(c.id);
  if (!conn) return start_failed(c.id, conn.error().wrap("OCI runtime start failed"), std::move(done));
  p.starting = true;
  std::string id = c.id;
  async_read_line(io_, std::move(*conn), [this, id, done = std::move(done)](LineRead r) mutable {
    auto t = lookup({id, ""});
    if (!t) return done(std::unexpected(t.error()));  // deleted meanwhile
    Process& p = t->p;
    p.starting = false;
    auto deferred = std::move(p.after_start);
    p.after_start.clear();
    auto answered = start_answer(r.line);
    if (answered) done(started_init(t->c, p));
    else start_failed(id, answered.error().wrap("OCI runtime start failed"), std::move(done));
    for (auto& f : deferred) f();  // exits seen meanwhile, now after TaskStart
  });
}

Result<void> Tasks::can_start_init(Container& c, Process& p) {
  auto never_ran = [&] {
    return failf(ErrorKind::kFailedPrecondition,
                 "container {}: its monitor ended before Start, so the workload never ran", c.id);
  };
  if (p.never_ran) return never_ran();
  if (p.starting) return failf(ErrorKind::kFailedPrecondition, "container {} is being started", c.id);
  TRY_CTX(p.machine.can_start(), "container " + c.id);
  // The record on disk agrees (a monitor that died meanwhile leaves it stopped).
  if (auto o = runtime_.state(c.id); !o || o->status != reaper::Status::kCreated) {
    if (o && !o->monitor_alive && !o->state.exit_status) return never_ran();
    return failf(ErrorKind::kFailedPrecondition, "container {} is not in the created state", c.id);
  }
  return {};
}

// The workload is released; its exit, if already seen, is handled after this
// (after_start), so TaskStart always precedes TaskExit.
Result<pid_t> Tasks::started_init(Container& c, Process& p) {
  TRY(p.machine.start());
  events::TaskStart ev;
  ev.set_container_id(c.id);
  ev.set_pid(static_cast<uint32_t>(p.pid));
  publish(publisher_, ev);
  return p.pid;
}

void Tasks::start_failed(const std::string& id, Error error, Done<pid_t> done) {
  auto t = lookup({id, ""});
  if (!t || t->p.machine.state() != ProcState::kCreated) return done(std::unexpected(error));
  // Its monitor ended before Start (the workload, held at its gate, is ours to reap):
  // the error goes out once that exit is handled, so the caller then sees a stopped task
  // (ctr deletes only a stopped task after a failed start).
  auto on_disk = runtime_.state(id);
  if (!on_disk || (!on_disk->state.exit_status && on_disk->monitor_alive)) return done(std::unexpected(error));
  t->p.waiters.push_back([done = std::move(done), error](Result<ExitInfo>) { done(std::unexpected(error)); });
}

void Tasks::start_exec(Container& c, Process& p, Done<pid_t> done) {
  auto startable = [&]() -> Result<void> {
    if (p.launching) return fail(ErrorKind::kFailedPrecondition, "process " + p.exec_id + " is being started");
    TRY_CTX(p.machine.can_start(), "process " + p.exec_id);
    auto on_disk = runtime_.state(c.id);
    if (c.init.machine.state() != ProcState::kRunning || !on_disk || on_disk->status != reaper::Status::kRunning)
      return failf(ErrorKind::kFailedPrecondition, "container {} init process is not running", c.id);
    return {};
  }();
  if (!startable) return done(std::unexpected(startable.error()));
  if (p.standby && start_standby(c, p, done)) return;
  auto opened = ProcessIo::open(io_, p.paths, p.exec_id, opts_.ns);
  if (!opened) return done(std::unexpected(opened.error().wrap("open IO")));
  auto pio = *opened;
  p.launching = true;
  ProcessRef ref{c.id, p.exec_id};
  // A logging binary must be ready before the process starts (at once without one).
  pio->when_ready([this, ref, pio, done = std::move(done)](Result<void> ready) mutable {
    auto t = lookup(ref);
    if (!t) {  // deleted meanwhile
      pio->close();
      return done(std::unexpected(t.error()));
    }
    if (!ready) {  // as any IO that could not be set up: the exec stays created
      t->p.launching = false;
      pio->close();
      return done(std::unexpected(ready.error().wrap("open IO")));
    }
    launch_exec(t->c, t->p, pio, std::move(done));
  });
}

ExecOptions Tasks::exec_options(const Container& c, const Process& p, const ProcessIo& pio) const {
  ExecOptions eo;
  eo.id = c.id;
  eo.exec_id = p.exec_id;
  eo.process = p.spec;
  eo.io.stdio = pio.stdio();
  eo.io.console_channel = pio.console_channel();
  eo.io.notify_exit = true;
  eo.io.announce_pid = true;
  return eo;
}

void Tasks::launch_exec(Container& c, Process& p, std::shared_ptr<ProcessIo> pio, Done<pid_t> done) {
  auto pending = runtime_.begin_exec(exec_options(c, p, *pio));
  if (!pending) {
    p.launching = false;
    pio->close();
    // Nobody may wait forever for a process that never ran.
    auto ignored = p.machine.exited({255, now_ns()});
    (void)ignored;
    answer_waiters(p);
    return done(std::unexpected(pending.error().wrap("OCI runtime exec failed")));
  }
  ++exec_launches_;
  await_exec_report({c.id, p.exec_id}, std::make_shared<PendingCreate>(std::move(*pending)), pio,
                    std::move(done));
}

void Tasks::await_exec_report(const ProcessRef& ref, std::shared_ptr<PendingCreate> pending,
                              std::shared_ptr<ProcessIo> pio, Done<pid_t> done) {
  async_read_line(io_, std::move(pending->launch.report),
                  [this, ref, pending, pio, done = std::move(done)](LineRead report) mutable {
                    exec_reported(ref, pending, pio, std::move(report), std::move(done));
                  });
}

void Tasks::exec_reported(const ProcessRef& ref, std::shared_ptr<PendingCreate> pending,
                          std::shared_ptr<ProcessIo> pio, LineRead report, Done<pid_t> done) {
  auto announced = report.line ? line::parse_announced(*report.line) : std::nullopt;
  if (announced) {
    // Known from now on, whatever happens to its monitor: its pid, the moment it ends,
    // and its exit if the daemon reaped it before this line was read.
    if (auto t = lookup(ref)) {
      Process& p = t->p;
      if (p.pid == 0) {
        p.pid = announced->pid;
        watch_workload(ref.id, p);
        if (auto it = unclaimed_.find(announced->pid); it != unclaimed_.end()) {
          p.reaped = it->second;
          unclaimed_.erase(it);
        }
      }
      if (p.go) {  // a started standby: its workload may go now
        auto sent = write_all(p.go.get(), line::format(line::Start{}));
        (void)sent;
        p.go.reset();
      }
    }
    return async_read_line(
        io_, std::move(report.fd),
        [this, ref, pending, pio, done = std::move(done)](LineRead next) mutable {
          exec_reported(ref, pending, pio, std::move(next), std::move(done));
        },
        report.rest);
  }
  auto r = std::make_shared<LineRead>(std::move(report));
  after_failed_report(pending->launch.monitor, *r, [this, ref, pending, pio, r, done] {
    exec_launched(ref, pending, pio, std::move(*r), done);
  });
}

void Tasks::exec_launch_ended() {
  if (--exec_launches_ == 0) unclaimed_.clear();
}

void Tasks::exec_launched(const ProcessRef& ref, std::shared_ptr<PendingCreate> pending,
                          std::shared_ptr<ProcessIo> pio, LineRead report, Done<pid_t> done) {
  auto t = lookup(ref);
  if (t) t->p.go.reset();  // a standby that reported no "pid" line: it ends
  pid_t announced = t ? t->p.pid : 0;
  if (!report.line && announced > 0) {
    // The monitor died after the workload announced itself: the workload is our child.
    exec_launch_ended();
    return exec_adopted(t->c, t->p, pending, pio, std::move(done));
  }
  pending->launch.report = std::move(report.fd);
  auto launched = runtime_.finish_exec(std::move(*pending), report.line);
  exec_launch_ended();
  if (!t) {  // deleted meanwhile: what was launched goes with it
    pio->close();
    if (launched) {
      auto ignored = runtime_.kill_exec_tree(ref.id, ref.exec_id);
      (void)ignored;
    }
    return done(std::unexpected(t.error()));
  }
  Process& p = t->p;
  p.launching = false;
  if (!launched) {
    // Its workload, if it announced itself, failed its setup and was reaped by its
    // monitor: nothing of it is left to watch.
    p.pid = 0;
    p.workload.reset();
    p.reaped.reset();
    if (!report.line)  // not even a "pid" line: the monitor ended before anything ran
      launched = std::unexpected(Error{0, "exec " + p.exec_id + " never ran: its monitor ended before starting it",
                                       ErrorKind::kFailedPrecondition});
    pio->close();
    auto ignored = p.machine.exited({255, now_ns()});
    (void)ignored;
    answer_waiters(p);
    return done(std::unexpected(launched.error().wrap("OCI runtime exec failed")));
  }
  if (auto ok = pio->started(); !ok) log::error("{}: console: {}", p.exec_id, ok.error().describe());
  p.io = pio;
  p.pid = launched->pid;
  p.monitor = std::move(launched->monitor);
  if (auto ok = p.machine.start(); !ok) return done(std::unexpected(ok.error()));
  p.notify = std::make_unique<asio::posix::stream_descriptor>(io_, launched->notify.release());
  watch_exit(t->c, p, report.rest);
  if (!p.workload) watch_workload(ref.id, p);
  end_if_init_ended(t->c, p);
  events::TaskExecStarted ev;
  ev.set_container_id(ref.id);
  ev.set_exec_id(p.exec_id);
  ev.set_pid(static_cast<uint32_t>(p.pid));
  publish(publisher_, ev);
  done(p.pid);
}

void Tasks::exec_adopted(Container& c, Process& p, std::shared_ptr<PendingCreate> pending,
                         std::shared_ptr<ProcessIo> pio, Done<pid_t> done) {
  p.launching = false;
  log::warn("{} {}: its monitor ended before ok PID; pid {} is adopted by the shim", c.id, p.exec_id, p.pid);
  // Recorded as started, as its monitor would have; its exit comes with reaped().
  if (auto ok = runtime_.record_adopted_start(c.id, p.exec_id, p.pid, pending->launch.monitor_pid, p.spec); !ok)
    log::error("{} {}: recording the adopted start: {}", c.id, p.exec_id, ok.error().describe());
  if (auto ok = pio->started(); !ok) log::error("{}: console: {}", p.exec_id, ok.error().describe());
  p.io = pio;
  p.monitor = std::move(pending->launch.monitor);
  p.adopted = true;
  c.adoption = true;
  if (auto ok = p.machine.start(); !ok) return done(std::unexpected(ok.error()));
  end_if_init_ended(c, p);
  events::TaskExecStarted ev;
  ev.set_container_id(c.id);
  ev.set_exec_id(p.exec_id);
  ev.set_pid(static_cast<uint32_t>(p.pid));
  publish(publisher_, ev);
  done(p.pid);
  if (p.reaped) adopted_ended(c.id, p);
}

// ----------------------------------------------------------------------------- exits

void Tasks::watch_exit(Container& c, Process& p, std::shared_ptr<asio::streambuf> buf_read) {
  // The monitor writes one line, "exit STATUS NS", after recording the exit on disk;
  // `buf_read` holds what was read past its first report, if anything.
  p.notify_buf = buf_read ? buf_read : std::make_shared<asio::streambuf>();
  std::string id = c.id, exec_id = p.exec_id;
  auto buf = p.notify_buf;
  asio::async_read_until(*p.notify, *buf, '\n', [this, id, exec_id, buf](boost::system::error_code ec, size_t) {
    if (ec == asio::error::operation_aborted) return;
    std::string text(asio::buffers_begin(buf->data()), asio::buffers_end(buf->data()));
    if (!text.empty() && text.back() == '\n') text.pop_back();
    auto exit = ec ? std::nullopt : line::parse_exited(text);
    if (exit) return process_ended(id, exec_id, ExitInfo{exit->status, exit->ns});
    monitor_lost(id, exec_id);
  });
}

void Tasks::watch_workload(const std::string& id, Process& p) {
  // Opened after the monitor's "ok PID". It may name another process only if the
  // workload had already ended and been reaped by its monitor, which records the exit
  // first: adoption, the one use of this pidfd, then never happens.
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, p.pid, 0));
  if (fd < 0) return;  // ended and reaped already: its exit is on disk
  std::string exec_id = p.exec_id;
  p.workload = watch_process_end(io_, UniqueFd(fd), [this, id, exec_id] {
    // The moment it ended, whoever reaps it and whenever: a monitor stopped or killed
    // between the exit and its report must not move the exit time.
    if (auto t = lookup({id, exec_id}); t && t->p.ended_ns == 0) t->p.ended_ns = now_ns();
  });
}

void Tasks::monitor_lost(const std::string& id, const std::string& exec_id) {
  auto t = lookup({id, exec_id});
  if (!t) return;  // deleted meanwhile
  Process& p = t->p;
  if (p.starting) {
    p.after_start.push_back([this, id, exec_id] { monitor_lost(id, exec_id); });
    return;
  }
  p.notify.reset();
  // Died between recording the exit and reporting it: the record is the exit.
  const StateStore& store = runtime_.store();
  auto on_disk = store.observe_dir(exec_id.empty() ? store.dir(id) : store.exec_dir(id, exec_id));
  if (on_disk && on_disk->state.exit_status && on_disk->state.exited_ns)
    return process_ended(id, exec_id,
                         ExitInfo{static_cast<uint32_t>(*on_disk->state.exit_status), *on_disk->state.exited_ns});
  // Otherwise the monitor never reaped its workload, which is now our child (the daemon
  // is a child subreaper), alive or a zombie: its exit comes when the daemon reaps it.
  p.adopted = true;
  t->c.adoption = true;
  p.never_ran = p.machine.state() == ProcState::kCreated;
  log::warn("{} {}: its monitor ended {}; pid {} is adopted by the shim", id, process_name(exec_id),
            p.never_ran ? "before Start" : "before the workload", p.pid);
  if (p.reaped) adopted_ended(id, p);
}

void Tasks::reaped(pid_t pid, int wait_status) {
  for (auto& [id, c] : containers_) {
    std::vector<Process*> all{&c->init};
    for (auto& [eid, e] : c->execs) all.push_back(e.get());
    for (Process* p : all) {
      // A pid is unique among processes not yet reaped: while this process is not
      // stopped, a reaped child with its pid is its workload, unless its monitor reaped
      // that and the pid was reused, in which case the monitor recorded the exit, which
      // monitor_lost prefers.
      if (p->pid != pid || p->reaped || p->machine.state() == ProcState::kStopped ||
          p->machine.state() == ProcState::kDeleted)
        continue;
      p->reaped = adopted_exit(wait_status, p->ended_ns ? p->ended_ns : now_ns());
      if (p->adopted) adopted_ended(id, *p);
      return;
    }
  }
  // Nobody's yet: maybe an exec's workload whose "pid" line is still unread.
  if (exec_launches_ > 0) unclaimed_[pid] = adopted_exit(wait_status, now_ns());
}

void Tasks::adopted_ended(const std::string& id, Process& p) {
  AdoptedExit e = *p.reaped;
  std::string exec_id = p.exec_id;
  // Recorded on disk before anyone is told, as its monitor would have.
  if (auto ok = runtime_.record_adopted_exit(id, exec_id, e); !ok)
    log::error("{} {}: recording the exit: {}", id, process_name(exec_id), ok.error().describe());
  p.held_locks.clear();  // a sandbox's: its exit is recorded, as a monitor's end would say
  std::optional<oci::Process> spec;
  if (!exec_id.empty()) spec = p.spec;
  process_ended(id, exec_id, ExitInfo{static_cast<uint32_t>(e.exit_status), e.ns},
                [this, id, exec_id, e, spec = std::move(spec)] {
                  runtime_.audit_adopted_exit(id, exec_id, spec ? &*spec : nullptr, e);
                });
}

void Tasks::process_ended(const std::string& id, const std::string& exec_id, ExitInfo e,
                          std::function<void()> after) {
  // The exit is reported once its output has been read (ProcessIo). When an init
  // exits, what is left of its container goes too, as a pid namespace's end would
  // take it: after the report when nothing is left to read (the common case, kept
  // fast), before the wait otherwise, so that nothing writes on meanwhile.
  auto t = lookup({id, exec_id});
  Process* p = t ? &t->p : nullptr;
  if (p && p->starting) {
    p->after_start.push_back([this, id, exec_id, e, after = std::move(after)]() mutable {
      process_ended(id, exec_id, e, std::move(after));
    });
    return;
  }
  auto report = [this, id, exec_id, e, after = std::move(after)] {
    exited(id, exec_id, e);
    if (after) after();
  };
  bool waits = p && p->io && !p->io->drained();
  if (waits && exec_id.empty()) kill_leftovers(id);
  // At once when nothing is unread; either way the shim lets go of the FIFOs then,
  // so the reader sees EOF (an exec's reader waits for it).
  if (p && p->io) p->io->on_drained(std::move(report));
  else report();
  if (!waits && exec_id.empty()) kill_leftovers(id);
}

std::vector<const Tasks::Process*> Tasks::adopted_alive(const Container& c) const {
  std::vector<const Process*> out;
  auto add = [&out](const Process& p) {
    if (p.adopted && !p.reaped && p.workload && p.machine.state() != ProcState::kStopped) out.push_back(&p);
  };
  add(c.init);
  for (const auto& [eid, e] : c.execs) add(*e);
  return out;
}

std::vector<pid_t> Tasks::adopted_roots(const Container& c) const {
  std::vector<pid_t> roots;
  if (!c.adoption) return roots;
  for (const Process* p : adopted_alive(c)) roots.push_back(p->pid);
  if (!c.mount_ns) return roots;
  pid_t self = ::getpid();
  for (const auto& p : read_all_procs())
    if (p.ppid == self && p.state != 'Z' && std::find(roots.begin(), roots.end(), p.pid) == roots.end() &&
        mount_ns_of(std::to_string(p.pid)) == c.mount_ns)
      roots.push_back(p.pid);
  return roots;
}

void Tasks::signal_all(Container& c, int sig) {
  if (!c.sandbox) {
    auto ignored = runtime_.kill(c.id, sig, true);  // what the live monitors hold
    (void)ignored;
  }
  // Our children, not reaped: their pids are still theirs; what they started goes too.
  std::vector<pid_t> roots = adopted_roots(c);
  if (roots.empty()) return;
  for (pid_t pid : roots) ::kill(pid, sig);
  signal_descendants(roots, sig);
}

void Tasks::kill_leftovers(const std::string& id) {
  auto c = container(id);
  if (!c) return;
  signal_all(**c, SIGKILL);
  // A standby's held process is in no record that signal_all reads: its go pipe closes,
  // so its monitor kills it and ends (the exec's Delete still removes its directory).
  for (auto& [eid, e] : (*c)->execs)
    if (e->standby) e->standby->go.reset();
}

// An exec whose launch ended after its container's init: the init's leftovers were
// killed before this exec had a record to be found by, so it goes now, as it would have
// then. (Start checked the init before the launch; it may end during it.)
void Tasks::end_if_init_ended(const Container& c, const Process& p) {
  if (c.init.machine.state() != ProcState::kStopped) return;
  log::warn("{} {}: started as its container's init ended; killed", c.id, p.exec_id);
  if (auto killed = runtime_.kill_exec_tree(c.id, p.exec_id); !killed)
    log::error("{} {}: {}", c.id, p.exec_id, killed.error().describe());
}

bool Tasks::execs_running(const Container& c) const {
  for (const auto& [id, p] : c.execs)
    if (p->machine.live()) return true;
  return false;
}

void Tasks::exited(const std::string& id, const std::string& exec_id, ExitInfo e) {
  auto t = lookup({id, exec_id});
  if (!t) return;  // deleted meanwhile
  Container& c = t->c;
  Process& p = t->p;
  if (!p.machine.exited(e)) return;  // already stopped: the first exit is the real one
  p.notify.reset();
  if (!exec_id.empty()) {
    report_exit(c, p);
    if (c.init_exit_held && !execs_running(c)) {
      c.init_exit_held = false;
      report_exit(c, c.init);
    }
    return;
  }
  // Nothing of a stopped container goes on running (watch_exit kills its leftovers),
  // exec'd processes included. Exec exits come before the container's, so with execs
  // running the init's exit waits for theirs.
  if (execs_running(c)) {
    c.init_exit_held = true;
    kill_leftovers(id);
    return;
  }
  report_exit(c, p);
}

void Tasks::report_exit(Container& c, Process& p) {
  // Waiters first, then the event, as runc does.
  size_t waiters = p.waiters.size();
  answer_waiters(p);
  const ExitInfo& e = p.machine.exit();
  // The latency from the recorded exit to the Wait replies (bench/ctr-run.sh reads it).
  log::info("exit {} {}: status {}, {} Wait replies {} us after the exit", c.id,
            p.exec_id.empty() ? "init" : p.exec_id, e.status, waiters, (now_ns() - e.ns) / 1000);
  events::TaskExit ev;
  ev.set_container_id(c.id);
  ev.set_id(p.exec_id.empty() ? c.id : p.exec_id);
  ev.set_pid(static_cast<uint32_t>(p.pid));
  ev.set_exit_status(e.status);
  set_time(ev.mutable_exited_at(), e.ns);
  publish(publisher_, ev);
}

void Tasks::answer_waiters(Process& p) {
  for (auto& w : std::exchange(p.waiters, {})) w(p.machine.exit());
}

void Tasks::abandon(Process& p) {
  // A process that is being forgotten never leaves a Wait unanswered.
  if (p.machine.state() != ProcState::kStopped) {
    auto ignored = p.machine.exited({255, now_ns()});
    (void)ignored;
  }
  answer_waiters(p);
}

void Tasks::wait(const ProcessRef& ref, Done<ExitInfo> done) {
  auto t = lookup(ref);
  if (!t) return done(std::unexpected(t.error()));
  bool held = ref.exec_id.empty() && t->c.init_exit_held;
  if (t->p.machine.state() == ProcState::kStopped && !held) return done(t->p.machine.exit());
  t->p.waiters.push_back(std::move(done));  // answered by report_exit, however long it takes
}

// ----------------------------------------------------------------------------- queries

Result<ProcessView> Tasks::state(const ProcessRef& ref) {
  Target t = TRY(lookup(ref));
  ProcessView v;
  v.id = ref.exec_id.empty() ? t.c.id : ref.exec_id;
  v.bundle = t.c.bundle;
  v.pid = t.p.pid;
  v.state = t.p.machine.shown_state(t.c.init.machine);
  v.paths = t.p.paths;
  v.exit = t.p.machine.exit();
  return v;
}

Result<std::vector<pid_t>> Tasks::pids(const std::string& id) {
  Container* c = TRY(container(id));
  // A sandbox's process is our child: from our own pidfd, not from its record.
  auto pids = c->sandbox ? std::vector<pid_t>{} : runtime_.pids(id).value_or(std::vector<pid_t>{});
  std::vector<pid_t> roots = adopted_roots(*c);
  if (roots.empty()) return pids;
  pids.insert(pids.end(), roots.begin(), roots.end());
  for (const auto& d : descendants(roots)) pids.push_back(d.pid);
  return pids;
}

pid_t Tasks::init_pid(const std::string& id) {
  auto c = container(id);
  return c ? (*c)->init.pid : 0;
}

// ----------------------------------------------------------------------------- control

Result<void> Tasks::kill(const ProcessRef& ref, int sig, bool all) {
  Target t = TRY(lookup(ref));
  if (sig < 1 || sig > SIGRTMAX) return failf(ErrorKind::kInvalidArgument, "invalid signal {}", sig);
  if (t.p.machine.state() == ProcState::kCreated && !t.p.machine.is_init())
    return fail(ErrorKind::kFailedPrecondition, "process not created");
  if (all && ref.exec_id.empty()) {
    signal_all(t.c, sig);  // everything of the container, execs included
    return t.p.machine.can_signal();
  }
  TRY(t.p.machine.can_signal());
  if (t.p.adopted) {  // its monitor is gone: the workload is our child
    if (t.p.reaped || !t.p.workload ||
        ::syscall(SYS_pidfd_send_signal, t.p.workload->native_handle(), sig, nullptr, 0) != 0)
      return fail(ErrorKind::kNotFound, "process already finished");
    return {};
  }
  return ref.exec_id.empty() ? runtime_.kill(t.c.id, sig, false) : runtime_.kill_exec(t.c.id, ref.exec_id, sig);
}

Result<void> Tasks::pause(const std::string& id) {
  Container* c = TRY(container(id));
  TRY(c->init.machine.pause());
  // No cgroup freezer without cgroups: every process of the container is stopped instead.
  signal_all(*c, SIGSTOP);
  events::TaskPaused ev;
  ev.set_container_id(c->id);
  publish(publisher_, ev);
  return {};
}

Result<void> Tasks::resume(const std::string& id) {
  Container* c = TRY(container(id));
  TRY(c->init.machine.resume());
  signal_all(*c, SIGCONT);
  events::TaskResumed ev;
  ev.set_container_id(c->id);
  publish(publisher_, ev);
  return {};
}

Result<void> Tasks::update(const std::string& id) {
  Container* c = TRY(container(id));
  TRY(c->init.machine.can_update());
  // Resource limits need cgroups, which reaper does not use: accepted and not enforced,
  // so that kubelet's resource updates do not fail.
  log::info("{}: resource update accepted, not enforced (no cgroups)", c->id);
  return {};
}

Result<void> Tasks::exec(const task::ExecProcessRequest& req) {
  Container* c = TRY(container(req.id()));
  TRY(validate_id(req.exec_id(), "exec id"));
  if (c->execs.count(req.exec_id())) return failf(ErrorKind::kAlreadyExists, "id {}", req.exec_id());
  TRY_CTX(c->init.machine.can_exec(), "container " + c->id);
  auto spec = oci::parse_process(req.spec().value());
  if (!spec) return fail(ErrorKind::kInvalidArgument, "exec spec: " + spec.error().message);
  spec->terminal = req.terminal();
  auto p = std::make_unique<Process>(req.exec_id());
  p->spec = std::move(*spec);
  p->paths = IoPaths{req.stdin(), req.stdout(), req.stderr(), req.terminal()};
  c->execs.emplace(req.exec_id(), std::move(p));
  events::TaskExecAdded ev;
  ev.set_container_id(c->id);
  ev.set_exec_id(req.exec_id());
  publish(publisher_, ev);
  // After this request's answer has gone out (posted twice: after the completion of its
  // write too, which the shim's timings stamp): its client is not held for the fork.
  asio::post(io_, [this, ref = ProcessRef{c->id, req.exec_id()}] {
    asio::post(io_, [this, ref] { prepare_standby(ref); });
  });
  return {};
}

Result<void> Tasks::resize_pty(const ProcessRef& ref, unsigned rows, unsigned cols) {
  Target t = TRY(lookup(ref));
  if (t.p.io) TRY(t.p.io->resize(rows, cols));
  return {};
}

Result<void> Tasks::close_io(const ProcessRef& ref) {
  Target t = TRY(lookup(ref));
  if (t.p.io) t.p.io->close_stdin();
  else if (t.p.standby) t.p.standby->io->close_stdin();
  return {};
}

// ----------------------------------------------------------------------------- Delete

void Tasks::remove(const ProcessRef& ref, Done<Deleted> done) {
  auto t = lookup(ref);
  if (!t) return done(std::unexpected(t.error()));
  if (t->c.deleting) return done(fail(ErrorKind::kFailedPrecondition, "container " + ref.id + " is being deleted"));
  if (ref.exec_id.empty() && t->c.init_exit_held)
    return done(fail(ErrorKind::kFailedPrecondition, "cannot delete a running process"));
  if (t->p.machine.live() || t->p.launching || t->p.starting)
    return done(fail(ErrorKind::kFailedPrecondition, "cannot delete a running process"));
  if (ref.exec_id.empty()) remove_init(t->c, t->p, std::move(done));
  else remove_exec(t->c, t->p, std::move(done));
}

void Tasks::remove_exec(Container& c, Process& p, Done<Deleted> done) {
  Deleted d{p.pid, p.machine.exit()};
  if (d.exit.ns == 0) d.exit.ns = now_ns();
  if (p.io) p.io->close();
  abandon(p);
  if (auto ok = p.machine.remove(); !ok) return done(std::unexpected(ok.error()));
  ProcessRef ref{c.id, p.exec_id};
  std::vector<UniqueFd> monitors;
  if (p.monitor) monitors.push_back(std::move(p.monitor));
  if (UniqueFd standby = drop_standby(p)) monitors.push_back(std::move(standby));
  bool launched = !monitors.empty();
  // Its logging binary, stopped by close(), is waited for too, as runc's shim does.
  if (p.io)
    if (UniqueFd logger = p.io->logger_end()) monitors.push_back(std::move(logger));
  c.execs.erase(p.exec_id);
  // What the exec left behind goes with its record, once its monitor has ended.
  if (launched) {
    auto ignored = runtime_.kill_exec_tree(ref.id, ref.exec_id);
    (void)ignored;
  }
  when_all_ended(io_, std::move(monitors), [this, ref, launched, d, done = std::move(done)] {
    if (launched) {
      auto ignored = runtime_.remove_exec(ref.id, ref.exec_id);
      (void)ignored;
    }
    done(d);
  });
}

void Tasks::remove_init(Container& c, Process& p, Done<Deleted> done) {
  c.deleting = true;
  std::string id = c.id;
  if (p.machine.state() == ProcState::kCreated) {
    // Never started: killed now; its exit is recorded, answered and published as any
    // other, and the deletion goes on from there.
    kill_leftovers(id);
    p.waiters.push_back([this, id, done = std::move(done)](Result<ExitInfo>) mutable { removed_init(id, std::move(done)); });
    return;
  }
  removed_init(id, std::move(done));
}

void Tasks::removed_init(const std::string& id, Done<Deleted> done) {
  auto found = container(id);
  if (!found) return done(std::unexpected(found.error()));
  Container& c = **found;
  // Whatever is left of the container goes; its record once every monitor has ended.
  kill_leftovers(id);
  std::vector<UniqueFd> monitors;
  if (c.init.monitor) monitors.push_back(std::move(c.init.monitor));
  for (auto& [eid, e] : c.execs) {
    if (e->monitor) monitors.push_back(std::move(e->monitor));
    if (UniqueFd standby = drop_standby(*e)) monitors.push_back(std::move(standby));
  }
  when_all_ended(io_, std::move(monitors), [this, id, done = std::move(done)] {
    auto found = container(id);
    if (!found) return done(std::unexpected(found.error()));
    Container& c = **found;
    Process& p = c.init;
    p.held_locks.clear();  // removing waits for a monitor's lock: never for our own
    auto removed = runtime_.remove(id, true);
    if (!removed) log::error("{}: delete: {}", id, removed.error().describe());
    for (auto& [eid, e] : c.execs) abandon(*e);
    std::vector<UniqueFd> loggers;
    for (auto& [eid, e] : c.execs)
      if (e->io) {
        e->io->close();
        loggers.push_back(e->io->logger_end());
      }
    if (p.io) {
      p.io->close();
      loggers.push_back(p.io->logger_end());
    }
    if (auto ok = p.machine.remove(); !ok) log::error("{}: delete: {}", id, ok.error().describe());
    Deleted d{p.pid, p.machine.exit()};
    events::TaskDelete ev;
    ev.set_container_id(id);
    ev.set_pid(static_cast<uint32_t>(d.pid));
    ev.set_exit_status(d.exit.status);
    set_time(ev.mutable_exited_at(), d.exit.ns);
    publish(publisher_, ev);
    containers_.erase(id);
    after_loggers(std::move(loggers), [this, d, done] {
      done(d);
      maybe_shut_down();  // after the answer: shutting down closes the server
    });
  });
}

void Tasks::after_loggers(std::vector<UniqueFd> loggers, std::function<void()> then) {
  std::erase_if(loggers, [](const UniqueFd& fd) { return !fd; });
  if (loggers.empty()) return then();
  ++loggers_stopping_;
  when_all_ended(io_, std::move(loggers), [this, then = std::move(then)] {
    --loggers_stopping_;
    then();
  });
}

void Tasks::shutdown() {
  shutdown_requested_ = true;
  maybe_shut_down();
}

void Tasks::maybe_shut_down() {
  if (shutdown_requested_ && empty() && on_shutdown) on_shutdown();
}

}  // namespace reaper::shim
