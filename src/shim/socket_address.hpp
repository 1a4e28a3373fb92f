#pragma once
// Where a pod's shim listens: containerd's convention, so any version finds it.
#include <map>
#include <string>

namespace reaper::shim {

// The group a container's shim serves: our own group annotation, else the CRI
// sandbox id (one shim per pod), else the container id.
std::string group_id(const std::map<std::string, std::string>& annotations, const std::string& id);

// Every version's default directory for shim sockets; 2.3 may name another one in
// BootstrapParams.socket_dir.
inline constexpr const char* kSocketDir = "/run/containerd/s";

// <dir>/<sha256 hex of "<address>/<ns>/<group>" (path-cleaned)>.
std::string socket_path(const std::string& address, const std::string& ns, const std::string& group,
                        const std::string& dir = kSocketDir);

}  // namespace reaper::shim
