// `reaper audit`: the audit trail read back (audit.cpp, docs/audit.md).
#include "cli/audit_verbs.hpp"
#include "cli/verb.hpp"

namespace reaper::cli {

int verb_audit(const Context&, int argc, char** argv) { return cmd_audit(argc, argv); }

}  // namespace reaper::cli
