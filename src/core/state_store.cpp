#include "core/state_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <ctime>

#include "core/files.hpp"
#include "core/ids.hpp"
#include "core/sha256.hpp"

namespace json = boost::json;

namespace reaper {

std::string_view status_name(Status s) {
  switch (s) {
    case Status::kCreated: return "created";
    case Status::kRunning: return "running";
    case Status::kPaused: return "paused";
    case Status::kStopped: return "stopped";
  }
  return "unknown";
}

int64_t now_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string format_time(int64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1'000'000'000);
  struct tm tm;
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:09d}Z", buf, ns % 1'000'000'000);
}

std::string to_json(const ProcessState& s) {
  json::object o;
  o["id"] = s.id;
  o["bundle"] = s.bundle;
  o["pid"] = s.pid;
  o["monitorPid"] = s.monitor_pid;
  if (s.shim_pid > 0) o["shimPid"] = s.shim_pid;
  if (s.stand_in_pid > 0) o["standInPid"] = s.stand_in_pid;
  o["createdNs"] = s.created_ns;
  if (s.started_ns) o["startedNs"] = *s.started_ns;
  if (s.exited_ns) o["exitedNs"] = *s.exited_ns;
  if (s.exit_status) o["exitStatus"] = *s.exit_status;
  if (s.exit_signal) o["exitSignal"] = *s.exit_signal;
  if (!s.error.empty()) o["error"] = s.error;
  o["terminal"] = s.terminal;
  if (!s.overlay_group.empty()) o["overlay_group"] = s.overlay_group;
  json::object ann;
  for (const auto& [k, v] : s.annotations) ann[k] = v;
  o["annotations"] = std::move(ann);
  return json::serialize(o);
}

Result<ProcessState> state_from_json(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return fail("state.json is corrupt");
  const json::object& o = v.get_object();
  ProcessState s;
  try {
    s.id = json::value_to<std::string>(o.at("id"));
    s.bundle = json::value_to<std::string>(o.at("bundle"));
    s.pid = json::value_to<pid_t>(o.at("pid"));
    s.monitor_pid = json::value_to<pid_t>(o.at("monitorPid"));
    s.created_ns = json::value_to<int64_t>(o.at("createdNs"));
    if (auto* p = o.if_contains("shimPid")) s.shim_pid = json::value_to<pid_t>(*p);
    if (auto* p = o.if_contains("standInPid")) s.stand_in_pid = json::value_to<pid_t>(*p);
    if (auto* p = o.if_contains("startedNs")) s.started_ns = json::value_to<int64_t>(*p);
    if (auto* p = o.if_contains("exitedNs")) s.exited_ns = json::value_to<int64_t>(*p);
    if (auto* p = o.if_contains("exitStatus")) s.exit_status = json::value_to<int>(*p);
    if (auto* p = o.if_contains("exitSignal")) s.exit_signal = json::value_to<int>(*p);
    if (auto* p = o.if_contains("error")) s.error = json::value_to<std::string>(*p);
    if (auto* p = o.if_contains("terminal")) s.terminal = p->as_bool();
    if (auto* p = o.if_contains("overlay_group")) s.overlay_group = json::value_to<std::string>(*p);
    if (auto* p = o.if_contains("annotations"))
      for (const auto& [k, val] : p->as_object())
        s.annotations.emplace(std::string(k), json::value_to<std::string>(val));
  } catch (const std::exception& e) {
    return failf("state.json is corrupt: {}", e.what());
  }
  return s;
}

Result<void> save_state(const std::string& dir, const ProcessState& state) {
  return files::replace(dir + "/state.json", to_json(state));
}

bool monitor_alive(const std::string& dir) {
  auto fd = files::open(dir + "/monitor.lock", O_RDONLY);
  if (!fd) return false;
  if (::flock(fd->get(), LOCK_SH | LOCK_NB) == 0) return false;
  return errno == EWOULDBLOCK;
}

Result<void> wait_monitor_gone(const std::string& dir) {
  auto fd = files::open(dir + "/monitor.lock", O_RDONLY);
  if (!fd) return {};  // never created: no monitor to wait for
  while (::flock(fd->get(), LOCK_SH) != 0)
    if (errno != EINTR) return sys_error("flock " + dir + "/monitor.lock");
  return {};
}

Result<void> StateStore::create_dir(const std::string& id) const {
  TRY(files::make_dirs(root_, 0700));
  std::string d = dir(id);
  if (::mkdir(d.c_str(), 0700) != 0) {
    if (errno == EEXIST) return failf(ErrorKind::kAlreadyExists, "container {:?} already exists", id);
    return sys_error("mkdir " + d);
  }
  return {};
}

std::string StateStore::dir(const std::string& id) const {
  if (id.size() <= 200) return root_ + "/" + id;
  return root_ + "/" + id.substr(0, 200) + "~" + sha256_hex(id).substr(0, 32);
}

bool StateStore::has(const std::string& id) const { return files::exists(dir(id)); }

std::vector<std::string> StateStore::list() const {
  auto names = files::list_dir(root_);
  if (!names) return {};
  std::vector<std::string> ids;
  for (const auto& n : *names) {
    // The directory name may be a digest: the id is the one recorded inside.
    auto text = files::read(root_ + "/" + n + "/state.json");
    if (!text) continue;
    if (auto s = state_from_json(*text); s && validate_id(s->id) && dir(s->id) == root_ + "/" + n)
      ids.push_back(s->id);
  }
  return ids;
}

Result<Observed> StateStore::observe_dir(const std::string& d) const {
  std::string text = TRY(files::read(d + "/state.json"));
  Observed o;
  o.state = TRY(state_from_json(text));
  o.monitor_alive = monitor_alive(d);
  if (o.state.exit_status) {
    o.status = Status::kStopped;
  } else if (!o.monitor_alive) {
    // The monitor records every exit before it ends; if it is gone without one it was
    // killed, and nobody can wait for the workload any more.
    o.status = Status::kStopped;
    if (o.state.error.empty()) o.state.error = "monitor exited before the workload did";
  } else {
    o.status = o.state.started_ns ? Status::kRunning : Status::kCreated;
    if (o.status == Status::kRunning && files::exists(d + "/" + kPausedFile)) o.status = Status::kPaused;
  }
  return o;
}

Result<Observed> StateStore::observe(const std::string& id) const {
  TRY(validate_id(id));
  if (!has(id)) return failf(ErrorKind::kNotFound, "container {:?} does not exist", id);
  return observe_dir(dir(id));
}

}  // namespace reaper
