// pause, resume, update: what runc's callers send besides the lifecycle.
#include <boost/json.hpp>

#include "core/args.hpp"
#include "core/container.hpp"
#include "core/files.hpp"
#include "core/log.hpp"
#include "runtime/verbs.hpp"

namespace reaper::runtime {
namespace {

Result<std::string> one_id(const ArgParser& p, int argc, char** argv, std::string_view verb,
                           Args* out = nullptr) {
  Args a = TRY(p.parse(argc, argv));
  if (a.positionals.size() != 1) return failf("{}: expects one container id", verb);
  std::string id = a.positionals[0];
  if (out) *out = std::move(a);
  return id;
}

// runc update's flags: each sets one cgroup limit, which reaper has none of.
ArgParser update_flags() {
  ArgParser p;
  p.flag({"--resources", "-r"}, true);
  for (std::string_view f : {"--blkio-weight", "--cpu-period", "--cpu-quota", "--cpu-share",
                             "--cpu-rt-period", "--cpu-rt-runtime", "--cpuset-cpus", "--cpuset-mems",
                             "--cpu-idle", "--kernel-memory", "--kernel-memory-tcp", "--memory",
                             "--memory-reservation", "--memory-swap", "--pids-limit",
                             "--l3-cache-schema", "--mem-bw-schema"})
    p.flag({f}, true);
  return p;
}

}  // namespace

int verb_pause(const Globals& g, int argc, char** argv) {
  auto id = one_id(ArgParser(), argc, argv, "pause");
  if (!id) return report(id.error());
  auto ok = Containers(g.root).pause(*id);
  return ok ? 0 : report(ok.error());
}

int verb_resume(const Globals& g, int argc, char** argv) {
  auto id = one_id(ArgParser(), argc, argv, "resume");
  if (!id) return report(id.error());
  auto ok = Containers(g.root).resume(*id);
  return ok ? 0 : report(ok.error());
}

// Accepted so that callers resizing a container (containerd's Update, kubelet) get no error;
// the resources are read and checked to be JSON, then ignored: there are no cgroups.
int verb_update(const Globals& g, int argc, char** argv) {
  Args a;
  auto id = one_id(update_flags(), argc, argv, "update", &a);
  if (!id) return report(id.error());
  if (auto o = Containers(g.root).state(*id); !o) return report(o.error());
  if (a.has("--resources")) {
    std::string from = a.get("--resources");
    auto text = from == "-" ? files::read_fd(STDIN_FILENO) : files::read(from);
    if (!text) return report(text.error());
    boost::system::error_code ec;
    auto v = boost::json::parse(*text, ec);
    if (ec || !v.is_object()) return report(Error{0, "update: --resources is not a JSON object"});
  }
  log::warn("update {}: resource limits are not enforced (reaper runs workloads without cgroups)", *id);
  return 0;
}

}  // namespace reaper::runtime
