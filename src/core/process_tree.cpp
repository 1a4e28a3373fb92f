#include "core/process_tree.hpp"

#include <dirent.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

#include "core/files.hpp"

namespace reaper {

Result<ProcInfo> read_proc(pid_t pid) {
  std::string text = TRY(files::read(fmt::format("/proc/{}/stat", pid)));
  // comm may hold spaces and parentheses: it ends at the last ')'.
  size_t open = text.find('('), close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open)
    return failf("malformed /proc/{}/stat", pid);
  ProcInfo info;
  info.pid = pid;
  info.comm = text.substr(open + 1, close - open - 1);
  unsigned long long utime = 0, stime = 0, start = 0, rss = 0, minflt = 0, majflt = 0;
  long long cutime = 0, cstime = 0;
  int ppid = 0;
  char state = '?';
  // Fields after comm: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
  // cmajflt utime stime cutime cstime priority nice num_threads itrealvalue starttime vsize rss
  int n = std::sscanf(text.c_str() + close + 2,
                      "%c %d %*d %*d %*d %*d %*u %llu %*u %llu %*u %llu %llu %lld %lld %*d %*d %*d "
                      "%*d %llu %*u %llu",
                      &state, &ppid, &minflt, &majflt, &utime, &stime, &cutime, &cstime, &start, &rss);
  if (n != 10) return failf("malformed /proc/{}/stat", pid);
  info.minor_faults = minflt;
  info.major_faults = majflt;
  info.children_ticks = static_cast<uint64_t>(std::max(0LL, cutime) + std::max(0LL, cstime));
  info.state = state;
  info.ppid = ppid;
  info.utime_ticks = utime;
  info.stime_ticks = stime;
  info.start_ticks = start;
  info.rss_pages = rss;
  return info;
}

std::vector<ProcInfo> read_all_procs() {
  std::vector<ProcInfo> procs;
  DIR* dir = ::opendir("/proc");
  if (!dir) return procs;
  while (dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    if (auto info = read_proc(static_cast<pid_t>(pid))) procs.push_back(std::move(*info));
  }
  ::closedir(dir);
  return procs;
}

std::vector<ProcInfo> descendants(const std::vector<pid_t>& roots) {
  if (roots.empty()) return {};  // no monitor left (a Delete's usual case): no /proc scan
  std::vector<ProcInfo> procs = read_all_procs();
  std::unordered_map<pid_t, std::vector<size_t>> children;
  for (size_t i = 0; i < procs.size(); ++i) children[procs[i].ppid].push_back(i);
  std::vector<ProcInfo> out;
  std::vector<pid_t> queue(roots.begin(), roots.end());
  std::unordered_set<pid_t> seen(roots.begin(), roots.end());
  for (size_t q = 0; q < queue.size(); ++q) {
    auto it = children.find(queue[q]);
    if (it == children.end()) continue;
    for (size_t idx : it->second) {
      const ProcInfo& p = procs[idx];
      if (!seen.insert(p.pid).second) continue;
      queue.push_back(p.pid);
      if (p.state != 'Z') out.push_back(p);
    }
  }
  return out;
}

// Signals `p` only if the pid still names the process that was scanned: a pidfd pins
// the pid, and the start time proves it was not reaped and reused in between.
void signal_if_same(const ProcInfo& p, int sig) {
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, p.pid, 0));
  if (pidfd < 0) return;
  auto now = read_proc(p.pid);
  if (now && now->start_ticks == p.start_ticks)
    ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0);
  ::close(pidfd);
}

void signal_descendants(const std::vector<pid_t>& roots, int sig) {
  // Each pass signals everything it finds. A SIGKILLed process never runs user code
  // again, so it cannot fork; only children forked before the signal landed can
  // appear in the next pass, and the loop ends when a pass finds nobody alive.
  for (int pass = 0; pass < 1000; ++pass) {
    auto procs = descendants(roots);
    if (procs.empty()) return;
    for (const auto& p : procs) signal_if_same(p, sig);
    if (sig != SIGKILL) return;
  }
}

}  // namespace reaper
