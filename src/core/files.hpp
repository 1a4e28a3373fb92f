#pragma once
// Small filesystem helpers with errors as values. Files others read are always replaced
// atomically (write a temp file, rename) so a reader never sees half a file; durably
// (fsync before the rename) unless they describe only what runs now (see replace).
#include <sys/types.h>

#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace reaper::files {

Result<std::string> read(const std::string& path);
// Reads an already open fd to EOF (e.g. stdin).
Result<std::string> read_fd(int fd);
// Writes `data` to `path` through `path.tmp` + fsync + rename; `mode` for the new file.
Result<void> write_atomic(const std::string& path, std::string_view data, mode_t mode = 0600);
// The same without the fsync: atomic for readers, not durable across a crash of the
// machine. For run-time state (state.json, pid and address files under /run), which
// describes processes that a crash of the machine ends anyway; an fsync there cost
// milliseconds on every lifecycle step where /run is not a tmpfs.
Result<void> replace(const std::string& path, std::string_view data, mode_t mode = 0600);
// Creates one directory; fails with EEXIST when it is already there.
Result<void> make_dir(const std::string& path, mode_t mode);
// Creates a directory and its missing parents.
Result<void> make_dirs(const std::string& path, mode_t mode);
// Removes a directory tree (files and directories only; never follows symlinks).
Result<void> remove_tree(const std::string& path);
bool exists(const std::string& path);
// Names in a directory, without "." and "..", sorted.
Result<std::vector<std::string>> list_dir(const std::string& path);
// Opens with O_CLOEXEC always added.
Result<UniqueFd> open(const std::string& path, int flags, mode_t mode = 0);

}  // namespace reaper::files
