#include <unistd.h>

#include <iostream>
#include <iterator>

#include "introspection.pb.h"
#include "shim/actions.hpp"
#include "version.hpp"

namespace reaper::shim {

int info_action() {
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  containerd::types::RuntimeInfo info;
  info.set_name("io.containerd.reaper.v2");
  info.mutable_version()->set_version(kVersion);
  info.mutable_version()->set_revision(kRevision);
  if (!input.empty()) info.mutable_options()->ParseFromString(input);  // echoed back
  std::string out = info.SerializeAsString();
  return ::write(STDOUT_FILENO, out.data(), out.size()) == static_cast<ssize_t>(out.size()) ? 0 : 1;
}

}  // namespace reaper::shim
