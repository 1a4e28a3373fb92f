#include <catch2/catch.hpp>

#include <limits>

#include "core/metrics_text.hpp"

using namespace reaper::metrics;

TEST_CASE("metrics text: label values and help are escaped") {
  CHECK(escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
  CHECK(escape_label_value("plain") == "plain");
  CHECK(escape_help("x\\y\nz \"q\"") == "x\\\\y\\nz \"q\"");
}

TEST_CASE("metrics text: values read back exactly") {
  CHECK(format_value(0.0) == "0");
  CHECK(format_value(0.005) == "0.005");
  CHECK(format_value(2.5) == "2.5");
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(format_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
}

TEST_CASE("metrics text: a family has HELP, TYPE and its samples") {
  Exposition e;
  e.family("reaper_x_total", Exposition::Type::kCounter, "Things.\nMore.");
  e.sample("reaper_x_total", {{"namespace", "a\"b"}, {"class", "ok"}}, uint64_t{3});
  e.sample("reaper_x_total", {}, uint64_t{18446744073709551615ULL});
  CHECK(e.text() ==
        "# HELP reaper_x_total Things.\\nMore.\n"
        "# TYPE reaper_x_total counter\n"
        "reaper_x_total{namespace=\"a\\\"b\",class=\"ok\"} 3\n"
        "reaper_x_total 18446744073709551615\n");
}

TEST_CASE("metrics text: histogram buckets are cumulative and end with +Inf") {
  Histogram h({0.1, 0.01, 1});
  for (double v : {0.0078125, 0.0625, 0.0625, 0.5, 7.0}) h.observe(v);
  Exposition e;
  e.family("reaper_l_seconds", Exposition::Type::kHistogram, "L.");
  e.histogram("reaper_l_seconds", {{"ns", "n"}}, h);
  CHECK(e.text() ==
        "# HELP reaper_l_seconds L.\n"
        "# TYPE reaper_l_seconds histogram\n"
        "reaper_l_seconds_bucket{ns=\"n\",le=\"0.01\"} 1\n"
        "reaper_l_seconds_bucket{ns=\"n\",le=\"0.1\"} 3\n"
        "reaper_l_seconds_bucket{ns=\"n\",le=\"1\"} 4\n"
        "reaper_l_seconds_bucket{ns=\"n\",le=\"+Inf\"} 5\n"
        "reaper_l_seconds_sum{ns=\"n\"} 7.6328125\n"
        "reaper_l_seconds_count{ns=\"n\"} 5\n");
}

TEST_CASE("metrics text: a merged histogram is the one that saw both sets of observations") {
  Histogram a({0.01, 0.1, 1}), b({0.01, 0.1, 1}), both({0.01, 0.1, 1});
  for (double v : {0.0078125, 0.0625}) a.observe(v), both.observe(v);
  for (double v : {0.5, 7.0, 0.0625}) b.observe(v), both.observe(v);
  a.merge(b);
  CHECK(a.cumulative() == both.cumulative());
  CHECK(a.cumulative() == std::vector<uint64_t>{1, 3, 4});
  CHECK(a.count() == 5);
  CHECK(a.sum() == both.sum());
}
