// Client behaviour: stream ids, concurrency, timeouts, and connection loss.
#include <catch2/catch.hpp>

#include <optional>

#include <boost/asio/local/stream_protocol.hpp>

#include "test_support.hpp"
#include "ttrpc.pb.h"
#include "ttrpc/client.hpp"
#include "ttrpc/server.hpp"
#include "ttrpc/wire.hpp"

using namespace reaper;
using namespace reaper::ttrpc;
using reaper::ttrpc::test::pump_until;
using reaper::ttrpc::test::TempDir;

namespace {

namespace asio = boost::asio;
using stream_protocol = asio::local::stream_protocol;

// A frame-level server that records every Request frame and lets the test
// answer them by hand.
class RawServer {
 public:
  RawServer(asio::io_context& io, const std::string& path) : io_(io), acceptor_(io) {
    acceptor_.open();
    acceptor_.bind(stream_protocol::endpoint(path));
    acceptor_.listen();
    accept();
  }

  struct Conn {
    explicit Conn(asio::io_context& io) : socket(io) {}
    stream_protocol::socket socket;
    FrameDecoder decoder;
    std::vector<Frame> frames;
    std::array<char, 65536> buf{};
    bool eof = false;
  };

  std::vector<std::shared_ptr<Conn>> conns;

  void respond(Conn& c, std::uint32_t id, MessageType type, const std::string& data) {
    auto frame = std::make_shared<std::string>(*encode_frame(id, type, 0, data));
    asio::async_write(c.socket, asio::buffer(*frame), [frame](auto, auto) {});
  }

 private:
  void accept() {
    auto conn = std::make_shared<Conn>(io_);
    acceptor_.async_accept(conn->socket, [this, conn](const boost::system::error_code& ec) {
      if (ec) return;
      conns.push_back(conn);
      read(conn);
      accept();
    });
  }

  void read(std::shared_ptr<Conn> c) {
    c->socket.async_read_some(asio::buffer(c->buf),
                              [this, c](const boost::system::error_code& ec, std::size_t n) {
                                if (ec) {
                                  c->eof = true;
                                  return;
                                }
                                c->decoder.feed(std::string_view(c->buf.data(), n));
                                while (auto f = c->decoder.next())
                                  c->frames.push_back(std::move(*f));
                                read(c);
                              });
  }

  asio::io_context& io_;
  stream_protocol::acceptor acceptor_;
};

struct Collected {
  std::vector<std::optional<Result<std::string>>> results;
  Client::Done slot(std::size_t i) {
    if (results.size() <= i) results.resize(i + 1);
    return [this, i](Result<std::string> r) { results[i] = std::move(r); };
  }
  bool done(std::size_t i) const { return i < results.size() && results[i].has_value(); }
};

}  // namespace

TEST_CASE("client stream ids are odd, increasing, and restart per connection", "[ttrpc][client]") {
  TempDir dir;
  asio::io_context io;
  RawServer server(io, dir.file("r.sock"));
  Client client(io, dir.file("r.sock"));
  Collected got;
  for (std::size_t i = 0; i < 3; ++i) client.call("svc", "M", "p", {}, 0, got.slot(i));
  REQUIRE(
      pump_until(io, [&] { return !server.conns.empty() && server.conns[0]->frames.size() == 3; }));
  auto& c0 = *server.conns[0];
  CHECK(c0.frames[0].header.stream_id == 1);
  CHECK(c0.frames[1].header.stream_id == 3);
  CHECK(c0.frames[2].header.stream_id == 5);
  for (auto& f : c0.frames) {
    CHECK(f.header.type == MessageType::Request);
    CHECK(f.header.flags == 0);
  }
  ::ttrpc::Request req;
  REQUIRE(req.ParseFromString(c0.frames[0].data));
  CHECK(req.service() == "svc");
  CHECK(req.method() == "M");
  CHECK(req.timeout_nano() == 0);

  // Answer out of order; an unknown stream id is ignored.
  server.respond(c0, 99, MessageType::Response, "");
  server.respond(c0, 5, MessageType::Response, encode_response(Status::ok(), "five"));
  server.respond(c0, 1, MessageType::Response, encode_response(Status::ok(), "one"));
  server.respond(c0, 3, MessageType::Data, "");  // not a Response: that call fails
  REQUIRE(pump_until(io, [&] { return got.done(0) && got.done(1) && got.done(2); }));
  CHECK(**got.results[0] == "one");
  CHECK(**got.results[2] == "five");
  REQUIRE_FALSE(*got.results[1]);
  CHECK(got.results[1]->error().code == EPROTO);

  // A new connection starts again at 1.
  client.close();
  REQUIRE(pump_until(io, [&] { return c0.eof; }));
  client.call("svc", "M", "", {}, 0, got.slot(3));
  REQUIRE(
      pump_until(io, [&] { return server.conns.size() == 2 && !server.conns[1]->frames.empty(); }));
  CHECK(server.conns[1]->frames[0].header.stream_id == 1);
}

TEST_CASE("client sees connection loss and reconnects", "[ttrpc][client]") {
  TempDir dir;
  asio::io_context io;
  const std::string path = dir.file("s.sock");
  std::vector<Reply> held;
  auto holder = [&](Call&&, Reply reply) { held.push_back(std::move(reply)); };
  auto server = std::make_unique<Server>(io, holder);
  REQUIRE(server->listen(path));

  Client client(io, path);
  Collected got;
  client.call("svc", "Wait", "", {}, 0, got.slot(0));
  client.call("svc", "Wait", "", {}, 0, got.slot(1));
  REQUIRE(pump_until(io, [&] { return held.size() == 2; }));
  CHECK(client.connected());
  CHECK(client.pending() == 2);

  server.reset();  // daemon gone: connections dropped without answers
  REQUIRE(pump_until(io, [&] { return got.done(0) && got.done(1); }));
  for (auto& r : got.results) {
    REQUIRE_FALSE(*r);
    CHECK(r->error().code != 0);
    CHECK(r->error().message.starts_with("ttrpc: closed"));
    CHECK(r->error().message.find("svc/Wait") != std::string::npos);
  }
  CHECK_FALSE(client.connected());
  held.clear();  // replies to a dead connection: no-ops

  // Nobody listening: the next call fails to connect.
  client.call("svc", "Echo", "", {}, 0, got.slot(2));
  REQUIRE(pump_until(io, [&] { return got.done(2); }));
  REQUIRE_FALSE(*got.results[2]);
  CHECK((got.results[2]->error().code == ENOENT || got.results[2]->error().code == ECONNREFUSED));

  // containerd is back: a later call reconnects.
  Server again(io, [](Call&& call, Reply reply) { reply(Status::ok(), "back:" + call.method); });
  REQUIRE(again.listen(path));
  client.call("svc", "Echo", "", {}, 0, got.slot(3));
  REQUIRE(pump_until(io, [&] { return got.done(3); }));
  REQUIRE(*got.results[3]);
  CHECK(**got.results[3] == "back:Echo");
}

TEST_CASE("client error statuses and local limits", "[ttrpc][client]") {
  TempDir dir;
  asio::io_context io;
  std::vector<Reply> held;
  Server server(io, [&](Call&& call, Reply reply) {
    if (call.method == "Hang") {
      held.push_back(std::move(reply));
    } else {
      reply(Status{Code::InvalidArgument, "bad envelope"}, "");
    }
  });
  REQUIRE(server.listen(dir.file("s.sock")));
  Client client(io, dir.file("s.sock"));
  Collected got;

  SECTION("status error") {
    client.call("containerd.services.events.ttrpc.v1.Events", "Forward", "", {}, 0, got.slot(0));
    REQUIRE(pump_until(io, [&] { return got.done(0); }));
    REQUIRE_FALSE(*got.results[0]);
    CHECK(got.results[0]->error().code == 0);
    CHECK(got.results[0]->error().message ==
          "containerd.services.events.ttrpc.v1.Events/Forward: INVALID_ARGUMENT: bad envelope");
  }

  SECTION("local deadline; the late answer is dropped") {
    client.call("svc", "Hang", "", {}, 20'000'000, got.slot(0));  // 20 ms
    REQUIRE(pump_until(io, [&] { return got.done(0); }));
    REQUIRE_FALSE(*got.results[0]);
    CHECK(got.results[0]->error().code == ETIMEDOUT);
    CHECK(client.pending() == 0);
    REQUIRE(held.size() == 1);
    held[0](Status::ok(), "late");
    client.call("svc", "Other", "", {}, 0, got.slot(1));  // connection still fine
    REQUIRE(pump_until(io, [&] { return got.done(1); }));
    CHECK(got.results[1]->error().message == "svc/Other: INVALID_ARGUMENT: bad envelope");
  }

  SECTION("oversized request is refused locally") {
    client.call("svc", "Big", std::string(kMaxMessageSize, 'x'), {}, 0, got.slot(0));
    CHECK_FALSE(got.done(0));
    REQUIRE(pump_until(io, [&] { return got.done(0); }));
    REQUIRE_FALSE(*got.results[0]);
    CHECK(got.results[0]->error().code == EMSGSIZE);
  }

  SECTION("close() cancels pending calls") {
    client.call("svc", "Hang", "", {}, 0, got.slot(0));
    REQUIRE(pump_until(io, [&] { return held.size() == 1; }));
    client.close();
    REQUIRE(got.done(0));
    CHECK(got.results[0]->error().code == ECANCELED);
    CHECK_FALSE(client.connected());
  }

  SECTION("destroying the client drops completions") {
    bool called = false;
    {
      Client doomed(io, dir.file("s.sock"));
      doomed.call("svc", "Hang", "", {}, 0, [&](Result<std::string>) { called = true; });
      REQUIRE(pump_until(io, [&] { return held.size() == 1; }));
    }
    REQUIRE(pump_until(io, [&] { return server.connection_count() == 0; }));
    CHECK_FALSE(called);
  }
}
