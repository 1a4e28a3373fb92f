// exec: another process beside the container's workload.
#include <charconv>

#include "core/args.hpp"
#include "core/container.hpp"
#include "core/files.hpp"
#include "core/stand_in.hpp"
#include "runtime/verbs.hpp"

namespace reaper::runtime {
namespace {

Result<uint32_t> parse_number(std::string_view text, std::string_view what) {
  uint32_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size())
    return failf("invalid {} {:?}", what, text);
  return n;
}

// The process to exec: from --process, or the container's own process with the
// command and the flags' changes.
Result<oci::Process> exec_process(const Args& a, const Observed& container) {
  if (a.has("--process")) {
    if (a.positionals.size() != 1) return fail("exec: --process takes no command arguments");
    std::string text = TRY(files::read(a.get("--process")));
    return TRY_CTX(oci::parse_process(text), "--process " + a.get("--process"));
  }
  if (a.positionals.size() < 2) return fail("exec: no command given");
  oci::Spec spec = TRY_CTX(oci::load_bundle_spec(container.state.bundle), "bundle");
  oci::Process p = spec.process;
  p.args.assign(a.positionals.begin() + 1, a.positionals.end());
  if (p.args[0].empty()) return fail("exec: empty command");
  p.terminal = a.has("--tty");
  if (a.has("--cwd")) p.cwd = a.get("--cwd");
  if (p.cwd.empty() || p.cwd[0] != '/') return fail("exec: --cwd must be absolute");
  for (const auto& kv : a.all("--env")) {
    if (kv.find('=') == std::string::npos) return failf("exec: --env {:?} is not KEY=VALUE", kv);
    p.env.push_back(kv);
  }
  if (a.has("--user")) {
    std::string u = a.get("--user");
    auto colon = u.find(':');
    p.user.uid = TRY(parse_number(u.substr(0, colon), "uid"));
    if (colon != std::string::npos) p.user.gid = TRY(parse_number(u.substr(colon + 1), "gid"));
    p.user.additional_gids.clear();
  }
  for (const auto& g : a.all("--additional-gids"))
    p.user.additional_gids.push_back(TRY(parse_number(g, "gid")));
  if (a.has("--no-new-privs")) p.no_new_privileges = true;
  return p;
}

}  // namespace

int verb_exec(const Globals& g, int argc, char** argv) {
  ArgParser p;
  p.flag({"--process", "-p"}, true)
      .flag({"--tty", "-t"})
      .flag({"--cwd"}, true)
      .flag({"--env", "-e"}, true)
      .flag({"--user", "-u"}, true)
      .flag({"--additional-gids", "-g"}, true)
      .flag({"--pid-file"}, true)
      .flag({"--console-socket"}, true)
      .flag({"--detach", "-d"})
      .flag({"--exec-id"}, true)
      .flag({"--preserve-fds"}, true)
      .flag({"--no-new-privs"})
      // runc's flags for what reaper does not have (LSM labels, capabilities, cgroups, a
      // freezer): accepted and ignored, like the same fields of config.json.
      .flag({"--process-label"}, true)
      .flag({"--apparmor"}, true)
      .flag({"--cap", "-c"}, true)
      .flag({"--cgroup"}, true)
      .flag({"--ignore-paused"});
  // The id is the first positional; everything after it is the command.
  auto a = p.parse(argc, argv, /*stop_at_positional=*/true);
  if (!a) return report(a.error());
  if (a->positionals.empty()) return report(Error{0, "exec: expects a container id"});
  // `exec ID -- CMD…`: the "--" after the id only ends the flags.
  if (a->positionals.size() > 1 && a->positionals[1] == "--")
    a->positionals.erase(a->positionals.begin() + 1);
  if (a->get("--preserve-fds", "0") != "0")
    return report(Error{0, "--preserve-fds is not supported: a process gets exactly fds 0, 1 and 2"});
  Containers c(g.root);
  auto container = c.state(a->positionals[0]);
  if (!container) return report(container.error());
  auto process = exec_process(*a, *container);
  if (!process) return report(process.error());
  ExecOptions o;
  o.id = a->positionals[0];
  o.exec_id = a->get("--exec-id");
  o.process = std::move(*process);
  o.pid_file = a->get("--pid-file");
  o.io.console_socket = a->get("--console-socket");
  o.detach = a->has("--detach");
  if (o.detach) {  // as for create: a stand-in for a caller that adopts orphans
    auto adopts = parent_adopts_orphans();
    if (!adopts) return report(adopts.error());
    o.stand_in = *adopts;
  }
  auto status = c.exec(o);
  if (!status) return report(status.error());
  return *status;
}

}  // namespace reaper::runtime
