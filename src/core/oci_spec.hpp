#pragma once
// The parts of an OCI runtime spec (config.json) that reaper acts on. Fields the
// spec defines but reaper ignores by design (root, linux namespaces, cgroups,
// seccomp, capabilities…) are accepted; names the spec does not define are refused.
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace reaper::oci {

struct User {
  uid_t uid = 0;
  gid_t gid = 0;
  std::optional<mode_t> umask;
  std::vector<gid_t> additional_gids;
};

struct Rlimit {
  int resource = 0;  // RLIMIT_* value
  uint64_t soft = 0;
  uint64_t hard = 0;
};

struct Process {
  bool terminal = false;
  unsigned console_height = 0, console_width = 0;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

struct Spec {
  std::string oci_version;
  Process process;
  std::vector<Mount> mounts;
  std::map<std::string, std::string> annotations;
};

// Parses a whole config.json.
Result<Spec> parse_spec(std::string_view json);
// Parses one OCI `process` object (exec's --process file, the shim's exec spec).
Result<Process> parse_process(std::string_view json);
// Reads and parses <bundle>/config.json.
Result<Spec> load_bundle_spec(const std::string& bundle);

// The value of `NAME=` in an environment list, if present.
std::optional<std::string> env_lookup(const std::vector<std::string>& env, std::string_view name);

}  // namespace reaper::oci
