// `reaper install-links DIR`: DIR/<personality> -> this executable for every
// personality (the names come from main.cpp's table), replacing old links atomically.
#include <unistd.h>

#include <climits>
#include <cstring>

#include "cli/verb.hpp"

namespace reaper::cli {

int verb_install_links(const Context& ctx, int argc, char** argv) {
  auto a = parse_verb("install-links", ArgParser(), argc, argv, 1, 1);
  if (!a) return kUsage;
  const std::string& dir = a->positionals[0];
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n < 0) return failure(sys_error("readlink /proc/self/exe").error());
  self[n] = '\0';
  for (auto name : ctx.personalities) {
    std::string link = fmt::format("{}/{}", dir, name);
    if (std::string_view(self) == link) continue;  // the executable itself lives here
    std::string tmp = link + ".new";
    ::unlink(tmp.c_str());
    if (::symlink(self, tmp.c_str()) != 0 || ::rename(tmp.c_str(), link.c_str()) != 0) {
      auto e = sys_error("link " + link);
      ::unlink(tmp.c_str());
      return failure(e.error());
    }
    fmt::print("{} -> {}\n", link, self);
  }
  return kOk;
}

}  // namespace reaper::cli
