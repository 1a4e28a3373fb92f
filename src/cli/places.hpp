#pragma once
// Where `reaper` finds containers. The shim keeps a containerd namespace's containers in
// <root>/<namespace>/<id>, `reaper-runtime` in <root>/<id>. The container verbs (list,
// state, ps, wait) look in all of them unless `-n NS` narrows to one namespace; an id
// resolves when it is unique across them, and a miss says where they looked.
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "cli/verb.hpp"
#include "core/container.hpp"

namespace reaper::cli {

// The label of reaper-runtime's own containers (directly under the root) wherever a
// namespace is shown: in the NAMESPACE column, in messages. JSON has null.
inline constexpr std::string_view kNoNamespace = "-";

struct Place {
  std::string ns;   // the containerd namespace; "" for the root itself
  std::string dir;  // the state root Containers is given
};

// `-n NS` / `--namespace NS` on a container verb's parser; `namespace_of` reads it back
// ("-" selects reaper-runtime's containers, directly under the root).
void add_namespace_flag(ArgParser& p);
Result<std::string> namespace_of(const Args& a);

// Every place under the root (the root itself first, then each namespace in name order),
// or only namespace `ns`.
std::vector<Place> places(const Context& ctx, const std::string& ns);

struct Located {
  Place place;
  Observed observed;
};

std::vector<Located> list_containers(const Context& ctx, const std::string& ns);
// The one container with this id: not found (naming the root and the namespaces looked
// in) or found in several namespaces (naming them) is an error.
Result<Located> locate(const Context& ctx, const std::string& ns, const std::string& id);

// The start `state`, `ps` and `wait` share: `VERB [FLAGS] [-n NS] ID` parsed with P (-n
// is added here) and ID located. On failure the reason is printed and the value is the
// exit code: kUsage for bad arguments, `not_found` when ID cannot be located.
struct Target {
  Args args;
  Located at;
};
std::expected<Target, int> parse_target(const Context& ctx, std::string_view verb, ArgParser& p,
                                        int argc, char** argv, int not_found = kFailed);

std::string_view namespace_label(const Place& p);

}  // namespace reaper::cli
