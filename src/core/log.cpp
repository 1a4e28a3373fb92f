#include "core/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>

#include "core/state_store.hpp"

namespace reaper::log {
namespace {

struct Sink {
  std::string program = "reaper";
  int fd = STDERR_FILENO;
  bool json = false;
  bool debug = false;
};
Sink sink;

std::string_view level_name(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warning";
    case Level::kError: return "error";
  }
  return "info";
}

}  // namespace

Result<void> init(std::string_view program, const std::string& path, bool json, bool debug) {
  sink.program = program;
  sink.json = json;
  sink.debug = debug;
  if (!path.empty()) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return sys_error("open log " + path);
    sink.fd = fd;
  }
  return {};
}

void write(Level level, std::string_view message) {
  if (level == Level::kDebug && !sink.debug) return;
  std::string line;
  if (sink.json) {
    boost::json::object o;
    o["level"] = level_name(level);
    o["msg"] = message;
    o["time"] = format_time(now_ns());
    line = boost::json::serialize(o) + "\n";
  } else if (sink.fd == STDERR_FILENO) {
    line = fmt::format("{}: {}\n", sink.program, message);
  } else {
    line = fmt::format("{} {} {}: {}\n", format_time(now_ns()), level_name(level), sink.program, message);
  }
  ssize_t ignored = ::write(sink.fd, line.data(), line.size());
  (void)ignored;
}

}  // namespace reaper::log
