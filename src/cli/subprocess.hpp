#pragma once
// Runs a helper program for `reaper doctor` (containerd, ctr, kubectl) and captures its
// output, bounded in time so that no check can hang the CLI.
#include <string>
#include <vector>

#include "core/error.hpp"

namespace reaper::cli {

struct Captured {
  int status = -1;     // exit status, 128+N when signal N ended it
  std::string output;  // stdout and stderr together (at most 8 MiB)
};

// Looks NAME up in PATH as a shell would; empty when it is not there.
std::string find_program(std::string_view name);
// The program's process group is killed after `timeout_ms`; the error then says so.
Result<Captured> run_capture(const std::vector<std::string>& argv, int timeout_ms);

}  // namespace reaper::cli
