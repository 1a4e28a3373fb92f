#!/bin/sh
# Uninstalls reaper from every node the installer DaemonSet covers: switches its init
# container to `install.sh uninstall` and waits for the rollout (each node's new pod runs
# the uninstall before it becomes ready). The chart's pre-delete hook Job runs it; so can
# an operator (docs/install.md). Exits non-zero when the rollout does not finish in time:
# a node refusing (reaper pods still running there) shows why in its installer pod's log.
# Environment: NAMESPACE (required), DAEMONSET (reaper-installer), TIMEOUT_SECONDS (600),
# KUBECTL (kubectl).
set -eu
prog=uninstall-all.sh
ns=${NAMESPACE:?NAMESPACE is not set}
ds=${DAEMONSET:-reaper-installer}
timeout=${TIMEOUT_SECONDS:-600}
kubectl=${KUBECTL:-kubectl}
case $timeout in ''|*[!0-9]*) echo "$prog: TIMEOUT_SECONDS must be a number of seconds" >&2; exit 2 ;; esac

# shellcheck disable=SC2086  # KUBECTL may be a command line
verb=$($kubectl -n "$ns" get daemonset "$ds" -o 'jsonpath={.spec.template.spec.initContainers[0].command[2]}') ||
  { echo "$prog: cannot read daemonset $ns/$ds" >&2; exit 1; }
case $verb in
  uninstall) echo "$prog: $ns/$ds already runs uninstall" ;;
  install)
    # shellcheck disable=SC2086
    $kubectl -n "$ns" patch daemonset "$ds" --type=json -p '[
      {"op": "test", "path": "/spec/template/spec/initContainers/0/command/1", "value": "/opt/reaper/install.sh"},
      {"op": "replace", "path": "/spec/template/spec/initContainers/0/command/2", "value": "uninstall"}]' ||
      { echo "$prog: cannot switch $ns/$ds to uninstall" >&2; exit 1; }
    echo "$prog: $ns/$ds switched to uninstall" ;;
  *) echo "$prog: $ns/$ds runs '$verb', not install.sh install or uninstall: not touching it" >&2; exit 1 ;;
esac
# shellcheck disable=SC2086
if ! $kubectl -n "$ns" rollout status "daemonset/$ds" --timeout="${timeout}s"; then
  echo "$prog: the uninstall did not finish on every node within ${timeout}s; see the installer pods that are not ready:" >&2
  # shellcheck disable=SC2086
  $kubectl -n "$ns" get pods -l app.kubernetes.io/name=reaper-installer -o wide >&2 || true
  exit 1
fi
echo "$prog: reaper uninstalled from every node of $ns/$ds"
