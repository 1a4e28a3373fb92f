#pragma once
// Path operations inside a directory that someone else may have written to.
//
// The overlay root is reaper's, but a root workload that reaches it (nsenter, an older
// group made before it was hidden) could plant a symlink, a FIFO, a device node or a
// mount where reaper expects its own files. Everything here works one component at a
// time, relative to a directory fd that was itself checked, with openat2's
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV | RESOLVE_BENEATH (O_NOFOLLOW and an st_dev
// check where openat2 is missing): a planted entry is an error naming its path, never
// a way out of the directory. Names passed in are single components (no '/').
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace reaper::beneath {

// May the entry be the root of another mount (a tmpfs, an nsfs bind reaper made)?
enum class Mount { kRefuse, kAllow };

// Opens an absolute directory path, refusing a symlink in any component (mount points
// are fine: this is an administrator's path). `create` makes missing components (0700).
Result<UniqueFd> open_root(const std::string& path, bool create);

// Opens directory `name` of `dir` (O_RDONLY). `shown` is its path, for errors.
Result<UniqueFd> open_dir(int dir, std::string_view name, const std::string& shown,
                          Mount mount = Mount::kRefuse);
// The same, making it first if it is missing.
Result<UniqueFd> make_dir(int dir, std::string_view name, mode_t mode, const std::string& shown);

// Opens regular file `name` of `dir` with `flags` (O_CREAT makes it with `mode`). The
// entry is checked before it is opened: a FIFO or a device is never opened, a file
// with more than one link (a hard link to a file elsewhere) is refused.
Result<UniqueFd> open_file(int dir, std::string_view name, int flags, mode_t mode,
                           const std::string& shown, Mount mount = Mount::kRefuse);

// Replaces `name` with `data` (temp file + fsync + rename, all inside `dir`).
Result<void> write_file(int dir, std::string_view name, std::string_view data,
                        const std::string& shown);
// Reads regular file `name`; a missing file is an error with ENOENT.
Result<std::string> read_file(int dir, std::string_view name, const std::string& shown);

// Removes `name` from `dir`: a symlink as a link, a directory with its whole content.
// A mount point inside is an error (nothing is removed through it). A missing entry is
// fine.
Result<void> remove(int dir, std::string_view name, const std::string& shown);

// Names in `dir`, without "." and "..", sorted.
Result<std::vector<std::string>> list(int dir, const std::string& shown);

// Bytes allocated to `name` and everything below it (st_blocks), not crossing mounts
// nor following links.
uint64_t disk_usage(int dir, std::string_view name);

// "/proc/self/fd/N": the magic link through which mount(2) and friends reach exactly
// the object behind fd, whatever happens to its path meanwhile.
std::string fd_path(int fd);

// flock(fd, op) waiting at most `timeout_ms`; a lock still held by someone else then
// is an error naming `shown`. Safe in any thread (a timer aimed at this thread only).
Result<void> lock(int fd, int op, int timeout_ms, const std::string& shown);

}  // namespace reaper::beneath
