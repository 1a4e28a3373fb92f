#include "core/credentials.hpp"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace reaper {

int apply_credentials(const oci::User& user, const char** step) {
  const auto& gids = user.additional_gids;
  if (::setgroups(gids.size(), gids.empty() ? nullptr : gids.data()) != 0) {
    *step = "setgroups";
    return errno;
  }
  if (::setgid(user.gid) != 0) {
    *step = "setgid";
    return errno;
  }
  if (::setuid(user.uid) != 0) {
    *step = "setuid";
    return errno;
  }
  ::umask(user.umask.value_or(022));
  return 0;
}

}  // namespace reaper
