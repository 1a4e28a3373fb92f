#pragma once
// Prometheus's text exposition format (version 0.0.4), written by `reaper metrics`.
//
// A scrape is read by parsers that reject what the format does not allow: every family
// opens with its HELP and TYPE lines and keeps its samples together, label values and
// help texts are escaped, and numbers are written so they read back exactly. This writer
// owns those rules so the collector (src/cli/metrics.cpp) only says what it measured.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reaper::metrics {

using Labels = std::vector<std::pair<std::string_view, std::string>>;

// A histogram's cumulative buckets, in seconds or any other unit of its name.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // Adds another histogram's observations (one made with the same bounds).
  void merge(const Histogram& other);
  const std::vector<double>& bounds() const { return bounds_; }
  // Observations <= bounds()[i], for each i.
  const std::vector<uint64_t>& cumulative() const { return cumulative_; }
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> cumulative_;
  uint64_t count_ = 0;
  double sum_ = 0;
};

class Exposition {
 public:
  enum class Type { kCounter, kGauge, kHistogram };
  // Opens a family: its HELP and TYPE lines. Samples that follow belong to it.
  void family(std::string_view name, Type type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);
  void sample(std::string_view name, const Labels& labels, uint64_t value);
  // The _bucket, _sum and _count samples of the open histogram family `name`.
  void histogram(std::string_view name, const Labels& labels, const Histogram& h);
  const std::string& text() const { return text_; }

 private:
  void sample_line(std::string_view name, const Labels& labels, std::string_view value);
  std::string text_;
};

// `\` as `\\`, `"` as `\"`, a newline as `\n` (label values).
std::string escape_label_value(std::string_view v);
// `\` as `\\`, a newline as `\n` (HELP text).
std::string escape_help(std::string_view v);
// The shortest text that reads back as `v`; +Inf, -Inf, NaN as Prometheus spells them.
std::string format_value(double v);

}  // namespace reaper::metrics
