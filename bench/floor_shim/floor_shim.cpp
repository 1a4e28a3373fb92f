// containerd-shim-floor-v2: the floor of bench/ctr-run.sh and bench/ctr-exec.sh, built
// only for the benchmarks (meson -Dbench=true; never installed). A shim v2 that runs
// nothing and only answers: `start` forks a daemon and prints its address, the daemon
// serves the Task API over the project's own ttrpc server (floor_service.hpp: one task,
// its execs, the events of their lives in containerd's order) and exits after Shutdown
// once its task is deleted. Nothing is spawned: every pid it reports is the daemon's own.
// It opens each process's stdio FIFOs as a real shim does and closes them at the exit:
// a client whose FIFOs are never opened pays for cancelling its own opens, which no
// runtime makes it pay. An exec's are opened as soon as its Exec is answered, as reaper's
// shim does: `ctr task exec` ends about 8 ms sooner then, which runc's shim, opening
// them at Start, does not give it.
// Rule for how long a process "runs": the init exits with status 0 at its Start unless
// the bundle's config.json has process.args[0] named `sleep` (any directory), which then
// stays running until a Kill (exit 128 + signal); an exec exits with status 0 at its
// Start. The time `ctr run --rm ID /bin/true`, or `ctr task exec ... /bin/true` into a
// `sleep` task, takes against it is what containerd and ctr cost on their own: a real
// runtime's distance from it is the shim's share plus the process's.
//
// The same binary installed as containerd-shim-floorrun-v2 (the mode follows the name
// it was run by) is the physical floor: it really runs each process, with nothing a
// runtime could leave out (floor_process.hpp), so that a real runtime's distance from
// it is the shim's own overhead, without the machine's price of a fork and an exec.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "core/sha256.hpp"
#include "core/state_store.hpp"
#include "floor_service.hpp"
#include "shim.pb.h"
#include "shim/proto_util.hpp"
#include "shim/publisher.hpp"
#include "shim/timings.hpp"
#include "ttrpc/server.hpp"

namespace {

struct Flags {
  std::string ns, address, id, action;
  bool physical = false;  // run as containerd-shim-floorrun-v2
};

constexpr std::string_view kPhysicalName = "containerd-shim-floorrun-v2";

Flags parse(int argc, char** argv) {
  Flags f;
  std::string_view self = argc > 0 ? argv[0] : "";
  if (auto slash = self.rfind('/'); slash != std::string_view::npos) self.remove_prefix(slash + 1);
  f.physical = self == kPhysicalName;
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

int serve(int listening_fd, const Flags& f) {
  std::string ttrpc_address;
  if (const char* t = std::getenv("TTRPC_ADDRESS")) ttrpc_address = t;
  if (ttrpc_address.starts_with("unix://")) ttrpc_address.erase(0, 7);
  boost::asio::io_context io(1);
  reaper::shim::Publisher publisher(io, ttrpc_address, f.ns);
  floor_shim::FloorService* service = nullptr;
  reaper::ttrpc::Server server(io, [&service](reaper::ttrpc::Call&& call, reaper::ttrpc::Reply reply) {
    service->handle(std::move(call), std::move(reply));
  });
  // The connections close once their replies are written; the loop stops once the queued
  // events are out (the publisher's own connection to containerd would keep it running).
  floor_shim::FloorService floor(publisher, io, f.physical, [&] {
    server.close();
    publisher.flush([&io] { io.stop(); });
  });
  service = &floor;
  if (reaper::shim::timeline_enabled()) {
    // The same steps as reaper's shim marks (bench/ctr-run.sh --timeline).
    server.on_reply_written = [](const std::string& method, std::int64_t read_ns, std::int64_t written_ns) {
      reaper::shim::timeline("rpc:" + method + ":read", read_ns);
      reaper::shim::timeline("rpc:" + method + ":answered", written_ns);
    };
  }
  if (!server.adopt(listening_fd)) return 1;
  reaper::shim::timeline("daemon:serving", reaper::shim::monotonic_ns());
  io.run();
  return 0;
}

int start(const Flags& f) {
  char drain[4096];
  while (::read(STDIN_FILENO, drain, sizeof drain) > 0) {
  }
  std::string path = std::string("/run/containerd/s/") + (f.physical ? "floorrun-" : "floor-") + reaper::sha256_hex(f.address + "/" + f.ns + "/" + f.id).substr(0, 32);
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
  containerd::task::v2::DeleteResponse resp;
  resp.set_exit_status(0);
  reaper::shim::set_time(resp.mutable_exited_at(), reaper::now_ns());
  std::string out = resp.SerializeAsString();
  return ::write(STDOUT_FILENO, out.data(), out.size()) == static_cast<ssize_t>(out.size()) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  reaper::shim::mark_main();
  ::signal(SIGPIPE, SIG_IGN);
  Flags f = parse(argc, argv);
  if (f.action == "start") {
    int status = start(f);
    std::fflush(stdout);
    reaper::shim::timeline("start:main", reaper::shim::main_ns());
    reaper::shim::timeline("start:printed", reaper::shim::monotonic_ns());
    return status;
  }
  if (f.action == "delete") return remove_action();
  std::fprintf(stderr, "containerd-shim-floor-v2 (or, to run the processes, %s): benchmark floor; actions: start, delete\n",
               kPhysicalName.data());
  return 2;
}
