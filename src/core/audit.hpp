#pragma once
// The audit trail: what ran on the node, as whom, with what result.
//
// Every process reaper starts for a workload (a container's init, every exec, through
// the shim and through reaper-runtime) gives one record when it starts and one when it
// exits. The monitor that waits for the process writes both (the shim writes the exit in
// the stead of a monitor that died first: Containers::audit_adopted_exit), after its
// caller has been answered, so an audit record never delays, blocks or fails a workload: a record that
// cannot be written (full disk, missing directory) is counted as dropped and survived.
//
// Records are JSON objects, one a line (docs/audit.md is their contract), appended to
// <dir>/audit.jsonl with size-based rotation (audit.jsonl.1 is the newest rotated file),
// and sent to the system journal when one listens. <dir>/counters holds the numbers of
// records written and dropped.
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace reaper {

struct AuditSettings {
  bool enabled = true;                          // REAPER_AUDIT
  std::string dir = "/var/log/reaper/audit";    // REAPER_AUDIT_DIR
  uint64_t max_size = 16ULL << 20;              // REAPER_AUDIT_MAX_SIZE: rotate past this
  int files = 5;                                // REAPER_AUDIT_FILES: audit.jsonl + 4 rotated
  bool journal = true;                          // REAPER_AUDIT_JOURNAL
};

// Whose process it is: known when it is launched, the same in both records.
struct AuditContext {
  std::string ns;  // containerd namespace; empty when unknown (reaper-runtime)
  std::string pod_namespace, pod_name, pod_uid, container_name;  // CRI annotations
  std::string container_id;
  std::string exec_id;  // empty for a container's init
};

// The containerd namespace of every process this process launches (the shim's).
void set_audit_namespace(std::string ns);
// The context of a process of container `id` whose spec carries `annotations`.
AuditContext audit_context(const std::map<std::string, std::string>& annotations,
                           const std::string& container_id, const std::string& exec_id);

struct AuditRecord {
  std::string event;  // "start" or "exit"
  int64_t time_ns = 0;
  AuditContext context;
  std::vector<std::string> argv;
  std::string cwd;
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> groups;
  bool terminal = false;
  pid_t pid = 0;
  std::string error;               // start: why the process could not be started
  // start: when reaper set it going (its fork, or the `start` request of a container
  // created first); time_ns - spawn_ns is its spawn-to-running latency. Absent from
  // records written before the field existed.
  std::optional<int64_t> spawn_ns;
  std::optional<int> exit_status;  // exit
  std::optional<int> signal;       // exit: the signal that ended it
  std::optional<int64_t> duration_ns;  // exit: from its start (or launch) to its exit
};

// One JSON object, no newline inside, newline at the end.
std::string audit_line(const AuditRecord& r);
Result<AuditRecord> parse_audit_line(std::string_view line);

struct AuditCounters {
  uint64_t written = 0, dropped = 0;
};

// Appends the record to the trail and sends it to the journal. Never fails: what cannot
// be written is counted in <dir>/counters (and said in the journal).
void write_audit_record(const AuditSettings& s, const AuditRecord& r);
AuditCounters read_audit_counters(const std::string& dir);

inline constexpr const char* kAuditFile = "audit.jsonl";
inline constexpr const char* kAuditCounters = "counters";
// The trail's files, oldest first (rotated ones, then audit.jsonl).
std::vector<std::string> audit_files(const std::string& dir);

}  // namespace reaper
