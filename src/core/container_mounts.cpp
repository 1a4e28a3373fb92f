#include "core/container_mounts.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <deque>

#include "core/files.hpp"
#include "core/mountinfo.hpp"
#include "core/private_dev.hpp"

namespace reaper {
namespace {

// Destinations the runtime leaves alone: the host's own trees (a container engine's
// /dev/shm; a regular file below /dev, such as kubelet's /dev/termination-log, is
// the exception: it goes into the container's own /dev) and the kubelet's per-pod
// files that would hide the host's (the workload sees the host's /etc/hosts and
// hostname).
constexpr const char* kHostTrees[] = {"/proc", "/sys", "/dev"};
constexpr const char* kSkippedFiles[] = {"/etc/hosts", "/etc/hostname"};
constexpr const char* kResolvConf = "/etc/resolv.conf";

bool has(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// "/a//b/./c/" -> "/a/b/c"; a ".." component is refused, never resolved textually.
Result<std::string> normalise_destination(const std::string& dest) {
  if (dest.empty() || dest.front() != '/')
    return failf("mount destination {:?} is not an absolute path", dest);
  std::string out;
  size_t i = 0;
  while (i < dest.size()) {
    size_t j = dest.find('/', i);
    if (j == std::string::npos) j = dest.size();
    std::string_view part(dest.data() + i, j - i);
    i = j + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return failf("mount destination {:?} contains '..'", dest);
    out += '/';
    out += part;
  }
  return out.empty() ? std::string("/") : out;
}

bool in_host_tree(std::string_view path) {
  for (const char* t : kHostTrees)
    if (path_within(path, t)) return true;
  return false;
}

Result<VolumeMount> volume_of(const oci::Mount& m, const std::string& dest) {
  VolumeMount v;
  v.destination = dest;
  if (m.source.empty()) return failf("mount {}: the source is empty", dest);
  if (m.source.front() != '/') return failf("mount {}: source {:?} is not an absolute path", dest, m.source);
  struct stat st {};
  if (::stat(m.source.c_str(), &st) != 0)
    return sys_error(fmt::format("mount {}: source {}", dest, m.source));
  v.source = m.source;
  v.recursive = !has(m.options, "bind") || has(m.options, "rbind");
  for (const auto& o : m.options) {
    if (o == "ro") v.readonly = true;
    else if (o == "rw") v.readonly = false;
    else if (o == "nosuid") v.attributes |= MOUNT_ATTR_NOSUID;
    else if (o == "nodev") v.attributes |= MOUNT_ATTR_NODEV;
    else if (o == "noexec") v.attributes |= MOUNT_ATTR_NOEXEC;
  }
  if (v.readonly) v.attributes |= MOUNT_ATTR_RDONLY;
  return v;
}

// Creates the mount point for a source of `is_dir` kind, inside the overlay.
Result<void> make_mount_point(const std::string& path, bool is_dir) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode) != is_dir)
      return failf("mount {}: the destination is a {} but the source is a {}", path,
                   S_ISDIR(st.st_mode) ? "directory" : "file", is_dir ? "directory" : "file");
    return {};
  }
  if (is_dir) return files::make_dirs(path, 0755);
  std::string parent = path.substr(0, path.rfind('/'));
  if (!parent.empty()) TRY(files::make_dirs(parent, 0755));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return sys_error("create mount point " + path);
  ::close(fd);
  return {};
}

Result<void> attach(const VolumeMount& v, int tree) {
  std::string target = TRY(resolve_in_root(v.destination));
  if (in_host_tree(target))
    return failf("mount {}: the destination leads into the host's {}", v.destination, target);
  struct stat st {};
  if (::fstat(tree, &st) != 0) return sys_error("stat mount source " + v.source);
  TRY(make_mount_point(target, S_ISDIR(st.st_mode)));
  if (::move_mount(tree, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return sys_error(fmt::format("mount {} on {}", v.source, v.destination));
  return {};
}

Result<void> attach_in_dev(const PrivateDev& dev, const VolumeMount& v, int tree) {
  std::string target = TRY(resolve_in_root(v.destination));
  TRY(make_dev_mount_point(dev, target));
  if (::move_mount(tree, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return sys_error(fmt::format("mount {} on {}", v.source, v.destination));
  return {};
}

// A bind of a regular file below /dev (not /proc or /sys): kubelet's termination log.
bool dev_file(const oci::Mount& m, const std::string& dest) {
  if (!path_within(dest, "/dev") || dest == "/dev") return false;
  struct stat st {};
  return ::stat(m.source.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

Result<MountPlan> plan_mounts(const NodeConfig& node, const oci::Spec& spec) {
  MountPlan plan;
  PodSettings pod = TRY(pod_settings(node, spec.annotations));
  plan.overlay = overlay_options(node);
  plan.overlay.size = pod.overlay_size;
  plan.gc_idle_s = node.overlay_idle_s;
  plan.group = pod.group;
  plan.dns = pod.dns;
  plan.notes = std::move(pod.notes);
  for (const auto& m : spec.mounts) {
    bool bind = m.type == "bind" || has(m.options, "bind") || has(m.options, "rbind");
    if (!bind) continue;  // proc, tmpfs, sysfs…: the host's own are there already
    std::string dest = TRY(normalise_destination(m.destination));
    if (dest == kResolvConf) {
      if (plan.dns == DnsMode::kKubernetes) plan.resolv_conf = TRY(volume_of(m, dest));
      continue;
    }
    if (dev_file(m, dest)) {
      VolumeMount v = TRY(volume_of(m, dest));
      v.in_dev = true;
      plan.volumes.push_back(std::move(v));
      continue;
    }
    if (in_host_tree(dest) || std::find(std::begin(kSkippedFiles), std::end(kSkippedFiles), dest) !=
                                  std::end(kSkippedFiles))
      continue;
    if (dest == "/") return fail("mount destination \"/\" would hide the overlay");
    plan.volumes.push_back(TRY(volume_of(m, dest)));
  }
  if (plan.dns == DnsMode::kKubernetes && !plan.resolv_conf)
    return fail("dns mode kubernetes: the spec has no /etc/resolv.conf mount (the pod's own resolver)");
  return plan;
}

Result<PreparedMounts> prepare_mounts(const MountPlan& plan) {
  PreparedMounts p;
  std::vector<const VolumeMount*> all;
  for (const auto& v : plan.volumes) all.push_back(&v);
  if (plan.resolv_conf) all.push_back(&*plan.resolv_conf);
  // Cloned here, in the host namespace, where kubelet's mounts are.
  for (const VolumeMount* v : all) {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (v->recursive ? AT_RECURSIVE : 0);
    int tree = ::open_tree(AT_FDCWD, v->source.c_str(), flags);
    if (tree < 0) return sys_error(fmt::format("mount {}: clone {}", v->destination, v->source));
    UniqueFd t(tree);
    if (v->attributes) {
      struct mount_attr attr {};
      attr.attr_set = v->attributes;
      if (::mount_setattr(tree, "", AT_EMPTY_PATH | (v->recursive ? AT_RECURSIVE : 0), &attr,
                          sizeof attr) != 0)
        return sys_error(fmt::format("mount {}: set options", v->destination));
    }
    p.trees.emplace_back(*v, std::move(t));
  }
  p.group = TRY(ensure_group(plan.overlay, plan.group));
  return p;
}

Result<void> enter_mounts(const PreparedMounts& prepared) {
  if (::setns(prepared.group.ns.get(), CLONE_NEWNS) != 0)
    return sys_error("join the overlay group's namespace");
  if (::unshare(CLONE_NEWNS) != 0) return sys_error("unshare the container's namespace");
  std::optional<PrivateDev> dev;
  for (const auto& [volume, tree] : prepared.trees)
    if (volume.in_dev && !dev) dev = TRY(make_private_dev());
  for (const auto& [volume, tree] : prepared.trees) {
    if (volume.in_dev) TRY(attach_in_dev(*dev, volume, tree.get()));
    else TRY(attach(volume, tree.get()));
  }
  return {};
}

Result<void> join_mounts(int pidfd) {
  if (::setns(pidfd, CLONE_NEWNS) != 0) return sys_error("join the container's mount namespace");
  return {};
}

Result<std::string> resolve_in_root(std::string_view destination) {
  std::deque<std::string> todo;
  auto push_parts = [&](std::string_view path, bool front) {
    std::vector<std::string> parts;
    size_t i = 0;
    while (i <= path.size()) {
      size_t j = path.find('/', i);
      if (j == std::string_view::npos) j = path.size();
      if (j > i) parts.emplace_back(path.substr(i, j - i));
      i = j + 1;
    }
    if (front) todo.insert(todo.begin(), parts.begin(), parts.end());
    else todo.insert(todo.end(), parts.begin(), parts.end());
  };
  push_parts(destination, false);
  std::string resolved;
  int links = 0;
  bool missing = false;
  while (!todo.empty()) {
    std::string part = std::move(todo.front());
    todo.pop_front();
    if (part == ".") continue;
    if (part == "..") {
      if (!missing) resolved.erase(resolved.empty() ? 0 : resolved.rfind('/'));
      else return failf("mount destination {:?}: '..' below a missing directory", destination);
      continue;
    }
    std::string candidate = resolved + "/" + part;
    if (!missing) {
      struct stat st {};
      if (::lstat(candidate.c_str(), &st) != 0) {
        if (errno != ENOENT) return sys_error("resolve " + candidate);
        missing = true;
      } else if (S_ISLNK(st.st_mode)) {
        if (++links > 40) return sys_error(ELOOP, fmt::format("resolve {}", destination));
        char target[PATH_MAX];
        ssize_t n = ::readlink(candidate.c_str(), target, sizeof target - 1);
        if (n < 0) return sys_error("readlink " + candidate);
        std::string_view t(target, static_cast<size_t>(n));
        if (t.starts_with("/")) resolved.clear();
        push_parts(t, true);
        continue;
      }
    }
    resolved = candidate;
  }
  return resolved.empty() ? std::string("/") : resolved;
}

}  // namespace reaper
