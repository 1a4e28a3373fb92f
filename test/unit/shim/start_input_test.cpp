// start's stdin across containerd versions: nothing, the runtime options as a bare Any
// (1.6 - 2.2), or containerd 2.3's BootstrapParams. No 2.3 package exists to run end to
// end, so the BootstrapParams side is pinned down here, with bytes built the way 2.3
// builds them (field numbers of containerd's api/runtime/bootstrap/v1).
#include <catch2/catch.hpp>

#include "any.pb.h"
#include "bootstrap.pb.h"
#include "runc_options.pb.h"
#include "shim/socket_address.hpp"
#include "shim/start_input.hpp"

using reaper::shim::parse_start_input;
namespace bootstrap = containerd::runtime::bootstrap::v1;

namespace {

std::string runc_options_any() {
  containerd::runc::v1::Options o;
  o.set_binary_name("crun");
  o.set_root("/run/x");
  google::protobuf::Any any;
  any.set_type_url("containerd.runc.v1.Options");
  any.set_value(o.SerializeAsString());
  return any.SerializeAsString();
}

bootstrap::BootstrapParams params_23() {
  bootstrap::BootstrapParams p;
  p.set_instance_id("i1");
  p.set_namespace_("k8s.io");
  p.set_log_level(bootstrap::LOG_LEVEL_DEBUG);
  p.set_containerd_version("2.3.0");
  p.set_containerd_ttrpc_address("/run/containerd/containerd.sock.ttrpc");
  p.set_containerd_grpc_address("/run/containerd/containerd.sock");
  p.set_containerd_binary("/usr/bin/containerd");
  return p;
}

}  // namespace

TEST_CASE("start input: nothing, or garbage, is no bootstrap and no options") {
  auto in = parse_start_input("");
  CHECK_FALSE(in.bootstrap);
  CHECK(in.options_type_url.empty());
  CHECK_FALSE(in.socket_dir);
  in = parse_start_input(std::string("\xff\xff\xff", 3));
  CHECK_FALSE(in.bootstrap);
  CHECK(in.options_type_url.empty());
}

TEST_CASE("start input: 1.6-2.2 runtime options are a bare Any") {
  auto in = parse_start_input(runc_options_any());
  CHECK_FALSE(in.bootstrap);
  CHECK(in.options_type_url == "containerd.runc.v1.Options");
  CHECK(in.ns.empty());
  CHECK_FALSE(in.socket_dir);
}

TEST_CASE("start input: an Any whose value is not UTF-8 is still an Any") {
  google::protobuf::Any any;
  any.set_type_url("runtimeoptions.v1.Options");
  any.set_value(std::string("\x0a\x02\xc3\x28\x12\x00", 6));
  auto in = parse_start_input(any.SerializeAsString());
  CHECK_FALSE(in.bootstrap);
  CHECK(in.options_type_url == "runtimeoptions.v1.Options");
}

TEST_CASE("start input: 2.3 BootstrapParams give namespace, addresses and options") {
  auto p = params_23();
  google::protobuf::Any options;
  options.ParseFromString(runc_options_any());
  *p.add_extensions()->mutable_value() = options;
  auto in = parse_start_input(p.SerializeAsString());
  CHECK(in.bootstrap);
  CHECK(in.ns == "k8s.io");
  CHECK(in.grpc_address == "/run/containerd/containerd.sock");
  CHECK(in.ttrpc_address == "/run/containerd/containerd.sock.ttrpc");
  CHECK(in.containerd_version == "2.3.0");
  CHECK(in.options_type_url == "containerd.runc.v1.Options");
  CHECK_FALSE(in.socket_dir);  // not set: the default directory
}

TEST_CASE("start input: 2.3 BootstrapParams may name the socket directory") {
  auto p = params_23();
  p.set_socket_dir("/run/k3s/containerd/s");
  auto in = parse_start_input(p.SerializeAsString());
  REQUIRE(in.socket_dir);
  CHECK(*in.socket_dir == "/run/k3s/containerd/s");
  CHECK(reaper::shim::socket_path(in.grpc_address, in.ns, "pod1", *in.socket_dir) ==
        "/run/k3s/containerd/s/" +
            reaper::shim::socket_path(in.grpc_address, in.ns, "pod1").substr(sizeof "/run/containerd/s/" - 1));
}

TEST_CASE("start input: the field-number rule, not the message's size, decides") {
  // Only a containerd_version (field 4): a BootstrapParams, though it has no address.
  bootstrap::BootstrapParams p;
  p.set_containerd_version("2.3.1");
  CHECK(parse_start_input(p.SerializeAsString()).bootstrap);
  // Only fields 1 and 2 (as an Any has): not one.
  bootstrap::BootstrapParams q;
  q.set_instance_id("x");
  q.set_namespace_("y");
  CHECK_FALSE(parse_start_input(q.SerializeAsString()).bootstrap);
}

TEST_CASE("socket path: the default directory is /run/containerd/s") {
  auto path = reaper::shim::socket_path("/x/c.sock", "probe", "grp");
  CHECK(path.rfind("/run/containerd/s/", 0) == 0);
  CHECK(reaper::shim::socket_path("/x/c.sock", "probe", "grp", "/tmp/s/") ==
        "/tmp/s/" + path.substr(sizeof "/run/containerd/s/" - 1));
}
