// `reaper doctor [--json] ...`: runs every check (doctor.hpp) and prints one line per
// check, ✔, ✘ or – (skipped: it cannot be checked here, which is not a failure), with a
// hint under each failure; --json for scripts. Exit status 1 when any check failed.
#include <boost/json.hpp>

#include "cli/doctor.hpp"
#include "cli/verb.hpp"

namespace reaper::cli {
namespace {

const char* mark(Verdict v) { return v == Verdict::kOk ? "✔" : v == Verdict::kFail ? "✘" : "–"; }
const char* result_name(Verdict v) {
  return v == Verdict::kOk ? "ok" : v == Verdict::kFail ? "fail" : "skipped";
}

std::vector<Check> run_checks(const DoctorOptions& o) {
  std::vector<Check> all;
  auto add = [&](std::vector<Check> more) {
    for (auto& c : more) all.push_back(std::move(c));
  };
  auto node = node_checks(o);  // binary, links, reaper.conf, overlay root, node label
  all.push_back(std::move(node[0]));
  all.push_back(std::move(node[1]));
  add(kernel_checks());
  add(containerd_checks(o));
  for (size_t i = 2; i < node.size(); ++i) all.push_back(std::move(node[i]));
  return all;
}

void print_json(const std::vector<Check>& checks, bool ok) {
  boost::json::array arr;
  for (const auto& c : checks) {
    boost::json::object j{{"name", c.name}, {"result", result_name(c.verdict)}, {"detail", c.detail}};
    if (!c.hint.empty()) j["hint"] = c.hint;
    if (!c.notes.empty()) {
      boost::json::array notes;
      for (const auto& n : c.notes) notes.push_back(boost::json::string(n));
      j["notes"] = std::move(notes);
    }
    arr.push_back(std::move(j));
  }
  fmt::print("{}\n", boost::json::serialize(boost::json::object{{"ok", ok}, {"checks", std::move(arr)}}));
}

void print_text(const std::vector<Check>& checks, bool ok) {
  for (const auto& c : checks) {
    fmt::print("{} {:<16} {}\n", mark(c.verdict), c.name, c.detail);
    for (const auto& n : c.notes) fmt::print("    {}\n", n);
    if (!c.hint.empty()) fmt::print("    hint: {}\n", c.hint);
  }
  size_t failures = 0;
  for (const auto& c : checks) failures += c.verdict == Verdict::kFail;
  if (ok) fmt::print("reaper can work on this node.\n");
  else fmt::print("{} check(s) failed.\n", failures);
}

}  // namespace

int verb_doctor(const Context& ctx, int argc, char** argv) {
  ArgParser p;
  p.flag({"--json"})
      .flag({"--containerd-config"}, true)
      .flag({"--address"}, true)
      .flag({"--bin-dir"}, true)
      .flag({"--node"}, true);
  auto a = parse_verb("doctor", p, argc, argv, 0, 0);
  if (!a) return kUsage;
  DoctorOptions o;
  o.containerd_config = a->get("--containerd-config");
  o.address = a->get("--address", o.address);
  if (o.address.starts_with("unix://")) o.address.erase(0, 7);
  o.bin_dir = a->get("--bin-dir");
  o.node = a->get("--node");
  o.personalities = ctx.personalities;
  auto checks = run_checks(o);
  bool ok = true;
  for (const auto& c : checks) ok = ok && c.verdict != Verdict::kFail;
  if (a->has("--json")) print_json(checks, ok);
  else print_text(checks, ok);
  return ok ? kOk : kFailed;
}

}  // namespace reaper::cli
