#pragma once
// Switching to the workload's user, in the only safe order: supplementary groups
// first (always set: the runtime's own groups never leak), then gid, uid, umask.
#include "core/oci_spec.hpp"

namespace reaper {

// Runs in the forked child before exec. Returns 0, or the errno of the step that failed
// and sets *step to its name.
int apply_credentials(const oci::User& user, const char** step);

}  // namespace reaper
