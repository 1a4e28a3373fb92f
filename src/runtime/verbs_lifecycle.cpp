// create, start, run, kill, delete.
#include <unistd.h>

#include <climits>
#include <csignal>

#include "core/args.hpp"
#include "core/container.hpp"
#include "core/log.hpp"
#include "core/signals.hpp"
#include "core/stand_in.hpp"
#include "runtime/verbs.hpp"

namespace reaper::runtime {
namespace {

// Parses argv, expecting exactly `count` positionals.
Result<Args> parse(const ArgParser& p, int argc, char** argv, size_t min, size_t max,
                   std::string_view verb) {
  Args args = TRY(p.parse(argc, argv));
  if (args.positionals.size() < min || args.positionals.size() > max)
    return failf("{}: wrong number of arguments (see --help)", verb);
  return args;
}

Result<std::string> absolute(const std::string& path) {
  char resolved[PATH_MAX];
  if (!::realpath(path.c_str(), resolved)) return sys_error("bundle " + path);
  return std::string(resolved);
}

ArgParser create_flags() {
  ArgParser p;
  p.flag({"--bundle", "-b"}, true)
      .flag({"--pid-file"}, true)
      .flag({"--console-socket"}, true)
      .flag({"--no-pivot"})
      .flag({"--no-new-keyring"})
      .flag({"--preserve-fds"}, true);
  return p;
}

Result<CreateOptions> create_options(const Args& a) {
  if (a.get("--preserve-fds", "0") != "0")
    return fail("--preserve-fds is not supported: a workload gets exactly fds 0, 1 and 2");
  CreateOptions o;
  o.id = a.positionals[0];
  o.bundle = TRY(absolute(a.get("--bundle", ".")));
  o.pid_file = a.get("--pid-file");
  o.io.console_socket = a.get("--console-socket");
  return o;
}

}  // namespace

int verb_create(const Globals& g, int argc, char** argv) {
  auto a = parse(create_flags(), argc, argv, 1, 1, "create");
  if (!a) return report(a.error());
  auto opts = create_options(*a);
  if (!opts) return report(opts.error());
  // For a caller that adopts orphans (runc's callers: containerd's runc shim, conmon) the
  // pid file names a stand-in it can wait for (core/stand_in.hpp).
  auto adopts = parent_adopts_orphans();
  if (!adopts) return report(adopts.error());
  opts->stand_in = *adopts;
  auto launched = Containers(g.root).create(*opts);
  if (!launched) return report(launched.error());
  return 0;
}

int verb_start(const Globals& g, int argc, char** argv) {
  auto a = parse(ArgParser(), argc, argv, 1, 1, "start");
  if (!a) return report(a.error());
  auto ok = Containers(g.root).start(a->positionals[0]);
  return ok ? 0 : report(ok.error());
}

int verb_run(const Globals& g, int argc, char** argv) {
  ArgParser p = create_flags();
  p.flag({"--detach", "-d"});
  auto a = parse(p, argc, argv, 1, 1, "run");
  if (!a) return report(a.error());
  auto opts = create_options(*a);
  if (!opts) return report(opts.error());
  if (a->has("--detach")) {  // in the foreground, we wait ourselves
    auto adopts = parent_adopts_orphans();
    if (!adopts) return report(adopts.error());
    opts->stand_in = *adopts;
  }
  Containers c(g.root);
  if (auto launched = c.create(*opts); !launched) return report(launched.error());
  auto started = c.start(opts->id);
  if (a->has("--detach")) return started ? 0 : report(started.error());
  if (!started) report(started.error());
  auto status = c.wait(opts->id);
  auto removed = c.remove(opts->id, true);
  if (!status) return report(status.error());
  if (!removed) report(removed.error());
  return *status;
}

int verb_kill(const Globals& g, int argc, char** argv) {
  ArgParser p;
  p.flag({"--all", "-a"}).flag({"--pid", "-p"}, true);
  auto a = parse(p, argc, argv, 1, 2, "kill");
  if (!a) return report(a.error());
  int sig = SIGTERM;
  if (a->positionals.size() == 2) {
    auto parsed = parse_signal(a->positionals[1]);
    if (!parsed) return report(parsed.error());
    sig = *parsed;
  }
  auto ok = Containers(g.root).kill(a->positionals[0], sig, a->has("--all"));
  return ok ? 0 : report(ok.error());
}

int verb_delete(const Globals& g, int argc, char** argv) {
  ArgParser p;
  p.flag({"--force", "-f"});
  auto a = parse(p, argc, argv, 1, 1, "delete");
  if (!a) return report(a.error());
  auto ok = Containers(g.root).remove(a->positionals[0], a->has("--force"));
  return ok ? 0 : report(ok.error());
}

}  // namespace reaper::runtime
