#include <catch2/catch.hpp>

#include "core/state_store.hpp"

TEST_CASE("state: JSON round trip keeps every field") {
  reaper::ProcessState s;
  s.id = "c1";
  s.bundle = "/b";
  s.pid = 42;
  s.monitor_pid = 41;
  s.created_ns = 1'700'000'000'123'456'789;
  s.started_ns = s.created_ns + 5;
  s.exited_ns = s.created_ns + 10;
  s.exit_status = 137;
  s.error = "exec \"x\": not found";
  s.annotations = {{"a", "b"}};
  auto back = reaper::state_from_json(reaper::to_json(s));
  REQUIRE(back);
  CHECK(back->id == "c1");
  CHECK(back->pid == 42);
  CHECK(back->monitor_pid == 41);
  CHECK(back->started_ns == s.started_ns);
  CHECK(back->exit_status.value() == 137);
  CHECK(back->error == s.error);
  CHECK(back->annotations.at("a") == "b");
  CHECK(back->shim_pid == 0);
}

TEST_CASE("state: a pod sandbox's record names its shim, not a monitor") {
  reaper::ProcessState s;
  s.id = "sb";
  s.bundle = "/b";
  s.pid = 42;
  s.shim_pid = 40;
  std::string text = reaper::to_json(s);
  CHECK(text.find("\"shimPid\":40") != std::string::npos);
  auto back = reaper::state_from_json(text);
  REQUIRE(back);
  CHECK(back->shim_pid == 40);
  CHECK(back->monitor_pid == 0);
}

TEST_CASE("state: a corrupt file is an error, not a crash") {
  CHECK_FALSE(reaper::state_from_json("{"));
  CHECK_FALSE(reaper::state_from_json("{\"id\":1}"));
  CHECK_FALSE(reaper::state_from_json("[]"));
}

TEST_CASE("state: RFC 3339 times") {
  CHECK(reaper::format_time(0) == "1970-01-01T00:00:00.000000000Z");
  CHECK(reaper::format_time(1'000'000'001) == "1970-01-01T00:00:01.000000001Z");
}
