// `reaper audit`: reads the audit trail back (docs/audit.md), filtered; --follow waits
// for new records with inotify (never by polling) and follows rotation.
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include "cli/audit_verbs.hpp"
#include "core/args.hpp"
#include "core/audit.hpp"
#include "core/fd.hpp"
#include "core/files.hpp"
#include "core/log.hpp"
#include "core/node_config.hpp"
#include "core/state_store.hpp"

namespace reaper::cli {
namespace {

Result<int64_t> parse_time(const std::string& s) {
  if (auto ago = parse_duration_s(s); ago && *ago >= 0) return now_ns() - *ago * 1'000'000'000LL;
  std::tm tm{};
  const char* rest = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return failf("{:?}: expected a time such as 2026-01-31T12:00:00Z or a duration", s);
  int64_t frac_ns = 0;
  if (*rest == '.') {
    int64_t scale = 100'000'000;
    for (++rest; *rest >= '0' && *rest <= '9'; ++rest, scale /= 10) frac_ns += (*rest - '0') * scale;
  }
  if (std::string_view(rest) != "Z") return failf("{:?}: only UTC times (ending in Z) are accepted", s);
  return static_cast<int64_t>(::timegm(&tm)) * 1'000'000'000LL + frac_ns;
}

struct Filter {
  std::optional<int64_t> since, until;
  std::string pod, ns, container;
  std::optional<int> exit_status;

  bool matches(const AuditRecord& r) const {
    if (since && r.time_ns < *since) return false;
    if (until && r.time_ns >= *until) return false;
    const auto& c = r.context;
    if (!pod.empty() && pod != c.pod_name && pod != c.pod_namespace + "/" + c.pod_name) return false;
    if (!ns.empty() && ns != c.pod_namespace && ns != c.ns) return false;
    if (!container.empty() && container != c.container_name && container != c.container_id) return false;
    if (exit_status && (r.event != "exit" || r.exit_status != exit_status)) return false;
    return true;
  }
};

std::string quoted_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`") == std::string::npos;
    out += plain ? a : fmt::format("{:?}", a);
  }
  return out;
}

void print_human(const AuditRecord& r) {
  const auto& c = r.context;
  std::string pod = c.pod_name.empty() ? "-" : c.pod_namespace + "/" + c.pod_name;
  std::string who = c.container_name.empty() ? c.container_id : c.container_name;
  if (!c.exec_id.empty()) who += " exec " + c.exec_id;
  std::string result;
  if (r.event == "exit") {
    result = r.signal ? fmt::format("signal {}", *r.signal) : fmt::format("status {}", r.exit_status.value_or(-1));
    if (r.duration_ns) result += fmt::format(" after {:.3f}s", static_cast<double>(*r.duration_ns) / 1e9);
  } else if (!r.error.empty()) {
    result = "failed: " + r.error;
  } else {
    result = fmt::format("uid {} gid {} cwd {}{}", r.uid, r.gid, r.cwd, r.terminal ? " tty" : "");
  }
  fmt::print("{} {:<5} {} {} {} pid {} {}: {}\n", format_time(r.time_ns), r.event, c.ns.empty() ? "-" : c.ns, pod,
             who, r.pid, result, quoted_argv(r.argv));
}

struct Printer {
  const Filter& filter;
  bool json;
  std::string partial;  // a line whose end has not been written yet

  void feed(std::string_view data) {
    partial.append(data);
    size_t start = 0;
    for (size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1)
      line(std::string_view(partial).substr(start, nl - start));
    partial.erase(0, start);
    std::fflush(stdout);
  }

  void line(std::string_view text) {
    if (text.empty()) return;
    auto r = parse_audit_line(text);
    if (!r) {
      log::warn("skipping a line that is {}", r.error().message);
      return;
    }
    if (!filter.matches(*r)) return;
    if (json) fmt::print("{}\n", text);
    else print_human(*r);
  }
};

void drain(int fd, Printer& p) {
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    p.feed(std::string_view(buf, static_cast<size_t>(n)));
  }
}

ino_t inode_of(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? st.st_ino : 0;
}

// Reads audit.jsonl as it grows; when it is rotated, finishes the old file and opens the
// new one. Woken by inotify on the directory only.
int follow(const std::string& dir, Printer& p, UniqueFd current) {
  // The trail's directory may not exist yet (nothing has run): made as the monitors would.
  if (auto made = files::make_dirs(dir, 0750); !made) {
    log::error("{}: {}", dir, made.error().describe());
    return 1;
  }
  UniqueFd in(::inotify_init1(IN_CLOEXEC));
  if (!in || ::inotify_add_watch(in.get(), dir.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM) < 0) {
    log::error("inotify on {}: {}", dir, std::strerror(errno));
    return 1;
  }
  std::string path = dir + "/" + kAuditFile;
  for (;;) {
    if (current) drain(current.get(), p);
    UniqueFd now(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (now && (!current || inode_of(now.get()) != inode_of(current.get()))) {
      if (current) drain(current.get(), p);
      p.partial.clear();
      current = std::move(now);
      continue;
    }
    char events[4096];
    ssize_t n = ::read(in.get(), events, sizeof events);
    if (n < 0 && errno != EINTR) return 1;
  }
}

}  // namespace

// Help is the verb table's (src/cli/verbs.cpp); the dispatcher answers --help.
int cmd_audit(int argc, char** argv) {
  ArgParser ap;
  ap.flag({"--since"}, true).flag({"--until"}, true).flag({"--pod"}, true).flag({"--namespace"}, true);
  ap.flag({"--container"}, true).flag({"--exit-status"}, true).flag({"--json"}).flag({"--follow", "-f"});
  ap.flag({"--dir"}, true);
  auto a = ap.parse(argc, argv);
  if (!a) {
    log::error("{} (see reaper help audit)", a.error().describe());
    return 2;
  }
  if (!a->positionals.empty()) {
    log::error("audit takes no arguments (see reaper help audit)");
    return 2;
  }
  Filter f;
  for (auto [flag, field] : {std::pair{"--since", &f.since}, std::pair{"--until", &f.until}})
    if (a->has(flag)) {
      auto t = parse_time(a->get(flag));
      if (!t) {
        log::error("{}: {}", flag, t.error().message);
        return 1;
      }
      *field = *t;
    }
  f.pod = a->get("--pod");
  f.ns = a->get("--namespace");
  f.container = a->get("--container");
  if (a->has("--exit-status")) {
    std::string s = a->get("--exit-status");
    char* end = nullptr;
    long v = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end || v < 0 || v > 255) {
      log::error("--exit-status: expected a number from 0 to 255");
      return 1;
    }
    f.exit_status = static_cast<int>(v);
  }
  std::string dir = a->get("--dir");
  if (dir.empty()) {
    auto config = load_node_config();
    if (!config) {
      log::error("{}", config.error().describe());
      return 1;
    }
    dir = config->audit.dir;
  }
  Printer p{f, a->has("--json"), {}};
  UniqueFd last;
  for (const auto& file : audit_files(dir)) {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) continue;  // rotated away while we listed
    drain(fd.get(), p);
    p.partial.clear();
    last = std::move(fd);
  }
  if (!a->has("--follow")) return 0;
  if (last && inode_of(last.get()) == 0) last.reset();
  return follow(dir, p, std::move(last));
}

}  // namespace reaper::cli
