#pragma once
// PTYs for terminal workloads, and handing the master to whoever drives the console
// (runc's --console-socket protocol: one SCM_RIGHTS message on a unix socket).
#include <string>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace reaper {

struct Pty {
  UniqueFd master;
  UniqueFd slave;
  std::string slave_name;
};

Result<Pty> open_pty(unsigned rows = 0, unsigned cols = 0);
Result<void> resize_pty(int master, unsigned rows, unsigned cols);
// Connects to the unix socket at `socket_path` and sends `fd` with SCM_RIGHTS.
Result<void> send_console(const std::string& socket_path, int fd, const std::string& name);
// Sends an fd over an already connected unix socket.
Result<void> send_fd(int sock, int fd, const std::string& name);

}  // namespace reaper
