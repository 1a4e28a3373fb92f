#pragma once
// Where the shim's time goes, for bench/ctr-run.sh: with REAPER_SHIM_TIMINGS=1 in its
// environment (containerd's, which the shim inherits) the daemon logs how long each Task
// RPC took from its frame's read to its reply's write, and `start` and the daemon log
// their own start-up. Off (the default), nothing is timed: one getenv at start-up.
#include <cstdint>
#include <string>

namespace reaper::shim {

bool timings_enabled();
std::int64_t monotonic_ns();

// Taken first thing in main(): the origin of the start-up figures.
void mark_main();
std::int64_t main_ns();

}  // namespace reaper::shim
