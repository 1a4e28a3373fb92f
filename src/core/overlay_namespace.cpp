#include "core/overlay_namespace.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/files.hpp"
#include "core/masking.hpp"
#include "core/mountinfo.hpp"

namespace reaper {
namespace {

// Filesystems that hold no files of their own to protect (or that overlayfs cannot
// take as a lower layer); below /proc, /sys, /dev, /run they come in with the binds.
const std::set<std::string, std::less<>> kPseudoFilesystems = {
    "proc",    "sysfs",    "devtmpfs", "devpts",    "cgroup",     "cgroup2", "nsfs",
    "autofs",  "binfmt_misc", "securityfs", "debugfs", "tracefs", "fusectl", "configfs",
    "bpf",     "mqueue",   "hugetlbfs", "pstore",   "efivarfs",   "rpc_pipefs", "nfsd",
};

// Trees other runtimes and kubelet manage: volumes reach a container through its own
// mounts (container_mounts.hpp), not through the group's snapshot of the host.
constexpr const char* kForeignTrees[] = {"/var/lib/kubelet/pods", "/var/lib/containerd",
                                         "/var/lib/docker"};

Result<void> mount_overlay(const std::string& lower, const std::string& layer,
                           const std::string& target) {
  std::string upper = layer + "/upper", work = layer + "/work";
  TRY(files::make_dirs(upper, 0755));
  TRY(files::make_dirs(work, 0700));
  std::string opts = "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work;
  if (::mount("overlay", target.c_str(), "overlay", 0, opts.c_str()) != 0)
    return sys_error("mount overlay of " + lower + " on " + target);
  return {};
}

// The host mounts below / that get a layer of their own: the topmost mount of each
// mount point, parents before children, minus the host trees, the foreign trees, the
// overlay root itself and pseudo filesystems.
std::vector<MountEntry> layered_mounts(const std::vector<MountEntry>& all,
                                       const std::string& overlay_root) {
  std::map<std::string, size_t> topmost;  // mount point -> index of its last mount
  for (size_t i = 0; i < all.size(); ++i) topmost[all[i].mount_point] = i;
  std::vector<MountEntry> out;
  for (size_t i = 0; i < all.size(); ++i) {
    const auto& m = all[i];
    if (topmost[m.mount_point] != i || m.mount_point == "/") continue;
    if (kPseudoFilesystems.contains(m.fstype)) continue;
    if (path_within(m.mount_point, overlay_root) || path_within(overlay_root, m.mount_point))
      continue;
    bool skip = host_bound(m.mount_point);
    for (const char* t : kForeignTrees) skip = skip || path_within(m.mount_point, t);
    if (!skip) out.push_back(m);
  }
  std::stable_sort(out.begin(), out.end(), [](const MountEntry& a, const MountEntry& b) {
    return std::count(a.mount_point.begin(), a.mount_point.end(), '/') <
           std::count(b.mount_point.begin(), b.mount_point.end(), '/');
  });
  return out;
}

// A host mount of a single file (a container engine's /etc/hosts, say): its content is
// copied into the overlay, where the group may change it.
Result<void> copy_file_into(const std::string& host_path, const std::string& target) {
  std::string content = TRY(files::read(host_path));
  struct stat st {};
  if (::stat(host_path.c_str(), &st) != 0) return sys_error("stat " + host_path);
  return files::write_atomic(target, content, st.st_mode & 07777);
}

Result<void> layer_host_mounts(const std::vector<MountEntry>& mounts, const std::string& group_dir,
                               const std::string& merged, std::vector<std::string>& log) {
  int n = 1;
  for (const auto& m : mounts) {
    std::string target = merged + m.mount_point;
    struct stat st {};
    if (::stat(m.mount_point.c_str(), &st) != 0) continue;  // hidden by a later mount
    if (!S_ISDIR(st.st_mode)) {
      TRY_CTX(copy_file_into(m.mount_point, target), "copy " + m.mount_point);
      log.push_back(fmt::format("file {} ({}): copied into the overlay", m.mount_point, m.fstype));
      continue;
    }
    std::string layer = fmt::format("{}/layers/{}", group_dir, n);
    if (auto layered = mount_overlay(m.mount_point, layer, target)) {
      log.push_back(fmt::format("layer {}: {} ({} {})", n, m.mount_point, m.fstype, m.source));
      ++n;
      continue;
    } else {
      // overlayfs cannot stack on every filesystem: show it read-only, never writable.
      if (::mount(m.mount_point.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0 ||
          ::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0)
        return sys_error(fmt::format("{}; then bind {} read-only", layered.error().describe(),
                                     m.mount_point));
      log.push_back(fmt::format("read-only {} ({}): {}", m.mount_point, m.fstype,
                                layered.error().describe()));
    }
  }
  return {};
}

// Namespace files of other groups arrive with the /run bind; holding them here would
// keep those namespaces alive after they are removed.
void drop_namespace_files() {
  auto mounts = read_mountinfo();
  if (!mounts) return;
  for (auto it = mounts->rbegin(); it != mounts->rend(); ++it)
    if (it->fstype == "nsfs") ::umount2(it->mount_point.c_str(), MNT_DETACH);
}

// A resolv.conf symlink (systemd-resolved's, into /run) would let the group write the
// host's resolver file through the /run bind: the group gets a copy instead.
Result<void> own_resolv_conf(std::vector<std::string>& log) {
  struct stat st {};
  if (::lstat("/etc/resolv.conf", &st) != 0 || !S_ISLNK(st.st_mode)) return {};
  std::string content;
  if (auto read = files::read("/etc/resolv.conf")) content = std::move(*read);
  if (::unlink("/etc/resolv.conf") != 0) return sys_error("unlink /etc/resolv.conf");
  TRY(files::write_atomic("/etc/resolv.conf", content, 0644));
  log.push_back("/etc/resolv.conf: symlink replaced by a copy of its target");
  return {};
}

}  // namespace

Result<void> build_group_namespace(const NodeConfig& config, const std::string& group_dir,
                                   std::vector<std::string>& log) {
  if (::unshare(CLONE_NEWNS) != 0) return sys_error("unshare mount namespace");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
    return sys_error("make mounts slaves");
  auto host_mounts = TRY(read_mountinfo());

  std::string merged = group_dir + "/merged";
  TRY(files::make_dirs(merged, 0755));
  TRY(mount_overlay("/", group_dir + "/layers/0", merged));
  log.push_back("layer 0: / (host root)");
  TRY(layer_host_mounts(layered_mounts(host_mounts, config.overlay_root), group_dir, merged, log));

  for (const char* tree : kHostBoundTrees) {
    struct stat st {};
    if (::stat(tree, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    std::string target = merged + tree;
    TRY(files::make_dirs(target, 0755));
    if (::mount(tree, target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
      return sys_error(std::string("bind host ") + tree);
    log.push_back(fmt::format("bind {} (host)", tree));
  }

  // pivot_root(".", ".") stacks the old root on the new one; detaching it leaves the overlay.
  if (::chdir(merged.c_str()) != 0) return sys_error("chdir " + merged);
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return sys_error("pivot_root");
  if (::umount2(".", MNT_DETACH) != 0) return sys_error("detach the host root");
  if (::chdir("/") != 0) return sys_error("chdir /");

  drop_namespace_files();
  TRY(own_resolv_conf(log));
  TRY_CTX(apply_masks(config, log), "mask sensitive files");
  return {};
}

}  // namespace reaper
