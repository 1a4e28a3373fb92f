// The containerd in use (its version, from the running daemon when it answers) and whether
// the reaper handler is registered in its effective configuration: `containerd config
// dump` merges config.toml with its imports and drop-ins as containerd itself does.
#include <sys/stat.h>

#include "cli/doctor.hpp"
#include "cli/subprocess.hpp"

namespace reaper::cli {
namespace {

constexpr std::string_view kRuntimeType = "io.containerd.reaper.v2";
constexpr int kTimeoutMs = 20000;

std::string first_line(std::string s) {
  s = s.substr(0, s.find('\n'));
  return s.size() > 300 ? s.substr(0, 300) + "…" : s;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// `ctr version` prints a Client and a Server section; the server's Version line.
std::string server_version(std::string_view out) {
  auto server = out.find("Server:");
  if (server == std::string_view::npos) return {};
  auto v = out.find("Version:", server);
  if (v == std::string_view::npos) return {};
  auto line = out.substr(v + 8);
  return std::string(trim(line.substr(0, line.find('\n'))));
}

Check version_check(const DoctorOptions& o, const std::string& containerd) {
  struct stat st {};
  if (::stat(o.address.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode))
    return failed("containerd", fmt::format("no containerd socket at {}", o.address),
                  "start containerd (systemctl start containerd), or name its socket: --address SOCK");
  std::string ctr = find_program("ctr");
  if (ctr.empty()) {
    auto v = run_capture({containerd, "--version"}, kTimeoutMs);
    return passed("containerd", fmt::format("{} (ctr not on PATH: the daemon's version not asked)",
                                            v ? first_line(v->output) : v.error().describe()));
  }
  auto v = run_capture({ctr, "--address", o.address, "version"}, kTimeoutMs);
  std::string version = v && v->status == 0 ? server_version(v->output) : "";
  if (version.empty())
    return failed("containerd", fmt::format("containerd at {} does not answer: {}", o.address,
                                            v ? first_line(v->output) : v.error().describe()),
                  "is containerd running and is this its socket? (--address SOCK)");
  return passed("containerd", fmt::format("containerd {} at {}", version, o.address));
}

// The runtime tables of the dump whose runtime_type is reaper's: their names.
std::vector<std::string> reaper_handlers(std::string_view dump) {
  std::vector<std::string> names;
  std::string table;
  while (!dump.empty()) {
    auto nl = dump.find('\n');
    std::string_view line = trim(dump.substr(0, nl));
    dump.remove_prefix(nl == std::string_view::npos ? dump.size() : nl + 1);
    if (line.starts_with("[")) {
      table = std::string(line);
    } else if (line.starts_with("runtime_type") && line.find(kRuntimeType) != std::string_view::npos) {
      auto dot = table.rfind(".runtimes.");
      std::string name = dot == std::string::npos ? table : table.substr(dot + 10);
      while (!name.empty() && (name.back() == ']' || name.back() == '"')) name.pop_back();
      if (!name.empty() && name.front() == '"') name.erase(0, 1);
      names.push_back(name);
    }
  }
  return names;
}

Check handler_check(const DoctorOptions& o, const std::string& containerd) {
  std::vector<std::string> argv{containerd};
  if (!o.containerd_config.empty()) argv.insert(argv.end(), {"--config", o.containerd_config});
  argv.insert(argv.end(), {"config", "dump"});
  std::string config = o.containerd_config.empty() ? "containerd's default config" : o.containerd_config;
  auto dump = run_capture(argv, kTimeoutMs);
  if (!dump || dump->status != 0)
    return failed("reaper handler",
                  fmt::format("containerd config dump of {} failed: {}", config,
                              dump ? first_line(dump->output) : dump.error().describe()),
                  "fix containerd's configuration (containerd --config FILE config dump shows why)");
  auto names = reaper_handlers(dump->output);
  if (names.empty())
    return failed("reaper handler",
                  fmt::format("no runtime with runtime_type {} in the effective configuration of {}",
                              kRuntimeType, config),
                  "deploy/installer/install.sh install, or add deploy/containerd/reaper-v2.toml "
                  "(reaper-v3.toml for containerd 2.x) and restart containerd");
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  return passed("reaper handler", fmt::format("runtime {} ({}) in the effective configuration of {}",
                                              list, kRuntimeType, config));
}

}  // namespace

std::vector<Check> containerd_checks(const DoctorOptions& o) {
  std::string containerd = find_program("containerd");
  if (containerd.empty())
    return {failed("containerd", "containerd is not on PATH", "install containerd 1.6 or later"),
            skipped("reaper handler", "no containerd to ask")};
  return {version_check(o, containerd), handler_check(o, containerd)};
}

}  // namespace reaper::cli
