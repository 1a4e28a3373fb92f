// Counting the audit trail once: per file, by identity, from the offset read up to
// (audit_trail_counts.hpp).
#include "cli/audit_trail_counts.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "core/fd.hpp"

namespace reaper::cli {
namespace {

constexpr size_t kHeadBytes = 64;  // enough to hold a record's timestamp
constexpr uint64_t kChunkBytes = 1 << 20;

// The class of a process's end (docs/metrics.md), its start aside.
std::string plain_exit_class(const AuditRecord& r) {
  if (r.signal) return "signal";
  if (r.exit_status && *r.exit_status == 0) return "ok";
  return "error";
}

std::string process_key(const AuditRecord& r) {
  return r.context.container_id + "\n" + r.context.exec_id + "\n" + std::to_string(r.pid);
}

// Bytes [offset, offset + n) of the file, fewer at its end.
std::string read_at(int fd, uint64_t offset, uint64_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, out.data() + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

void add_keyed(TrailCounts::Keyed& to, const TrailCounts::Keyed& from) {
  for (const auto& [key, n] : from) to[key] += n;
}

// One record less under `key`; a key at zero disappears, as it would from a fresh count.
void take_one(TrailCounts::Keyed& m, const TrailCounts::Keyed::key_type& key) {
  auto it = m.find(key);
  if (it != m.end() && --it->second == 0) m.erase(it);
}

}  // namespace

void TrailCounts::add(const TrailCounts& other) {
  add_keyed(starts, other.starts);
  add_keyed(exits, other.exits);
  latency.merge(other.latency);
  unreadable += other.unreadable;
}

TrailCounts TrailCounter::count() {
  for (auto& [id, f] : files_) f.seen = false;
  TrailCounts total;
  std::set<std::string> open;  // failed starts of the files counted so far, no exit yet
  for (const auto& path : audit_files(dir_)) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0) continue;  // rotated away meanwhile
    FileCounts& f = files_[{st.st_dev, st.st_ino}];
    if (f.seen) continue;  // renamed between the listing and its open: counted already
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    // Another file on a reused inode, or a file cut shorter: counted from its start.
    if (size < f.offset || (!f.head.empty() && read_at(fd.get(), 0, f.head.size()) != f.head))
      f = FileCounts{};
    f.seen = true;
    // An exit made exec_failed by an older file's start stays so while that start is in
    // the trail; once its file is gone, the exit counts as a fresh read would count it.
    for (auto it = f.cross.begin(); it != f.cross.end();) {
      if (open.erase(it->key)) {
        ++it;
        continue;
      }
      take_one(f.counts.exits, {it->ns, it->kind, "exec_failed"});
      ++f.counts.exits[{it->ns, it->kind, it->plain}];
      it = f.cross.erase(it);
    }
    refresh(f, fd.get(), size, open);
    open.insert(f.failed.begin(), f.failed.end());
    total.add(f.counts);
    // A rotated file's last line without its newline will never be completed (the live
    // file's is a record being written).
    if (f.offset < size && !path.ends_with(std::string("/") + kAuditFile)) ++total.unreadable;
  }
  std::erase_if(files_, [](const auto& entry) { return !entry.second.seen; });
  return total;
}

void TrailCounter::refresh(FileCounts& f, int fd, uint64_t size, std::set<std::string>& open) {
  // Read in chunks, so that a scrape of a full trail holds a chunk, not a file. Complete
  // lines only: the writer appends each record with its newline in one write, so what
  // follows the last newline is a record being written (or cut by a crash).
  std::string pending;  // read, not yet counted: the start of a line
  for (uint64_t pos = f.offset; pos < size;) {
    std::string chunk = read_at(fd, pos, std::min<uint64_t>(kChunkBytes, size - pos));
    if (chunk.empty()) break;
    if (pos == 0) f.head = chunk.substr(0, kHeadBytes);
    pos += chunk.size();
    pending += chunk;
    size_t end = pending.rfind('\n');
    if (end == std::string::npos) continue;  // a line longer than a chunk
    std::string_view lines(pending.data(), end + 1);
    f.offset += lines.size();
    while (!lines.empty()) {
      size_t nl = lines.find('\n');
      if (nl > 0) count_line(f, lines.substr(0, nl), open);
      lines.remove_prefix(nl + 1);
    }
    pending.erase(0, end + 1);
  }
}

void TrailCounter::count_line(FileCounts& f, std::string_view line, std::set<std::string>& open) {
  auto r = parse_audit_line(line);
  if (!r) {
    ++f.counts.unreadable;
    return;
  }
  std::string kind = r->context.exec_id.empty() ? "init" : "exec";
  if (r->event == "start") {
    ++f.counts.starts[{r->context.ns, kind, r->error.empty() ? "started" : "exec_failed"}];
    if (!r->error.empty()) f.failed.insert(process_key(*r));
    else if (r->spawn_ns && r->time_ns >= *r->spawn_ns)
      f.counts.latency.observe(static_cast<double>(r->time_ns - *r->spawn_ns) / 1e9);
  } else if (r->event == "exit") {
    std::string key = process_key(*r);
    std::string cls = plain_exit_class(*r);
    if (f.failed.erase(key)) {
      cls = "exec_failed";
    } else if (open.erase(key)) {
      f.cross.push_back({key, r->context.ns, kind, cls});
      cls = "exec_failed";
    }
    ++f.counts.exits[{r->context.ns, kind, cls}];
  }
}

}  // namespace reaper::cli
