#pragma once
// Unix stream socket plumbing shared by the ttrpc server and client. Every fd
// is created O_CLOEXEC (the shim forks container processes) and non-blocking
// (Asio drives it).
#include <sys/socket.h>
#include <sys/un.h>

#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace reaper::ttrpc {

// "unix:///run/x.sock" -> "/run/x.sock"; anything else unchanged.
std::string strip_unix_scheme(std::string_view address);

struct UnixAddress {
  sockaddr_un addr{};
  socklen_t len = 0;
};

// Fails with ENAMETOOLONG if the path does not fit sun_path, EINVAL if empty.
// A leading '@' names an abstract socket.
Result<UnixAddress> make_unix_address(const std::string& path);

// The path of a bound unix socket ("@name" if abstract, "" if unnamed).
std::string unix_address_path(const sockaddr_un& addr, socklen_t len);

// socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK).
Result<UniqueFd> new_stream_socket();

// True if the peer of a connected socket runs with our effective uid.
bool peer_is_same_user(int fd);

}  // namespace reaper::ttrpc
