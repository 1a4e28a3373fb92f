#pragma once
// What containerd writes on the stdin of `start`: the runtime options as a bare
// google.protobuf.Any (1.6 - 2.2), or a containerd.runtime.bootstrap.v1.BootstrapParams
// (2.3+, the options then in its extensions), or nothing.
#include <optional>
#include <string>
#include <string_view>

namespace reaper::shim {

struct StartInput {
  bool bootstrap = false;  // it was a BootstrapParams
  // From BootstrapParams (empty when absent): fallbacks for the flags and environment
  // 2.3 still passes, and the directory it wants the socket in.
  std::string ns, grpc_address, ttrpc_address, containerd_version;
  std::optional<std::string> socket_dir;
  std::string options_type_url;  // the runtime options' Any type URL, if any
};

// An Any has only fields 1 and 2, a BootstrapParams always some of 3-9: any field
// numbered 3-9 at the top level makes it a BootstrapParams. Input that parses as neither
// is ignored (nothing in it is needed to start).
StartInput parse_start_input(std::string_view bytes);

}  // namespace reaper::shim
