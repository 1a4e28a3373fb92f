// The node's side of `reaper doctor`: this binary and its personality links, reaper.conf,
// the overlay root and its groups, and the Kubernetes node label the installer sets.
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "cli/config_problems.hpp"
#include "cli/doctor.hpp"
#include "cli/overlay_verbs.hpp"
#include "cli/subprocess.hpp"
#include "core/node_config.hpp"
#include "core/overlay.hpp"
#include "core/state_store.hpp"
#include "version_string.hpp"

namespace reaper::cli {
namespace {

constexpr std::string_view kLabelKey = "reaper.runtime/installed";

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

Check binary_check() { return passed("binary", fmt::format("{} ({})", self_exe(), version_string())); }

// Every personality in DIR, resolving to this very file; and no other binary of the shim's
// name earlier on PATH (containerd runs the first containerd-shim-reaper-v2 on its PATH).
Check links_check(const DoctorOptions& o) {
  std::string self = self_exe();
  std::string dir = o.bin_dir.empty() ? self.substr(0, self.rfind('/')) : o.bin_dir;
  std::vector<std::string> missing, foreign;
  for (auto name : o.personalities) {
    std::string path = fmt::format("{}/{}", dir, name);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) missing.push_back(std::string(name));
    else if (!same_file(path, self)) foreign.push_back(path);
  }
  if (!missing.empty() || !foreign.empty()) {
    std::string what;
    if (!missing.empty()) what = fmt::format("missing in {}: {}", dir, joined(missing));
    if (!foreign.empty()) what += fmt::format("{}not this binary: {}", what.empty() ? "" : "; ", joined(foreign));
    return failed("links", what, fmt::format("{} install-links {}", self, dir));
  }
  Check c = passed("links", fmt::format("every personality in {} is this binary", dir));
  std::string shim = find_program("containerd-shim-reaper-v2");
  if (!shim.empty() && !same_file(shim, self))
    return failed("links", fmt::format("{} comes first on PATH and is another binary", shim),
                  fmt::format("remove it, or {} install-links {}", self, shim.substr(0, shim.rfind('/'))));
  if (shim.empty()) c.notes.push_back(fmt::format("{} is not on this PATH: containerd must have it on its own", dir));
  return c;
}

Check config_check() {
  auto report = check_config_file(node_config_path());
  if (!report)
    return failed("reaper.conf", report.error().describe(), "make the file readable by root");
  if (!report->exists) return passed("reaper.conf", report->path + " absent: the defaults apply");
  if (report->problems.empty()) return passed("reaper.conf", report->path + " valid");
  Check c = failed("reaper.conf", fmt::format("{}: {} problem(s)", report->path, report->problems.size()),
                   fmt::format("correct or remove those lines (reaper config check {})", report->path));
  c.notes = report->problems;
  return c;
}

Check overlay_check() {
  auto config = load_node_config();
  if (!config) return skipped("overlay root", "reaper.conf does not load: " + config.error().describe());
  const std::string& root = config->overlay_root;
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0)
    return passed("overlay root", root + " not made yet (made with the first container)");
  auto groups = list_groups(root);
  Check c = passed("overlay root", "");
  size_t in_use = 0;
  for (const auto& g : groups) {
    in_use += g.in_use;
    if (!g.problem.empty()) {
      c.verdict = Verdict::kFail;
      c.notes.push_back(fmt::format("{}: {}", g.key, g.problem));
      c.hint = "reaper overlay rm GROUP (a planted entry is unlinked, never followed)";
      continue;
    }
    c.notes.push_back(fmt::format("{}: {}, {} used of {}", g.key, g.in_use ? "in use" : "idle",
                                  human_bytes(g.used_bytes), g.limited ? human_bytes(g.limit_bytes) : "no limit"));
  }
  c.detail = fmt::format("{}: {} group(s), {} in use", root, groups.size(), in_use);
  return c;
}

std::string node_name(const DoctorOptions& o) {
  if (!o.node.empty()) return o.node;
  if (const char* n = std::getenv("NODE_NAME"); n && *n) return n;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

// A kubeconfig kubectl would use, or the pod's service account; empty when there is none.
std::string kube_credentials() {
  std::vector<std::string> candidates;
  if (const char* k = std::getenv("KUBECONFIG"); k && *k) candidates.emplace_back(k);
  if (const char* h = std::getenv("HOME"); h && *h) candidates.push_back(std::string(h) + "/.kube/config");
  for (const char* p : {"/etc/kubernetes/admin.conf", "/etc/kubernetes/kubelet.conf",
                        "/etc/rancher/k3s/k3s.yaml", "/etc/rancher/rke2/rke2.yaml"})
    candidates.emplace_back(p);
  for (const auto& c : candidates)
    if (::access(c.c_str(), R_OK) == 0) return c;
  if (std::getenv("KUBERNETES_SERVICE_HOST") &&
      ::access("/var/run/secrets/kubernetes.io/serviceaccount/token", R_OK) == 0)
    return "the pod's service account";
  return {};
}

Check label_check(const DoctorOptions& o) {
  std::string kubectl = find_program("kubectl");
  if (kubectl.empty()) return skipped("node label", "kubectl is not on PATH");
  std::string creds = kube_credentials();
  if (creds.empty())
    return skipped("node label", "no kubeconfig (KUBECONFIG, ~/.kube/config, /etc/kubernetes/*.conf) "
                                 "and not in a pod");
  std::string name = node_name(o);
  std::vector<std::string> argv{kubectl};
  if (creds.front() == '/') argv.insert(argv.end(), {"--kubeconfig", creds});
  argv.insert(argv.end(), {"get", "node", name, "-o", "jsonpath={.metadata.labels.reaper\\.runtime/installed}"});
  auto r = run_capture(argv, 20000);
  if (!r || r->status != 0)
    return skipped("node label", fmt::format("kubectl get node {} failed: {}", name,
                                             r ? r->output.substr(0, r->output.find('\n')) : r.error().describe()));
  if (r->output == "true") return passed("node label", fmt::format("{}=true on node {}", kLabelKey, name));
  return failed("node label", fmt::format("node {} has no {}=true: reaper pods are not scheduled here", name, kLabelKey),
                fmt::format("the installer sets it; by hand: kubectl label node {} {}=true", name, kLabelKey));
}

}  // namespace

std::vector<Check> node_checks(const DoctorOptions& o) {
  return {binary_check(), links_check(o), config_check(), overlay_check(), label_check(o)};
}

}  // namespace reaper::cli
