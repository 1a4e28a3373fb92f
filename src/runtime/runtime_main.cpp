#include <string_view>

#include "core/args.hpp"
#include "core/log.hpp"
#include "runtime/runtime.hpp"
#include "runtime/verbs.hpp"
#include "version_string.hpp"

namespace reaper::runtime {
namespace {

struct Verb {
  std::string_view name;
  int (*run)(const Globals&, int, char**);
  std::string_view usage;
};

constexpr Verb kVerbs[] = {
    {"create", verb_create, "create [--bundle DIR] [--pid-file F] [--console-socket SOCK] ID"},
    {"start", verb_start, "start ID"},
    {"run", verb_run, "run [--bundle DIR] [--pid-file F] [--console-socket SOCK] [--detach] ID"},
    {"state", verb_state, "state ID"},
    {"kill", verb_kill, "kill [--all] ID [SIGNAL]"},
    {"delete", verb_delete, "delete [--force] ID"},
    {"exec", verb_exec, "exec [--process FILE | ARGS...] [--tty] [--detach] ... ID"},
    {"list", verb_list, "list [--format table|json] [--quiet]"},
    {"ps", verb_ps, "ps [--format table|json] ID"},
    {"features", verb_features, "features"},
    {"pause", verb_pause, "pause ID"},
    {"resume", verb_resume, "resume ID"},
    {"update", verb_update, "update [--resources FILE|-] ID"},
};

void usage() {
  fmt::print(stderr, "usage: reaper-runtime [--root DIR] [--log FILE] [--log-format text|json] VERB ...\n");
  for (const auto& v : kVerbs) fmt::print(stderr, "  {}\n", v.usage);
}

bool g_log_to_file = false;

}  // namespace

int report(const Error& e) {
  log::error("{}", e.describe());
  // runc prints its error on stderr as well: its callers put stderr into their own errors
  // (containerd's runc shim matches "container not running" and "does not exist" in it).
  if (g_log_to_file) fmt::print(stderr, "reaper-runtime: {}\n", e.describe());
  return 1;
}

int main(int argc, char** argv) {
  ArgParser globals;
  globals.flag({"--root"}, true)
      .flag({"--log"}, true)
      .flag({"--log-format"}, true)
      .flag({"--debug"})
      .flag({"--systemd-cgroup"})
      .flag({"--rootless"}, true)
      .flag({"--criu"}, true)
      .flag({"--version", "-v"})
      .flag({"--help", "-h"});
  auto args = globals.parse(argc - 1, argv + 1, /*stop_at_positional=*/true);
  if (!args) {
    log::error("{}", args.error().describe());
    usage();
    return 1;
  }
  std::string format = args->get("--log-format", "text");
  if (format != "text" && format != "json") {
    log::error("invalid --log-format {:?}: text or json", format);
    return 1;
  }
  // A log that cannot be opened (a caller cleaning up after its bundle directory is gone)
  // must not fail the verb: diagnostics then go to stderr.
  g_log_to_file = !args->get("--log").empty();
  if (auto ok = log::init("reaper-runtime", args->get("--log"), format == "json", args->has("--debug")); !ok) {
    g_log_to_file = false;
    auto fallback = log::init("reaper-runtime", "", format == "json", args->has("--debug"));
    (void)fallback;
    log::warn("{}: logging to stderr", ok.error().describe());
  }
  if (args->has("--version") || (!args->positionals.empty() && args->positionals[0] == "version")) {
    fmt::print("{}\n", version_string());
    return 0;
  }
  if (args->has("--help") || args->positionals.empty()) {
    usage();
    return args->has("--help") ? 0 : 1;
  }
  Globals g;
  g.root = args->get("--root", g.root);
  std::string_view verb = args->positionals[0];
  std::vector<char*> rest;
  for (size_t i = 1; i < args->positionals.size(); ++i)
    rest.push_back(const_cast<char*>(args->positionals[i].c_str()));
  rest.push_back(nullptr);
  for (const auto& v : kVerbs)
    if (v.name == verb) return v.run(g, static_cast<int>(rest.size() - 1), rest.data());
  log::error("unknown verb {:?}", verb);
  usage();
  return 1;
}

}  // namespace reaper::runtime
