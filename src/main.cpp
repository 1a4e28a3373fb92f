// One executable, many personalities (busybox-style): the name it is run under
// selects one from the table below, and `reaper <personality> args…` works without
// a link. Only this file knows every personality.
#include <array>
#include <iterator>
#include <string_view>

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

int operator_cli(int argc, char** argv);

constexpr Personality kPersonalities[] = {
    {"reaper", operator_cli, "the operator's CLI"},
    {"reaper-runtime", reaper::runtime::main, "OCI runtime CLI (runc's verbs)"},
    {"containerd-shim-reaper-v2", reaper::shim::main, "containerd shim v2 (Task API over ttrpc)"},
    {"reaper-overlay", reaper::overlay::main, "overlay helper: makes a group's mount namespace"},
    {"reaper-sandbox", reaper::sandbox::main, "a pod sandbox's process (instead of /pause)"},
};

constexpr auto kNames = [] {
  std::array<std::string_view, std::size(kPersonalities)> names{};
  for (size_t i = 0; i < names.size(); ++i) names[i] = kPersonalities[i].name;
  return names;
}();

int operator_cli(int argc, char** argv) { return reaper::cli::main(argc, argv, kNames); }

const Personality* find(std::string_view name) {
  for (const auto& p : kPersonalities)
    if (p.name == name) return &p;
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view name = argc > 0 ? argv[0] : "reaper";
  if (auto slash = name.rfind('/'); slash != std::string_view::npos) name.remove_prefix(slash + 1);
  const Personality* p = find(name);
  if (!p) p = find("reaper");
  if (p->name == "reaper" && argc > 1) {
    std::string_view first = argv[1];
    if (first == "--install") argv[1] = const_cast<char*>("install-links");  // busybox's name
    if (const Personality* other = find(first); other && other->name != "reaper")
      return other->main(argc - 1, argv + 1);
  }
  return p->main(argc, argv);
}
