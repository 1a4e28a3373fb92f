#include "cli/places.hpp"

#include <sys/stat.h>

#include <algorithm>

#include "core/files.hpp"
#include "core/log.hpp"
#include "core/ids.hpp"
#include "core/node_config.hpp"

namespace reaper::cli {
namespace {

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace

void add_namespace_flag(ArgParser& p) { p.flag({"--namespace", "-n"}, true); }

Result<std::string> namespace_of(const Args& a) {
  if (!a.has("--namespace")) return std::string();
  std::string ns = a.get("--namespace");
  if (ns == kNoNamespace) return ns;
  if (!validate_id(ns, "namespace")) return failf("-n {:?}: not a containerd namespace name", ns);
  return ns;
}

std::string_view namespace_label(const Place& p) { return p.ns.empty() ? kNoNamespace : p.ns; }

std::vector<Place> places(const Context& ctx, const std::string& ns) {
  if (ns == kNoNamespace) return {{"", ctx.root}};
  if (!ns.empty()) return {{ns, ctx.root + "/" + ns}};
  std::vector<Place> out{{"", ctx.root}};
  auto names = files::list_dir(ctx.root);
  if (!names) return out;
  std::sort(names->begin(), names->end());
  // The overlay root (by default <root>/overlay) holds groups, not containers.
  std::string overlay_root;
  if (auto config = load_node_config()) overlay_root = config->overlay_root;
  for (const auto& n : *names) {
    std::string d = ctx.root + "/" + n;
    // A container's own directory (reaper-runtime's) holds state.json.
    if (!validate_id(n) || !is_dir(d) || exists(d + "/state.json") || d == overlay_root) continue;
    out.push_back({n, d});
  }
  return out;
}

std::vector<Located> list_containers(const Context& ctx, const std::string& ns) {
  std::vector<Located> out;
  for (const auto& p : places(ctx, ns))
    for (auto& o : Containers(p.dir).list()) out.push_back({p, std::move(o)});
  return out;
}

Result<Located> locate(const Context& ctx, const std::string& ns, const std::string& id) {
  TRY(validate_id(id));
  std::vector<Located> found;
  std::vector<std::string> looked;
  for (const auto& p : places(ctx, ns)) {
    looked.emplace_back(p.ns.empty() ? p.dir + " (reaper-runtime's)" : p.dir);
    Containers c(p.dir);
    if (!c.store().has(id)) continue;
    found.push_back({p, TRY(c.state(id))});
  }
  if (found.size() == 1) return std::move(found.front());
  if (found.empty())
    return failf(ErrorKind::kNotFound,
                 "container {:?} does not exist under {} (looked in {}); --root DIR or REAPER_ROOT "
                 "if the state is elsewhere",
                 id, ctx.root, joined(looked));
  std::vector<std::string> where;
  for (const auto& f : found) where.emplace_back(namespace_label(f.place));
  return failf(ErrorKind::kInvalidArgument,
               "container {:?} exists in several namespaces ({}): choose one with -n NS", id,
               joined(where));
}

std::expected<Target, int> parse_target(const Context& ctx, std::string_view verb, ArgParser& p,
                                        int argc, char** argv, int not_found) {
  add_namespace_flag(p);
  auto a = parse_verb(verb, p, argc, argv, 1, 1);
  if (!a) return std::unexpected(kUsage);
  auto ns = namespace_of(*a);
  if (!ns) return std::unexpected(usage_error(verb, ns.error().describe()));
  auto l = locate(ctx, *ns, a->positionals[0]);
  if (!l) {
    log::error("{}", l.error().describe());
    return std::unexpected(not_found);
  }
  return Target{std::move(*a), std::move(*l)};
}

}  // namespace reaper::cli
