// `reaper version` (also `--version`, `-v`).
#include "cli/verb.hpp"
#include "version_string.hpp"

namespace reaper::cli {

int verb_version(const Context&, int argc, char** argv) {
  if (!parse_verb("version", ArgParser(), argc, argv, 0, 0)) return kUsage;
  fmt::print("{}\n", version_string());
  return kOk;
}

}  // namespace reaper::cli
