// Envelope encoding and a few byte-level checks of our .proto copies against
// what containerd puts on the wire.
#include <catch2/catch.hpp>

#include <string>

#include "events.pb.h"
#include "events_ttrpc.pb.h"
#include "shim.pb.h"
#include "ttrpc.pb.h"
#include "ttrpc/wire.hpp"

using namespace reaper::ttrpc;

namespace {

std::string hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (!out.empty()) out.push_back(' ');
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

}  // namespace

TEST_CASE("success responses carry no status", "[ttrpc][wire]") {
  CHECK(encode_response(Status::ok(), "").empty());  // Empty reply = 0 bytes
  const std::string data = encode_response(Status::ok(), "\x08\x2a");
  ::ttrpc::Response r;
  REQUIRE(r.ParseFromString(data));
  CHECK_FALSE(r.has_status());
  CHECK(r.payload() == "\x08\x2a");
}

TEST_CASE("error responses carry only the status", "[ttrpc][wire]") {
  const std::string data =
      encode_response(Status{Code::NotFound, "container not created: not found"}, "ignored");
  ::ttrpc::Response r;
  REQUIRE(r.ParseFromString(data));
  REQUIRE(r.has_status());
  CHECK(r.status().code() == 5);
  CHECK(r.status().message() == "container not created: not found");
  CHECK(r.payload().empty());

  auto decoded = decode_response(data);
  REQUIRE(decoded);
  CHECK(decoded->status.code == Code::NotFound);
  CHECK(decoded->status.message == "container not created: not found");
}

TEST_CASE("status code 0 counts as success", "[ttrpc][wire]") {
  ::ttrpc::Response r;
  r.mutable_status()->set_code(0);
  r.set_payload("p");
  auto decoded = decode_response(r.SerializeAsString());
  REQUIRE(decoded);
  CHECK(decoded->status.is_ok());
  CHECK(decoded->payload == "p");
  CHECK_FALSE(decode_response("\xff\xff\xff"));
}

TEST_CASE("request envelope field numbers", "[ttrpc][wire]") {
  const std::string data = encode_request("s", "m", "p", 5, {{"containerd-namespace-ttrpc", "ns"}});
  // 0a 01 's' | 12 01 'm' | 1a 01 'p' | 20 05 | 2a (KeyValue)
  CHECK(hex(data.substr(0, 11)) == "0a 01 73 12 01 6d 1a 01 70 20 05");
  ::ttrpc::Request req;
  REQUIRE(req.ParseFromString(data));
  REQUIRE(req.metadata_size() == 1);
  CHECK(req.metadata(0).key() == "containerd-namespace-ttrpc");
  CHECK(req.metadata(0).value() == "ns");
}

TEST_CASE("to_valid_utf8 replaces only invalid bytes", "[ttrpc][wire]") {
  CHECK(to_valid_utf8("plain") == "plain");
  CHECK(to_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3") ==
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3");
  CHECK(to_valid_utf8("a\xff"
                      "b") == "a?b");
  CHECK(to_valid_utf8("\xc0\xaf") == "??");       // overlong '/'
  CHECK(to_valid_utf8("\xed\xa0\x80") == "???");  // surrogate
  CHECK(to_valid_utf8("\xe2\x82") == "??");       // truncated
}

TEST_CASE("StateResponse exited_at for a running process matches runc", "[ttrpc][wire][protos]") {
  containerd::task::v2::StateResponse st;
  st.mutable_exited_at()->set_seconds(-62135596800LL);
  st.mutable_exited_at()->set_nanos(0);
  CHECK(hex(st.SerializeAsString()) == "52 0b 08 80 92 b8 c3 98 fe ff ff ff 01");
}

TEST_CASE("path fields accept non-UTF-8 bytes", "[ttrpc][wire][protos]") {
  containerd::task::v2::CreateTaskRequest req;
  req.set_id("c1");
  req.set_bundle("/run/b\xff");
  req.set_stdout("/fifo/\xfe");
  containerd::task::v2::CreateTaskRequest back;
  REQUIRE(back.ParseFromString(req.SerializeAsString()));
  CHECK(back.bundle() == "/run/b\xff");
  CHECK(back.stdout() == "/fifo/\xfe");
}

TEST_CASE("event envelope uses bare type URLs", "[ttrpc][wire][protos]") {
  containerd::events::TaskExit exit;
  exit.set_container_id("g1");
  exit.set_id("g1");
  exit.set_pid(21757);
  exit.set_exit_status(3);
  exit.mutable_exited_at()->set_seconds(1);

  containerd::services::events::ttrpc::v1::ForwardRequest fwd;
  auto* env = fwd.mutable_envelope();
  env->mutable_timestamp()->set_seconds(1700000000);
  env->set_namespace_("probe");
  env->set_topic("/tasks/exit");
  env->mutable_event()->set_type_url("containerd.events.TaskExit");
  env->mutable_event()->set_value(exit.SerializeAsString());

  containerd::services::events::ttrpc::v1::ForwardRequest back;
  REQUIRE(back.ParseFromString(fwd.SerializeAsString()));
  CHECK(back.envelope().event().type_url() == "containerd.events.TaskExit");
  containerd::events::TaskExit back_exit;
  REQUIRE(back_exit.ParseFromString(back.envelope().event().value()));
  CHECK(back_exit.pid() == 21757);
  CHECK(back_exit.exit_status() == 3);
  // Envelope: 0a (timestamp) ... 12 05 "probe" 1a 0b "/tasks/exit" 22 (event)
  const std::string e = env->SerializeAsString();
  CHECK(e[0] == 0x0a);
  CHECK(e.find(std::string("\x12\x05probe\x1a\x0b/tasks/exit\x22", 21)) != std::string::npos);
}
