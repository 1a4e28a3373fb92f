#include "shim/timings.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

namespace reaper::shim {
namespace {
std::int64_t g_main_ns = 0;

std::int64_t clock_ns(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

const char* timeline_path() {
  static const char* path = [] {
    const char* v = std::getenv("REAPER_SHIM_TIMELINE");
    return v && *v ? v : nullptr;
  }();
  return path;
}
}  // namespace

bool timings_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("REAPER_SHIM_TIMINGS");
    return v && std::strcmp(v, "1") == 0;
  }();
  return enabled;
}

std::int64_t monotonic_ns() { return clock_ns(CLOCK_MONOTONIC); }

bool timeline_enabled() { return timeline_path() != nullptr; }

void timeline(std::string_view label, std::int64_t at) {
  if (!timeline_path()) return;
  std::int64_t wall = clock_ns(CLOCK_REALTIME) - (monotonic_ns() - at);
  std::string line = fmt::format("{} {} {}\n", ::getpid(), label, wall);
  // One write with O_APPEND: lines of several processes never interleave.
  int fd = ::open(timeline_path(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ssize_t ignored = ::write(fd, line.data(), line.size());
  (void)ignored;
  ::close(fd);
}

void mark_main() { g_main_ns = monotonic_ns(); }
std::int64_t main_ns() { return g_main_ns; }

}  // namespace reaper::shim
