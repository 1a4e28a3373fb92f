// Where audit records go: the append-only file with its rotation and counters, and the
// system journal. Nothing here may fail or block a workload: every error is counted.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/audit.hpp"
#include "core/fd.hpp"
#include "core/files.hpp"

namespace reaper {
namespace {

// Fixed width, so an update rewrites the same bytes in place and needs no new block on a
// full filesystem: "written N\ndropped N\n" with 20-digit numbers.
constexpr size_t kCounterDigits = 20;

std::string format_counters(const AuditCounters& c) {
  return fmt::format("written {:0{}}\ndropped {:0{}}\n", c.written, kCounterDigits, c.dropped,
                     kCounterDigits);
}

AuditCounters parse_counters(std::string_view text) {
  AuditCounters c;
  auto number = [&](std::string_view key) -> uint64_t {
    auto at = text.find(key);
    if (at == text.npos) return 0;
    return std::strtoull(std::string(text.substr(at + key.size(), kCounterDigits)).c_str(), nullptr, 10);
  };
  c.written = number("written ");
  c.dropped = number("dropped ");
  return c;
}

bool write_whole(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Sends one datagram without waiting; false if nobody took it.
bool send_datagram(const char* path, std::string_view data) {
  UniqueFd s(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  return ::sendto(s.get(), data.data(), data.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
                  sizeof addr) == static_cast<ssize_t>(data.size());
}

// journald's native protocol (KEY=VALUE lines; our values hold no newline), else syslog's
// socket (authpriv.info). Skipped silently when neither listens.
void send_to_journal(std::string_view summary, std::string_view json_line) {
  std::string_view record = json_line;
  if (!record.empty() && record.back() == '\n') record.remove_suffix(1);
  std::string native = fmt::format(
      "SYSLOG_IDENTIFIER=reaper-audit\nSYSLOG_FACILITY={}\nPRIORITY={}\nMESSAGE={}\nREAPER_AUDIT={}\n",
      LOG_AUTHPRIV >> 3, LOG_INFO, summary, record);
  if (send_datagram("/run/systemd/journal/socket", native)) return;
  send_datagram("/dev/log", fmt::format("<{}>reaper-audit[{}]: {}", LOG_AUTHPRIV | LOG_INFO, ::getpid(), record));
}

std::string summary_of(const AuditRecord& r) {
  std::string who = r.context.pod_name.empty()
                        ? r.context.container_id
                        : r.context.pod_namespace + "/" + r.context.pod_name + "/" + r.context.container_name;
  if (!r.context.exec_id.empty()) who += " exec " + r.context.exec_id;
  std::string what = r.argv.empty() ? "" : r.argv[0];
  std::string s = r.event == "start"
                      ? fmt::format("start {} pid {} uid {}: {}", who, r.pid, r.uid, what)
                      : fmt::format("exit {} pid {} status {}", who, r.pid, r.exit_status.value_or(-1));
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

class Trail {
 public:
  explicit Trail(const AuditSettings& s) : s_(s) {}

  // Appends `line`; false (and nothing half-written left behind) if it could not.
  bool append(std::string_view line) {
    if (!files::make_dirs(s_.dir, 0750)) return false;
    dir_ = UniqueFd(::open(s_.dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!dir_) return false;
    counters_ = open_counters();
    // One writer at a time over rotation, append and counters; held for microseconds.
    if (counters_) while (::flock(counters_.get(), LOCK_EX) != 0 && errno == EINTR) {}
    bool ok = append_locked(line);
    count(ok);
    return ok;
  }

 private:
  UniqueFd open_counters() {
    UniqueFd fd(::openat(dir_.get(), kAuditCounters, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640));
    if (!fd) return fd;
    struct stat st {};
    if (::fstat(fd.get(), &st) == 0 && st.st_size == 0 && ::flock(fd.get(), LOCK_EX) == 0) {
      if (::fstat(fd.get(), &st) == 0 && st.st_size == 0)
        if (!write_whole(fd.get(), format_counters({}))) {
          auto ignored = ::ftruncate(fd.get(), 0);
          (void)ignored;
        }
      ::flock(fd.get(), LOCK_UN);
    }
    return fd;
  }

  void count(bool written) {
    if (!counters_) return;
    char buf[128] = {};
    ssize_t n = ::pread(counters_.get(), buf, sizeof buf - 1, 0);
    if (n <= 0) return;  // could not even be created: the journal says it
    AuditCounters c = parse_counters(std::string_view(buf, static_cast<size_t>(n)));
    (written ? c.written : c.dropped) += 1;
    std::string text = format_counters(c);
    auto ignored = ::pwrite(counters_.get(), text.data(), text.size(), 0);
    (void)ignored;
  }

  std::string rotated(int n) const { return fmt::format("{}.{}", kAuditFile, n); }

  bool append_locked(std::string_view line) {
    UniqueFd f = open_current();
    if (!f) return false;
    struct stat st {};
    if (::fstat(f.get(), &st) != 0) return false;
    if (st.st_size > 0 && static_cast<uint64_t>(st.st_size) + line.size() > s_.max_size) {
      rotate();
      f = open_current();
      if (!f || ::fstat(f.get(), &st) != 0) return false;
    }
    if (write_whole(f.get(), line)) return true;
    // A line cut short would corrupt the one after it: take it back.
    auto ignored = ::ftruncate(f.get(), st.st_size);
    (void)ignored;
    return false;
  }

  UniqueFd open_current() {
    return UniqueFd(::openat(dir_.get(), kAuditFile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640));
  }

  // audit.jsonl → .1 → .2 …; the oldest beyond REAPER_AUDIT_FILES goes.
  void rotate() {
    int keep = std::max(s_.files, 1) - 1;
    if (keep == 0) {
      ::unlinkat(dir_.get(), kAuditFile, 0);
      return;
    }
    ::unlinkat(dir_.get(), rotated(keep).c_str(), 0);
    for (int n = keep - 1; n >= 1; --n) ::renameat(dir_.get(), rotated(n).c_str(), dir_.get(), rotated(n + 1).c_str());
    ::renameat(dir_.get(), kAuditFile, dir_.get(), rotated(1).c_str());
  }

  const AuditSettings& s_;
  UniqueFd dir_, counters_;
};

}  // namespace

void write_audit_record(const AuditSettings& s, const AuditRecord& r) {
  if (!s.enabled) return;
  int saved_errno = errno;
  std::string line = audit_line(r);
  std::string summary = summary_of(r);
  bool kept = Trail(s).append(line);
  if (!kept) summary = fmt::format("audit record dropped ({}): {}", std::strerror(errno), summary);
  if (s.journal || !kept) send_to_journal(summary, line);
  errno = saved_errno;
}

AuditCounters read_audit_counters(const std::string& dir) {
  auto text = files::read(dir + "/" + kAuditCounters);
  if (!text) return {};
  return parse_counters(*text);
}

std::vector<std::string> audit_files(const std::string& dir) {
  std::vector<std::pair<int, std::string>> rotated;
  if (auto names = files::list_dir(dir))
    for (const auto& n : *names) {
      std::string prefix = std::string(kAuditFile) + ".";
      if (!n.starts_with(prefix)) continue;
      std::string digits = n.substr(prefix.size());
      if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit) || digits.size() > 6) continue;
      rotated.emplace_back(std::stoi(digits), dir + "/" + n);
    }
  std::sort(rotated.begin(), rotated.end(), [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& r : rotated) out.push_back(std::move(r.second));
  if (files::exists(dir + "/" + kAuditFile)) out.push_back(dir + "/" + kAuditFile);
  return out;
}

}  // namespace reaper
