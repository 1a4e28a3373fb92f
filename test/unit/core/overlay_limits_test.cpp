// Size and duration settings, the layer index and the pod's overlay-size choice: the
// pure decisions behind bounded overlay memory and group collection (docs/overlay.md).
#include <catch2/catch.hpp>

#include "core/node_config.hpp"
#include "core/overlay_group.hpp"
#include "core/pod_settings.hpp"

using namespace reaper;

TEST_CASE("sizes: bytes, binary units, errors") {
  CHECK(parse_size("0").value() == 0);
  CHECK(parse_size("4096").value() == 4096);
  CHECK(parse_size("512k").value() == 512ULL << 10);
  CHECK(parse_size("64M").value() == 64ULL << 20);
  CHECK(parse_size("2g").value() == 2ULL << 30);
  CHECK_FALSE(parse_size(""));
  CHECK_FALSE(parse_size("g"));
  CHECK_FALSE(parse_size("1gb"));
  CHECK_FALSE(parse_size("-1"));
  CHECK_FALSE(parse_size("99999999999t"));
}

TEST_CASE("durations: seconds, units, never") {
  CHECK(parse_duration_s("never").value() == -1);
  CHECK(parse_duration_s("0").value() == 0);
  CHECK(parse_duration_s("90").value() == 90);
  CHECK(parse_duration_s("30m").value() == 1800);
  CHECK(parse_duration_s("1h").value() == 3600);
  CHECK(parse_duration_s("2d").value() == 172800);
  CHECK_FALSE(parse_duration_s("1w"));
  CHECK_FALSE(parse_duration_s("soon"));
  CHECK_FALSE(parse_duration_s("99999999999d"));
}

TEST_CASE("reaper.conf: the overlay's size, maximum, idle time and lock bound") {
  auto c = parse_node_config("REAPER_OVERLAY_SIZE=256m\nREAPER_OVERLAY_SIZE_MAX=1g\n"
                             "REAPER_OVERLAY_IDLE=never\nREAPER_OVERLAY_LOCK_TIMEOUT=5\n", "f", {});
  REQUIRE(c);
  CHECK(c->overlay_size == 256ULL << 20);
  CHECK(c->overlay_size_max == 1ULL << 30);
  CHECK(c->overlay_idle_s == -1);
  CHECK(c->overlay_lock_timeout_ms == 5000);
  auto d = parse_node_config("", "f", {});
  REQUIRE(d);
  CHECK(d->overlay_size == 1ULL << 30);
  CHECK(d->overlay_size_max == 0);
  CHECK(d->overlay_idle_s == 3600);
  auto bad = parse_node_config("REAPER_OVERLAY_LOCK_TIMEOUT=0\n", "f", {});
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("f:1"));
}

TEST_CASE("layer index: round trip; bad lines skipped") {
  std::vector<LayerEntry> e = {{0, "/"}, {1, "/var"}, {3, "/mnt/data disk"}};
  CHECK(parse_layer_index(format_layer_index(e)) == e);
  CHECK(parse_layer_index("x\t/a\n1 /b\n2\trelative\n-1\t/c\n\n4\t/d") ==
        std::vector<LayerEntry>{{4, "/d"}});
}

TEST_CASE("pods choose a group size only within the node's maximum") {
  NodeConfig node;
  node.overlay_size = 64ULL << 20;
  std::map<std::string, std::string> ask = {{"reaper.runtime/overlay-size", "16m"}};
  auto refused = pod_settings(node, ask);
  REQUIRE(refused);
  CHECK(refused->overlay_size == 64ULL << 20);
  REQUIRE(refused->notes.size() == 1);
  CHECK_THAT(refused->notes[0], Catch::Contains("REAPER_OVERLAY_SIZE_MAX"));
  node.overlay_size_max = 32ULL << 20;
  CHECK(pod_settings(node, ask)->overlay_size == 16ULL << 20);
  auto too_big = pod_settings(node, {{"reaper.runtime/overlay-size", "1g"}});
  CHECK(too_big->overlay_size == 64ULL << 20);
  CHECK(too_big->notes.size() == 1);
  auto zero = pod_settings(node, {{"reaper.runtime/overlay-size", "0"}});
  CHECK(zero->overlay_size == 64ULL << 20);
}
