#pragma once
// `reaper overlay …`: the node's overlay groups (docs/overlay.md). One file per verb:
// overlay_list.cpp (list, rm), overlay_gc.cpp (gc) and overlay_diff.cpp (diff);
// verb_overlay.cpp dispatches.
#include <cstdint>
#include <string>

#include "core/node_config.hpp"

namespace reaper::cli {

int overlay_list(const NodeConfig& config, int argc, char** argv);
int overlay_rm(const NodeConfig& config, int argc, char** argv);
int overlay_gc(const NodeConfig& config, int argc, char** argv);
int overlay_diff(const NodeConfig& config, int argc, char** argv);

// A size as `overlay list` shows it (512B, 1.5K, 3.0G); doctor shows groups the same way.
std::string human_bytes(uint64_t n);

}  // namespace reaper::cli
