# shellcheck shell=bash
# Fixture library: a private containerd for end-to-end tests and benchmarks.
# Source it after harness.sh (tests) or on its own (bench/). Needs root.
#
#   containerd_start [VERSION] [--no-cri] [--no-unshare]
#       Starts a private containerd with its own config, root, state, socket, ctr namespace
#       and PATH (the reaper shim first, then that version's own containerd-shim-runc-v2),
#       and waits until it (and its CRI plugin) serve. Returns non-zero, with the log tail on
#       stderr and everything cleaned up, when it does not come up.
#       VERSION: 1.6 (the installed Debian package; config version 2), 1.7 (Debian trixie;
#       config version 2) or 2 / 2.x (Debian sid; config version 3). 1.7 and 2 are unpacked
#       from Debian's archive by test/lib/fetch-containerd.sh on first use (cached, offline
#       afterwards). Default: $CTRD_VERSION_UNDER_TEST (test/run sets it for the files marked
#       "# containerd: matrix"), else 1.6.
#       --no-cri      disable the CRI plugin
#       --no-unshare  run containerd in the host's mount namespace (by default it runs in a
#                     private one where /sys/fs/cgroup/unified is unmounted, so crun works;
#                     mounts made by containerd and its shims are then invisible on the host)
#   containerd_stop     Kills containerd (by pid), every shim and container it left, unmounts
#                       what it mounted, removes its sockets, cgroups and directories.
#                       Idempotent; safe in an EXIT trap.
#   cctr ARGS...        ctr talking to the private containerd in its namespace.
#   cctr_ns NS ARGS...  the same in namespace NS (the CRI plugin's is k8s.io).
#   cctr_run RUNTIME [CTR-RUN-FLAGS...] ROOTFS|IMAGE ID [CMD...] : `cctr run` with a private
#                       --fifo-dir, the flags selecting RUNTIME (reaper | runc | crun) and
#                       --env PATH=$CTRD_DEFAULT_PATH (ctr gives --rootfs runs no PATH). All
#                       flags before the positionals; --rootfs is a boolean. Example:
#                         cctr_run crun --rm --rootfs "$rootfs" c1 /bin/echo hello
#   ctr_runtime_flags RUNTIME   prints those runtime-selecting flags, one per line.
#   busybox_rootfs DIR  makes a minimal rootfs in DIR from the static busybox.
#   containerd_log      prints the path of containerd's log (stdout+stderr).
#   containerd_log_tail [N]     prints its last N (40) lines, for failure messages.
#   containerd_pids     pids of containerd, its shims and their descendants (live ones).
#   wait_bounded SECS SIGNAL PID  waits for PID (a child of this shell), sending it SIGNAL
#                       after SECS; returns its status.
#
# Variables set by containerd_start (read-only for callers):
#   CTRD_VERSION (as asked: 1.6, 1.7, 2) CTRD_BIN_VERSION (what the binary says, e.g.
#   1.7.24~ds1) CTRD_CONFIG_FORMAT (2|3) CTRD_DIR CTRD_SOCK (grpc socket; ttrpc is $CTRD_SOCK.ttrpc) CTRD_NS
#   CTRD_ROOT CTRD_STATE CTRD_CONFIG CTRD_LOG CTRD_FIFO CTRD_PID CTRD_SHIM_DIR (on containerd's
#   PATH, holds containerd-shim-reaper-v2) CTRD_RUNC_ROOT CTRD_CRUN_ROOT CTRD_CRI (1|0)
#   CTRD_UNSHARE (1|0) CTRD_SANDBOX_IMAGE (name the CRI plugin expects in namespace k8s.io;
#   it is not created here) CTRD_BIN (containerd binary) CTRD_CTR (ctr binary)
#   CTRD_DEFAULT_PATH. containerd and everything inheriting its environment carry
#   RTEST_CTRD=$CTRD_DIR, which containerd_stop uses to find what to kill.
# Environment read: REAPER (multi-call binary; else $BUILD/reaper), CTRD_LOG_LEVEL (info),
#   CTRD_START_TIMEOUT (seconds, 30).
# One fixture per shell at a time. Tests: trap 'containerd_stop; harness_cleanup' EXIT
# (a test's own EXIT trap replaces the harness's).
#
# CRI runtime handlers: runc, crun (both io.containerd.runc.v2 with private Root) and
# reaper-v2 (io.containerd.reaper.v2): config version 2 embeds the table of
# deploy/containerd/reaper-v2.toml, version 3 imports deploy/containerd/reaper-v3.toml.
# ctr does not use the CRI handlers: cctr_run selects the same runtimes with ctr's flags.

CTRD_SANDBOX_IMAGE=${CTRD_SANDBOX_IMAGE:-localhost/rtest/pause:v1}
_ctrd_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CTRD_DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# ---------------------------------------------------------------- version resolution
# Sets CTRD_BIN, CTRD_CTR, CTRD_BIN_VERSION, CTRD_EXTRA_PATH (dirs put on containerd's PATH
# after the shim dir: a fetched tree's usr/bin, with that version's own runc shim) and
# CTRD_CONFIG_FORMAT.
_ctrd_resolve() {
  local want=$1 tree
  CTRD_EXTRA_PATH=""
  case $want in
    1.6|1.6.*)
      CTRD_BIN=$(command -v containerd) CTRD_CTR=$(command -v ctr)
      [[ -n $CTRD_BIN && -n $CTRD_CTR ]] || { echo "containerd_start: containerd/ctr not installed" >&2; return 1; }
      CTRD_CONFIG_FORMAT=2 ;;
    1.7|1.7.*|2|2.*)
      tree=$(bash "$_ctrd_top/test/lib/fetch-containerd.sh" "$want") || return 1
      CTRD_BIN=$tree/usr/bin/containerd CTRD_CTR=$tree/usr/bin/ctr CTRD_EXTRA_PATH=$tree/usr/bin
      CTRD_CONFIG_FORMAT=2
      [[ $want == 2* ]] && CTRD_CONFIG_FORMAT=3 ;;
    *) echo "containerd_start: unknown containerd version '$want'" >&2; return 1 ;;
  esac
  # "containerd github.com/containerd/containerd[/v2] 1.7.24~ds1 REVISION"
  CTRD_BIN_VERSION=$("$CTRD_BIN" --version | awk '{print $3}')
  [[ $CTRD_BIN_VERSION == "$want"* ]] ||
    { echo "containerd_start: $CTRD_BIN is $CTRD_BIN_VERSION, not $want" >&2; return 1; }
}

# ---------------------------------------------------------------- configuration
# Prints the runtimes.reaper-v2 table of a deploy/ drop-in: from its header to the end of
# the file (the drop-ins keep that table last, so the tests run with exactly its keys).
_ctrd_handler_table() {
  sed -n '/^\[plugins\..*\.containerd\.runtimes\.reaper-v2\]/,$p' "$1"
}

# The runc and crun CRI handlers (both the runc shim, each with a private Root) under the
# table prefix $1, the same in both config formats.
_ctrd_runc_handlers() {
  cat <<EOF

    [$1.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [$1.runtimes.runc.options]
        Root = "$CTRD_RUNC_ROOT"

    [$1.runtimes.crun]
      runtime_type = "io.containerd.runc.v2"
      [$1.runtimes.crun.options]
        BinaryName = "crun"
        Root = "$CTRD_CRUN_ROOT"
EOF
}

# The top of every config after its version (and imports): private root, state, socket
# and opt dir; $1 is the disabled_plugins list.
_ctrd_config_common() {
  cat <<EOF
root = "$CTRD_ROOT"
state = "$CTRD_STATE"
oom_score = 0
disabled_plugins = [$1]

[grpc]
  address = "$CTRD_SOCK"

[plugins."io.containerd.internal.v1.opt"]
  path = "$CTRD_DIR/opt"
EOF
}

# Config format 2 (containerd 1.6/1.7). Paths contain no characters needing TOML escapes.
_ctrd_config_2() {
  local cri='plugins."io.containerd.grpc.v1.cri"'
  local disabled='"io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"'
  ((CTRD_CRI)) || disabled+=', "io.containerd.grpc.v1.cri"'
  echo "version = 2"
  _ctrd_config_common "$disabled"
  ((CTRD_CRI)) || return 0
  cat <<EOF

[$cri]
  sandbox_image = "$CTRD_SANDBOX_IMAGE"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_tcp_service = true
  netns_mounts_under_state_dir = true   # pod netns (non-host-network pods) under our state

  [$cri.cni]
    bin_dir = "$CTRD_DIR/cni/bin"
    conf_dir = "$CTRD_DIR/cni/conf"

  [$cri.containerd]
    default_runtime_name = "runc"
    snapshotter = "overlayfs"
EOF
  _ctrd_runc_handlers "$cri.containerd"
  # The reaper-v2 handler: the very table an operator installs (deploy/containerd).
  echo
  _ctrd_handler_table "$_ctrd_top/deploy/containerd/reaper-v2.toml"
}

# Config format 3 (containerd 2.x). The CRI plugin is split: runtime handlers under
# io.containerd.cri.v1.runtime, images (the sandbox image is "pinned") under
# io.containerd.cri.v1.images; the stream server stays in io.containerd.grpc.v1.cri.
# The reaper-v2 handler is the deploy/ drop-in itself, imported (2.x deep-merges imports).
_ctrd_config_3() {
  local rt='plugins."io.containerd.cri.v1.runtime"' img='plugins."io.containerd.cri.v1.images"'
  local disabled='"io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs"'
  local imports=""
  if ((CTRD_CRI)); then
    imports="imports = [\"$_ctrd_top/deploy/containerd/reaper-v3.toml\"]"
  else
    disabled+=', "io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images"'
  fi
  printf 'version = 3\n%s\n' "$imports"
  _ctrd_config_common "$disabled"
  cat <<EOF

# NRI's socket (/var/run/nri/nri.sock) would be shared with every containerd on the machine.
[plugins."io.containerd.nri.v1.nri"]
  disable = true
EOF
  ((CTRD_CRI)) || return 0
  cat <<EOF

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_tcp_service = true

[$img]
  snapshotter = "overlayfs"
  [$img.pinned_images]
    sandbox = "$CTRD_SANDBOX_IMAGE"

[$rt]
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true   # pod netns (non-host-network pods) under our state

  [$rt.cni]
    bin_dirs = ["$CTRD_DIR/cni/bin"]
    conf_dir = "$CTRD_DIR/cni/conf"

  [$rt.containerd]
    default_runtime_name = "runc"
EOF
  _ctrd_runc_handlers "$rt.containerd"
}

# crun 1.8.1 refuses the OCI spec versions 1.7 (1.2.0) and 2.x (1.2.1) write ("unknown
# version specified"). For them a `crun` in the shim dir (first on containerd's PATH, where
# the runc shim looks up BinaryName "crun") rewrites the bundle's ociVersion to one crun
# knows and runs the real crun; nothing else of the spec changes.
_ctrd_crun_wrapper() {
  local crun
  crun=$(command -v crun) || return 0   # no crun: the crun comparisons fail on their own
  cat >"$CTRD_SHIM_DIR/crun" <<EOF
#!/bin/sh
# Written by test/lib/containerd.sh for containerd $CTRD_BIN_VERSION: see _ctrd_crun_wrapper.
prev=""
for a in "\$@"; do
  if [ "\$prev" = --bundle ] || [ "\$prev" = -b ]; then
    sed -i 's/"ociVersion" *: *"[^"]*"/"ociVersion":"1.0.2-dev"/' "\$a/config.json" || exit 1
  fi
  prev=\$a
done
exec $crun "\$@"
EOF
  chmod 0755 "$CTRD_SHIM_DIR/crun"
}

# ---------------------------------------------------------------- start
# Starts containerd in the background with the fixture's command line and sets CTRD_PID.
# $1: "new" starts a fresh log, "append" adds to it (a restart of the same instance).
_ctrd_launch() {
  local path=$CTRD_SHIM_DIR${CTRD_EXTRA_PATH:+:$CTRD_EXTRA_PATH}:$PATH
  local -a cmd=(env "PATH=$path" "RTEST_CTRD=$CTRD_DIR"
    "$CTRD_BIN" --config "$CTRD_CONFIG" --root "$CTRD_ROOT" --state "$CTRD_STATE"
    --address "$CTRD_SOCK" --log-level "${CTRD_LOG_LEVEL:-info}")
  if ((CTRD_UNSHARE)); then
    # Private mount namespace, slave so host mounts still arrive; crun 1.8.1 refuses the
    # hybrid cgroup layout, so hide the cgroup2 mount in here only. Every step execs: the
    # background pid is containerd's.
    cmd=(unshare --mount --propagation slave -- /bin/sh -c \
      'if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified || exit 125; fi; exec "$@"' \
      sh "${cmd[@]}")
  fi
  if [[ $1 == append ]]; then
    "${cmd[@]}" </dev/null >>"$CTRD_LOG" 2>&1 &
  else
    "${cmd[@]}" </dev/null >"$CTRD_LOG" 2>&1 &
  fi
  CTRD_PID=$!
}

containerd_start() {
  local version=${CTRD_VERSION_UNDER_TEST:-1.6} unshare=1 cri=1 a
  for a in "$@"; do
    case $a in
      --no-cri) cri=0 ;;
      --no-unshare) unshare=0 ;;
      -*) echo "containerd_start: unknown option $a" >&2; return 1 ;;
      *) version=$a ;;
    esac
  done
  [[ -z ${CTRD_PID:-} ]] || { echo "containerd_start: already running (pid $CTRD_PID)" >&2; return 1; }
  _ctrd_resolve "$version" || return 1

  local reaper=${REAPER:-${BUILD:+$BUILD/reaper}}
  # shellcheck disable=SC2034  # read by callers
  CTRD_VERSION=$version CTRD_CRI=$cri CTRD_UNSHARE=$unshare
  CTRD_DIR=$(mktemp -d /run/rtest-XXXXXX) || return 1
  CTRD_NS=${CTRD_DIR##*/}                       # e.g. rtest-Ab12Cd: valid ctr namespace
  CTRD_SOCK=$CTRD_DIR/c.sock                    # ~25 bytes; unix socket limit is 108
  CTRD_ROOT=$CTRD_DIR/root CTRD_STATE=$CTRD_DIR/state CTRD_CONFIG=$CTRD_DIR/config.toml
  CTRD_LOG=$CTRD_DIR/containerd.log CTRD_FIFO=$CTRD_DIR/fifo CTRD_SHIM_DIR=$CTRD_DIR/bin
  CTRD_RUNC_ROOT=$CTRD_DIR/runc CTRD_CRUN_ROOT=$CTRD_DIR/crun
  # Remember whether the shared shim socket dir existed, so stop removes only what we caused.
  [[ -d /run/containerd ]] && _ctrd_had_run_containerd=1 || _ctrd_had_run_containerd=0
  mkdir -p "$CTRD_ROOT" "$CTRD_STATE" "$CTRD_FIFO" "$CTRD_SHIM_DIR" "$CTRD_DIR/opt" \
    "$CTRD_DIR/cni/bin" "$CTRD_DIR/cni/conf" "$CTRD_RUNC_ROOT" "$CTRD_CRUN_ROOT"
  # containerd maps io.containerd.reaper.v2 to containerd-shim-reaper-v2 on its PATH.
  [[ -n $reaper ]] && ln -s "$reaper" "$CTRD_SHIM_DIR/containerd-shim-reaper-v2"
  "_ctrd_config_$CTRD_CONFIG_FORMAT" >"$CTRD_CONFIG"
  [[ $CTRD_BIN_VERSION == 1.6* ]] || _ctrd_crun_wrapper || { containerd_stop; return 1; }

  _ctrd_launch new

  # Readiness from the log, event-driven (tail -F follows by inotify; --pid ends it when
  # containerd dies). The CRI plugin is ready right after "Start streaming server".
  local fd tailpid line booted=0 served=$((!cri)) ok=0
  local deadline=$((SECONDS + ${CTRD_START_TIMEOUT:-30})) left
  exec {fd}< <(exec tail -n +1 -F --pid="$CTRD_PID" "$CTRD_LOG" 2>/dev/null)
  tailpid=$!
  # bash's read takes one line as soon as it arrives (mawk would wait for a full buffer).
  while left=$((deadline - SECONDS)); ((left > 0)) && IFS= read -r -t "$left" -u "$fd" line; do
    [[ $line == *"containerd successfully booted"* ]] && booted=1
    [[ $line == *"Start streaming server"* ]] && served=1
    # A CRI plugin that failed to load never logs the line above: fail now, not at the deadline.
    [[ $line == *"failed to load plugin io.containerd.grpc.v1.cri"* || $line == *level=fatal* ]] && break
    ((booted && served)) && { ok=1; break; }
  done
  kill "$tailpid" 2>/dev/null; exec {fd}<&-; wait "$tailpid" 2>/dev/null
  if ((ok)) && ! cctr version >/dev/null; then ok=0; fi
  if ! ((ok)); then
    echo "containerd_start: containerd $version did not come up; log tail:" >&2
    containerd_log_tail 30 >&2
    containerd_stop
    return 1
  fi
  return 0
}

# ---------------------------------------------------------------- clients
cctr() { "$CTRD_CTR" --address "$CTRD_SOCK" --namespace "$CTRD_NS" "$@"; }
# ctr in another namespace (ctr refuses a second -n): cctr_ns k8s.io images import FILE
cctr_ns() { local ns=$1; shift; "$CTRD_CTR" --address "$CTRD_SOCK" --namespace "$ns" "$@"; }

ctr_runtime_flags() {
  case $1 in
    reaper) printf '%s\n' --runtime io.containerd.reaper.v2 ;;
    runc) printf '%s\n' --runtime io.containerd.runc.v2 --runc-root "$CTRD_RUNC_ROOT" ;;
    crun) printf '%s\n' --runtime io.containerd.runc.v2 --runc-binary crun --runc-root "$CTRD_CRUN_ROOT" ;;
    *) echo "ctr_runtime_flags: unknown runtime '$1'" >&2; return 1 ;;
  esac
}

cctr_run() {
  local rt=$1; shift
  local -a flags
  mapfile -t flags < <(ctr_runtime_flags "$rt") && ((${#flags[@]})) || return 1
  # ctr gives a --rootfs container no PATH at all (only HOME): supply the usual one; a
  # later --env PATH=... from the caller wins.
  cctr run --fifo-dir "$CTRD_FIFO" "${flags[@]}" --env "PATH=$CTRD_DEFAULT_PATH" "$@"
}

containerd_log() { echo "${CTRD_LOG:-}"; }

# ctrd_shim_address BUNDLE: the address its shim published: the shim's own `address` file,
# else the `bootstrap.json` containerd 2.x writes (the 2.x runc shim writes no `address`).
ctrd_shim_address() {
  local a
  if [[ -f $1/address ]]; then
    a=$(<"$1/address")
  elif [[ -f $1/bootstrap.json ]]; then
    a=$(sed -n 's/.*"address" *: *"\([^"]*\)".*/\1/p' "$1/bootstrap.json")
  fi
  [[ -n ${a:-} ]] && echo "$a"
}
containerd_log_tail() { [[ -f ${CTRD_LOG:-} ]] && tail -n "${1:-40}" "$CTRD_LOG"; }

busybox_rootfs() {  # busybox_rootfs DIR
  local dir=$1 bb
  bb=$(command -v busybox) || { echo "busybox_rootfs: busybox not installed" >&2; return 1; }
  ! ldd "$bb" >/dev/null 2>&1 ||
    { echo "busybox_rootfs: $bb is dynamically linked (install busybox-static)" >&2; return 1; }
  mkdir -p "$dir"/{bin,dev,etc,proc,sys,tmp,root} || return 1
  chmod 1777 "$dir/tmp"
  cp "$bb" "$dir/bin/busybox" || return 1   # a copy: a container may write its rootfs
  # Every applet as a hard link to that copy, in one process (links resolve inside the
  # container, unlike `--install -s`, whose symlinks name the host path).
  "$dir/bin/busybox" --install "$dir/bin" || return 1
  echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
  echo 'root:x:0:' >"$dir/etc/group"
}

# ---------------------------------------------------------------- stop

# wait_bounded SECS SIGNAL PID: waits for PID, a child of this shell, sending it SIGNAL if
# it is still there after SECS; returns PID's status. `wait PID` returns the status of a
# child that ended before the call too (`wait -n` does not: it then sat out the whole
# deadline, 10 s in about one containerd_stop of four). The deadline is a watchdog job made
# with job control on, so that it has a process group of its own: killing that group ends
# the watchdog and its sleep together, wherever the watchdog is, and nothing outlives the
# call. (A test killed by its timeout leaves the watchdog for at most SECS.) The watchdog
# is a bash of its own, not a subshell, and is ended with SIGKILL: an asynchronous subshell
# keeps the caller's EXIT trap (so does the watchdog's fork until its exec), and a test's
# trap (containerd_stop, harness_cleanup) run by the watchdog as it ended tore the test
# down under it. PID must be this shell's own child: in $(...), `wait` returns at once,
# having waited for nothing.
wait_bounded() {
  local secs=$1 sig=$2 pid=$3 dog st had_m=0
  [[ $- == *m* ]] && had_m=1
  set -m
  bash -c 'sleep "$1" && kill -"$2" "$3"' wait_bounded "$secs" "$sig" "$pid" 2>/dev/null &
  dog=$!
  ((had_m)) || set +m
  wait "$pid" 2>/dev/null; st=$?
  kill -KILL -- -"$dog" 2>/dev/null; wait "$dog" 2>/dev/null
  return "$st"
}

# Live pids of everything belonging to the private containerd: containerd itself, every
# process carrying its marker environment (the shims inherit containerd's environment),
# every process naming its socket on the command line, and all their descendants
# (containers, including runc/crun containers that do not carry the marker).
containerd_pids() {
  [[ -n ${CTRD_DIR:-} ]] || return 0
  local p pid ppid state rest
  local -A parent=() mine=()
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    read -r rest 2>/dev/null <"$p/stat" || continue
    rest=${rest##*) }; state=${rest%% *}; rest=${rest#* }; ppid=${rest%% *}
    [[ $state == Z ]] && continue
    parent[$pid]=$ppid
  done
  [[ -n ${CTRD_PID:-} && -n ${parent[$CTRD_PID]:-} ]] && mine[$CTRD_PID]=1
  # One grep each over all processes: an environment entry / an argument, NUL-separated.
  for p in $(grep -lzxF "RTEST_CTRD=$CTRD_DIR" /proc/[0-9]*/environ 2>/dev/null) \
           $(grep -lzxF -- "$CTRD_SOCK" /proc/[0-9]*/cmdline 2>/dev/null); do
    p=${p#/proc/}; p=${p%%/*}
    [[ -n ${parent[$p]:-} ]] && mine[$p]=1
  done
  local changed=1
  while ((changed)); do   # close over descendants
    changed=0
    for pid in "${!parent[@]}"; do
      [[ -z ${mine[$pid]:-} && -n ${mine[${parent[$pid]}]:-} ]] && { mine[$pid]=1; changed=1; }
    done
  done
  unset "mine[$$]" "mine[$BASHPID]"
  ((${#mine[@]})) && printf '%s\n' "${!mine[@]}"
  return 0
}

# Mount points under DIR in the host's mount namespace, deepest first.
_ctrd_mounts_under() {
  awk -v d="$1" '{ m = $5; gsub(/\\040/, " ", m); if (m == d || index(m, d "/") == 1) print m }' \
    /proc/self/mountinfo | sort -r
}

# remove_overlay_root: drops every overlay group under $REAPER_OVERLAY_ROOT (their
# namespaces are bind mounts and their layers tmpfs mounts), then the root's own mounts
# (it may be a private mount of its own). For benchmarks' cleanup; the directory stays.
remove_overlay_root() {
  local g
  for g in "$REAPER_OVERLAY_ROOT"/*/; do
    [[ -d $g ]] || continue
    g=${g%/}; g=${g##*/}
    "$REAPER" overlay rm "$g" >/dev/null 2>&1 ||
      { umount -l "$REAPER_OVERLAY_ROOT/$g/mnt"; umount -l "$REAPER_OVERLAY_ROOT/$g/layers"; } 2>/dev/null
  done
  while mountpoint -q "$REAPER_OVERLAY_ROOT" 2>/dev/null; do umount -l "$REAPER_OVERLAY_ROOT" || break; done
}

containerd_stop() {
  [[ -n ${CTRD_DIR:-} && -d ${CTRD_DIR:-/nonexistent} ]] || { CTRD_PID=""; return 0; }
  local pid pids n root id m sock

  # 1. containerd: SIGTERM, SIGKILL after 10 s.
  if [[ -n ${CTRD_PID:-} ]] && kill -0 "$CTRD_PID" 2>/dev/null; then
    if jobs -p | grep -qx "$CTRD_PID"; then
      kill -TERM "$CTRD_PID" 2>/dev/null
      wait_bounded 10 KILL "$CTRD_PID"
    else
      kill -TERM "$CTRD_PID" 2>/dev/null
      # Not our child (started from another shell): wait for it the slow way.
      n=0
      while kill -0 "$CTRD_PID" 2>/dev/null && ((n++ < 200)); do sleep 0.05; done
      kill -0 "$CTRD_PID" 2>/dev/null && kill -KILL "$CTRD_PID" 2>/dev/null
    fi
  fi
  CTRD_PID=""

  # 2. Containers in the private runc/crun roots (<root>/<namespace>/<id>), then every
  #    remaining shim and descendant.
  #    (/run/containerd/runc/<ns> is the runc shim's default root, should a shim run
  #    without our Root option.)
  for root in "$CTRD_RUNC_ROOT"/* "$CTRD_CRUN_ROOT"/* "/run/containerd/runc/$CTRD_NS"; do
    [[ -d $root ]] || continue
    for id in "$root"/*; do
      [[ -d $id ]] || continue
      case $root in
        "$CTRD_CRUN_ROOT"/*) crun --root "$root" delete --force "${id##*/}" >/dev/null 2>&1 ;;
        *) runc --root "$root" delete --force "${id##*/}" >/dev/null 2>&1 ;;
      esac
    done
  done
  mapfile -t pids < <(containerd_pids)
  ((${#pids[@]})) && kill -KILL "${pids[@]}" 2>/dev/null
  # They are not our children: wait (bounded) until they are gone or zombies for init.
  for ((n = 0; n < 100; n++)); do
    mapfile -t pids < <(containerd_pids)
    ((${#pids[@]})) || break
    kill -KILL "${pids[@]}" 2>/dev/null
    sleep 0.05
  done
  ((${#pids[@]})) && echo "containerd_stop: processes survived SIGKILL: ${pids[*]}" >&2

  # 3. Shim sockets live in the shared /run/containerd/s: remove the ones our bundles name.
  for m in "$CTRD_STATE"/io.containerd.runtime.v2.task/*/*/; do
    sock=$(ctrd_shim_address "$m") || continue
    sock=${sock#unix://}
    [[ $sock == /run/containerd/s/* ]] && rm -f "$sock"
  done
  if ! ((${_ctrd_had_run_containerd:-1})); then
    rmdir /run/containerd/s /run/containerd/fifo /run/containerd/runc/"$CTRD_NS" \
      /run/containerd/runc /run/containerd 2>/dev/null
  else
    rmdir /run/containerd/runc/"$CTRD_NS" 2>/dev/null
  fi

  # 4. Mounts under the private dirs (host namespace; the private namespace died with its
  #    last process), cgroups named after our namespace, then the directories.
  while read -r m; do
    [[ -n $m ]] && { umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; }
  done < <(_ctrd_mounts_under "$CTRD_DIR")
  for m in /sys/fs/cgroup/*/"$CTRD_NS"; do
    [[ -d $m ]] && find "$m" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  if [[ -n $(_ctrd_mounts_under "$CTRD_DIR") ]]; then
    echo "containerd_stop: still mounted, not removing $CTRD_DIR:" >&2
    _ctrd_mounts_under "$CTRD_DIR" >&2
    return 1
  fi
  rm -rf --one-file-system "$CTRD_DIR"
  return 0
}
