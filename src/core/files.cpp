#include "core/files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace reaper::files {

Result<UniqueFd> open(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return sys_error("open " + path);
  return UniqueFd(fd);
}

Result<std::string> read_fd(int fd) {
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("read");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> read(const std::string& path) {
  UniqueFd fd = TRY(open(path, O_RDONLY));
  return TRY_CTX(read_fd(fd.get()), path);
}

static Result<void> write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("write " + what);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

namespace {
Result<void> write_then_rename(const std::string& path, std::string_view data, mode_t mode, bool durable) {
  std::string tmp = path + ".tmp";
  {
    UniqueFd fd = TRY(open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
    auto written = write_all(fd.get(), data, tmp);
    if (written && durable && ::fsync(fd.get()) != 0) written = sys_error("fsync " + tmp);
    if (!written) {
      ::unlink(tmp.c_str());
      return written;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = sys_error("rename " + tmp + " to " + path);
    ::unlink(tmp.c_str());
    return err;
  }
  return {};
}
}  // namespace

Result<void> write_atomic(const std::string& path, std::string_view data, mode_t mode) {
  return write_then_rename(path, data, mode, true);
}

Result<void> replace(const std::string& path, std::string_view data, mode_t mode) {
  return write_then_rename(path, data, mode, false);
}

Result<void> make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0) return sys_error("mkdir " + path);
  return {};
}

Result<void> make_dirs(const std::string& path, mode_t mode) {
  if (path.empty()) return fail("mkdir: empty path");
  for (size_t pos = 1;; ++pos) {
    pos = path.find('/', pos);
    std::string part = path.substr(0, pos);
    if (::mkdir(part.c_str(), mode) != 0 && errno != EEXIST) return sys_error("mkdir " + part);
    if (pos == std::string::npos) break;
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return sys_error("stat " + path);
  if (!S_ISDIR(st.st_mode)) return sys_error(ENOTDIR, "mkdir " + path);
  return {};
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

Result<std::vector<std::string>> list_dir(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (!dir) return sys_error("opendir " + path);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    std::string_view name = e->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

Result<void> remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return sys_error("lstat " + path);
  }
  if (S_ISDIR(st.st_mode)) {
    for (const auto& name : TRY(list_dir(path))) TRY(remove_tree(path + "/" + name));
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return sys_error("rmdir " + path);
  } else if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return sys_error("unlink " + path);
  }
  return {};
}

}  // namespace reaper::files
