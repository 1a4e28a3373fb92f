#pragma once
// `reaper overlay …`: the node's overlay groups (docs/overlay.md). One file per verb:
// overlay_list.cpp (list, rm), overlay_gc.cpp (gc) and overlay_diff.cpp (diff).
#include <string>

#include "core/node_config.hpp"

namespace reaper::cli {

inline constexpr const char* kOverlayUsage =
    "usage: reaper overlay VERB ...\n"
    "  list [--json]          groups: namespace, use, upper-layer bytes used/limit, last use\n"
    "  rm GROUP...            remove groups no running container uses (never follows a\n"
    "                         link: a planted entry is unlinked, its target untouched)\n"
    "  gc [--idle DURATION]   remove every group unused for DURATION (default\n"
    "                         REAPER_OVERLAY_IDLE); run it from a timer for exact timing\n"
    "  diff GROUP [/PREFIX] [--json]\n"
    "                         what the group's workloads added, changed, deleted and\n"
    "                         which host files are masked (A, C, D, M), every layer\n";

int overlay_list(const NodeConfig& config, int argc, char** argv);
int overlay_rm(const NodeConfig& config, int argc, char** argv);
int overlay_gc(const NodeConfig& config, int argc, char** argv);
int overlay_diff(const NodeConfig& config, int argc, char** argv);

// Dispatches `reaper overlay VERB`.
int cmd_overlay(int argc, char** argv);

}  // namespace reaper::cli
