// Error paths of the Task API: each bad request gets its own clear status, and the
// service stays usable. Real processes are exercised by the ctr end-to-end suite.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "core/files.hpp"
#include "shim.pb.h"
#include "shim/publisher.hpp"
#include "shim/socket_address.hpp"
#include "shim/task_service.hpp"

using reaper::ttrpc::Code;

namespace {

struct Answer {
  bool replied = false;
  Code code = Code::Ok;
  std::string message, payload;
};

struct Fixture {
  boost::asio::io_context io;
  reaper::shim::Options opts;
  reaper::shim::Publisher publisher{io, "", "unit"};  // no TTRPC_ADDRESS: events dropped
  std::unique_ptr<reaper::shim::TaskService> service;
  std::string root;

  Fixture() {
    char tmpl[] = "/tmp/reaper-shim-unit.XXXXXX";
    root = ::mkdtemp(tmpl);
    ::setenv("REAPER_ROOT", root.c_str(), 1);
    opts.ns = "unit";
    service = std::make_unique<reaper::shim::TaskService>(io, opts, publisher);
  }
  ~Fixture() {
    auto ignored = reaper::files::remove_tree(root);
    (void)ignored;
  }

  template <class M>
  Answer call(const std::string& method, const M& request, std::string service_name = "containerd.task.v2.Task") {
    return call_raw(method, request.SerializeAsString(), std::move(service_name));
  }
  Answer call_raw(const std::string& method, std::string payload,
                  std::string service_name = "containerd.task.v2.Task") {
    Answer a;
    reaper::ttrpc::Call c{service_name, method, std::move(payload), 0, {}};
    service->handle(std::move(c), [&a](reaper::ttrpc::Status s, std::string p) {
      a.replied = true;
      a.code = s.code;
      a.message = s.message;
      a.payload = std::move(p);
    });
    return a;
  }
};

namespace task = containerd::task::v2;

}  // namespace

TEST_CASE("task service: unknown services and methods are UNIMPLEMENTED") {
  Fixture f;
  auto a = f.call_raw("State", "", "containerd.task.v9.Nope");
  CHECK(a.code == Code::Unimplemented);
  CHECK(a.message == "service containerd.task.v9.Nope");
  a = f.call_raw("Frobnicate", "");
  CHECK(a.code == Code::Unimplemented);
  CHECK(a.message == "method Frobnicate");
}

TEST_CASE("task service: a payload that does not parse is INTERNAL") {
  Fixture f;
  auto a = f.call_raw("State", std::string("\xff\xff\xff\xff", 4));
  CHECK(a.code == Code::Internal);
}

TEST_CASE("task service: unknown ids are NOT_FOUND on every per-container method") {
  Fixture f;
  task::StateRequest state;
  state.set_id("nope");
  CHECK(f.call("State", state).code == Code::NotFound);
  task::StartRequest start;
  start.set_id("nope");
  CHECK(f.call("Start", start).code == Code::NotFound);
  task::WaitRequest wait;
  wait.set_id("nope");
  auto w = f.call("Wait", wait);
  CHECK(w.replied);
  CHECK(w.code == Code::NotFound);
  task::KillRequest kill;
  kill.set_id("nope");
  kill.set_signal(9);
  CHECK(f.call("Kill", kill).code == Code::NotFound);
  task::DeleteRequest del;
  del.set_id("nope");
  CHECK(f.call("Delete", del).code == Code::NotFound);
  task::ExecProcessRequest exec;
  exec.set_id("nope");
  exec.set_exec_id("e1");
  CHECK(f.call("Exec", exec).code == Code::NotFound);
  task::StatsRequest stats;
  stats.set_id("nope");
  CHECK(f.call("Stats", stats).code == Code::NotFound);
  task::PidsRequest pids;
  pids.set_id("nope");
  CHECK(f.call("Pids", pids).code == Code::NotFound);
}

TEST_CASE("task service: Create refuses bad ids, missing bundles and checkpoints") {
  Fixture f;
  task::CreateTaskRequest req;
  req.set_id("../escape");
  req.set_bundle("/nonexistent");
  auto a = f.call("Create", req);
  CHECK(a.code == Code::InvalidArgument);
  CHECK_THAT(a.message, Catch::Contains("invalid container id"));

  req.set_id("ok-id");
  a = f.call("Create", req);
  CHECK(a.code == Code::InvalidArgument);
  CHECK_THAT(a.message, Catch::Contains("/nonexistent/config.json"));

  req.set_checkpoint("/some/image");
  CHECK(f.call("Create", req).code == Code::Unimplemented);
  CHECK(f.service->empty());
}

TEST_CASE("task service: Connect of a task it does not serve is NotFound; Shutdown with nothing left shuts down") {
  Fixture f;
  task::ConnectRequest c;
  c.set_id("whatever");
  auto a = f.call("Connect", c);
  CHECK(a.code == Code::NotFound);
  CHECK_THAT(a.message, Catch::Contains("whatever"));

  bool shut = false;
  f.service->set_on_shutdown([&] { shut = true; });
  CHECK(f.call("Shutdown", task::ShutdownRequest()).code == Code::Ok);
  CHECK(shut);
}

TEST_CASE("shim socket address: containerd's sha256 of the cleaned join") {
  // sha256("/x/c.sock/probe/grp"), as `printf %s /x/c.sock/probe/grp | sha256sum` prints it.
  CHECK(reaper::shim::socket_path("/x/c.sock", "probe", "grp") ==
        "/run/containerd/s/3538333a8798567903b6b6415bfd024674a2d611033f332a15b457bb5ee07e35");
  CHECK(reaper::shim::socket_path("/x//c.sock/", "probe", "grp") ==
        reaper::shim::socket_path("/x/c.sock", "probe", "grp"));
  CHECK(reaper::shim::group_id({{"io.kubernetes.cri.sandbox-id", "pod1"}}, "c1") == "pod1");
  CHECK(reaper::shim::group_id({{"io.containerd.reaper.v2.group", "g"},
                                {"io.kubernetes.cri.sandbox-id", "pod1"}}, "c1") == "g");
  CHECK(reaper::shim::group_id({}, "c1") == "c1");
}

// containerd 2.x uses containerd.task.v3.Task only with shims that answered bootstrap
// version 3 (reaper answers 2), but the name is served by the same handlers.
TEST_CASE("task service: the v3 service name reaches the same handlers") {
  Fixture f;
  task::StateRequest r;
  r.set_id("nope");
  auto a = f.call("State", r, "containerd.task.v3.Task");
  CHECK(a.replied);
  CHECK(a.code == Code::NotFound);
}
