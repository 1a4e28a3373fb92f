#include "core/overlay_diff.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/beneath.hpp"
#include "core/fd.hpp"

namespace reaper {
namespace {

std::string join(const std::string& dir, std::string_view name) {
  return dir == "/" ? "/" + std::string(name) : dir + "/" + std::string(name);
}

bool under(const std::string& path, const std::string& prefix) {
  if (prefix == "/" || path == prefix) return true;
  return path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
         path[prefix.size()] == '/';
}

const char* type_name(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return "file";
    case S_IFDIR: return "dir";
    case S_IFLNK: return "symlink";
    case S_IFIFO: return "fifo";
    case S_IFSOCK: return "socket";
    case S_IFCHR: return "chardev";
    case S_IFBLK: return "blockdev";
  }
  return "unknown";
}

bool is_whiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 && minor(st.st_rdev) == 0;
}

// An overlay xattr of entry `name` of `dir`, never following a link at the end.
std::string overlay_xattr(int dir, const std::string& name, const char* attr) {
  char value[256];
  ssize_t n = ::lgetxattr((beneath::fd_path(dir) + "/" + name).c_str(), attr, value, sizeof value);
  return n > 0 ? std::string(value, static_cast<size_t>(n)) : std::string();
}

bool same_bytes(int a, int b) {
  char x[65536], y[65536];
  for (;;) {
    ssize_t n = ::read(a, x, sizeof x);
    if (n < 0) return false;
    ssize_t m = 0;
    while (m < n) {
      ssize_t k = ::read(b, y + m, static_cast<size_t>(n - m));
      if (k <= 0) return false;
      m += k;
    }
    if (n == 0) return ::read(b, y, 1) == 0;
    if (std::memcmp(x, y, static_cast<size_t>(n)) != 0) return false;
  }
}

bool same_content(int dir, const std::string& name, const struct stat& st, const std::string& host,
                  const struct stat& hst) {
  if (S_ISLNK(st.st_mode)) {
    char a[PATH_MAX], b[PATH_MAX];
    ssize_t n = ::readlinkat(dir, name.c_str(), a, sizeof a);
    ssize_t m = ::readlink(host.c_str(), b, sizeof b);
    return n >= 0 && n == m && std::memcmp(a, b, static_cast<size_t>(n)) == 0;
  }
  if (!S_ISREG(st.st_mode)) return st.st_rdev == hst.st_rdev;
  if (st.st_size != hst.st_size) return false;
  // A metadata-only copy-up keeps its data in the lower layer.
  if (!overlay_xattr(dir, name, "trusted.overlay.metacopy").empty()) return true;
  UniqueFd u(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  UniqueFd h(::open(host.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  return u && h && same_bytes(u.get(), h.get());
}

class Walker {
 public:
  Walker(int layer, const DiffOptions& options, std::vector<DiffEntry>& out)
      : layer_(layer), options_(options), out_(out) {}

  Result<void> walk(int dir, const std::string& path, bool host_hidden) {
    auto names = TRY(beneath::list(dir, path));
    for (const auto& name : names) TRY(entry(dir, name, join(path, name), host_hidden));
    return {};
  }

  // Host entries of an opaque directory that the upper layer does not have.
  void hidden_host_entries(int dir, const std::string& path) {
    DIR* d = ::opendir(path.c_str());
    if (!d) return;
    std::vector<std::string> names;
    while (auto* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      struct stat st{};
      if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) continue;
      struct stat hst{};
      std::string p = join(path, name);
      if (::lstat(p.c_str(), &hst) == 0) add(DiffKind::kDeleted, p, hst.st_mode, {});
    }
  }

 private:
  Result<void> entry(int dir, const std::string& name, const std::string& path, bool host_hidden) {
    struct stat st{};
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return sys_error("lstat " + path);
    bool relevant = under(path, options_.prefix);
    if (!relevant && !(S_ISDIR(st.st_mode) && under(options_.prefix, path))) return {};
    struct stat hst{};
    bool on_host = !host_hidden && ::lstat(path.c_str(), &hst) == 0;
    if (is_whiteout(st)) {
      if (relevant && on_host) add(DiffKind::kDeleted, path, hst.st_mode, {});
      return {};
    }
    if (relevant) classify(dir, name, path, st, on_host ? &hst : nullptr);
    if (!S_ISDIR(st.st_mode)) return {};
    UniqueFd sub(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) return sys_error("open " + path);
    bool opaque = overlay_xattr(dir, name, "trusted.overlay.opaque") == "y";
    if (opaque && on_host && S_ISDIR(hst.st_mode)) hidden_host_entries(sub.get(), path);
    return walk(sub.get(), path, host_hidden || !on_host || opaque || !S_ISDIR(hst.st_mode));
  }

  void classify(int dir, const std::string& name, const std::string& path, const struct stat& st,
                const struct stat* hst) {
    if (!hst) return add(DiffKind::kAdded, path, st.st_mode, {});
    std::vector<std::string> changes;
    if ((st.st_mode & S_IFMT) != (hst->st_mode & S_IFMT)) changes.emplace_back("type");
    else if (!S_ISDIR(st.st_mode) && !same_content(dir, name, st, path, *hst)) changes.emplace_back("content");
    if (!S_ISLNK(st.st_mode) && (st.st_mode & 07777) != (hst->st_mode & 07777)) changes.emplace_back("mode");
    if (st.st_uid != hst->st_uid || st.st_gid != hst->st_gid) changes.emplace_back("owner");
    if (path_masked(path, options_.mask_patterns)) return add(DiffKind::kMasked, path, st.st_mode, {});
    if (!changes.empty()) add(DiffKind::kChanged, path, st.st_mode, std::move(changes));
  }

  void add(DiffKind kind, const std::string& path, mode_t mode, std::vector<std::string> changes) {
    out_.push_back({kind, path, type_name(mode), std::move(changes), layer_});
  }

  int layer_;
  const DiffOptions& options_;
  std::vector<DiffEntry>& out_;
};

}  // namespace

const char* diff_kind_name(DiffKind kind) {
  switch (kind) {
    case DiffKind::kAdded: return "added";
    case DiffKind::kChanged: return "changed";
    case DiffKind::kDeleted: return "deleted";
    case DiffKind::kMasked: return "masked";
  }
  return "?";
}

bool path_masked(const std::string& path, const std::vector<std::string>& patterns) {
  for (const auto& pattern : patterns) {
    if (::fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0) return true;
    for (auto slash = path.rfind('/'); slash != std::string::npos && slash > 0; slash = path.rfind('/', slash - 1))
      if (::fnmatch(pattern.c_str(), path.substr(0, slash).c_str(), FNM_PATHNAME) == 0) return true;
  }
  return false;
}

Result<void> diff_layer(int layer, const std::string& host_path, const std::string& upper_dir,
                        const DiffOptions& options, std::vector<DiffEntry>& out) {
  if (!under(host_path, options.prefix) && !under(options.prefix, host_path)) return {};
  UniqueFd upper = TRY_CTX(beneath::open_root(upper_dir, false), "upper layer " + upper_dir);
  Walker walker(layer, options, out);
  if (overlay_xattr(upper.get(), ".", "trusted.overlay.opaque") == "y")
    walker.hidden_host_entries(upper.get(), host_path);
  return walker.walk(upper.get(), host_path, false);
}

}  // namespace reaper
