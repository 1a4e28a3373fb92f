#pragma once
// The one version string every personality prints for --version.
#include <string>

#include <fmt/format.h>

#include "version.hpp"

namespace reaper {
inline std::string version_string() {
  return fmt::format("reaper version {} (revision {})", kVersion, kRevision);
}
}  // namespace reaper
