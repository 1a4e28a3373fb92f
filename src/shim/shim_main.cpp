#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "core/node_config.hpp"
#include "shim/actions.hpp"
#include "shim/daemon.hpp"
#include "shim/shim.hpp"
#include "shim/timings.hpp"
#include "version_string.hpp"

namespace reaper::shim {

std::string state_root(const std::string& ns) { return configured_state_root() + "/" + ns; }

namespace {

bool is_action(std::string_view w) { return w == "start" || w == "delete" || w == "serve"; }

int usage(std::FILE* out, int code) {
  fmt::print(out,
             "usage: containerd-shim-reaper-v2 [-namespace NS] [-address ADDR] [-publish-binary BIN]\n"
             "         [-id ID] [-bundle DIR] [-socket PATH] [-debug] start|delete|serve\n"
             "       containerd-shim-reaper-v2 -v | -info | -help\n"
             "containerd runs it: `start` prints the socket address of the pod's shim (starting\n"
             "one if needed), `delete` cleans up after a task, `serve` is the shim itself.\n");
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  mark_main();
  // Go flag syntax (-name value, -name=value, --name), parsing stops at the action.
  // Unknown flags are tolerated so that a newer containerd does not break us; the
  // start action must print nothing but the address, so they are not even logged.
  Options o;
  bool version = false, info = false;
  std::string action;
  char* action_arg = nullptr;  // where the action word lies in argv (start rewrites it)
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") {
      if (i + 1 < argc) action = action_arg = argv[i + 1];
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      action = arg;
      action_arg = argv[i];
      break;
    }
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    std::string_view name = arg, value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    auto take = [&](std::string& out) {
      if (has_value) out = value;
      else if (i + 1 < argc) out = argv[++i];
    };
    if (name == "namespace") take(o.ns);
    else if (name == "address") take(o.address);
    else if (name == "publish-binary") take(o.publish_binary);
    else if (name == "id") take(o.id);
    else if (name == "bundle") take(o.bundle);
    else if (name == "socket") take(o.socket);
    else if (name == "debug") o.debug = !has_value || value == "true";
    else if (name == "v" || name == "version") version = true;
    else if (name == "info") info = true;
    else if (name == "help" || name == "h") return usage(stdout, 0);
    else if (!has_value && i + 1 < argc && argv[i + 1][0] != '-' && !is_action(argv[i + 1])) ++i;
  }
  if (const char* t = std::getenv("TTRPC_ADDRESS")) o.ttrpc_address = ttrpc_socket_path(t);
  if (version) {
    fmt::print("{}\n", version_string());
    return 0;
  }
  if (info) return info_action();
  if (action == "start") return start_action(o, action_arg);
  if (action == "delete") return delete_action(o);
  if (action == "serve") return serve(o);
  if (action == "help") return usage(stdout, 0);
  fmt::print(stderr, "containerd-shim-reaper-v2: expected an action: start, delete (got {:?})\n", action);
  fmt::print(stderr, "see 'containerd-shim-reaper-v2 -help'\n");
  return 2;
}

}  // namespace reaper::shim
