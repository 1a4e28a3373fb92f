#include <cstdio>
#include <string_view>
#include <vector>

#include "core/args.hpp"
#include "core/log.hpp"
#include "core/node_config.hpp"
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

void usage(std::FILE* out) {
  fmt::print(out, "usage: reaper-runtime [--root DIR] [--log FILE] [--log-format text|json] VERB ...\n");
  for (const auto& v : kVerbs) fmt::print(out, "  {}\n", v.usage);
  fmt::print(out, "  help [VERB]\n");
}

// Help is usage on stdout and exit 0; a usage error is one line, a hint, and exit 2.
constexpr int kUsageExit = 2;

int usage_error(std::string_view reason) {
  fmt::print(stderr, "reaper-runtime: {}\nsee 'reaper-runtime --help'\n", reason);
  return kUsageExit;
}

const Verb* find_verb(std::string_view name) {
  for (const auto& v : kVerbs)
    if (v.name == name) return &v;
  return nullptr;
}

int verb_help(const Verb& v) {
  fmt::print("usage: reaper-runtime [global flags] {}\n", v.usage);
  return 0;
}

// `VERB --help` or `-h` before any argument that is not a flag (exec's command may
// carry its own -h) asks for the verb's usage.
bool asks_help(const std::vector<std::string>& positionals) {
  for (size_t i = 1; i < positionals.size(); ++i) {
    const auto& a = positionals[i];
    if (a == "--help" || a == "-h") return true;
    if (a == "--" || a.empty() || a[0] != '-') return false;
  }
  return false;
}

int help(const std::vector<std::string>& positionals) {
  if (positionals.size() < 2) {
    usage(stdout);
    return 0;
  }
  if (positionals.size() > 2) return usage_error("help: one VERB at most");
  const Verb* v = find_verb(positionals[1]);
  if (!v) return usage_error(fmt::format("help: unknown verb {:?}", positionals[1]));
  return verb_help(*v);
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
  if (!args) return usage_error(args.error().describe());
  std::string format = args->get("--log-format", "text");
  if (format != "text" && format != "json") {
    return usage_error(fmt::format("invalid --log-format {:?}: text or json", format));
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
  if (args->positionals.empty()) {
    if (args->has("--help")) return usage(stdout), 0;
    return usage_error("which verb? (create, start, state, kill, delete, …)");
  }
  if (args->positionals[0] == "help") return help(args->positionals);
  if (const Verb* v = find_verb(args->positionals[0]); v && (args->has("--help") || asks_help(args->positionals)))
    return verb_help(*v);
  Globals g;
  g.root = args->get("--root", configured_state_root());
  std::string_view verb = args->positionals[0];
  std::vector<char*> rest;
  for (size_t i = 1; i < args->positionals.size(); ++i)
    rest.push_back(const_cast<char*>(args->positionals[i].c_str()));
  rest.push_back(nullptr);
  for (const auto& v : kVerbs)
    if (v.name == verb) return v.run(g, static_cast<int>(rest.size() - 1), rest.data());
  return usage_error(fmt::format("unknown verb {:?}", verb));
}

}  // namespace reaper::runtime
