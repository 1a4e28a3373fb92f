#pragma once
// /proc/self/mountinfo, parsed: what is mounted where in this mount namespace.
#include <string>
#include <vector>

#include "core/error.hpp"

namespace reaper {

struct MountEntry {
  int id = 0, parent = 0;
  std::string root;         // the part of the filesystem mounted (a bind's subtree)
  std::string mount_point;  // unescaped
  std::string fstype;
  std::string source;
  bool propagates = false;  // shared or a slave: mount events cross namespaces here
};

Result<std::vector<MountEntry>> parse_mountinfo(std::string_view text);
Result<std::vector<MountEntry>> read_mountinfo();

// The host's own trees, bound into every overlay group as they are.
inline constexpr const char* kHostBoundTrees[] = {"/proc", "/sys", "/dev", "/run"};
bool host_bound(std::string_view path);

// True when `path` is `prefix` or lies below it ("/run" covers "/run/x", not "/runner").
bool path_within(std::string_view path, std::string_view prefix);

}  // namespace reaper
