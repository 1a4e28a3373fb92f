#include "core/control_socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "core/files.hpp"

namespace reaper {
namespace {

// Fills `addr` with /proc/self/fd/<dirfd>/control.sock, which is always short.
void control_address(int dirfd, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  std::snprintf(addr->sun_path, sizeof addr->sun_path, "/proc/self/fd/%d/%s", dirfd,
                kControlSocketName);
}

}  // namespace

Result<UniqueFd> listen_control(const std::string& dir) {
  UniqueFd dirfd = TRY(files::open(dir, O_PATH | O_DIRECTORY));
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return sys_error("socket");
  sockaddr_un addr;
  control_address(dirfd.get(), &addr);
  ::unlinkat(dirfd.get(), kControlSocketName, 0);
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return sys_error("bind " + dir + "/" + kControlSocketName);
  if (::fchmodat(dirfd.get(), kControlSocketName, 0600, 0) != 0) return sys_error("chmod control socket");
  if (::listen(sock.get(), 8) != 0) return sys_error("listen");
  return sock;
}

Result<UniqueFd> connect_control(const std::string& dir) {
  UniqueFd dirfd = TRY(files::open(dir, O_PATH | O_DIRECTORY));
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return sys_error("socket");
  sockaddr_un addr;
  control_address(dirfd.get(), &addr);
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return sys_error("connect " + dir + "/" + kControlSocketName);
  return sock;
}

Result<std::string> read_line(int fd) {
  std::string line;
  char c;
  for (;;) {
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read");
    if (n == 0) return fail("connection closed without an answer");
    if (c == '\n') return line;
    line.push_back(c);
    if (line.size() > 4096) return fail("answer too long");
  }
}

Result<void> write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

}  // namespace reaper
