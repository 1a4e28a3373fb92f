// Prometheus's text exposition format (metrics_text.hpp).
#include "core/metrics_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace reaper::metrics {
namespace {

std::string_view type_name(Exposition::Type t) {
  switch (t) {
    case Exposition::Type::kCounter: return "counter";
    case Exposition::Type::kGauge: return "gauge";
    case Exposition::Type::kHistogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  cumulative_.assign(bounds_.size(), 0);
}

void Histogram::observe(double value) {
  for (size_t i = 0; i < bounds_.size(); ++i)
    if (value <= bounds_[i]) ++cumulative_[i];
  ++count_;
  sum_ += value;
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < cumulative_.size() && i < other.cumulative_.size(); ++i)
    cumulative_[i] += other.cumulative_[i];
  count_ += other.count_;
  sum_ += other.sum_;
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

void Exposition::family(std::string_view name, Type type, std::string_view help) {
  text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type_name(type));
}

void Exposition::sample_line(std::string_view name, const Labels& labels, std::string_view value) {
  text_ += name;
  if (!labels.empty()) {
    text_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i) text_ += ',';
      text_ += fmt::format("{}=\"{}\"", labels[i].first, escape_label_value(labels[i].second));
    }
    text_ += '}';
  }
  text_ += ' ';
  text_ += value;
  text_ += '\n';
}

void Exposition::sample(std::string_view name, const Labels& labels, double value) {
  sample_line(name, labels, format_value(value));
}

void Exposition::sample(std::string_view name, const Labels& labels, uint64_t value) {
  sample_line(name, labels, fmt::format("{}", value));
}

void Exposition::histogram(std::string_view name, const Labels& labels, const Histogram& h) {
  std::string bucket = fmt::format("{}_bucket", name);
  for (size_t i = 0; i < h.bounds().size(); ++i) {
    Labels with_le = labels;
    with_le.emplace_back("le", format_value(h.bounds()[i]));
    sample(bucket, with_le, h.cumulative()[i]);
  }
  Labels inf = labels;
  inf.emplace_back("le", "+Inf");
  sample(bucket, inf, h.count());
  sample(fmt::format("{}_sum", name), labels, h.sum());
  sample(fmt::format("{}_count", name), labels, h.count());
}

}  // namespace reaper::metrics
