#pragma once
// The unix socket a container's monitor listens on until `start`. Paths under the
// runtime root can exceed sun_path's 108 bytes (ids are up to 256 characters), so the
// socket is always reached through /proc/self/fd/<dirfd>/control.sock.
#include <string>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace reaper {

inline constexpr const char* kControlSocketName = "control.sock";

// Binds and listens on <dir>/control.sock (mode 0600).
Result<UniqueFd> listen_control(const std::string& dir);
// Connects to <dir>/control.sock.
Result<UniqueFd> connect_control(const std::string& dir);
// Reads one line (without the newline) from a stream socket or pipe.
Result<std::string> read_line(int fd);
Result<void> write_all(int fd, std::string_view data);

}  // namespace reaper
