#pragma once
// What is wrong with a reaper.conf, line by line: shared by `reaper config check` and
// `reaper doctor`. Only the file is read, never the environment (the caller's environment
// is not the one reaper runs with on the node).
#include <string>
#include <vector>

#include "core/error.hpp"

namespace reaper::cli {

struct ConfigReport {
  std::string path;
  bool exists = true;                 // false: no such file, the defaults apply
  std::vector<std::string> problems;  // "FILE:LINE: ..." errors and warnings, in line order
};

// Fails only when the file cannot be read (other than not existing).
Result<ConfigReport> check_config_file(const std::string& path);

}  // namespace reaper::cli
