#pragma once
// The short-lived invocations of the shim binary.
#include <string>

#include "shim/options.hpp"

namespace reaper::shim {

// `start`: make sure a daemon serves this container's pod (forking it from this process if
// none does); print its address. `action_arg`: the word `start` in argv, which the daemon
// rewrites to `serve` on its command line.
int start_action(Options opts, char* action_arg);
// `delete`: clean up container opts.id after its shim went away; print a DeleteResponse.
int delete_action(const Options& opts);
// `-info`: print a RuntimeInfo.
int info_action();

}  // namespace reaper::shim
