#include <catch2/catch.hpp>
#include <csignal>

#include "core/signals.hpp"

TEST_CASE("signals: names and numbers as runc accepts them") {
  CHECK(reaper::parse_signal("KILL").value() == SIGKILL);
  CHECK(reaper::parse_signal("SIGKILL").value() == SIGKILL);
  CHECK(reaper::parse_signal("9").value() == SIGKILL);
  CHECK(reaper::parse_signal("TERM").value() == SIGTERM);
  CHECK(reaper::parse_signal("SIGWINCH").value() == SIGWINCH);
  CHECK(reaper::parse_signal("34").value() == 34);
  CHECK(reaper::parse_signal("kill").value() == SIGKILL);
  CHECK(reaper::parse_signal("sigcont").value() == SIGCONT);
  CHECK(reaper::parse_signal("18").value() == SIGCONT);
  CHECK(reaper::parse_signal("0").value() == 0);  // kill -0: is it there?
}

TEST_CASE("signals: invalid signals are refused") {
  for (std::string bad : {"", "NOPE", "SIG", "-1", "999", "9x", "SIGSIGKILL"}) {
    INFO(bad);
    CHECK_FALSE(reaper::parse_signal(bad));
  }
  CHECK(reaper::signal_name(SIGTERM) == "SIGTERM");
}
