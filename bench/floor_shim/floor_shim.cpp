// containerd-shim-floor-v2: the floor of bench/ctr-run.sh, built only for the benchmark
// (meson -Dbench=true; never installed). A shim v2 that runs nothing and only answers:
// `start` forks a daemon and prints its address, the daemon serves the Task API over the
// project's own ttrpc server, publishes the four events a task's life sends (create,
// start, exit, delete) and exits after Shutdown. Create returns the daemon's pid, Wait
// answers at once with status 0, State says stopped once Start was called. The time
// `ctr run --rm ID /bin/true` takes against it is what containerd and ctr cost on their
// own: reaper's distance from it is the shim's share plus the process's.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <string_view>

#include "core/sha256.hpp"
#include "core/state_store.hpp"
#include "events.pb.h"
#include "shim.pb.h"
#include "shim/proto_util.hpp"
#include "shim/publisher.hpp"
#include "shim/task_events.hpp"
#include "ttrpc/server.hpp"

namespace task = containerd::task::v2;
namespace events = containerd::events;
using reaper::now_ns;
using reaper::shim::set_time;
using reaper::shim::set_unset_time;

namespace {

struct Flags {
  std::string ns, address, id, action;
};

Flags parse(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.empty() || a[0] != '-') {
      f.action = a;
      break;
    }
    while (!a.empty() && a[0] == '-') a.remove_prefix(1);
    std::string_view name = a.substr(0, a.find('='));
    std::string value;
    if (a.find('=') != std::string_view::npos) value = a.substr(a.find('=') + 1);
    else if (name != "debug" && i + 1 < argc) value = argv[++i];
    if (name == "namespace") f.ns = value;
    else if (name == "address") f.address = value;
    else if (name == "id") f.id = value;
  }
  return f;
}

// One task per daemon, as containerd sees it.
struct Task {
  std::string id, bundle;
  bool started = false;
  int64_t exited_ns = 0;
};

class Floor {
 public:
  Floor(boost::asio::io_context& io, reaper::ttrpc::Server& server, reaper::shim::Publisher& publisher)
      : server_(server), publisher_(publisher) {
    (void)io;
  }

  void handle(reaper::ttrpc::Call&& call, reaper::ttrpc::Reply reply) {
    const std::string& m = call.method;
    if (m == "Create") return create(call.payload, reply);
    if (m == "Start") return start(call.payload, reply);
    if (m == "Wait") return ok(reply, exit_of<task::WaitResponse>());
    if (m == "State") return state(call.payload, reply);
    if (m == "Delete") return remove(reply);
    if (m == "Connect") {
      task::ConnectResponse resp;
      resp.set_shim_pid(static_cast<uint32_t>(::getpid()));
      resp.set_task_pid(static_cast<uint32_t>(::getpid()));
      return ok(reply, resp);
    }
    if (m == "Shutdown") {
      reply(reaper::ttrpc::Status::ok(), "");
      // Queued events first, then the connections close once the reply is written and
      // the loop runs out of work.
      publisher_.flush([this] { server_.close(); });
      return;
    }
    if (m == "Kill" || m == "CloseIO" || m == "ResizePty" || m == "Update") return reply(reaper::ttrpc::Status::ok(), "");
    reply(reaper::ttrpc::Status{reaper::ttrpc::Code::Unimplemented, "method " + m}, "");
  }

 private:
  template <class M>
  static void ok(reaper::ttrpc::Reply& reply, const M& m) {
    reply(reaper::ttrpc::Status::ok(), m.SerializeAsString());
  }
  template <class M>
  M exit_of() {
    M resp;
    resp.set_exit_status(0);
    set_time(resp.mutable_exited_at(), task_.exited_ns ? task_.exited_ns : now_ns());
    return resp;
  }

  void create(const std::string& payload, reaper::ttrpc::Reply& reply) {
    task::CreateTaskRequest req;
    req.ParseFromString(payload);
    task_.id = req.id();
    task_.bundle = req.bundle();
    events::TaskCreate ev;
    ev.set_container_id(task_.id);
    ev.set_bundle(task_.bundle);
    ev.set_pid(static_cast<uint32_t>(::getpid()));
    reaper::shim::publish(publisher_, ev);
    task::CreateTaskResponse resp;
    resp.set_pid(static_cast<uint32_t>(::getpid()));
    ok(reply, resp);
  }

  void start(const std::string& payload, reaper::ttrpc::Reply& reply) {
    task::StartRequest req;
    req.ParseFromString(payload);
    task_.started = true;
    task_.exited_ns = now_ns();
    events::TaskStart start;
    start.set_container_id(task_.id);
    start.set_pid(static_cast<uint32_t>(::getpid()));
    reaper::shim::publish(publisher_, start);
    events::TaskExit exit;
    exit.set_container_id(task_.id);
    exit.set_id(task_.id);
    exit.set_pid(static_cast<uint32_t>(::getpid()));
    set_time(exit.mutable_exited_at(), task_.exited_ns);
    reaper::shim::publish(publisher_, exit);
    task::StartResponse resp;
    resp.set_pid(static_cast<uint32_t>(::getpid()));
    ok(reply, resp);
  }

  void state(const std::string& payload, reaper::ttrpc::Reply& reply) {
    task::StateRequest req;
    req.ParseFromString(payload);
    task::StateResponse resp;
    resp.set_id(req.id());
    resp.set_bundle(task_.bundle);
    resp.set_pid(static_cast<uint32_t>(::getpid()));
    resp.set_status(task_.started ? containerd::v1::types::STOPPED : containerd::v1::types::CREATED);
    if (task_.started) set_time(resp.mutable_exited_at(), task_.exited_ns);
    else set_unset_time(resp.mutable_exited_at());
    ok(reply, resp);
  }

  void remove(reaper::ttrpc::Reply& reply) {
    auto resp = exit_of<task::DeleteResponse>();
    resp.set_pid(static_cast<uint32_t>(::getpid()));
    events::TaskDelete ev;
    ev.set_container_id(task_.id);
    ev.set_id(task_.id);
    ev.set_pid(static_cast<uint32_t>(::getpid()));
    set_time(ev.mutable_exited_at(), task_.exited_ns ? task_.exited_ns : now_ns());
    reaper::shim::publish(publisher_, ev);
    ok(reply, resp);
  }

  reaper::ttrpc::Server& server_;
  reaper::shim::Publisher& publisher_;
  Task task_;
};

int serve(int listening_fd, const Flags& f) {
  std::string ttrpc_address;
  if (const char* t = std::getenv("TTRPC_ADDRESS")) ttrpc_address = t;
  if (ttrpc_address.starts_with("unix://")) ttrpc_address.erase(0, 7);
  boost::asio::io_context io(1);
  reaper::shim::Publisher publisher(io, ttrpc_address, f.ns);
  Floor* floor = nullptr;
  reaper::ttrpc::Server server(io, [&floor](reaper::ttrpc::Call&& call, reaper::ttrpc::Reply reply) {
    floor->handle(std::move(call), std::move(reply));
  });
  Floor service(io, server, publisher);
  floor = &service;
  if (!server.adopt(listening_fd)) return 1;
  io.run();
  return 0;
}

int start(const Flags& f) {
  char drain[4096];
  while (::read(STDIN_FILENO, drain, sizeof drain) > 0) {
  }
  std::string path = "/run/containerd/s/floor-" + reaper::sha256_hex(f.address + "/" + f.ns + "/" + f.id).substr(0, 32);
  ::mkdir("/run/containerd/s", 0711);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ::unlink(path.c_str());
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0) {
    std::perror("floor shim: socket");
    return 1;
  }
  pid_t pid = ::fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    // The daemon, without an exec: its own session, nothing of containerd's pipes.
    ::setsid();
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::_exit(serve(fd, f));
  }
  std::printf("unix://%s", path.c_str());
  return 0;
}

int remove_action() {
  task::DeleteResponse resp;
  resp.set_exit_status(0);
  set_time(resp.mutable_exited_at(), now_ns());
  std::string out = resp.SerializeAsString();
  return ::write(STDOUT_FILENO, out.data(), out.size()) == static_cast<ssize_t>(out.size()) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  Flags f = parse(argc, argv);
  if (f.action == "start") return start(f);
  if (f.action == "delete") return remove_action();
  std::fprintf(stderr, "containerd-shim-floor-v2: benchmark floor; actions: start, delete\n");
  return 2;
}
