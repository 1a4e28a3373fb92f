#pragma once
// `reaper overlay …`: the node's overlay groups (docs/overlay.md). One file per verb:
// overlay_list.cpp (list, rm) and overlay_gc.cpp (gc).
#include <string>

#include "core/node_config.hpp"

namespace reaper::cli {

inline constexpr const char* kOverlayUsage =
    "usage: reaper overlay VERB ...\n"
    "  list [--json]          groups: namespace, use, upper-layer bytes used/limit, last use\n"
    "  rm GROUP...            remove groups no running container uses (never follows a\n"
    "                         link: a planted entry is unlinked, its target untouched)\n"
    "  gc [--idle DURATION]   remove every group unused for DURATION (default\n"
    "                         REAPER_OVERLAY_IDLE); run it from a timer for exact timing\n";

int overlay_list(const NodeConfig& config, int argc, char** argv);
int overlay_rm(const NodeConfig& config, int argc, char** argv);
int overlay_gc(const NodeConfig& config, int argc, char** argv);

// Dispatches `reaper overlay VERB`.
int cmd_overlay(int argc, char** argv);

}  // namespace reaper::cli
