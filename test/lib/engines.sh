# shellcheck shell=bash
# Helpers for the tests of reaper-runtime under engines that drive runc
# (test/integration/engine_*.sh). harness.sh is already loaded by test/run.
#
#   engine_runtime           prints the path of a `reaper-runtime` link to $REAPER in TEST_TMP
#                            (the multi-call binary picks its personality from that name)
#   engine_runtime_rooted    prints the path of a `reaper-runtime` script in TEST_TMP that runs
#                            reaper-runtime with --root $RT_ROOT and the test's overlay root and
#                            node config: Podman passes no --root (its --runtime-flag does not
#                            reach the cleanup it runs at exit) and gives conmon its own
#                            environment
#   engine_mark NAME         a REAPER_TEST_MARK value unique to this test
#   engine_gone MARK WHAT    fails unless no live process carries MARK (2 s for kills to land)
#   podman_ensure            installs podman and conmon from Debian's archive when missing
#   pman ARGS...             podman with private storage, run root and tmp dir under TEST_TMP,
#                            reaper-runtime as its runtime (engine_runtime_rooted), cgroupfs,
#                            file events; its containers get the rlimits this machine allows
#   prun [RUN-FLAGS...] CMD...  `pman run` with host network, those rlimits, a busybox
#                            --rootfs (ignored by reaper: the host's programs run) and the mark
#                            $PMARK in the environment
source "$(dirname "${BASH_SOURCE[0]}")/runtime-helpers.sh"

engine_runtime() {
  local link=$TEST_TMP/bin/reaper-runtime
  if [[ ! -L $link ]]; then
    mkdir -p "$TEST_TMP/bin" || fail "test setup: mkdir $TEST_TMP/bin"
    ln -s "$REAPER" "$link" || fail "test setup: link $link"
  fi
  echo "$link"
}

engine_runtime_rooted() {
  local script=$TEST_TMP/rooted/reaper-runtime
  if [[ ! -x $script ]]; then
    mkdir -p "$TEST_TMP/rooted" || fail "test setup: mkdir"
    # Podman gives conmon an environment of its own: the test's overlay root and node
    # config are set here, or its workloads would use the host's default overlay group.
    printf '#!/bin/sh\nREAPER_OVERLAY_ROOT=%q REAPER_CONFIG=%q REAPER_AUDIT_DIR=%q exec %q reaper-runtime --root %q "$@"\n' \
      "$REAPER_OVERLAY_ROOT" "$REAPER_CONFIG" "$REAPER_AUDIT_DIR" "$REAPER" "$RT_ROOT" >"$script"
    chmod 0755 "$script"
  fi
  echo "$script"
}

engine_mark() { echo "mark-$1-$$-$RANDOM"; }

engine_gone() {  # engine_gone MARK WHAT
  local i left p
  for ((i = 0; i < 40; i++)); do
    left=$(marked_pids "$1"); [[ -z $left ]] && return 0
    sleep 0.05
  done
  fail "$2: still alive: $(for p in $left; do echo "$p $(proc_comm "$p") $(proc_cmdline "$p");"; done)"
}

# ---------------------------------------------------------------- Podman

podman_ensure() {
  command -v podman >/dev/null && command -v conmon >/dev/null && return 0
  local i
  export DEBIAN_FRONTEND=noninteractive
  for ((i = 0; i < 60; i++)); do  # another apt may hold the dpkg lock for a while
    if apt-get install -y -q --no-install-recommends podman conmon >/dev/null 2>&1 ||
       { apt-get update -q >/dev/null 2>&1 &&
         apt-get install -y -q --no-install-recommends podman conmon >/dev/null 2>&1; }; then
      return 0
    fi
    sleep 5
  done
  fail "test setup: could not install podman and conmon from Debian's archive"
}

pman() {
  podman --root "$TEST_TMP/podman/root" --runroot "$TEST_TMP/podman/run" \
    --tmpdir "$TEST_TMP/podman/tmp" --cgroup-manager cgroupfs --events-backend file \
    --runtime "$(engine_runtime_rooted)" "$@"
}

# Podman's default rlimits are refused on this kind of machine for every runtime (runc too).
PODMAN_LIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

prun() {
  local -a flags=()
  while [[ $# -gt 0 && $1 == -* ]]; do
    case $1 in
      --name|--env|-e|--stop-signal|--stop-timeout) flags+=("$1" "$2"); shift 2 ;;
      *) flags+=("$1"); shift ;;
    esac
  done
  [[ -d $TEST_TMP/busybox ]] || busybox_rootfs_dir "$TEST_TMP/busybox"
  pman run --network host "${PODMAN_LIMITS[@]}" --env "REAPER_TEST_MARK=$PMARK" \
    "${flags[@]}" --rootfs "$TEST_TMP/busybox" "$@"
}

# busybox_rootfs_dir DIR: a tiny rootfs Podman accepts (it checks the command exists in it).
busybox_rootfs_dir() {
  local bb
  bb=$(command -v busybox) || fail "test setup: busybox not installed"
  mkdir -p "$1"/{bin,dev,etc,proc,sys,tmp,root,run} || fail "test setup: mkdir $1"
  cp "$bb" "$1/bin/busybox" || fail "test setup: copy busybox"
  "$1/bin/busybox" --install "$1/bin" || fail "test setup: busybox --install"
}

# pman_cleanup: removes every container of the private storage, then unmounts it.
pman_cleanup() {
  pman rm --all --force --time 0 >/dev/null 2>&1
  pman system reset --force >/dev/null 2>&1
  local m
  while read -r m; do umount -l "$m" 2>/dev/null; done < <(
    awk -v d="$TEST_TMP/podman" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
}

# ---------------------------------------------------------------- Docker
#   docker_up        installs docker.io when missing, starts a private dockerd (its own data
#                    root, exec root, socket, no iptables, no bridge, vfs storage) with
#                    reaper-runtime added as runtime `reaper`, imports a busybox image as
#                    rtest/busybox:1, sets the EXIT trap and PMARK
#   dk ARGS...       Debian's docker client talking to it
#   drun [FLAGS...] CMD...  `dk run --runtime reaper --network host` of that image with the mark
#   docker_stop      removes its containers, stops dockerd by pid, unmounts and removes its dirs

docker_ensure() {
  [[ -x /usr/sbin/dockerd && -x /usr/bin/docker ]] && return 0
  local i
  export DEBIAN_FRONTEND=noninteractive
  for ((i = 0; i < 60; i++)); do
    if apt-get install -y -q --no-install-recommends docker.io >/dev/null 2>&1 ||
       { apt-get update -q >/dev/null 2>&1 &&
         apt-get install -y -q --no-install-recommends docker.io >/dev/null 2>&1; }; then
      return 0
    fi
    sleep 5
  done
  fail "test setup: could not install docker.io from Debian's archive"
}

dk() { /usr/bin/docker -H "unix://$DK_DIR/d.sock" "$@"; }

docker_up() {
  docker_ensure
  trap 'docker_stop; harness_cleanup' EXIT
  PMARK=$(engine_mark docker)
  DK_DIR=$(mktemp -d /run/rdk-XXXXXX) || fail "test setup: mktemp"
  /usr/sbin/dockerd --data-root "$DK_DIR/data" --exec-root "$DK_DIR/exec" --pidfile "$DK_DIR/pid" \
    -H "unix://$DK_DIR/d.sock" --iptables=false --ip6tables=false --bridge=none \
    --storage-driver=vfs --add-runtime "reaper=$(engine_runtime)" \
    </dev/null >"$DK_DIR/log" 2>&1 &
  DK_PID=$!
  local i
  for ((i = 0; i < 600; i++)); do  # bounded wait for the API (30 s on a loaded machine)
    dk version >/dev/null 2>&1 && break
    kill -0 "$DK_PID" 2>/dev/null || fail "dockerd exited: $(tail -n 20 "$DK_DIR/log")"
    sleep 0.05
  done
  dk version >/dev/null 2>&1 || fail "dockerd did not come up: $(tail -n 20 "$DK_DIR/log")"
  busybox_rootfs_dir "$TEST_TMP/busybox"
  tar -C "$TEST_TMP/busybox" -c . | dk import - rtest/busybox:1 >/dev/null ||
    fail "test setup: docker import"
}

drun() {
  local -a flags=()
  while [[ $# -gt 0 && $1 == -* ]]; do
    case $1 in
      --name|--env|-e) flags+=("$1" "$2"); shift 2 ;;
      *) flags+=("$1"); shift ;;
    esac
  done
  dk run --runtime reaper --network host --env "REAPER_TEST_MARK=$PMARK" "${flags[@]}" \
    rtest/busybox:1 "$@"
}

docker_stop() {
  [[ -n ${DK_DIR:-} ]] || return 0
  local -a ids
  local i m
  mapfile -t ids < <(dk ps -aq 2>/dev/null)
  ((${#ids[@]})) && dk rm -f "${ids[@]}" >/dev/null 2>&1
  if [[ -n ${DK_PID:-} ]] && kill -0 "$DK_PID" 2>/dev/null; then
    kill "$DK_PID"
    for ((i = 0; i < 300; i++)); do kill -0 "$DK_PID" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$DK_PID" 2>/dev/null && kill -KILL "$DK_PID"
    wait "$DK_PID" 2>/dev/null
  fi
  while read -r m; do umount -l "$m" 2>/dev/null; done < <(
    awk -v d="$DK_DIR" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  rm -rf "$DK_DIR"
  DK_DIR=""
}
