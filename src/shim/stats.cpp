#include "shim/stats.hpp"

#include <sys/sysinfo.h>
#include <unistd.h>

#include "core/process_tree.hpp"

namespace reaper::shim {

io::containerd::cgroups::v1::Metrics tree_metrics(const std::vector<pid_t>& pids) {
  static const uint64_t ns_per_tick = 1'000'000'000ULL / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  uint64_t user = 0, kernel = 0, children = 0, rss = 0, minflt = 0, majflt = 0, count = 0;
  for (pid_t pid : pids) {
    auto info = read_proc(pid);
    if (!info) continue;  // exited meanwhile
    user += info->utime_ticks * ns_per_tick;
    kernel += info->stime_ticks * ns_per_tick;
    // Processes of the container that ran and were waited for inside it count too.
    children += info->children_ticks * ns_per_tick;
    rss += info->rss_pages * page;
    minflt += info->minor_faults;
    majflt += info->major_faults;
    ++count;
  }
  io::containerd::cgroups::v1::Metrics m;
  m.mutable_pids()->set_current(count);
  auto* usage = m.mutable_cpu()->mutable_usage();
  usage->set_user(user);
  usage->set_kernel(kernel);
  usage->set_total(user + kernel + children);
  // containerd reads usage (working set = usage - total_inactive_file), total_rss and the
  // fault counters; "available" is limit - working set, and with no cgroup limit the
  // node's memory is the limit the workload actually has.
  auto* mem = m.mutable_memory();
  mem->set_rss(rss);
  mem->set_total_rss(rss);
  mem->set_pg_fault(minflt + majflt);
  mem->set_total_pg_fault(minflt + majflt);
  mem->set_pg_maj_fault(majflt);
  mem->set_total_pg_maj_fault(majflt);
  mem->mutable_usage()->set_usage(rss);
  struct sysinfo si {};
  if (::sysinfo(&si) == 0)
    mem->mutable_usage()->set_limit(static_cast<uint64_t>(si.totalram) * si.mem_unit);
  return m;
}

}  // namespace reaper::shim
