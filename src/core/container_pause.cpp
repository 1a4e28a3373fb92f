// pause and resume without a cgroup freezer: every process of the container is stopped
// (SIGSTOP) and continued (SIGCONT); a `paused` file in the state directory says so.
#include <unistd.h>

#include <csignal>

#include "core/container.hpp"
#include "core/files.hpp"
#include "core/process_tree.hpp"

namespace reaper {

Result<void> Containers::pause(const std::string& id) {
  Observed o = TRY(store_.observe(id));
  if (o.status != Status::kRunning)
    return failf(ErrorKind::kFailedPrecondition, "container {:?} is {}, not running", id, status_name(o.status));
  // Marked first: a process forked between the passes is stopped by the next pause.
  TRY(files::replace(store_.dir(id) + "/" + kPausedFile, "", 0600));
  signal_descendants(live_monitors(id), SIGSTOP);
  return {};
}

Result<void> Containers::resume(const std::string& id) {
  Observed o = TRY(store_.observe(id));
  if (o.status != Status::kPaused)
    return failf(ErrorKind::kFailedPrecondition, "container {:?} is {}, not paused", id, status_name(o.status));
  signal_descendants(live_monitors(id), SIGCONT);
  std::string marker = store_.dir(id) + "/" + kPausedFile;
  if (::unlink(marker.c_str()) != 0 && errno != ENOENT) return sys_error("unlink " + marker);
  return {};
}

}  // namespace reaper
