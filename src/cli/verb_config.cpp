// `reaper config check [FILE]`: validates a reaper.conf before it reaches a node (the
// installer runs it). Every error and warning (an unknown or misspelt key) is printed
// with file:line; any of them makes the exit status 1.
#include <cerrno>

#include "cli/config_problems.hpp"
#include "cli/verb.hpp"
#include "core/node_config.hpp"

namespace reaper::cli {
namespace {

int check(int argc, char** argv) {
  auto a = parse_verb("config", ArgParser(), argc, argv, 0, 1);
  if (!a) return kUsage;
  bool given = !a->positionals.empty();
  auto report = check_config_file(given ? a->positionals[0] : node_config_path());
  if (!report) return failure(report.error());
  if (!report->exists) {
    if (given) return failure(Error{ENOENT, report->path, ErrorKind::kNotFound});
    fmt::print("{}: no such file: the defaults apply\n", report->path);
    return kOk;
  }
  for (const auto& p : report->problems) fmt::print(stderr, "{}\n", p);
  if (!report->problems.empty()) return kFailed;
  fmt::print("{}: ok\n", report->path);
  return kOk;
}

}  // namespace

int verb_config(const Context&, int argc, char** argv) {
  if (argc < 1) return usage_error("config", "which verb? check");
  if (std::string_view(argv[0]) != "check")
    return usage_error("config", fmt::format("unknown verb {:?}", argv[0]));
  return check(argc - 1, argv + 1);
}

}  // namespace reaper::cli
