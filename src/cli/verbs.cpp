// The one table of `reaper` verbs: a new verb is a file and one line here.
#include "cli/verb.hpp"

namespace reaper::cli {
namespace {

constexpr Verb kVerbs[] = {
    {"list", "the containers of every containerd namespace under the root",
     "list [--json] [-q] [-n NS]\n"
     "  --json              a JSON array (\"namespace\": null for reaper-runtime's)\n"
     "  -q, --quiet         the ids only\n"
     "  -n, --namespace NS  one containerd namespace (\"-\": reaper-runtime's containers)",
     verb_list},
    {"state", "one container: namespace, status, pid, exit code, times",
     "state [--json] [-n NS] ID\n"
     "  --json              one JSON object instead of the text for a person\n"
     "  -n, --namespace NS  look only in NS (needed when ID exists in several)",
     verb_state},
    {"ps", "the live processes of a container (workload, descendants, execs)",
     "ps [--json] [-n NS] ID\n"
     "  --json              a JSON array of {pid, cmd}\n"
     "  -n, --namespace NS  look only in NS",
     verb_ps},
    {"wait", "wait for a container's workload and exit with its status",
     "wait [-n NS] ID\n"
     "  exits with the workload's status (0-255); 125 when it cannot wait (unknown id, …)\n"
     "  -n, --namespace NS  look only in NS",
     verb_wait},
    {"doctor", "check whether reaper can work on this node",
     "doctor [--json] [--containerd-config FILE] [--address SOCK] [--bin-dir DIR] [--node NAME]\n"
     "  checks the binary and its links, the kernel (overlayfs over /, the new mount API,\n"
     "  pidfds, child subreaper), containerd and the reaper handler in its effective\n"
     "  configuration, reaper.conf, the overlay root and its groups, the node label\n"
     "  --json                    {\"ok\": bool, \"checks\": [{name, result, detail, hint}]}\n"
     "                            (result: ok, fail or skipped)\n"
     "  --containerd-config FILE  containerd's config file (default: containerd's own)\n"
     "  --address SOCK            containerd's socket, for its version (default\n"
     "                            /run/containerd/containerd.sock)\n"
     "  --bin-dir DIR             where the links are (default: this executable's directory)\n"
     "  --node NAME               the Kubernetes node (default NODE_NAME, else the host name)\n"
     "  exit status 1 when a check fails (a skipped check is not a failure)",
     verb_doctor},
    {"config", "check a reaper.conf: every error and warning with file:line",
     "config check [FILE]\n"
     "  FILE defaults to $REAPER_CONFIG, else /etc/reaper/reaper.conf; only the file is\n"
     "  read (not the environment); exit status 1 on any warning or error",
     verb_config},
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
    {"metrics", "Prometheus metrics of the node: containers, processes, overlay groups, shims", "metrics [--listen ADDR:PORT | --output FILE]\n  (no flag)             print them on stdout\n  --listen ADDR:PORT    serve GET /metrics and /healthz over HTTP (e.g. 0.0.0.0:9464)\n  --output, -o FILE     write them to FILE atomically (node_exporter's textfile collector)", verb_metrics},
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
