#include "core/pty.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

#include <cstdlib>
#include <cstring>

namespace reaper {

Result<Pty> open_pty(unsigned rows, unsigned cols) {
  Pty pty;
  pty.master.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.master) return sys_error("posix_openpt");
  if (::grantpt(pty.master.get()) != 0) return sys_error("grantpt");
  if (::unlockpt(pty.master.get()) != 0) return sys_error("unlockpt");
  char name[128];
  if (::ptsname_r(pty.master.get(), name, sizeof name) != 0) return sys_error("ptsname");
  pty.slave_name = name;
  pty.slave.reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.slave) return sys_error("open " + pty.slave_name);
  if (rows && cols) TRY(resize_pty(pty.master.get(), rows, cols));
  return pty;
}

Result<void> resize_pty(int master, unsigned rows, unsigned cols) {
  struct winsize ws {};
  ws.ws_row = static_cast<unsigned short>(rows);
  ws.ws_col = static_cast<unsigned short>(cols);
  if (::ioctl(master, TIOCSWINSZ, &ws) != 0) return sys_error("TIOCSWINSZ");
  return {};
}

Result<void> send_fd(int sock, int fd, const std::string& name) {
  struct msghdr msg {};
  struct iovec iov {};
  iov.iov_base = const_cast<char*>(name.data());
  iov.iov_len = name.size();
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  while (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) return sys_error("sendmsg (console fd)");
  return {};
}

Result<void> send_console(const std::string& socket_path, int fd, const std::string& name) {
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path)
    return failf("console socket path too long: {}", socket_path);
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return sys_error("socket");
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return sys_error("connect to console socket " + socket_path);
  return send_fd(sock.get(), fd, name);
}

}  // namespace reaper
