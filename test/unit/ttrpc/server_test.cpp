// Server behaviour over a real unix socket, checked with our Client and with a
// raw frame-level peer for the malformed-input cases.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>
#include <map>
#include <optional>
#include <thread>

#include "test_support.hpp"
#include "ttrpc.pb.h"
#include "ttrpc/client.hpp"
#include "ttrpc/server.hpp"
#include "ttrpc/unix_socket.hpp"

using namespace reaper;
using namespace reaper::ttrpc;
using reaper::ttrpc::test::frame_bytes;
using reaper::ttrpc::test::pump_until;
using reaper::ttrpc::test::RawPeer;
using reaper::ttrpc::test::TempDir;

namespace {

namespace asio = boost::asio;

std::string request_bytes(const std::string& service, const std::string& method,
                          const std::string& payload) {
  ::ttrpc::Request req;
  req.set_service(service);
  req.set_method(method);
  req.set_payload(payload);
  return req.SerializeAsString();
}

// Parses a Response frame into (status, payload).
std::pair<Status, std::string> parse_response(const Frame& frame) {
  ::ttrpc::Response r;
  REQUIRE(r.ParseFromString(frame.data));
  Status st;
  if (r.has_status()) st = Status{static_cast<Code>(r.status().code()), r.status().message()};
  return {st, r.payload()};
}

// Echo handler: replies with "<method>:<payload>", except that methods listed in
// `deferred` keep their Reply for the test to answer later.
struct EchoService {
  std::vector<Call> calls;
  std::map<std::string, Reply> deferred;
  std::vector<std::string> defer_methods;

  Handler handler() {
    return [this](Call&& call, Reply reply) {
      calls.push_back(call);
      if (std::find(defer_methods.begin(), defer_methods.end(), call.method) !=
          defer_methods.end()) {
        deferred[call.method] = std::move(reply);
        return;
      }
      if (call.method == "Fail") {
        reply(Status{Code::NotFound, "thing not found: not found"}, "ignored");
        return;
      }
      if (call.method == "Empty") {
        reply(Status::ok(), "");
        return;
      }
      if (call.service != "test.Echo") {
        reply(Status{Code::Unimplemented, "service " + call.service}, "");
        return;
      }
      if (call.method != "Echo" && call.method != "Wait" && call.method != "Start") {
        reply(Status{Code::Unimplemented, "method " + call.method}, "");
        return;
      }
      reply(Status::ok(), call.method + ":" + call.payload);
    };
  }
};

struct Fixture {
  TempDir dir;
  asio::io_context io;
  EchoService svc;
  Server server{io, svc.handler()};
  std::string path = dir.file("s.sock");

  Fixture() { REQUIRE(server.listen(path)); }
};

// Runs one client call to completion.
Result<std::string> call_sync(asio::io_context& io, Client& client, const std::string& service,
                              const std::string& method, const std::string& payload,
                              std::int64_t timeout_nano = 0) {
  std::optional<Result<std::string>> out;
  client.call(service, method, payload, {}, timeout_nano,
              [&](Result<std::string> r) { out = std::move(r); });
  REQUIRE(pump_until(io, [&] { return out.has_value(); }));
  return std::move(*out);
}

}  // namespace

TEST_CASE("unary call round trip", "[ttrpc][server]") {
  Fixture f;
  Client client(f.io, "unix://" + f.path);
  std::optional<Result<std::string>> out;
  client.call("test.Echo", "Echo", "hi", {{"containerd-namespace-ttrpc", "ns"}, {"k", "v"}},
              5'000'000'000, [&](Result<std::string> r) { out = std::move(r); });
  CHECK_FALSE(out.has_value());  // never completed from inside call()
  REQUIRE(pump_until(f.io, [&] { return out.has_value(); }));
  REQUIRE(*out);
  CHECK(**out == "Echo:hi");

  REQUIRE(f.svc.calls.size() == 1);
  const Call& c = f.svc.calls[0];
  CHECK(c.service == "test.Echo");
  CHECK(c.method == "Echo");
  CHECK(c.payload == "hi");
  CHECK(c.timeout_nano == 5'000'000'000);
  REQUIRE(c.metadata.size() == 2);
  CHECK(c.metadata[0] == std::pair<std::string, std::string>{"containerd-namespace-ttrpc", "ns"});
  CHECK(c.metadata[1] == std::pair<std::string, std::string>{"k", "v"});
  CHECK(f.server.connection_count() == 1);
  CHECK(f.server.path() == f.path);
}

TEST_CASE("a deferred reply does not block later requests", "[ttrpc][server]") {
  Fixture f;
  f.svc.defer_methods = {"Wait"};
  Client client(f.io, f.path);
  std::vector<std::string> order;
  std::optional<Result<std::string>> wait_result, start_result;
  // containerd's order: Wait first, then Start, on the same connection.
  client.call("test.Echo", "Wait", "w", {}, 0, [&](Result<std::string> r) {
    order.push_back("Wait");
    wait_result = std::move(r);
  });
  client.call("test.Echo", "Start", "s", {}, 0, [&](Result<std::string> r) {
    order.push_back("Start");
    start_result = std::move(r);
  });
  REQUIRE(pump_until(f.io, [&] { return start_result.has_value(); }));
  CHECK_FALSE(wait_result.has_value());
  CHECK(**start_result == "Start:s");
  REQUIRE(f.svc.deferred.count("Wait"));
  CHECK(client.pending() == 1);

  f.svc.deferred["Wait"](Status::ok(), "exited");
  REQUIRE(pump_until(f.io, [&] { return wait_result.has_value(); }));
  CHECK(**wait_result == "exited");
  CHECK(order == std::vector<std::string>{"Start", "Wait"});
}

TEST_CASE("on_reply_written times each reply from its frame's read to its write", "[ttrpc][server]") {
  Fixture f;
  f.svc.defer_methods = {"Wait"};
  struct Timed {
    std::string method;
    std::int64_t read_ns, written_ns;
  };
  std::vector<Timed> timed;
  f.server.on_reply_written = [&](const std::string& method, std::int64_t r, std::int64_t w) {
    timed.push_back({method, r, w});
  };
  Client client(f.io, f.path);
  std::optional<Result<std::string>> wait_result, echo_result;
  client.call("test.Echo", "Wait", "w", {}, 0, [&](Result<std::string> r) { wait_result = std::move(r); });
  client.call("test.Echo", "Echo", "e", {}, 0, [&](Result<std::string> r) { echo_result = std::move(r); });
  REQUIRE(pump_until(f.io, [&] { return echo_result.has_value(); }));
  REQUIRE(timed.size() == 1);  // written, not merely answered: the Wait is still open
  CHECK(timed[0].method == "Echo");
  CHECK(timed[0].read_ns > 0);
  CHECK(timed[0].written_ns >= timed[0].read_ns);
  timespec before{};
  ::clock_gettime(CLOCK_MONOTONIC, &before);
  f.svc.deferred["Wait"](Status::ok(), "exited");
  REQUIRE(pump_until(f.io, [&] { return wait_result.has_value(); }));
  REQUIRE(timed.size() == 2);
  CHECK(timed[1].method == "Wait");
  // A deferred reply's time runs from its request's read to its own write.
  CHECK(timed[1].read_ns <= timed[0].read_ns);
  CHECK(timed[1].written_ns >= before.tv_sec * 1'000'000'000LL + before.tv_nsec);
}

TEST_CASE("responses go out in reply order on the raw stream", "[ttrpc][server]") {
  Fixture f;
  f.svc.defer_methods = {"Wait"};
  RawPeer peer(f.io, f.path);
  REQUIRE(peer.connected());
  peer.send(frame_bytes(9, MessageType::Request, request_bytes("test.Echo", "Wait", "")));
  peer.send(frame_bytes(11, MessageType::Request, request_bytes("test.Echo", "Start", "")));
  auto first = peer.next_frame();
  REQUIRE(first);
  CHECK(first->header.stream_id == 11);
  CHECK(first->header.type == MessageType::Response);
  CHECK(first->header.flags == 0);
  f.svc.deferred["Wait"](Status::ok(), "done");
  auto second = peer.next_frame();
  REQUIRE(second);
  CHECK(second->header.stream_id == 9);
  CHECK(parse_response(*second).second == "done");
}

TEST_CASE("unknown services and methods reach the handler", "[ttrpc][server]") {
  Fixture f;
  Client client(f.io, f.path);
  auto r1 = call_sync(f.io, client, "test.Echo", "Nope", "");
  REQUIRE_FALSE(r1);
  CHECK(r1.error().code == 0);
  CHECK(r1.error().message == "test.Echo/Nope: UNIMPLEMENTED: method Nope");
  auto r2 = call_sync(f.io, client, "other.Service", "Echo", "");
  REQUIRE_FALSE(r2);
  CHECK(r2.error().message == "other.Service/Echo: UNIMPLEMENTED: service other.Service");
  REQUIRE(f.svc.calls.size() == 2);
  CHECK(f.svc.calls[0].method == "Nope");
  CHECK(f.svc.calls[1].service == "other.Service");
}

TEST_CASE("Empty replies are 0-byte responses, errors have no payload", "[ttrpc][server]") {
  Fixture f;
  RawPeer peer(f.io, f.path);
  peer.send(frame_bytes(1, MessageType::Request, request_bytes("test.Echo", "Empty", "")));
  auto empty = peer.next_frame();
  REQUIRE(empty);
  CHECK(empty->header.length == 0);
  CHECK(empty->header.stream_id == 1);

  peer.send(frame_bytes(3, MessageType::Request, request_bytes("test.Echo", "Fail", "")));
  auto failed = peer.next_frame();
  REQUIRE(failed);
  auto [st, payload] = parse_response(*failed);
  CHECK(st.code == Code::NotFound);
  CHECK(st.message == "thing not found: not found");
  CHECK(payload.empty());
}

TEST_CASE("oversized frame gets RESOURCE_EXHAUSTED and the connection lives on",
          "[ttrpc][server]") {
  Fixture f;
  RawPeer peer(f.io, f.path);
  std::string big(kHeaderSize, '\0');
  encode_header(FrameHeader{kMaxMessageSize + 1, 5, MessageType::Request, 0},
                std::span<char, kHeaderSize>(big.data(), kHeaderSize));
  big.append(kMaxMessageSize + 1, 'x');
  peer.send(std::move(big));
  peer.send(frame_bytes(7, MessageType::Request, request_bytes("test.Echo", "Echo", "after")));

  auto r1 = peer.next_frame();
  REQUIRE(r1);
  CHECK(r1->header.stream_id == 5);
  auto [st, payload] = parse_response(*r1);
  CHECK(st.code == Code::ResourceExhausted);
  CHECK(st.message == "message length 4194305 exceed maximum message size of 4194304");
  auto r2 = peer.next_frame();
  REQUIRE(r2);
  CHECK(r2->header.stream_id == 7);
  CHECK(parse_response(*r2).second == "Echo:after");
  CHECK(f.svc.calls.size() == 1);  // the oversized one never reached the handler
}

TEST_CASE("garbage envelope gets INVALID_ARGUMENT", "[ttrpc][server]") {
  Fixture f;
  RawPeer peer(f.io, f.path);
  peer.send(frame_bytes(1, MessageType::Request, "\xff\xff\xff\xff garbage"));
  auto r = peer.next_frame();
  REQUIRE(r);
  CHECK(r->header.stream_id == 1);
  auto [st, payload] = parse_response(*r);
  CHECK(st.code == Code::InvalidArgument);
  CHECK(st.message.starts_with("unmarshal request error: "));
  CHECK(f.svc.calls.empty());

  peer.send(frame_bytes(3, MessageType::Request, request_bytes("test.Echo", "Echo", "ok")));
  auto r2 = peer.next_frame();
  REQUIRE(r2);
  CHECK(parse_response(*r2).second == "Echo:ok");
}

TEST_CASE("even stream ids are refused", "[ttrpc][server]") {
  Fixture f;
  RawPeer peer(f.io, f.path);
  peer.send(frame_bytes(2, MessageType::Request, request_bytes("test.Echo", "Echo", "")));
  auto r = peer.next_frame();
  REQUIRE(r);
  CHECK(r->header.stream_id == 2);
  auto [st, payload] = parse_response(*r);
  CHECK(st.code == Code::InvalidArgument);
  CHECK(st.message == "StreamID must be odd for client initiated streams");
  CHECK(f.svc.calls.empty());
}

TEST_CASE("non-Request frames are ignored", "[ttrpc][server]") {
  Fixture f;
  RawPeer peer(f.io, f.path);
  peer.send(frame_bytes(1, MessageType::Data, "stray", kFlagRemoteClosed));
  peer.send(frame_bytes(3, MessageType::Response, ""));
  peer.send(frame_bytes(5, MessageType::Request, request_bytes("test.Echo", "Echo", "x")));
  auto r = peer.next_frame();
  REQUIRE(r);
  CHECK(r->header.stream_id == 5);
  CHECK(peer.buffered_frames() == 0);
}

TEST_CASE("replies after the connection closed are no-ops", "[ttrpc][server]") {
  Fixture f;
  f.svc.defer_methods = {"Wait"};
  int closed = 0;
  f.server.on_connection_closed = [&] { ++closed; };
  {
    RawPeer peer(f.io, f.path);
    peer.send(frame_bytes(1, MessageType::Request, request_bytes("test.Echo", "Wait", "")));
    REQUIRE(pump_until(f.io, [&] { return f.svc.deferred.count("Wait") == 1; }));
    CHECK(f.server.connection_count() == 1);
    peer.close();
  }
  REQUIRE(pump_until(f.io, [&] { return closed == 1; }));
  CHECK(f.server.connection_count() == 0);
  f.svc.deferred["Wait"](Status::ok(), "late");  // must not crash or write anywhere
  test::drain_ready(f.io);
}

TEST_CASE("a second reply for the same request is ignored", "[ttrpc][server]") {
  Fixture f;
  f.svc.defer_methods = {"Wait"};
  RawPeer peer(f.io, f.path);
  peer.send(frame_bytes(1, MessageType::Request, request_bytes("test.Echo", "Wait", "")));
  REQUIRE(pump_until(f.io, [&] { return f.svc.deferred.count("Wait") == 1; }));
  Reply reply = f.svc.deferred["Wait"];
  reply(Status::ok(), "one");
  reply(Status::ok(), "two");
  peer.send(frame_bytes(3, MessageType::Request, request_bytes("test.Echo", "Echo", "")));
  auto r1 = peer.next_frame();
  auto r2 = peer.next_frame();
  REQUIRE(r1);
  REQUIRE(r2);
  CHECK(parse_response(*r1).second == "one");
  CHECK(r2->header.stream_id == 3);
}

TEST_CASE("a reply from another thread is delivered", "[ttrpc][server]") {
  TempDir dir;
  asio::io_context io;
  std::thread worker;
  Server server(io, [&](Call&& call, Reply reply) {
    worker = std::thread([reply, payload = call.payload] { reply(Status::ok(), "bg:" + payload); });
  });
  REQUIRE(server.listen(dir.file("t.sock")));
  Client client(io, dir.file("t.sock"));
  auto r = call_sync(io, client, "s", "m", "p");
  worker.join();
  REQUIRE(r);
  CHECK(*r == "bg:p");
}

TEST_CASE("a throwing handler answers INTERNAL", "[ttrpc][server]") {
  TempDir dir;
  asio::io_context io;
  Server server(io, [](Call&&, Reply) { throw std::runtime_error("boom"); });
  REQUIRE(server.listen(dir.file("t.sock")));
  Client client(io, dir.file("t.sock"));
  auto r = call_sync(io, client, "s", "m", "");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "s/m: INTERNAL: ttrpc handler failed: boom");
}

TEST_CASE("many connections are served", "[ttrpc][server]") {
  Fixture f;
  f.svc.defer_methods = {"Wait"};
  Client a(f.io, f.path), b(f.io, f.path);
  std::optional<Result<std::string>> ra, rb;
  a.call("test.Echo", "Wait", "", {}, 0, [&](Result<std::string> r) { ra = std::move(r); });
  b.call("test.Echo", "Echo", "b", {}, 0, [&](Result<std::string> r) { rb = std::move(r); });
  REQUIRE(pump_until(f.io, [&] { return rb.has_value(); }));
  CHECK(**rb == "Echo:b");
  CHECK(f.server.connection_count() == 2);
  f.svc.deferred["Wait"](Status::ok(), "a");
  REQUIRE(pump_until(f.io, [&] { return ra.has_value(); }));
  CHECK(**ra == "a");
}

TEST_CASE("listen: mode 0600, stale sockets replaced, live ones kept", "[ttrpc][server]") {
  TempDir dir;
  asio::io_context io;
  const std::string path = dir.file("x.sock");
  auto noop = [](Call&&, Reply reply) { reply(Status::ok(), ""); };

  SECTION("mode and unlink on close") {
    Server s(io, noop);
    REQUIRE(s.listen(path));
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0600);
    CHECK_FALSE(s.listen(path));  // already listening
    s.close();
    CHECK(::access(path.c_str(), F_OK) != 0);
    CHECK_FALSE(s.listen(path));  // closed for good
  }

  SECTION("stale socket file") {
    {
      auto fd = new_stream_socket();
      REQUIRE(fd);
      auto addr = make_unix_address(path);
      REQUIRE(addr);
      REQUIRE(::bind(fd->get(), reinterpret_cast<const sockaddr*>(&addr->addr), addr->len) == 0);
    }  // closed without unlinking: a dead daemon's leftover
    Server s(io, noop);
    REQUIRE(s.listen(path));
    Client c(io, path);
    CHECK(call_sync(io, c, "s", "m", ""));
  }

  SECTION("live server keeps its address") {
    Server first(io, noop);
    REQUIRE(first.listen(path));
    Server second(io, noop);
    auto r = second.listen(path);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == EADDRINUSE);
    Client c(io, path);
    CHECK(call_sync(io, c, "s", "m", ""));
  }

  SECTION("not a socket") {
    FILE* file = std::fopen(path.c_str(), "w");
    REQUIRE(file);
    std::fclose(file);
    Server s(io, noop);
    auto r = s.listen(path);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == EADDRINUSE);
    CHECK(::access(path.c_str(), F_OK) == 0);
  }

  SECTION("path too long") {
    Server s(io, noop);
    auto r = s.listen("/tmp/" + std::string(200, 'a'));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ENAMETOOLONG);
  }
}

TEST_CASE("adopt an inherited listening socket", "[ttrpc][server]") {
  TempDir dir;
  asio::io_context io;
  const std::string path = dir.file("a.sock");
  auto fd = new_stream_socket();
  REQUIRE(fd);
  auto addr = make_unix_address(path);
  REQUIRE(addr);
  REQUIRE(::bind(fd->get(), reinterpret_cast<const sockaddr*>(&addr->addr), addr->len) == 0);

  Server s(io, [](Call&& call, Reply reply) { reply(Status::ok(), call.method); });
  CHECK_FALSE(s.adopt(fd->get()));  // not listening yet
  REQUIRE(::listen(fd->get(), 16) == 0);
  REQUIRE(s.adopt(fd->release()));
  CHECK(s.path() == path);
  Client c(io, path);
  auto r = call_sync(io, c, "s", "Hello", "");
  REQUIRE(r);
  CHECK(*r == "Hello");
  s.close();
  CHECK(::access(path.c_str(), F_OK) != 0);
}

TEST_CASE("close() flushes queued replies, then closes", "[ttrpc][server]") {
  Fixture f;
  f.svc.defer_methods = {"Wait"};
  int closed = 0;
  f.server.on_connection_closed = [&] { ++closed; };
  RawPeer idle(f.io, f.path);
  RawPeer busy(f.io, f.path);
  busy.send(frame_bytes(1, MessageType::Request, request_bytes("test.Echo", "Wait", "")));
  REQUIRE(pump_until(f.io,
                     [&] { return f.server.connection_count() == 2 && !f.svc.deferred.empty(); }));
  // Like Shutdown: reply, then close in the same turn.
  f.svc.deferred["Wait"](Status::ok(), "bye");
  f.server.close();
  auto r = busy.next_frame();
  REQUIRE(r);
  CHECK(parse_response(*r).second == "bye");
  REQUIRE(pump_until(f.io, [&] { return closed == 2 && idle.eof() && busy.eof(); }));
  CHECK(f.server.connection_count() == 0);
  CHECK(::access(f.path.c_str(), F_OK) != 0);
}

TEST_CASE("connections from another uid are refused", "[ttrpc][server]") {
  if (::geteuid() != 0) {
    WARN("needs root to connect as another user; skipped");
    return;
  }
  Fixture f;
  REQUIRE(::chmod(f.dir.path.c_str(), 0755) == 0);
  REQUIRE(::chmod(f.path.c_str(), 0777) == 0);
  const std::string frame =
      frame_bytes(1, MessageType::Request, request_bytes("test.Echo", "Echo", ""));
  auto addr = make_unix_address(f.path);
  REQUIRE(addr);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Plain syscalls only from here; report through the exit code.
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) ::_exit(11);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr->addr), addr->len) != 0) ::_exit(12);
    (void)!::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL);  // no SIGPIPE once refused
    char buf[64];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    ::_exit(n == 0 || n < 0 ? 0 : 13);  // EOF/reset = refused; data = served
  }
  int status = -1;
  REQUIRE(pump_until(f.io, [&] { return ::waitpid(child, &status, WNOHANG) == child; }));
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(f.svc.calls.empty());
  CHECK(f.server.connection_count() == 0);
}
