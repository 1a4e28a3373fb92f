#pragma once
// What an overlay group's workloads changed relative to the host (`reaper overlay diff`).
//
// A group's writable layers (one per host filesystem, core/overlay.hpp) hold only what
// its workloads wrote. Read on the host, without following any symlink, an upper layer
// says: an entry the host lacks was added; a character device 0/0 (a whiteout) deleted
// the host's entry; a directory marked trusted.overlay.opaque hides every host entry
// below it; any other entry was copied up, and is reported as changed only if its type,
// content, mode or owner differs from the host's (a copy-up that changed nothing, such
// as an open for writing, is not a change). Entries that the group's masking put there
// (core/masking.hpp) are reported as masked, not as changed.
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace reaper {

enum class DiffKind { kAdded, kChanged, kDeleted, kMasked };
const char* diff_kind_name(DiffKind kind);

struct DiffEntry {
  DiffKind kind = DiffKind::kAdded;
  std::string path;                  // as the workloads see it (= the host path)
  std::string type;                  // file, dir, symlink, fifo, socket, chardev, blockdev
  std::vector<std::string> changes;  // for kChanged: "type", "content", "mode", "owner"
  int layer = 0;
};

struct DiffOptions {
  std::string prefix = "/";                // only paths equal to it or below it
  std::vector<std::string> mask_patterns;  // glob(7) patterns, as core/masking.hpp uses
};

// Walks one upper layer (`upper_dir`, covering `host_path`), appending to `out`.
Result<void> diff_layer(int layer, const std::string& host_path, const std::string& upper_dir,
                        const DiffOptions& options, std::vector<DiffEntry>& out);

// Does `path` (or a directory above it) match one of the patterns?
bool path_masked(const std::string& path, const std::vector<std::string>& patterns);

}  // namespace reaper
