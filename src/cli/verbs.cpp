// The one table of `reaper` verbs: a new verb is a file and one line here.
#include "cli/verb.hpp"

namespace reaper::cli {
namespace {

constexpr Verb kVerbs[] = {
    {"state", "one container: status, pid, exit code, times",
     "state [--json] ID\n"
     "  --json   one JSON object instead of the text for a person", verb_state},
    {"list", "every container under the root", "list [--json]\n  --json   a JSON array", verb_list},
    {"wait", "wait for a container's workload and exit with its status",
     "wait ID\n"
     "  exits with the workload's status (0-255); 125 when it cannot wait (unknown id, …)",
     verb_wait},
    {"overlay", "the node's overlay groups: list, rm, gc, diff",
     "overlay VERB ...\n"
     "  list [--json]          groups: namespace, use, upper-layer bytes used/limit, last use\n"
     "  rm GROUP...            remove groups no running container uses\n"
     "  gc [--idle DURATION]   remove every group unused for DURATION (default\n"
     "                         REAPER_OVERLAY_IDLE)\n"
     "  diff GROUP [/PREFIX] [--json]\n"
     "                         what the group's workloads added, changed, deleted and\n"
     "                         which host files are masked (A, C, D, M), every layer",
     verb_overlay},
    {"audit", "what ran on the node: the audit trail's start and exit records",
     "audit [FLAGS]\n"
     "  --since TIME        records at or after TIME (RFC 3339, or a duration ago: 90s, 1h)\n"
     "  --until TIME        records before TIME\n"
     "  --pod [NS/]NAME     one pod's records\n"
     "  --namespace NS      a pod namespace or a containerd namespace\n"
     "  --container NAME    a container's name (CRI) or its id\n"
     "  --exit-status N     exit records with this status\n"
     "  --json              the records as stored, one JSON object a line\n"
     "  --follow, -f        then wait for new records\n"
     "  --dir DIR           the trail's directory (default REAPER_AUDIT_DIR)",
     verb_audit},
    {"install-links", "symlink every personality to this executable in DIR",
     "install-links DIR", verb_install_links},
    {"completion", "print the bash completion script",
     "completion bash\n"
     "  e.g. reaper completion bash > /etc/bash_completion.d/reaper", verb_completion},
    {"version", "print the version", "version", verb_version},
    {"help", "print the usage of reaper or of one verb", "help [VERB]", verb_help},
};

}  // namespace

std::span<const Verb> verbs() { return kVerbs; }

const Verb* find_verb(std::string_view name) {
  for (const auto& v : kVerbs)
    if (v.name == name) return &v;
  return nullptr;
}

}  // namespace reaper::cli
