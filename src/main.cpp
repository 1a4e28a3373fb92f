// One executable, many personalities (busybox-style): the name it is run under
// selects one from the table below, and `reaper <personality> args…` works without
// a link. Only this file knows every personality.
#include <unistd.h>

#include <climits>
#include <cstring>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "cli/operator.hpp"
#include "overlay/overlay.hpp"
#include "sandbox/sandbox.hpp"
#include "runtime/runtime.hpp"
#include "shim/shim.hpp"

namespace {

struct Personality {
  std::string_view name;
  int (*main)(int argc, char** argv);
  std::string_view summary;
};

constexpr Personality kPersonalities[] = {
    {"reaper", reaper::cli::main, "the operator's CLI"},
    {"reaper-runtime", reaper::runtime::main, "OCI runtime CLI (runc's verbs)"},
    {"containerd-shim-reaper-v2", reaper::shim::main, "containerd shim v2 (Task API over ttrpc)"},
    {"reaper-overlay", reaper::overlay::main, "overlay helper: makes a group's mount namespace"},
    {"reaper-sandbox", reaper::sandbox::main, "a pod sandbox's process (instead of /pause)"},
};

const Personality* find(std::string_view name) {
  for (const auto& p : kPersonalities)
    if (p.name == name) return &p;
  return nullptr;
}

// Creates DIR/<name> -> this executable for every personality, replacing old links.
int install_links(const char* dir) {
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n < 0) {
    fmt::print(stderr, "reaper: readlink /proc/self/exe: {}\n", std::strerror(errno));
    return 1;
  }
  self[n] = '\0';
  for (const auto& p : kPersonalities) {
    std::string link = fmt::format("{}/{}", dir, p.name);
    std::string tmp = link + ".new";
    ::unlink(tmp.c_str());
    if (std::string_view(self) == link) continue;  // the executable itself lives here
    if (::symlink(self, tmp.c_str()) != 0 || ::rename(tmp.c_str(), link.c_str()) != 0) {
      fmt::print(stderr, "reaper: link {}: {}\n", link, std::strerror(errno));
      ::unlink(tmp.c_str());
      return 1;
    }
    fmt::print("{} -> {}\n", link, self);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view name = argc > 0 ? argv[0] : "reaper";
  if (auto slash = name.rfind('/'); slash != std::string_view::npos) name.remove_prefix(slash + 1);
  const Personality* p = find(name);
  if (!p) p = find("reaper");
  if (p->name == "reaper" && argc > 1) {
    std::string_view first = argv[1];
    if (first == "install-links" || first == "--install") {
      if (argc != 3) {
        fmt::print(stderr, "usage: reaper install-links DIR\n");
        return 1;
      }
      return install_links(argv[2]);
    }
    if (const Personality* other = find(first); other && other->name != "reaper")
      return other->main(argc - 1, argv + 1);
  }
  return p->main(argc, argv);
}
