// `reaper ps [--json] [-n NS] ID`: the live processes of a container (its workload, their
// descendants, exec'd processes) with their command lines, as /proc shows them.
#include <boost/json.hpp>

#include "cli/places.hpp"
#include "core/files.hpp"

namespace reaper::cli {
namespace {

std::string command_line(pid_t pid) {
  auto raw = files::read(fmt::format("/proc/{}/cmdline", pid));
  if (!raw) return "?";  // gone meanwhile
  std::string s = *raw;
  while (!s.empty() && s.back() == '\0') s.pop_back();
  for (char& c : s)
    if (c == '\0') c = ' ';
  return s;
}

}  // namespace

int verb_ps(const Context& ctx, int argc, char** argv) {
  ArgParser p;
  p.flag({"--json"});
  auto t = parse_target(ctx, "ps", p, argc, argv);
  if (!t) return t.error();
  const Args& a = t->args;
  const Located& l = t->at;
  auto pids = Containers(l.place.dir).pids(l.observed.state.id);
  if (!pids) return failure(pids.error());
  if (a.has("--json")) {
    boost::json::array arr;
    for (pid_t pid : *pids) arr.push_back(boost::json::object{{"pid", pid}, {"cmd", command_line(pid)}});
    fmt::print("{}\n", boost::json::serialize(arr));
    return kOk;
  }
  fmt::print("{:<8} {}\n", "PID", "CMD");
  for (pid_t pid : *pids) fmt::print("{:<8} {}\n", pid, command_line(pid));
  return kOk;
}

}  // namespace reaper::cli
