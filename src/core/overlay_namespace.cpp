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

#include "core/beneath.hpp"
#include "core/files.hpp"
#include "core/masking.hpp"
#include "core/mountinfo.hpp"
#include "core/overlay.hpp"

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

// The group's layers directory and its index (layers/index): a host path keeps its
// layer number, so its upper directory, across rebuilds.
struct Layers {
  UniqueFd fd;
  std::string shown;
  std::vector<LayerEntry> index;
  bool changed = false;

  int number_for(const std::string& host_path) {
    int next = 1;
    for (const auto& e : index) {
      if (e.host_path == host_path) return e.index;
      next = std::max(next, e.index + 1);
    }
    int n = host_path == "/" ? 0 : next;
    index.push_back({n, host_path});
    changed = true;
    return n;
  }
};

Result<Layers> open_layers(const std::string& overlay_root, const std::string& key) {
  UniqueFd root = TRY_CTX(beneath::open_root(overlay_root, false), "overlay root");
  std::string group_path = overlay_root + "/" + key;
  UniqueFd group = TRY(beneath::open_dir(root.get(), key, group_path));
  Layers l;
  l.shown = group_path + "/layers";
  auto dir = open_layers_dir(group.get(), group_path);
  if (!dir && dir.error().code == ENOENT) dir = LayersDir{TRY(beneath::make_dir(group.get(), "layers", 0700, l.shown))};
  if (!dir) return std::unexpected(dir.error());
  l.fd = std::move(dir->fd);
  if (auto text = beneath::read_file(l.fd.get(), "index", l.shown + "/index")) l.index = parse_layer_index(*text);
  else if (text.error().code != ENOENT) return std::unexpected(text.error());
  return l;
}

// An overlay of `lower` with layer n's upper and work directories, as a detached mount.
// overlayfs gets the directories as /proc/self/fd paths: exactly the ones checked here.
Result<UniqueFd> make_overlay(const std::string& lower, const Layers& layers, int n) {
  std::string name = std::to_string(n), shown = layers.shown + "/" + name;
  UniqueFd dir = TRY(beneath::make_dir(layers.fd.get(), name, 0700, shown));
  UniqueFd upper = TRY(beneath::make_dir(dir.get(), "upper", 0755, shown + "/upper"));
  UniqueFd work = TRY(beneath::make_dir(dir.get(), "work", 0700, shown + "/work"));
  int ctx = ::fsopen("overlay", FSOPEN_CLOEXEC);
  if (ctx < 0) return sys_error("fsopen overlay");
  UniqueFd c(ctx);
  std::string up = beneath::fd_path(upper.get()), wk = beneath::fd_path(work.get());
  if (::fsconfig(ctx, FSCONFIG_SET_STRING, "lowerdir", lower.c_str(), 0) != 0 ||
      ::fsconfig(ctx, FSCONFIG_SET_STRING, "upperdir", up.c_str(), 0) != 0 ||
      ::fsconfig(ctx, FSCONFIG_SET_STRING, "workdir", wk.c_str(), 0) != 0 ||
      ::fsconfig(ctx, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return sys_error("overlay of " + lower + " with " + shown);
  int mnt = ::fsmount(ctx, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0) return sys_error("fsmount overlay of " + lower);
  return UniqueFd(mnt);
}

// Attaches `layer` of `lower` at `target` (relative to the overlay being assembled).
Result<void> mount_overlay(const std::string& lower, Layers& layers, const std::string& target) {
  int n = layers.number_for(lower);
  UniqueFd mnt = TRY(make_overlay(lower, layers, n));
  if (::move_mount(mnt.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
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

// Run with the new root as the working directory: targets are "." + the host path.
Result<void> layer_host_mounts(const std::vector<MountEntry>& mounts, Layers& layers,
                               std::vector<std::string>& log) {
  for (const auto& m : mounts) {
    std::string target = "." + m.mount_point;
    struct stat st {};
    if (::stat(m.mount_point.c_str(), &st) != 0) continue;  // hidden by a later mount
    if (!S_ISDIR(st.st_mode)) {
      TRY_CTX(copy_file_into(m.mount_point, target), "copy " + m.mount_point);
      log.push_back(fmt::format("file {} ({}): copied into the overlay", m.mount_point, m.fstype));
      continue;
    }
    if (auto layered = mount_overlay(m.mount_point, layers, target)) {
      log.push_back(fmt::format("layer {}: {} ({} {})", layers.number_for(m.mount_point),
                                m.mount_point, m.fstype, m.source));
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

// The overlay root came in with the /run bind (or through layer 0 when it is elsewhere):
// every mount at or below it is detached here, and an empty read-only tmpfs covers it,
// so no workload of the group reaches any group's layers, locks or namespace files.
Result<void> hide_overlay_root(const std::string& root, std::vector<std::string>& log) {
  if (auto mounts = read_mountinfo())
    for (auto it = mounts->rbegin(); it != mounts->rend(); ++it)
      if (path_within(it->mount_point, root)) ::umount2(it->mount_point.c_str(), MNT_DETACH);
  struct stat st {};
  if (::lstat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return {};
  int ctx = ::fsopen("tmpfs", FSOPEN_CLOEXEC);
  if (ctx < 0) return sys_error("fsopen tmpfs to hide the overlay root");
  UniqueFd c(ctx);
  if (::fsconfig(ctx, FSCONFIG_SET_STRING, "source", "reaper-hidden", 0) != 0 ||
      ::fsconfig(ctx, FSCONFIG_SET_STRING, "size", "4k", 0) != 0 ||
      ::fsconfig(ctx, FSCONFIG_SET_STRING, "nr_inodes", "1", 0) != 0 ||
      ::fsconfig(ctx, FSCONFIG_SET_STRING, "mode", "0500", 0) != 0 ||
      ::fsconfig(ctx, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return sys_error("configure the tmpfs hiding the overlay root");
  int mnt = ::fsmount(ctx, FSMOUNT_CLOEXEC,
                      MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  if (mnt < 0) return sys_error("fsmount the tmpfs hiding the overlay root");
  UniqueFd m(mnt);
  if (::move_mount(m.get(), "", AT_FDCWD, root.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return sys_error("cover the overlay root " + root);
  log.push_back(fmt::format("hidden {} (the overlay root): an empty read-only tmpfs covers it", root));
  return {};
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

Result<void> build_group_namespace(const NodeConfig& config, const std::string& overlay_root,
                                   const std::string& key, std::vector<std::string>& log) {
  if (::unshare(CLONE_NEWNS) != 0) return sys_error("unshare mount namespace");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
    return sys_error("make mounts slaves");
  auto host_mounts = TRY(read_mountinfo());

  // Opened in this namespace: `merged` is where the new root is attached.
  Layers layers = TRY(open_layers(overlay_root, key));
  UniqueFd root = TRY(beneath::open_root(overlay_root, false));
  std::string group_path = overlay_root + "/" + key;
  UniqueFd group = TRY(beneath::open_dir(root.get(), key, group_path));
  UniqueFd merged = TRY(beneath::make_dir(group.get(), "merged", 0755, group_path + "/merged"));
  UniqueFd top = TRY(make_overlay("/", layers, layers.number_for("/")));
  if (::move_mount(top.get(), "", merged.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    return sys_error("attach the overlay of / to " + group_path + "/merged");
  if (::fchdir(top.get()) != 0) return sys_error("chdir into the overlay");
  log.push_back("layer 0: / (host root)");
  TRY(layer_host_mounts(layered_mounts(host_mounts, overlay_root), layers, log));
  if (layers.changed)
    TRY(beneath::write_file(layers.fd.get(), "index", format_layer_index(layers.index), layers.shown + "/index"));

  for (const char* tree : kHostBoundTrees) {
    struct stat st {};
    if (::stat(tree, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    std::string target = std::string(".") + tree;
    TRY(files::make_dirs(target, 0755));
    if (::mount(tree, target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
      return sys_error(std::string("bind host ") + tree);
    log.push_back(fmt::format("bind {} (host)", tree));
  }

  // pivot_root(".", ".") stacks the old root on the new one; detaching it leaves the overlay.
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return sys_error("pivot_root");
  if (::umount2(".", MNT_DETACH) != 0) return sys_error("detach the host root");
  if (::chdir("/") != 0) return sys_error("chdir /");

  drop_namespace_files();
  TRY(hide_overlay_root(overlay_root, log));
  TRY(own_resolv_conf(log));
  TRY_CTX(apply_masks(config, log), "mask sensitive files");
  return {};
}

}  // namespace reaper
