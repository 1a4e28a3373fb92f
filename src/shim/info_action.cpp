#include <unistd.h>


#include "core/files.hpp"
#include "introspection.pb.h"
#include "shim/actions.hpp"
#include "version.hpp"

namespace reaper::shim {

int info_action() {
  std::string input = files::read_fd(STDIN_FILENO).value_or("");
  containerd::types::RuntimeInfo info;
  info.set_name("io.containerd.reaper.v2");
  info.mutable_version()->set_version(kVersion);
  info.mutable_version()->set_revision(kRevision);
  if (!input.empty()) info.mutable_options()->ParseFromString(input);  // echoed back
  std::string out = info.SerializeAsString();
  return ::write(STDOUT_FILENO, out.data(), out.size()) == static_cast<ssize_t>(out.size()) ? 0 : 1;
}

}  // namespace reaper::shim
