#include "shim/daemon.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>

#include "core/audit.hpp"
#include "core/log.hpp"
#include "shim/publisher.hpp"
#include "shim/task_service.hpp"
#include "shim/timings.hpp"
#include "ttrpc/server.hpp"

namespace asio = boost::asio;

namespace reaper::shim {
namespace {

// The bundle's `log` FIFO, which containerd copies into its own log. Non-blocking:
// while containerd is away nobody drains it, and a full FIFO must cost a log line,
// never a stalled daemon.
void log_to_bundle_fifo() {
  int fd = ::open("log", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;
  ::dup2(fd, STDERR_FILENO);
  ::close(fd);
}

// Our children are the containers' monitors, each recording its workload's exit
// itself, a pod sandbox's process (ours to record: core/sandbox_process.hpp), and,
// since we are a child subreaper, whatever a monitor leaves when it ends
// first (killed, crashed): its workload, whose status is the real exit the task service
// reports, and the workload's orphans.
void reap_children(TaskService& tasks) {
  int status = 0;
  for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) tasks.reaped(pid, status);
}

}  // namespace

int serve(const Options& opts, std::int64_t forked_ns) {
  ::signal(SIGPIPE, SIG_IGN);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  log_to_bundle_fifo();
  if (auto ok = log::init("containerd-shim-reaper-v2", "", false, opts.debug); !ok) return 1;

  set_audit_namespace(opts.ns);  // in every audit record of the processes it launches
  asio::io_context io(1);
  Publisher publisher(io, opts.ttrpc_address, opts.ns);
  TaskService tasks(io, opts, publisher);
  ttrpc::Server server(io, [&tasks](ttrpc::Call&& call, ttrpc::Reply reply) {
    tasks.handle(std::move(call), std::move(reply));
  });
  if (timings_enabled()) {
    // bench/ctr-run.sh reads these lines: each Task RPC from its frame's read to its reply's
    // write; with --timeline, the stamps of both too.
    server.on_reply_written = [](const std::string& method, std::int64_t read_ns, std::int64_t written_ns) {
      log::info("rpc {} {} us", method, (written_ns - read_ns) / 1000);
      timeline("rpc:" + method + ":read", read_ns);
      timeline("rpc:" + method + ":answered", written_ns);
    };
  }
  // `start` hands the listening socket over as fd 3; by hand, -socket names one.
  auto listening = ::fcntl(3, F_GETFD) >= 0 ? server.adopt(3) : server.listen(opts.socket);
  if (!listening) {
    log::error("listen: {}", listening.error().describe());
    return 1;
  }

  asio::steady_timer flush_limit(io);
  auto stop = [&] {
    server.close();
    // Queued events still go out (containerd may be restarting), within a limit.
    flush_limit.expires_after(std::chrono::seconds(5));
    flush_limit.async_wait([&](boost::system::error_code ec) {
      if (!ec) io.stop();
    });
    publisher.flush([&] { io.stop(); });
  };
  tasks.set_on_shutdown(stop);

  asio::signal_set signals(io, SIGCHLD, SIGTERM, SIGINT);
  std::function<void(boost::system::error_code, int)> on_signal =
      [&](boost::system::error_code ec, int sig) {
        if (ec) return;
        if (sig == SIGCHLD) {
          reap_children(tasks);
          signals.async_wait(on_signal);
          return;
        }
        log::info("signal {}: shutting down", sig);
        stop();
      };
  signals.async_wait(on_signal);
  reap_children(tasks);  // anything that exited before the handler was in place

  log::debug("serving {} for namespace {}", server.path(), opts.ns);
  if (timings_enabled()) {
    timeline("daemon:serving", monotonic_ns());
    log::info("daemon: serving {} us after start forked it, {} us after main()",
              forked_ns ? (monotonic_ns() - forked_ns) / 1000 : -1, (monotonic_ns() - main_ns()) / 1000);
  }
  // One failing completion handler must not take down every container of the pod.
  for (;;) {
    try {
      io.run();
      break;
    } catch (const std::exception& e) {
      log::error("event loop: {}", e.what());
    }
  }
  // The loop stopped with the Shutdown reply written but its completion not yet run: run
  // what is ready, so that its time is logged too.
  if (timings_enabled()) {
    io.restart();
    io.poll();
  }
  return 0;
}

}  // namespace reaper::shim
