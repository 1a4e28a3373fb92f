#include <catch2/catch.hpp>

#include "core/line_protocol.hpp"

namespace line = reaper::line;

namespace {
// A formatted message as its receiver reads it: one line, without the '\n'.
std::string unframed(const std::string& s) {
  REQUIRE(s.ends_with('\n'));
  REQUIRE(s.find('\n') == s.size() - 1);
  return s.substr(0, s.size() - 1);
}
}  // namespace

TEST_CASE("line protocol: every message parses back to what was formatted") {
  CHECK(line::parse_launched(unframed(line::format(line::Launched{4242})))->pid == 4242);
  CHECK(line::parse_announced(unframed(line::format(line::Announced{4343})))->pid == 4343);
  CHECK(line::parse_ok(unframed(line::format(line::Ok{}))));
  CHECK(line::parse_failure(unframed(line::format(line::Failure{"no such file"})))->message == "no such file");
  auto e = line::parse_exited(unframed(line::format(line::Exited{137, 1700000000123456789})));
  REQUIRE(e);
  CHECK(e->status == 137);
  CHECK(e->ns == 1700000000123456789);
  CHECK(line::parse_start(unframed(line::format(line::Start{}))));
  CHECK(line::parse_ready(unframed(line::format(line::Ready{}))));
  CHECK(line::parse_hold(unframed(line::format(line::Hold{}))));
  CHECK(line::parse_held(unframed(line::format(line::Held{77})))->pid == 77);
}

TEST_CASE("line protocol: the wire text is the documented one") {
  CHECK(line::format(line::Launched{12}) == "ok 12\n");
  CHECK(line::format(line::Announced{12}) == "pid 12\n");
  CHECK(line::format(line::Exited{0, 5}) == "exit 0 5\n");
  CHECK(line::format(line::Failure{"bad"}) == "error bad\n");
  CHECK(line::format(line::Held{3}) == "held 3\n");
}

TEST_CASE("line protocol: a multi-line error message stays one line") {
  auto text = line::format(line::Failure{"first\nsecond\r\nthird"});
  auto f = line::parse_failure(unframed(text));
  REQUIRE(f);
  CHECK(f->message == "first second  third");
}

TEST_CASE("line protocol: malformed lines are refused, never half-read") {
  for (const char* bad : {"", "ok", "ok ", "ok x", "ok 12x", "ok -3", "ok 0", " ok 12", "ok  12",
                          "ok 99999999999999999999", "okay 12", "ok 12 13"}) {
    INFO(bad);
    CHECK_FALSE(line::parse_launched(bad));
  }
  for (const char* bad : {"exit", "exit 1", "exit 1 ", "exit -1 5", "exit 1 -5", "exit 1 5 6",
                          "exit x 5", "exit 1 5x", "exit 4294967296 5", "exited 1 5", "exit  1 5"}) {
    INFO(bad);
    CHECK_FALSE(line::parse_exited(bad));
  }
  for (const char* bad : {"pid", "pid ", "pid x", "pid 0", "pid -1", "pid 12 13", "ok 12", "pids 12"}) {
    INFO(bad);
    CHECK_FALSE(line::parse_announced(bad));
  }
  for (const char* bad : {"held", "held ", "held x", "held 0", "held -1"}) {
    INFO(bad);
    CHECK_FALSE(line::parse_held(bad));
  }
  CHECK_FALSE(line::parse_ok("ok 1"));
  CHECK_FALSE(line::parse_start("start now"));
  CHECK_FALSE(line::parse_ready("ready "));
  CHECK_FALSE(line::parse_hold("HOLD"));
  CHECK_FALSE(line::parse_failure("error"));
  CHECK_FALSE(line::parse_failure("errors x"));
}

TEST_CASE("line protocol: an unexpected answer becomes a readable error") {
  CHECK(line::unexpected("error disk full", "the monitor").message == "disk full");
  CHECK(line::unexpected("error ", "the monitor").message ==
        "the monitor reported an error without a message");
  auto e = line::unexpected("bogus", "the overlay helper");
  CHECK(e.message == "the overlay helper sent an unexpected line: \"bogus\"");
}

TEST_CASE("line protocol: numbers are whole and in range") {
  CHECK(line::parse_int("0") == 0);
  CHECK(line::parse_int("-7") == -7);
  CHECK_FALSE(line::parse_int(""));
  CHECK_FALSE(line::parse_int("+7"));
  CHECK_FALSE(line::parse_int("7 "));
  CHECK(line::parse_pid("1") == 1);
  CHECK_FALSE(line::parse_pid("0"));
  CHECK_FALSE(line::parse_pid("2147483648"));
}
