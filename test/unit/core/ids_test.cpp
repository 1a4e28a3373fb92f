#include <catch2/catch.hpp>

#include "core/ids.hpp"

using reaper::validate_id;

TEST_CASE("ids: valid ids are accepted") {
  CHECK(validate_id("a"));
  CHECK(validate_id("pod-1_2.x"));
  CHECK(validate_id(std::string(256, 'x')));
  CHECK(validate_id("..a"));
}

TEST_CASE("ids: ids that could escape the state directory are refused") {
  for (std::string bad : {"", ".", "..", "../x", "a/b", "a b", "x\n", "é", "a\\b", "$x"}) {
    INFO(bad);
    auto r = validate_id(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("invalid container id") != std::string::npos);
  }
  CHECK_FALSE(validate_id(std::string(257, 'x')));
}
