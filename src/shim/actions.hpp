#pragma once
// The short-lived invocations of the shim binary.
#include <string>

#include "shim/options.hpp"

namespace reaper::shim {

// `start`: make sure a daemon serves this container's pod; print its address.
int start_action(Options opts, const std::string& self_path);
// `delete`: clean up container opts.id after its shim went away; print a DeleteResponse.
int delete_action(const Options& opts);
// `-info`: print a RuntimeInfo.
int info_action();

}  // namespace reaper::shim
