#pragma once
// Where the shim's time goes, for bench/ctr-run.sh: with REAPER_SHIM_TIMINGS=1 in its
// environment (containerd's, which the shim inherits) the daemon logs how long each Task
// RPC took from its frame's read to its reply's write, and `start` and the daemon log
// their own start-up. Off (the default), nothing is timed: one getenv at start-up.
//
// With REAPER_SHIM_TIMELINE=FILE as well (bench/ctr-run.sh --timeline) `start`, the daemon
// and the benchmark's floor shims append each step's wall-clock time to FILE, so that one
// `ctr run` of reaper and one of the physical floor can be laid side by side. The stamps
// are taken only where the timings are: a shim that times nothing runs none of this code.
#include <cstdint>
#include <string>
#include <string_view>

namespace reaper::shim {

bool timings_enabled();
std::int64_t monotonic_ns();

// One line "PID LABEL NS" appended to the timeline file, if one is named: NS is the
// wall-clock time (CLOCK_REALTIME, as the benchmark's own stamps) of the monotonic time `at`.
bool timeline_enabled();
void timeline(std::string_view label, std::int64_t at);

// Taken first thing in main(): the origin of the start-up figures.
void mark_main();
std::int64_t main_ns();

}  // namespace reaper::shim
