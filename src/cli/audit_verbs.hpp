#pragma once
// `reaper audit`: the node's audit trail read back (docs/audit.md).
namespace reaper::cli {
int cmd_audit(int argc, char** argv);
}
