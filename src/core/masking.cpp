#include "core/masking.hpp"

#include <fcntl.h>
#include <glob.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "core/files.hpp"
#include "core/mountinfo.hpp"

namespace reaper {
namespace {

const char* const kDefaultMasks[] = {
    "/etc/shadow",          "/etc/gshadow",           "/etc/ssh/ssh_host_*_key",
    "/root/.ssh",           "/etc/ssl/private",       "/etc/sudoers",
    "/etc/sudoers.d",       "/var/lib/kubelet/pki",   "/etc/kubernetes/pki",
    "/etc/kubernetes/*.conf",
};

// A fresh tmpfs of this namespace holding the empty placeholders that mounts use.
class Placeholders {
 public:
  Result<std::string> empty_dir() {
    TRY(open_fs());
    return std::string("dir");
  }
  Result<std::string> file_with(std::string_view content, const struct stat& like) {
    mode_t mode = like.st_mode & 07777;
    TRY(open_fs());
    std::string name = "f" + std::to_string(next_++);
    int fd = ::openat(fs_.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return sys_error("create mask placeholder");
    UniqueFd guard(fd);
    if (::fchown(fd, like.st_uid, like.st_gid) != 0) return sys_error("chown mask placeholder");
    if (!content.empty() && ::write(fd, content.data(), content.size()) != ssize_t(content.size()))
      return sys_error("write mask placeholder");
    return name;
  }
  // Attaches a copy of placeholder `name` over `target`.
  Result<void> mount_over(const std::string& name, const std::string& target) {
    int tree = ::open_tree(fs_.get(), name.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0) return sys_error("open_tree mask placeholder");
    UniqueFd guard(tree);
    if (::move_mount(tree, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
      return sys_error("mount mask over " + target);
    return {};
  }

 private:
  Result<void> open_fs() {
    if (fs_) return {};
    int ctx = ::fsopen("tmpfs", FSOPEN_CLOEXEC);
    if (ctx < 0) return sys_error("fsopen tmpfs");
    UniqueFd c(ctx);
    if (::fsconfig(ctx, FSCONFIG_SET_STRING, "mode", "0700", 0) != 0 ||
        ::fsconfig(ctx, FSCONFIG_SET_STRING, "size", "1m", 0) != 0 ||
        ::fsconfig(ctx, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
      return sys_error("configure mask tmpfs");
    int mnt = ::fsmount(ctx, FSMOUNT_CLOEXEC, 0);
    if (mnt < 0) return sys_error("fsmount mask tmpfs");
    fs_.reset(mnt);
    if (::mkdirat(fs_.get(), "dir", 0700) != 0) return sys_error("mkdir mask placeholder");
    return {};
  }
  UniqueFd fs_;
  int next_ = 0;
};

// Replaces `path` (a regular file) in the overlay with `content`, keeping owner and mode.
// Unlinking first leaves a whiteout: the host's bytes are never copied up.
Result<void> rewrite_in_overlay(const std::string& path, const struct stat& st,
                                std::string_view content) {
  if (::unlink(path.c_str()) != 0) return sys_error("unlink " + path);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
  if (fd < 0) return sys_error("create " + path);
  UniqueFd guard(fd);
  if (::fchown(fd, st.st_uid, st.st_gid) != 0 || ::fchmod(fd, st.st_mode & 07777) != 0)
    return sys_error("chown " + path);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) return sys_error("write " + path);
    done += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

std::vector<std::string> mask_patterns(const NodeConfig& config) {
  std::vector<std::string> out;
  if (!config.mask) return out;
  if (!config.mask_replace) out.assign(std::begin(kDefaultMasks), std::end(kDefaultMasks));
  for (const auto& p : config.mask_paths)
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  return out;
}

std::string sanitize_shadow(std::string_view text) {
  std::string out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    auto colon = line.find(':');
    if (line.empty() || line.front() == '#' || colon == std::string_view::npos) {
      out.append(line);
    } else {
      auto second = line.find(':', colon + 1);
      out.append(line.substr(0, colon + 1));
      out.push_back('!');
      if (second != std::string_view::npos) out.append(line.substr(second));
    }
    out.push_back('\n');
  }
  return out;
}

Result<void> apply_masks(const NodeConfig& config, std::vector<std::string>& report) {
  Placeholders placeholders;
  for (const auto& pattern : mask_patterns(config)) {
    glob_t g{};
    int rc = ::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &g);
    std::vector<std::string> matches;
    if (rc == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i) matches.emplace_back(g.gl_pathv[i]);
    ::globfree(&g);
    for (const auto& match : matches) {
      if (std::find(config.mask_allow.begin(), config.mask_allow.end(), match) !=
          config.mask_allow.end())
        continue;
      char real[PATH_MAX];
      if (!::realpath(match.c_str(), real)) continue;  // dangling: nothing to hide
      std::string path = real;
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) continue;
      bool shadow = match == "/etc/shadow" || match == "/etc/gshadow";
      if (S_ISDIR(st.st_mode)) {
        std::string dir = TRY(placeholders.empty_dir());
        TRY(placeholders.mount_over(dir, path));
        report.push_back("masked " + match + " (empty directory)");
        continue;
      }
      if (!S_ISREG(st.st_mode)) continue;
      std::string content;
      if (shadow) content = sanitize_shadow(TRY(files::read(path)));
      if (!host_bound(path)) {
        auto rewritten = rewrite_in_overlay(path, st, content);
        if (rewritten) {
          report.push_back("masked " + match + (shadow ? " (hashes removed)" : " (empty)"));
          continue;
        }
        if (rewritten.error().code != EROFS && rewritten.error().code != EXDEV)
          return std::unexpected(rewritten.error());
      }
      std::string name = TRY(placeholders.file_with(content, st));
      TRY(placeholders.mount_over(name, path));
      report.push_back("masked " + match + " (mounted over)");
    }
  }
  return {};
}

}  // namespace reaper
