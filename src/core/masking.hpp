#pragma once
// Sensitive host files, masked in every overlay group.
//
// Applied once, inside a group's namespace as it is made. Files are masked through the
// overlay itself: the group's upper layer gets an empty file, or for /etc/shadow and
// /etc/gshadow a copy with every password hash replaced by '!' (so useradd and
// package scripts keep working, and a group's edits stay in that group). Directories
// get an empty tmpfs of the group's own. A path that resolves into a tree bound in
// from the host (/proc, /sys, /dev, /run) or onto a read-only layer is covered by a
// mount instead, so masking never writes to the host.
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/node_config.hpp"

namespace reaper {

// The default list, plus or instead of the node's paths, minus its allowlist.
std::vector<std::string> mask_patterns(const NodeConfig& config);

// passwd-style lines with the second field replaced by '!'; blank lines, comments
// and lines without ':' unchanged; every line ends with '\n'.
std::string sanitize_shadow(std::string_view text);

// Masks every existing match of the patterns; one line per path in `report`.
// A path that cannot be masked is an error: a group is never left half-protected.
Result<void> apply_masks(const NodeConfig& config, std::vector<std::string>& report);

}  // namespace reaper
