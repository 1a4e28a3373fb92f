#pragma once
// What containerd tells a shim on its command line and in its environment.
#include <string>

namespace reaper::shim {

struct Options {
  std::string ns;              // -namespace
  std::string address;         // -address: containerd's gRPC socket
  std::string publish_binary;  // -publish-binary
  std::string id;              // -id
  std::string bundle;          // -bundle (delete), else the cwd
  std::string socket;          // -socket: the daemon's own listening socket (serve mode)
  std::string ttrpc_address;   // TTRPC_ADDRESS: where events go
  bool debug = false;
};

// TTRPC_ADDRESS as a socket path: containerd may write it as unix://PATH.
inline std::string ttrpc_socket_path(std::string address) {
  if (address.starts_with("unix://")) address.erase(0, 7);
  return address;
}

// Containers of namespace `ns` are kept under <root>/<ns> (root: REAPER_ROOT from the
// environment or reaper.conf, else /run/reaper), where `reaper list` sees them too.
std::string state_root(const std::string& ns);

}  // namespace reaper::shim
