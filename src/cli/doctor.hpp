#pragma once
// `reaper doctor`: whether reaper can work on this node, as a list of checks. Each area
// is a file of its own: doctor_kernel.cpp (real probes, never version numbers),
// doctor_containerd.cpp, doctor_node.cpp (binary and links, reaper.conf, overlay root,
// node label). verb_doctor.cpp runs them and prints the report.
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace reaper::cli {

enum class Verdict { kOk, kFail, kSkipped };  // skipped: could not be checked here, not a failure

struct Check {
  std::string name;
  Verdict verdict = Verdict::kOk;
  std::string detail;
  std::string hint;                // what to do about a failure
  std::vector<std::string> notes;  // more lines (each warning of reaper.conf, each group)
};

inline Check passed(std::string name, std::string detail) {
  return {std::move(name), Verdict::kOk, std::move(detail), {}, {}};
}
inline Check failed(std::string name, std::string detail, std::string hint) {
  return {std::move(name), Verdict::kFail, std::move(detail), std::move(hint), {}};
}
inline Check skipped(std::string name, std::string why) {
  return {std::move(name), Verdict::kSkipped, std::move(why), {}, {}};
}

struct DoctorOptions {
  std::string containerd_config;  // empty: containerd's own default
  std::string address = "/run/containerd/containerd.sock";
  std::string bin_dir;            // empty: the directory of this executable
  std::string node;               // empty: NODE_NAME, else the host name
  std::span<const std::string_view> personalities;
};

std::vector<Check> kernel_checks();
std::vector<Check> containerd_checks(const DoctorOptions& o);
std::vector<Check> node_checks(const DoctorOptions& o);

}  // namespace reaper::cli
