#include "ttrpc/unix_socket.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace reaper::ttrpc {

std::string strip_unix_scheme(std::string_view address) {
  constexpr std::string_view scheme = "unix://";
  if (address.starts_with(scheme)) address.remove_prefix(scheme.size());
  return std::string(address);
}

Result<UnixAddress> make_unix_address(const std::string& path) {
  if (path.empty()) return sys_error(EINVAL, "unix socket path is empty");
  UnixAddress out;
  out.addr.sun_family = AF_UNIX;
  // sun_path must keep a terminating NUL for filesystem paths.
  if (path.size() >= sizeof(out.addr.sun_path)) {
    return sys_error(ENAMETOOLONG, fmt::format("unix socket path {} ({} bytes, max {})", path,
                                               path.size(), sizeof(out.addr.sun_path) - 1));
  }
  std::memcpy(out.addr.sun_path, path.data(), path.size());
  if (path[0] == '@') out.addr.sun_path[0] = '\0';
  out.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() +
                                   (path[0] == '@' ? 0 : 1));
  return out;
}

std::string unix_address_path(const sockaddr_un& addr, socklen_t len) {
  const auto base = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path));
  if (len <= base) return {};
  std::size_t n = len - base;
  if (n > sizeof(addr.sun_path)) n = sizeof(addr.sun_path);
  if (addr.sun_path[0] == '\0') {
    std::string out = "@";
    out.append(addr.sun_path + 1, n - 1);
    return out;
  }
  return std::string(addr.sun_path, strnlen(addr.sun_path, n));
}

Result<UniqueFd> new_stream_socket() {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return sys_error("socket(AF_UNIX, SOCK_STREAM)");
  return UniqueFd(fd);
}

bool peer_is_same_user(int fd) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  return cred.uid == ::geteuid();
}

}  // namespace reaper::ttrpc
