#pragma once
#include <cstdint>

#include "shim/options.hpp"

namespace reaper::shim {
// Serve mode: the long-lived daemon of a pod, listening on fd 3 (or opts.socket).
// `forked_ns`: when `start` forked it (monotonic), for the timings; 0 when run by hand.
int serve(const Options& opts, std::int64_t forked_ns = 0);
}
