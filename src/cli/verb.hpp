#pragma once
// The `reaper` CLI is a table of verbs (verbs.cpp), one file per verb. The dispatcher
// (operator_main.cpp) owns what every verb shares: the global flags, `--help`/`-h`/
// `help VERB`, and the exit codes below, so a verb's handler only parses its own flags.
#include <span>
#include <string>
#include <string_view>

#include "core/args.hpp"
#include "core/error.hpp"

namespace reaper::cli {

// Exit codes of every verb (docs/cli.md). `reaper wait` passes the workload's status
// through and reports its own failures as kWaitFailed, which no usage error shares.
inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;      // the verb could not do its work (not found, I/O, …)
inline constexpr int kUsage = 2;       // bad flags or arguments: nothing was done
inline constexpr int kWaitFailed = 125;  // `reaper wait` could not wait (unknown id, …)

// What the global flags (before or after the verb) set.
struct Context {
  std::string root = "/run/reaper";  // --root, else REAPER_ROOT (environment, reaper.conf)
  std::span<const std::string_view> personalities;  // names install-links creates
};

struct Verb {
  std::string_view name;
  std::string_view summary;  // one line for `reaper help`
  std::string_view usage;    // "state [--json] ID"; further lines describe the flags
  int (*run)(const Context&, int argc, char** argv);
};

std::span<const Verb> verbs();
const Verb* find_verb(std::string_view name);

// A usage error: "reaper: VERB: reason" and the verb's usage line on stderr; kUsage.
int usage_error(std::string_view verb, std::string_view reason);
// An operational failure: "reaper: description" on stderr; kFailed.
int failure(const Error& e);

// Parses a verb's own flags; a usage error is already reported when it returns nothing.
// `min`/`max` bound the positionals.
Result<Args> parse_verb(std::string_view verb, const ArgParser& p, int argc, char** argv,
                        size_t min, size_t max);

// The verbs, each in its file.
int verb_state(const Context&, int, char**);
int verb_list(const Context&, int, char**);
int verb_wait(const Context&, int, char**);
int verb_ps(const Context&, int, char**);
int verb_doctor(const Context&, int, char**);
int verb_config(const Context&, int, char**);
int verb_overlay(const Context&, int, char**);
int verb_audit(const Context&, int, char**);
int verb_metrics(const Context&, int, char**);
int verb_install_links(const Context&, int, char**);
int verb_completion(const Context&, int, char**);
int verb_version(const Context&, int, char**);
int verb_help(const Context&, int, char**);

}  // namespace reaper::cli
