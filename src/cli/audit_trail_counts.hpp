#pragma once
// The audit trail counted for `reaper metrics` (docs/metrics.md): starts and exits by
// namespace, process kind and result, the spawn-to-running histogram, unreadable lines.
//
// A full trail is up to 80 MiB of JSON (about 0.7 s of one core to parse), and a scrape
// every few seconds must not cost that each time. The trail only ever grows at the end of
// audit.jsonl, and rotation renames files without touching their contents, so the counts
// of each file are kept under its identity (device, inode and first bytes) with the offset
// read up to: a later count reads only the bytes appended since, and a file seen before
// under another name (audit.jsonl, then audit.jsonl.1) is not read again.
//
// The result is what a fresh read of the trail's files, oldest first, would give: an exit
// is `exec_failed` when the start record of the same process, earlier in the trail, says
// it never ran, even when the two are in different files, and no longer so once the file
// holding that start is rotated away.
#include <sys/types.h>

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/audit.hpp"
#include "core/metrics_text.hpp"

namespace reaper::cli {

struct TrailCounts {
  // (namespace, process kind, result or class) -> records
  using Keyed = std::map<std::tuple<std::string, std::string, std::string>, uint64_t>;
  Keyed starts, exits;
  metrics::Histogram latency{{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}};
  uint64_t unreadable = 0;

  void add(const TrailCounts& other);
};

class TrailCounter {
 public:
  explicit TrailCounter(std::string dir) : dir_(std::move(dir)) {}

  // The counts of the trail as it is now; reads what changed since the last call.
  TrailCounts count();

 private:
  // An exit counted as exec_failed because of a failed start in an older file.
  struct CrossMatch {
    std::string key;               // the process (container, exec, pid)
    std::string ns, kind, plain;   // its labels, and its class without that start
  };
  struct FileCounts {
    std::string head;      // the file's first bytes, which an inode reused by another file would not have
    uint64_t offset = 0;   // read up to here: the end of the last complete line
    TrailCounts counts;    // of the complete lines up to offset
    std::set<std::string> failed;        // failed starts of this file whose exit it does not hold
    std::vector<CrossMatch> cross;       // exits matched with an older file's failed start
    bool seen = false;                   // found in this count()
  };

  // Brings `f` up to date with its file (`fd`, `size` bytes now); `open` holds the failed
  // starts of the older files still waiting for their exit (an exit here takes its own).
  void refresh(FileCounts& f, int fd, uint64_t size, std::set<std::string>& open);
  void count_line(FileCounts& f, std::string_view line, std::set<std::string>& open);

  std::string dir_;
  std::map<std::pair<dev_t, ino_t>, FileCounts> files_;  // by device and inode
};

}  // namespace reaper::cli
