#pragma once
#include "shim/options.hpp"

namespace reaper::shim {
// Serve mode: the long-lived daemon of a pod, listening on fd 3 (or opts.socket).
int serve(const Options& opts);
}
