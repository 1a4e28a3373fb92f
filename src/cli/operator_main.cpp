// The dispatcher of `reaper`: global flags anywhere before `--`, help for every verb,
// usage errors as exit 2 (verb.hpp), then the verb's handler from the table.
#include <fmt/format.h>

#include <vector>

#include "cli/operator.hpp"
#include "cli/verb.hpp"
#include "core/log.hpp"
#include "core/node_config.hpp"

namespace reaper::cli {
namespace {

constexpr std::string_view kGlobalUsage =
    "  --root DIR   the state root (default REAPER_ROOT from the environment or reaper.conf,\n"
    "               else /run/reaper)";

std::string_view first_line(std::string_view s) { return s.substr(0, s.find('\n')); }

void print_overview() {
  std::FILE* out = stdout;
  fmt::print(out, "usage: reaper [--root DIR] VERB [ARGS...]\n       reaper PERSONALITY [ARGS...]\n\n");
  for (const auto& v : verbs()) fmt::print(out, "  {:<14} {}\n", v.name, v.summary);
  fmt::print(out, "\nglobal flags (before or after the verb):\n{}\n", kGlobalUsage);
  fmt::print(out, "`reaper help VERB` or `reaper VERB --help` describes a verb.\n");
}

void print_verb(const Verb& v) {
  fmt::print("usage: reaper [--root DIR] {}\n", v.usage);
  fmt::print("{}.\n", v.summary);
}

// Splits argv into the verb's own arguments, taking the global flags out of them.
struct Split {
  Context ctx;
  std::vector<char*> rest;  // the verb first, then its arguments
  bool help = false;
};

Result<Split> split(int argc, char** argv) {
  Split s;
  s.ctx.root = configured_state_root();
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (flags_done) {
      s.rest.push_back(argv[i]);
    } else if (a == "--") {
      flags_done = true;
      s.rest.push_back(argv[i]);
    } else if (a == "--help" || a == "-h") {
      s.help = true;
    } else if (a == "--root") {
      if (i + 1 >= argc) return failf("flag --root needs a value");
      s.ctx.root = argv[++i];
    } else if (a.starts_with("--root=")) {
      s.ctx.root = a.substr(7);
    } else {
      s.rest.push_back(argv[i]);
    }
  }
  if (s.ctx.root.empty()) return failf("--root: an empty path");
  return s;
}

}  // namespace

int usage_error(std::string_view verb, std::string_view reason) {
  const Verb* v = find_verb(verb);
  if (v) {
    fmt::print(stderr, "reaper: {}: {}\n", verb, reason);
    fmt::print(stderr, "usage: reaper {} (see 'reaper help {}')\n", first_line(v->usage), verb);
  } else {
    fmt::print(stderr, "reaper: {}\nsee 'reaper help'\n", reason);
  }
  return kUsage;
}

int failure(const Error& e) {
  log::error("{}", e.describe());
  return kFailed;
}

Result<Args> parse_verb(std::string_view verb, const ArgParser& p, int argc, char** argv,
                        size_t min, size_t max) {
  auto a = p.parse(argc, argv);
  if (!a) {
    usage_error(verb, a.error().describe());
    return a;
  }
  auto n = a->positionals.size();
  if (n < min || n > max) {
    std::string why = n < min ? "missing argument" : "unexpected argument " + a->positionals[max];
    usage_error(verb, why);
    return failf("{}", why);
  }
  return a;
}

int verb_help(const Context&, int argc, char** argv) {
  if (argc == 0) {
    print_overview();
    return kOk;
  }
  if (argc > 1) return usage_error("help", fmt::format("unexpected argument {}", argv[1]));
  const Verb* v = find_verb(argv[0]);
  if (!v) return usage_error("help", fmt::format("unknown verb {:?}", argv[0]));
  print_verb(*v);
  return kOk;
}

int main(int argc, char** argv, std::span<const std::string_view> personalities) {
  ::reaper::log::init("reaper", "", false, false).value();
  auto s = split(argc, argv);
  if (!s) return usage_error("", s.error().describe());
  s->ctx.personalities = personalities;
  if (s->rest.empty()) {
    if (s->help) {
      print_overview();
      return kOk;
    }
    return usage_error("", "which verb? (list, state, ps, wait, doctor, overlay, …)");
  }
  std::string_view name = s->rest[0];
  if (name == "--version" || name == "-v") name = "version";
  const Verb* v = find_verb(name);
  if (!v) return usage_error("", fmt::format("unknown verb {:?}", name));
  if (s->help) {
    print_verb(*v);
    return kOk;
  }
  int rest_argc = static_cast<int>(s->rest.size()) - 1;
  s->rest.push_back(nullptr);
  return v->run(s->ctx, rest_argc, s->rest.data() + 1);
}

}  // namespace reaper::cli
