#include "shim/timings.hpp"

#include <cstdlib>
#include <cstring>
#include <ctime>

namespace reaper::shim {
namespace {
std::int64_t g_main_ns = 0;
}

bool timings_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("REAPER_SHIM_TIMINGS");
    return v && std::strcmp(v, "1") == 0;
  }();
  return enabled;
}

std::int64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void mark_main() { g_main_ns = monotonic_ns(); }
std::int64_t main_ns() { return g_main_ns; }

}  // namespace reaper::shim
