// The collector of `reaper metrics` (metrics.hpp): one function per source, each writing
// its families. Names, labels and meanings are docs/metrics.md's contract.
#include "cli/metrics.hpp"

#include <unistd.h>

#include <array>
#include <map>
#include <tuple>

#include "cli/audit_trail_counts.hpp"
#include "cli/places.hpp"
#include "core/audit.hpp"
#include "core/container.hpp"
#include "core/files.hpp"
#include "core/metrics_text.hpp"
#include "core/overlay.hpp"
#include "core/process_tree.hpp"
#include "version.hpp"

namespace reaper::cli {
namespace {

using metrics::Exposition;
using metrics::Labels;
using Type = Exposition::Type;

constexpr std::array kStatuses = {Status::kCreated, Status::kRunning, Status::kPaused, Status::kStopped};
constexpr const char* kShimName = "containerd-shim-reaper-v2";

// ---------------------------------------------------------------- containers

// Counts per containerd namespace ("" for reaper-runtime's, directly under the root),
// from the listing `reaper list` shows (places.hpp).
std::map<std::string, std::map<Status, uint64_t>> count_containers(const Context& ctx) {
  std::map<std::string, std::map<Status, uint64_t>> counts;
  for (const auto& l : list_containers(ctx, "")) ++counts[l.place.ns][l.observed.status];
  return counts;
}

void containers(Exposition& e, const Context& ctx) {
  e.family("reaper_containers", Type::kGauge,
           "Containers under the state root, by containerd namespace (empty for reaper-runtime's) and status.");
  for (const auto& [ns, by_status] : count_containers(ctx))
    for (Status s : kStatuses) {
      auto it = by_status.find(s);
      e.sample("reaper_containers", {{"namespace", ns}, {"status", std::string(status_name(s))}},
               it == by_status.end() ? uint64_t{0} : it->second);
    }
}

// ---------------------------------------------------------------- audit trail

void keyed_counter(Exposition& e, std::string_view name, std::string_view last_label,
                   const TrailCounts::Keyed& m) {
  for (const auto& [key, n] : m)
    e.sample(name, {{"namespace", std::get<0>(key)}, {"process", std::get<1>(key)},
                    {last_label, std::get<2>(key)}}, n);
}

void audit_trail(Exposition& e, const AuditSettings& audit, TrailCounter& trail) {
  TrailCounts t = trail.count();
  e.family("reaper_process_starts_total", Type::kCounter,
           "Start records in the audit trail, by containerd namespace, process (init or exec) and result (started or exec_failed).");
  keyed_counter(e, "reaper_process_starts_total", "result", t.starts);
  e.family("reaper_process_exits_total", Type::kCounter,
           "Exit records in the audit trail, by containerd namespace, process (init or exec) and class (ok, error, signal, exec_failed).");
  keyed_counter(e, "reaper_process_exits_total", "class", t.exits);
  e.family("reaper_spawn_to_running_seconds", Type::kHistogram,
           "From reaper setting a process going (its fork, or the start request of a created container) to its exec having succeeded.");
  e.histogram("reaper_spawn_to_running_seconds", {}, t.latency);
  e.family("reaper_audit_trail_unreadable_lines", Type::kGauge,
           "Lines of the audit trail's files that are not records (skipped).");
  e.sample("reaper_audit_trail_unreadable_lines", {}, t.unreadable);

  AuditCounters c = read_audit_counters(audit.dir);
  e.family("reaper_audit_records_written_total", Type::kCounter,
           "Audit records appended to the trail (the trail's counters file).");
  e.sample("reaper_audit_records_written_total", {}, c.written);
  e.family("reaper_audit_records_dropped_total", Type::kCounter,
           "Audit records that could not be appended (full disk, permissions): counted and survived.");
  e.sample("reaper_audit_records_dropped_total", {}, c.dropped);
}

// ---------------------------------------------------------------- overlay groups

void overlay_groups(Exposition& e, const std::string& overlay_root) {
  auto groups = list_groups(overlay_root);
  std::map<std::string, uint64_t> by_state{{"in_use", 0}, {"idle", 0}, {"broken", 0}};
  for (const auto& g : groups)
    ++by_state[!g.problem.empty() ? "broken" : g.in_use ? "in_use" : "idle"];
  e.family("reaper_overlay_groups", Type::kGauge,
           "Overlay groups under the overlay root, by state (in_use, idle, broken).");
  for (const auto& [state, n] : by_state) e.sample("reaper_overlay_groups", {{"state", state}}, n);

  e.family("reaper_overlay_group_used_bytes", Type::kGauge,
           "Bytes held by a group's upper layers (what its workloads wrote).");
  for (const auto& g : groups)
    if (g.problem.empty()) e.sample("reaper_overlay_group_used_bytes", {{"group", g.key}}, g.used_bytes);
  e.family("reaper_overlay_group_limit_bytes", Type::kGauge,
           "Size limit of a group's upper layers; absent for a group without a limit.");
  for (const auto& g : groups)
    if (g.problem.empty() && g.limited)
      e.sample("reaper_overlay_group_limit_bytes", {{"group", g.key}}, g.limit_bytes);
  e.family("reaper_overlay_group_in_use", Type::kGauge, "1 while a container of the group runs, else 0.");
  for (const auto& g : groups)
    if (g.problem.empty()) e.sample("reaper_overlay_group_in_use", {{"group", g.key}}, uint64_t{g.in_use});
  e.family("reaper_overlay_group_last_use_timestamp_seconds", Type::kGauge,
           "When the group's last container ended (Unix time); absent for a group never used.");
  for (const auto& g : groups)
    if (g.problem.empty() && g.last_use_ns)
      e.sample("reaper_overlay_group_last_use_timestamp_seconds", {{"group", g.key}},
               static_cast<double>(g.last_use_ns) / 1e9);
}

// ---------------------------------------------------------------- shims

// A shim: comm is the executable's name cut to 15 characters, argv[0] its full name. A
// monitor forked by a shim keeps the shim's argv but names itself reaper-monitor.
bool is_shim(const ProcInfo& p) {
  if (p.state == 'Z' || p.comm != std::string_view(kShimName).substr(0, 15)) return false;
  auto cmdline = files::read("/proc/" + std::to_string(p.pid) + "/cmdline");
  if (!cmdline) return false;
  std::string_view argv0(cmdline->c_str());
  size_t slash = argv0.rfind('/');
  if (slash != std::string_view::npos) argv0.remove_prefix(slash + 1);
  return argv0 == kShimName;
}

void shims(Exposition& e) {
  uint64_t count = 0, rss = 0, max_rss = 0;
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  for (const auto& p : read_all_procs()) {
    if (!is_shim(p)) continue;
    ++count;
    rss += p.rss_pages * page;
    max_rss = std::max(max_rss, p.rss_pages * page);
  }
  e.family("reaper_shims", Type::kGauge, "Running containerd-shim-reaper-v2 processes on the node.");
  e.sample("reaper_shims", {}, count);
  e.family("reaper_shim_resident_memory_bytes", Type::kGauge,
           "Resident memory of all reaper shims together (VmRSS).");
  e.sample("reaper_shim_resident_memory_bytes", {}, rss);
  e.family("reaper_shim_resident_memory_max_bytes", Type::kGauge,
           "Resident memory of the largest reaper shim (VmRSS).");
  e.sample("reaper_shim_resident_memory_max_bytes", {}, max_rss);
}

}  // namespace

MetricsCollector::MetricsCollector(MetricsSources sources)
    : sources_(std::move(sources)), trail_(sources_.config.audit.dir) {}

std::string MetricsCollector::collect() {
  const MetricsSources& sources = sources_;
  Exposition e;
  e.family("reaper_build_info", Type::kGauge, "The reaper binary that answers (version and revision): always 1.");
  e.sample("reaper_build_info", {{"version", std::string(kVersion)}, {"revision", std::string(kRevision)}}, uint64_t{1});
  containers(e, sources.ctx);
  audit_trail(e, sources.config.audit, trail_);
  overlay_groups(e, sources.config.overlay_root);
  shims(e);
  return e.text();
}

}  // namespace reaper::cli
