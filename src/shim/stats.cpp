#include "shim/stats.hpp"

#include <unistd.h>

#include "core/process_tree.hpp"

namespace reaper::shim {

io::containerd::cgroups::v1::Metrics tree_metrics(const std::vector<pid_t>& pids) {
  static const uint64_t ns_per_tick = 1'000'000'000ULL / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  uint64_t user = 0, kernel = 0, rss = 0, count = 0;
  for (pid_t pid : pids) {
    auto info = read_proc(pid);
    if (!info) continue;  // exited meanwhile
    user += info->utime_ticks * ns_per_tick;
    kernel += info->stime_ticks * ns_per_tick;
    rss += info->rss_pages * page;
    ++count;
  }
  io::containerd::cgroups::v1::Metrics m;
  m.mutable_pids()->set_current(count);
  auto* usage = m.mutable_cpu()->mutable_usage();
  usage->set_user(user);
  usage->set_kernel(kernel);
  usage->set_total(user + kernel);
  auto* mem = m.mutable_memory();
  mem->set_rss(rss);
  mem->mutable_usage()->set_usage(rss);
  return m;
}

}  // namespace reaper::shim
