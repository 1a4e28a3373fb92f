#include <catch2/catch.hpp>

#include "shim/binary_logger.hpp"

using reaper::ErrorKind;
using reaper::shim::parse_logger_uri;

TEST_CASE("logger URI: other schemes are not loggers") {
  for (const char* uri : {"", "/run/fifo", "file:///var/log/x", "fifo:///x"}) {
    auto r = parse_logger_uri(uri);
    REQUIRE(r);
    CHECK(!r->has_value());
  }
}

TEST_CASE("logger URI: path and query as containerd reads them") {
  auto r = parse_logger_uri("binary:///usr/local/bin/my%20logger?level=debug&tag=a+b%2Fc&flag&level=x#frag");
  REQUIRE(r);
  REQUIRE(r->has_value());
  const auto& l = **r;
  CHECK(l.program == "/usr/local/bin/my logger");
  // Each key once, with its first value; a key without '=' has an empty value.
  CHECK(l.args == std::vector<std::string>{"level", "debug", "tag", "a b/c", "flag", ""});
  CHECK(!l.byte_required);
}

TEST_CASE("logger URI: a host is ignored, binary-v2 requires a byte") {
  auto r = parse_logger_uri("binary-v2://somehost/opt/logger");
  REQUIRE(r);
  REQUIRE(r->has_value());
  CHECK((*r)->program == "/opt/logger");
  CHECK((*r)->args.empty());
  CHECK((*r)->byte_required);
}

TEST_CASE("logger URI: unusable ones are refused as invalid arguments") {
  for (const char* uri : {"binary://", "binary://relative", "binary:///x?a=%zz", "binary:///x?a=1;b=2",
                          "binary:///x%4"}) {
    auto r = parse_logger_uri(uri);
    INFO(uri);
    REQUIRE(!r);
    CHECK(r.error().kind == ErrorKind::kInvalidArgument);
  }
}
