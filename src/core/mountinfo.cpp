#include "core/mountinfo.hpp"

#include "core/files.hpp"

namespace reaper {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto octal = [&](size_t j) { return s[j] >= '0' && s[j] <= '7'; };
    if (s[i] == '\\' && i + 3 < s.size() && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  while (!line.empty()) {
    auto sp = line.find(' ');
    if (sp != 0) out.push_back(line.substr(0, sp));
    if (sp == std::string_view::npos) break;
    line.remove_prefix(sp + 1);
  }
  return out;
}

}  // namespace

bool path_within(std::string_view path, std::string_view prefix) {
  if (prefix == "/") return true;
  return path == prefix || (path.starts_with(prefix) && path.size() > prefix.size() &&
                            path[prefix.size()] == '/');
}

bool host_bound(std::string_view path) {
  for (const char* tree : kHostBoundTrees)
    if (path_within(path, tree)) return true;
  return false;
}

Result<std::vector<MountEntry>> parse_mountinfo(std::string_view text) {
  std::vector<MountEntry> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty()) continue;
    auto f = fields(line);
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (f.size() < 6 || dash + 1 >= f.size())
      return failf("mountinfo: malformed line {:?}", line);
    MountEntry e;
    e.id = std::atoi(std::string(f[0]).c_str());
    e.parent = std::atoi(std::string(f[1]).c_str());
    e.root = unescape(f[3]);
    e.mount_point = unescape(f[4]);
    e.fstype = std::string(f[dash + 1]);
    if (dash + 2 < f.size()) e.source = unescape(f[dash + 2]);
    for (size_t i = 6; i < dash; ++i)
      if (f[i].starts_with("shared:") || f[i].starts_with("master:")) e.propagates = true;
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<MountEntry>> read_mountinfo() {
  std::string text = TRY(files::read("/proc/self/mountinfo"));
  return parse_mountinfo(text);
}

}  // namespace reaper
