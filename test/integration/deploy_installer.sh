# Tests of the node installer (deploy/installer/install.sh) against scratch roots with
# each kind of containerd config.toml, run by the static busybox's sh with only busybox
# applets on PATH (what the installer image has). The restart and label commands are
# replaced by a recorder. The last tests let the real containerd 1.6 validate and load
# what the installer wrote.
# test-timeout: 180

_bb_setup() {
  ROOT=$TEST_TMP/root BB=$TEST_TMP/bb CALLS=$TEST_TMP/calls
  mkdir -p "$ROOT" "$BB"
  busybox --install -s "$BB" || fail "busybox --install"
  printf '#!%s/sh\necho "$*" >>%s\n' "$BB" "$CALLS" >"$TEST_TMP/rec"
  # The node's mount namespace for a fake root: systemctl is recorded, a node binary runs
  # from under the root, with the test's own overlay root and node config.
  printf '#!%s/sh\ncase $1 in\n  systemctl) echo "nsenter $*" >>%s ;;\n  *) p=$1; shift; exec env REAPER_OVERLAY_ROOT=%s REAPER_CONFIG=%s "${IROOT:-%s}$p" "$@" ;;\nesac\n' \
    "$BB" "$CALLS" "$REAPER_OVERLAY_ROOT" "$REAPER_CONFIG" "$ROOT" >"$TEST_TMP/hostexec"
  chmod +x "$TEST_TMP/rec" "$TEST_TMP/hostexec"
  : >"$CALLS"
}

# inst ARGS...: the installer under busybox, recorder for restart and label.
inst() {
  # shellcheck disable=SC2086  # INST_ENV holds VAR=value words
  env -i PATH="$BB" TMPDIR="$TEST_TMP" NODE_NAME="${NODE-node-1}" \
    REAPER_INSTALL_RESTART_CMD="$TEST_TMP/rec restart" REAPER_INSTALL_LABEL_CMD="$TEST_TMP/rec label" \
    REAPER_INSTALL_CONTAINERD_CMD="${CTRD_CMD:-none}" REAPER_INSTALL_HOST_EXEC="$TEST_TMP/hostexec" ${INST_ENV:-} \
    "$BB/sh" "$TOP/deploy/installer/install.sh" --root "${IROOT:-$ROOT}" --binary "${IBIN:-$REAPER}" "$@"
}

# Every path under DIR with its type, mode, link target and content digest.
snapshot() {
  (cd "$1" && find . -printf '%p %y %m %l\n' | sort &&
    find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

calls() { cat "$CALLS"; }

# Runs install (or anything) that must fail with MESSAGE and leave ROOT exactly as it was.
expect_refused() {  # expect_refused MESSAGE ARGS...
  local msg=$1 before; shift
  before=$(snapshot "$ROOT")
  : >"$CALLS"
  capture inst "$@"
  assert_ne 0 "$rc" "status of: $* (stdout: $out)"
  assert_contains "$err" "$msg" "stderr of: $*"
  assert_eq "$before" "$(snapshot "$ROOT")" "root after refused: $*"
  assert_eq "" "$(calls)" "restart/label calls after refused: $*"
}

# The cycle every config kind must pass: install, install again (changes nothing),
# uninstall (back to the exact tree of before). Leaves $after1 (the tree after install).
install_cycle() {
  local before
  before=$(snapshot "$ROOT")
  : >"$CALLS"
  capture inst install
  assert_eq 0 "$rc" "install (stderr: $err)"
  assert_eq $'restart\nlabel node-1 reaper.runtime/installed=true' "$(calls)" "calls of install"
  check_binary
  after1=$(snapshot "$ROOT")
  : >"$CALLS"
  capture inst install
  assert_eq 0 "$rc" "second install (stderr: $err)"
  assert_eq "$after1" "$(snapshot "$ROOT")" "tree after a second install"
  assert_eq "label node-1 reaper.runtime/installed=true" "$(calls)" "second install must not restart"
  assert_contains "$out" "already as needed"
  REAPER_INSTALL_DOCTOR=0 "$BB/sh" "$TOP/deploy/installer/install.sh" --root "$ROOT" status >/dev/null ||
    fail "status after install"
  check_extra_before_uninstall
  : >"$CALLS"
  capture inst uninstall
  assert_eq 0 "$rc" "uninstall (stderr: $err)"
  assert_eq $'label node-1 reaper.runtime/installed-\nrestart' "$(calls)" "calls of uninstall"
  assert_eq "$before" "$(snapshot "$ROOT")" "tree after uninstall"
  capture inst uninstall
  assert_eq 0 "$rc" "second uninstall"
  assert_contains "$out" "not installed"
}
check_extra_before_uninstall() { :; }

check_binary() {
  local b=$ROOT/usr/local/bin n
  cmp -s "$REAPER" "$b/reaper" || fail "installed binary differs"
  [[ -x $b/reaper ]] || fail "binary not executable"
  # Exactly the personalities of src/main.cpp, as relative links.
  local want
  want=$(sed -n 's/^ *{"\([a-z0-9-]*\)", reaper::.*/\1/p' "$TOP/src/main.cpp" | grep -v '^reaper$' | sort)
  [[ -n $want ]] || fail "no personalities read from src/main.cpp"
  assert_eq "$want" "$(cd "$b" && find . -type l -printf '%f\n' | sort)" "links"
  for n in $want; do
    assert_eq reaper "$(readlink "$b/$n")" "link $n"
  done
  assert_contains "$("$b/reaper-runtime" --version 2>&1)" "reaper" "version through a link"
}

# The handler table of a deploy/ file (header to end), as the fixture reads it.
handler_table() { sed -n '/^\[plugins\..*\.containerd\.runtimes\.reaper-v2\]/,$p' "$TOP/deploy/containerd/$1"; }

# A containerd 1.6 config configuring the CRI plugin, the way Debian ships it.
debian_config() {
  cat <<'EOF'
version = 2

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.internal.v1.opt"]
    path = "/var/lib/containerd/opt"
EOF
}

test_installer_v2_with_cri_section_gets_marker_block() {
  _bb_setup
  mkdir -p "$ROOT/etc/containerd"
  debian_config >"$ROOT/etc/containerd/config.toml"
  printf 'no newline at the end' >"$ROOT/etc/containerd/notes"   # untouched neighbour
  check_extra_before_uninstall() {
    local cfg=$ROOT/etc/containerd/config.toml block
    assert_eq "$(debian_config)" "$(sed '/^# BEGIN reaper-installer/,$d' "$cfg")" "config.toml before the block"
    block=$(sed -n '/^# BEGIN reaper-installer/,/^# END reaper-installer/p' "$cfg")
    assert_contains "$block" $'[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"'
    assert_contains "$block" "$(handler_table reaper-v2.toml)" "the deploy/ handler table, verbatim"
    assert_eq "# END reaper-installer" "$(tail -n 1 "$cfg")" "block is last"
    assert_no_file "$ROOT/etc/containerd/conf.d"
    assert_file "$ROOT/etc/reaper/installer/config.toml.orig"
    cmp -s <(debian_config) "$ROOT/etc/reaper/installer/config.toml.orig" || fail "backup differs from the original"
  }
  install_cycle
}

test_installer_v2_with_runc_and_no_final_newline() {
  _bb_setup
  mkdir -p "$ROOT/etc/containerd"
  printf '%s' 'version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    SystemdCgroup = true' >"$ROOT/etc/containerd/config.toml"
  chmod 0600 "$ROOT/etc/containerd/config.toml"
  check_extra_before_uninstall() {
    local cfg=$ROOT/etc/containerd/config.toml
    assert_eq 1 "$(grep -c 'runtimes.runc\]' "$cfg")" "runc table count (config.toml has its own)"
    assert_contains "$(cat "$cfg")" $'SystemdCgroup = true\n# BEGIN reaper-installer'
    assert_eq 600 "$(stat -c %a "$cfg")" "mode kept"
  }
  install_cycle
}

test_installer_v2_without_cri_gets_complete_dropin() {
  _bb_setup
  mkdir -p "$ROOT/etc/containerd"
  cat >"$ROOT/etc/containerd/config.toml" <<'EOF'
# site config
version = 2
root = "/var/lib/containerd"

[grpc]
  address = "/run/containerd/containerd.sock"
EOF
  check_extra_before_uninstall() {
    local cfg=$ROOT/etc/containerd/config.toml d=$ROOT/etc/containerd/conf.d/reaper.toml
    assert_eq $'# site config\nversion = 2\nimports = ["/etc/containerd/conf.d/reaper.toml"]' \
      "$(head -n 3 "$cfg")" "import line after version"
    assert_file "$d"
    assert_contains "$(cat "$d")" $'version = 2\n'
    assert_contains "$(cat "$d")" $'[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"'
    assert_contains "$(cat "$d")" "$(handler_table reaper-v2.toml)"
  }
  install_cycle
}

test_installer_v2_existing_imports_line_is_extended_and_restored() {
  _bb_setup
  mkdir -p "$ROOT/etc/containerd"
  printf 'version = 2\nimports = ["/etc/containerd/site.toml"]   # site\n' >"$ROOT/etc/containerd/config.toml"
  printf 'version = 2\n[debug]\n  level = "info"\n' >"$ROOT/etc/containerd/site.toml"
  check_extra_before_uninstall() {
    assert_eq 'imports = ["/etc/containerd/site.toml", "/etc/containerd/conf.d/reaper.toml"]' \
      "$(sed -n 2p "$ROOT/etc/containerd/config.toml")" "extended imports line"
  }
  install_cycle
  # An imported file that configures CRI: a drop-in would fight it; refused.
  printf 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "x/pause:1"\n' \
    >"$ROOT/etc/containerd/site.toml"
  expect_refused "configures the CRI plugin" install
}

test_installer_v3_dropin_and_glob_import() {
  _bb_setup
  mkdir -p "$ROOT/etc/containerd"
  printf 'version = 3\nimports = ["/etc/containerd/conf.d/*.toml"]\n\n[plugins."io.containerd.cri.v1.images".pinned_images]\n  sandbox = "x/pause:1"\n' \
    >"$ROOT/etc/containerd/config.toml"
  check_extra_before_uninstall() {
    local d=$ROOT/etc/containerd/conf.d/reaper.toml
    assert_eq "$(printf 'version = 3\nimports = ["/etc/containerd/conf.d/*.toml"]\n\n[plugins."io.containerd.cri.v1.images".pinned_images]\n  sandbox = "x/pause:1"')" \
      "$(cat "$ROOT/etc/containerd/config.toml")" "config.toml untouched: the glob imports the drop-in"
    assert_contains "$(cat "$d")" $'version = 3\n'
    assert_contains "$(cat "$d")" "$(handler_table reaper-v3.toml)"
    assert_not_contains "$(cat "$d")" "io.containerd.grpc.v1.cri"
  }
  install_cycle
  # Without an imports line, one is added after the version line.
  printf 'version = 3\n' >"$ROOT/etc/containerd/config.toml"
  check_extra_before_uninstall() {
    assert_eq $'version = 3\nimports = ["/etc/containerd/conf.d/reaper.toml"]' \
      "$(cat "$ROOT/etc/containerd/config.toml")" "import added"
  }
  install_cycle
}

test_installer_without_config_creates_one() {
  _bb_setup
  check_extra_before_uninstall() {
    local cfg=$ROOT/etc/containerd/config.toml
    assert_contains "$(cat "$cfg")" $'version = 2\nimports = ["/etc/containerd/conf.d/reaper.toml"]'
    assert_contains "$(cat "$ROOT/etc/containerd/conf.d/reaper.toml")" "runtimes.runc]"
  }
  install_cycle
  assert_eq "" "$(ls -A "$ROOT")" "root empty again"
}

test_installer_reaper_conf_installed_and_restored() {
  _bb_setup
  mkdir -p "$ROOT/etc/containerd" "$ROOT/etc/reaper"
  debian_config >"$ROOT/etc/containerd/config.toml"
  echo 'REAPER_DNS_MODE=host' >"$ROOT/etc/reaper/reaper.conf"
  printf 'REAPER_OVERLAY_GROUPS=node\nREAPER_DNS_MODE=kubernetes\n' >"$TEST_TMP/reaper.conf.new"
  echo 'REAPER_DNS_MODE=sideways' >"$TEST_TMP/bad.conf"
  expect_refused "not valid" --reaper-conf "$TEST_TMP/bad.conf" install
  # A misspelt key is refused too, with its file:line (reaper config check).
  printf 'REAPER_DNS_MODE=host\nREAPER_BOGUS=1\n' >"$TEST_TMP/typo.conf"
  expect_refused "$TEST_TMP/typo.conf:2: unknown setting \"REAPER_BOGUS\" ignored" --reaper-conf "$TEST_TMP/typo.conf" install
  check_extra_before_uninstall() {
    cmp -s "$TEST_TMP/reaper.conf.new" "$ROOT/etc/reaper/reaper.conf" || fail "reaper.conf not installed"
  }
  INST_ENV="REAPER_INSTALL_REAPER_CONF=$TEST_TMP/reaper.conf.new" install_cycle
  assert_eq "REAPER_DNS_MODE=host" "$(cat "$ROOT/etc/reaper/reaper.conf")" "old reaper.conf restored"
}

test_installer_bad_input_changes_nothing() {
  _bb_setup
  mkdir -p "$ROOT/etc/containerd" "$ROOT/usr/local/bin"
  debian_config >"$ROOT/etc/containerd/config.toml"
  expect_refused "unknown argument 'frobnicate'" frobnicate
  expect_refused "no verb"
  expect_refused "needs a value" --root
  IBIN=$TEST_TMP/missing expect_refused "not found" install
  IBIN=/bin/true expect_refused "is not reaper" install
  expect_refused "must be an absolute path" --bin-dir usr/bin install
  expect_refused "is not a directory" --root "$TEST_TMP/nope" install
  printf 'version = "two"\n' >"$ROOT/etc/containerd/config.toml"
  expect_refused "cannot read 'version" install
  printf 'version = 7\n' >"$ROOT/etc/containerd/config.toml"
  expect_refused "config version 7" install
  printf '[plugins.cri]\n  sandbox_image = "x/pause:1"\n' >"$ROOT/etc/containerd/config.toml"
  expect_refused "config version 1" install
  printf 'version = 2\nimports = [\n  "/etc/x.toml",\n]\n' >"$ROOT/etc/containerd/config.toml"
  expect_refused "spans several lines" install
  debian_config >"$ROOT/etc/containerd/config.toml"
  echo foreign >"$ROOT/usr/local/bin/reaper-runtime"
  expect_refused "was not installed by this installer" install
  rm "$ROOT/usr/local/bin/reaper-runtime"
  # Uninstall refuses while the node still runs reaper containers.
  capture inst install
  assert_eq 0 "$rc" "install (stderr: $err)"
  mkdir -p "$ROOT/run/reaper/k8s.io/c1" && echo '{}' >"$ROOT/run/reaper/k8s.io/c1/state.json"
  expect_refused "still have state" uninstall
  rm -r "$ROOT/run"
  capture inst uninstall
  assert_eq 0 "$rc" "uninstall (stderr: $err)"
  cmp -s <(debian_config) "$ROOT/etc/containerd/config.toml" || fail "config not restored"
}

# ------------------------------------------------------------------ real containerd 1.6
# The installer on ROOT=/ with every path under TEST_TMP, so the real containerd reads the
# very files the installer wrote (the installer validates with it too).
_real_setup() {
  _bb_setup
  command -v containerd >/dev/null || fail "containerd not installed"
  N=$TEST_TMP/node IROOT=/ CTRD_CMD=/usr/bin/containerd
  mkdir -p "$N/etc/containerd"
  CFG=$N/etc/containerd/config.toml
}
real_inst() { inst --bin-dir "$N/bin" --config "$CFG" --confd "$N/etc/containerd/conf.d" "$@"; }
INST_STATE() {
  echo "REAPER_INSTALL_STATE_DIR=$N/state REAPER_INSTALL_SHIM_ROOT=$N/run/reaper REAPER_OVERLAY_ROOT=$REAPER_OVERLAY_ROOT REAPER_CONFIG=$REAPER_CONFIG"
}

# The merged config must have reaper-v2 (the deploy/ keys) and runc.
check_dump() {  # check_dump DUMPFILE
  grep -qF '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.reaper-v2]' "$1" || fail "no reaper-v2 in dump"
  grep -qF '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]' "$1" || fail "no runc in dump"
  local sect
  sect=$(sed -n '/runtimes\.reaper-v2\]/,/^ *$/p' "$1")
  assert_contains "$sect" 'runtime_type = "io.containerd.reaper.v2"' "reaper-v2 runtime_type"
  assert_contains "$sect" 'pod_annotations = ["reaper.runtime/*"]' "reaper-v2 pod_annotations"
  assert_contains "$sect" 'container_annotations = ["reaper.runtime/*"]' "reaper-v2 container_annotations"
}

# Starts containerd with CONFIG (private root/state/socket are in the config) and waits
# for its CRI plugin, reading its log as it is written. Sets CPID, CLOG.
start_containerd() {
  CLOG=$TEST_TMP/containerd.log
  containerd --config "$1" </dev/null >"$CLOG" 2>&1 &
  CPID=$!
  local fd tp line ok=0
  exec {fd}< <(exec tail -n +1 -F --pid="$CPID" "$CLOG" 2>/dev/null)
  tp=$!
  while IFS= read -r -t 30 -u "$fd" line; do
    [[ $line == *"failed to load plugin io.containerd.grpc.v1.cri"* || $line == *level=fatal* ]] && break
    [[ $line == *"containerd successfully booted"* ]] && { ok=1; break; }
  done
  kill "$tp" 2>/dev/null; exec {fd}<&-; wait "$tp" 2>/dev/null
  ((ok)) || { tail -n 20 "$CLOG" >&2; return 1; }
}
stop_containerd() {
  [[ -n ${CPID:-} ]] || return 0
  kill -TERM "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
  CPID=""
}

test_installer_real_containerd_loads_inline_block() {
  _real_setup
  trap 'stop_containerd; harness_cleanup' EXIT
  local c=$TEST_TMP/c
  mkdir -p "$c/cni/bin" "$c/cni/conf"
  # A node config with its own CRI section (private dirs, so it can really be started).
  cat >"$CFG" <<EOF
version = 2
root = "$c/root"
state = "$c/state"
oom_score = 0

[grpc]
  address = "$c/c.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/rtest/pause:v1"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$c/cni/bin"
    conf_dir = "$c/cni/conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
EOF
  cp "$CFG" "$TEST_TMP/orig.toml"
  containerd --config "$CFG" config dump >"$TEST_TMP/dump0" || fail "original config does not load"
  INST_ENV=$(INST_STATE) capture real_inst install
  assert_eq 0 "$rc" "install (stderr: $err)"
  assert_contains "$out" "containerd accepts the new configuration"
  assert_contains "$out" "v2-inline"
  containerd --config "$CFG" config dump >"$TEST_TMP/dump1" || fail "installed config does not load"
  check_dump "$TEST_TMP/dump1"
  # Nothing else changed in the merged config: what the original had is still there
  # (runc's default options print as zero values there and not at all here).
  local lost
  lost=$(diff "$TEST_TMP/dump0" "$TEST_TMP/dump1" | grep '^<' | grep -vE '^< +[A-Za-z]+ = (""|0|false)$' || true)
  assert_eq "" "$lost" "settings lost by the install"
  # The real thing: containerd starts with it and its CRI plugin loads with both runtimes.
  start_containerd "$CFG" || fail "containerd did not start with the installed config"
  capture ctr --address "$c/c.sock" plugins ls
  assert_contains "$(grep -E '^io\.containerd\.grpc\.v1 +cri ' <<<"$out")" " ok" "cri plugin"
  grep -q 'reaper-v2:{Type:io.containerd.reaper.v2' "$CLOG" || fail "CRI config in the log lacks reaper-v2"
  grep -q 'runc:{Type:io.containerd.runc.v2' "$CLOG" || fail "CRI config in the log lacks runc"
  stop_containerd
  INST_ENV=$(INST_STATE) capture real_inst uninstall
  assert_eq 0 "$rc" "uninstall (stderr: $err)"
  cmp -s "$TEST_TMP/orig.toml" "$CFG" || fail "config.toml not byte-identical after uninstall"
  assert_no_file "$N/bin"
  assert_no_file "$N/state"
}

test_installer_real_containerd_validates_dropins() {
  _real_setup
  # v2 without CRI settings: the complete CRI drop-in.
  printf 'version = 2\noom_score = 0\n' >"$CFG"
  INST_ENV=$(INST_STATE) capture real_inst install
  assert_eq 0 "$rc" "install v2 without CRI (stderr: $err)"
  assert_contains "$out" "containerd accepts the new configuration"
  containerd --config "$CFG" config dump >"$TEST_TMP/dump" || fail "config dump"
  check_dump "$TEST_TMP/dump"
  grep -qF "$N/etc/containerd/conf.d/reaper.toml" "$TEST_TMP/dump" || fail "drop-in not among the imported files"
  INST_ENV=$(INST_STATE) capture real_inst uninstall
  assert_eq 0 "$rc" "uninstall"
  assert_eq $'version = 2\noom_score = 0' "$(cat "$CFG")" "config after uninstall"
  # No config.toml at all: one is created (version 2 for containerd 1.6).
  rm "$CFG"
  INST_ENV=$(INST_STATE) capture real_inst install
  assert_eq 0 "$rc" "install without config (stderr: $err)"
  containerd --config "$CFG" config dump >"$TEST_TMP/dump" || fail "config dump"
  check_dump "$TEST_TMP/dump"
  INST_ENV=$(INST_STATE) capture real_inst uninstall
  assert_no_file "$CFG"
}

test_installer_real_containerd_refusal_changes_nothing() {
  _real_setup
  # containerd loads this (runtimes as an inline table), but a runc table added after it
  # would redefine it: the installer's validation must refuse and leave no trace.
  cat >"$CFG" <<'EOF'
version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
  runtimes = { crun = { runtime_type = "io.containerd.runc.v2" } }
  default_runtime_name = "crun"
EOF
  containerd --config "$CFG" config dump >/dev/null 2>&1 || fail "test config should load"
  local before
  before=$(snapshot "$TEST_TMP/node")
  INST_ENV=$(INST_STATE) capture real_inst install
  assert_ne 0 "$rc" "install must be refused"
  assert_contains "$err" "containerd rejects the new configuration"
  assert_eq "$before" "$(snapshot "$TEST_TMP/node")" "node tree after refusal"
  assert_eq "" "$(calls)" "no restart, no label"
  # A config containerd cannot read at all is refused before anything is planned.
  printf 'version = 2\n[plugins\n' >"$CFG"
  before=$(snapshot "$TEST_TMP/node")
  INST_ENV=$(INST_STATE) capture real_inst install
  assert_ne 0 "$rc" "broken config must be refused"
  assert_contains "$err" "containerd cannot read the current"
  assert_eq "$before" "$(snapshot "$TEST_TMP/node")" "node tree after refusal"
}

# ------------------------------------------------------------------ k3s, RKE2, k0s
# Fake node roots laid out as each distribution lays out its containerd; the restart
# command is the installer's own default (HOST_EXEC systemctl restart UNIT) with the
# test's HOST_EXEC (busybox's sh runs its own nsenter applet whatever PATH says).
flavor_inst() {
  # shellcheck disable=SC2086  # INST_ENV holds VAR=value words
  env -i PATH="$BB" TMPDIR="$TEST_TMP" NODE_NAME=node-1 REAPER_INSTALL_HOST_EXEC="$TEST_TMP/hostexec" \
    REAPER_INSTALL_LABEL_CMD="$TEST_TMP/rec label" ${INST_ENV:-} \
    "$BB/sh" "$TOP/deploy/installer/install.sh" --root "$ROOT" --binary "$REAPER" "$@"
}

# install, install again (no change), uninstall (the tree of before), with UNIT restarted.
flavor_cycle() {  # flavor_cycle UNIT
  local before after1
  before=$(snapshot "$ROOT")
  : >"$CALLS"
  capture flavor_inst install
  assert_eq 0 "$rc" "install (stderr: $err)"
  assert_eq $'nsenter systemctl restart '"$1"$'\nlabel node-1 reaper.runtime/installed=true' "$(calls)" "calls of install"
  check_binary
  check_extra_before_uninstall
  after1=$(snapshot "$ROOT")
  : >"$CALLS"
  capture flavor_inst install
  assert_eq 0 "$rc" "second install (stderr: $err)"
  assert_eq "$after1" "$(snapshot "$ROOT")" "tree after a second install"
  assert_eq "label node-1 reaper.runtime/installed=true" "$(calls)" "second install must not restart"
  : >"$CALLS"
  capture flavor_inst uninstall
  assert_eq 0 "$rc" "uninstall (stderr: $err)"
  assert_eq $'label node-1 reaper.runtime/installed-\nnsenter systemctl restart '"$1" "$(calls)" "calls of uninstall"
  assert_eq "$before" "$(snapshot "$ROOT")" "tree after uninstall"
}

k3s_generated() {  # a config.toml as k3s generates it (the parts that matter here)
  printf '# File generated by k3s. DO NOT EDIT. Use config.toml.tmpl instead.\nversion = %s\n\n[plugins."%s".containerd]\n  snapshotter = "overlayfs"\n' \
    "$1" "$( [[ $1 == 3 ]] && echo io.containerd.cri.v1.runtime || echo io.containerd.grpc.v1.cri)"
}

test_installer_k3s_server_template_created_and_removed() {
  _bb_setup
  local d=$ROOT/var/lib/rancher/k3s/agent/etc/containerd
  mkdir -p "$d" "$ROOT/etc/systemd/system/multi-user.target.wants"
  k3s_generated 2 >"$d/config.toml"
  echo '[Unit]' >"$ROOT/etc/systemd/system/k3s.service"
  ln -s /etc/systemd/system/k3s.service "$ROOT/etc/systemd/system/multi-user.target.wants/k3s.service"
  check_extra_before_uninstall() {
    local t=$d/config.toml.tmpl
    assert_eq '{{ template "base" . }}' "$(head -n 1 "$t")" "template extends k3s's base"
    assert_contains "$(cat "$t")" "$(handler_table reaper-v2.toml)" "the v2 handler table"
    assert_eq "# END reaper-installer" "$(tail -n 1 "$t")"
    assert_no_file "$d/config-v3.toml.tmpl"
    cmp -s <(k3s_generated 2) "$d/config.toml" || fail "k3s's generated config.toml was touched"
    assert_no_file "$ROOT/etc/containerd"
    assert_contains "$(flavor_inst status)" "k3s"
  }
  flavor_cycle k3s
  assert_no_file "$d/config.toml.tmpl"
}

test_installer_k3s_agent_containerd2_and_existing_template() {
  _bb_setup
  local d=$ROOT/var/lib/rancher/k3s/agent/etc/containerd
  mkdir -p "$d" "$ROOT/etc/systemd/system"
  k3s_generated 3 >"$d/config.toml"
  echo '[Unit]' >"$ROOT/etc/systemd/system/k3s-agent.service"
  # The administrator's own template stays theirs: the block is added, then taken out.
  printf '{{ template "base" . }}\n[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.crun]\n  runtime_type = "io.containerd.runc.v2"' \
    >"$d/config-v3.toml.tmpl"
  check_extra_before_uninstall() {
    local t=$d/config-v3.toml.tmpl
    assert_contains "$(cat "$t")" $'runtime_type = "io.containerd.runc.v2"\n# BEGIN reaper-installer'
    assert_contains "$(cat "$t")" "$(handler_table reaper-v3.toml)" "the v3 handler table"
    assert_no_file "$d/config.toml.tmpl"
  }
  flavor_cycle k3s-agent
}

test_installer_rke2_agent_unit_chosen_by_what_is_enabled() {
  _bb_setup
  local d=$ROOT/var/lib/rancher/rke2/agent/etc/containerd u=$ROOT/usr/local/lib/systemd/system
  mkdir -p "$d" "$u" "$ROOT/etc/systemd/system/multi-user.target.wants"
  k3s_generated 2 >"$d/config.toml"
  echo '[Unit]' >"$u/rke2-server.service"; echo '[Unit]' >"$u/rke2-agent.service"
  ln -s /usr/local/lib/systemd/system/rke2-agent.service "$ROOT/etc/systemd/system/multi-user.target.wants/"
  check_extra_before_uninstall() {
    assert_contains "$(cat "$d/config.toml.tmpl")" "$(handler_table reaper-v2.toml)"
  }
  flavor_cycle rke2-agent
}

test_installer_k0s_dropin() {
  _bb_setup
  mkdir -p "$ROOT/etc/k0s/containerd.d" "$ROOT/etc/systemd/system"
  printf '# k0s_managed=true\nversion = 2\nimports = ["/run/k0s/containerd-cri.toml", "/etc/k0s/containerd.d/*.toml"]\n' \
    >"$ROOT/etc/k0s/containerd.toml"
  echo '[Unit]' >"$ROOT/etc/systemd/system/k0sworker.service"
  check_extra_before_uninstall() {
    local f=$ROOT/etc/k0s/containerd.d/reaper.toml
    assert_contains "$(cat "$f")" $'version = 2\n'
    assert_contains "$(cat "$f")" "$(handler_table reaper-v2.toml)"
    assert_eq 1 "$(grep -c 'k0s_managed' "$ROOT/etc/k0s/containerd.toml")" "containerd.toml as k0s wrote it"
  }
  flavor_cycle k0sworker
  # Without k0s's containerd.toml (k0s never started), nothing is done.
  rm "$ROOT/etc/k0s/containerd.toml"
  : >"$CALLS"
  local before
  before=$(snapshot "$ROOT")
  capture flavor_inst --flavor k0s install
  assert_ne 0 "$rc" "k0s without containerd.toml"
  assert_contains "$err" "k0s writes it when it starts"
  assert_eq "$before" "$(snapshot "$ROOT")" "nothing changed"
}

test_installer_flavor_refusals_change_nothing() {
  _bb_setup
  mkdir -p "$ROOT/var/lib/rancher/k3s/agent/etc/containerd"
  local before
  before=$(snapshot "$ROOT")
  capture flavor_inst install
  assert_ne 0 "$rc" "k3s without a unit"
  assert_contains "$err" "none of the units k3s k3s-agent"
  capture flavor_inst --flavor k8s install
  assert_ne 0 "$rc" "unknown flavor"
  assert_contains "$err" "--flavor must be"
  assert_eq "$before" "$(snapshot "$ROOT")" "nothing changed"
}

# ------------------------------------------------------------------ uninstall leaves nothing
# The real thing on ROOT=/ (paths under TEST_TMP): a container run through the installed
# binary makes an overlay group (a tmpfs layer, a namespace bound under the overlay root);
# uninstall removes the group, the root's self-bind, the helpers and the state directories.
test_installer_uninstall_removes_overlay_groups_and_state() {
  _real_setup
  CTRD_CMD=none
  printf 'version = 2\n' >"$CFG"
  INST_ENV=$(INST_STATE) capture real_inst install
  assert_eq 0 "$rc" "install (stderr: $err)"
  make_bundle "$TEST_TMP/b" /bin/sh -c 'echo made >/tmp/reaper-uninstall-test-file'
  "$N/bin/reaper-runtime" --root "$RT_ROOT" run --bundle "$TEST_TMP/b" c1 </dev/null >/dev/null 2>&1 || fail "container run"
  "$N/bin/reaper-runtime" --root "$RT_ROOT" delete --force c1 >/dev/null 2>&1
  assert_contains "$("$REAPER" overlay list)" "node" "a group exists before uninstall"
  mkdir -p "$N/run/reaper/k8s.io"   # the shim's namespace directory, empty once its pods are gone
  INST_ENV=$(INST_STATE) capture real_inst uninstall
  assert_eq 0 "$rc" "uninstall (stderr: $err)"
  assert_contains "$out" "removed node"
  assert_eq "[]" "$("$REAPER" overlay list --json)" "groups after uninstall"
  assert_no_file "$REAPER_OVERLAY_ROOT"
  mountpoint -q "$REAPER_OVERLAY_ROOT" 2>/dev/null && fail "overlay root still mounted"
  grep -q " $REAPER_OVERLAY_ROOT" /proc/self/mountinfo && fail "mounts left under the overlay root"
  [[ -z $(pgrep -f "reaper-overlay hold $REAPER_OVERLAY_ROOT") ]] || fail "hold helpers left"
  assert_no_file "$N/run/reaper"
  assert_no_file "$N/bin"
  assert_no_file "$N/state"
}

# With containers still there and REAPER_INSTALL_FORCE=1, what stays is named, with why.
test_installer_forced_uninstall_says_what_it_kept() {
  _bb_setup
  mkdir -p "$ROOT/etc/containerd"
  debian_config >"$ROOT/etc/containerd/config.toml"
  capture inst install
  assert_eq 0 "$rc" "install (stderr: $err)"
  mkdir -p "$ROOT/run/reaper/k8s.io/c1" && echo '{}' >"$ROOT/run/reaper/k8s.io/c1/state.json"
  INST_ENV=REAPER_INSTALL_FORCE=1 capture inst uninstall
  assert_eq 0 "$rc" "forced uninstall (stderr: $err)"
  assert_contains "$out" "kept /run/reaper: it is not empty"
  assert_file "$ROOT/run/reaper/k8s.io/c1/state.json"
  assert_no_file "$ROOT/usr/local/bin/reaper"
}

# Two runs at once: the second stops before changing anything; a lock whose owner is gone
# is taken over.
test_installer_lock_against_two_runs() {
  _bb_setup
  mkdir -p "$ROOT/etc/containerd" "$ROOT/run/reaper-installer.lock"
  debian_config >"$ROOT/etc/containerd/config.toml"
  sleep 60 & local holder=$!
  echo "$holder" >"$ROOT/run/reaper-installer.lock/pid"
  expect_refused "another install.sh (pid $holder) is running" install
  kill "$holder"; wait "$holder" 2>/dev/null
  capture inst install
  assert_eq 0 "$rc" "install after the holder is gone (stderr: $err)"
  assert_contains "$out" "taking over the lock"
  assert_no_file "$ROOT/run/reaper-installer.lock"
  # The lock is really held during a run: a restart command that runs a second installer.
  capture inst uninstall
  assert_eq 0 "$rc"
  rm -rf "$ROOT/run"
  printf '#!%s/sh\n%s/sh %s --root %s --binary %s status >/dev/null\n%s/sh %s --root %s --binary %s install >%s/inner.out 2>&1\necho "inner $?" >>%s\n' \
    "$BB" "$BB" "$TOP/deploy/installer/install.sh" "$ROOT" "$REAPER" "$BB" "$TOP/deploy/installer/install.sh" "$ROOT" "$REAPER" "$TEST_TMP" "$CALLS" \
    >"$TEST_TMP/inner"
  chmod +x "$TEST_TMP/inner"
  : >"$CALLS"
  env -i PATH="$BB" TMPDIR="$TEST_TMP" REAPER_INSTALL_RESTART_CMD="$TEST_TMP/inner" REAPER_INSTALL_CONTAINERD_CMD=none \
    REAPER_INSTALL_HOST_EXEC="$TEST_TMP/hostexec" "$BB/sh" "$TOP/deploy/installer/install.sh" --root "$ROOT" --binary "$REAPER" install >/dev/null 2>&1 ||
    fail "outer install"
  assert_eq "inner 1" "$(calls)" "the inner run is refused"
  assert_contains "$(cat "$TEST_TMP/inner.out")" "is running on this node"
}

# status tells whether install labelled a node.
test_installer_status_reports_the_label_only_when_set() {
  _bb_setup
  mkdir -p "$ROOT/etc/containerd"
  debian_config >"$ROOT/etc/containerd/config.toml"
  NODE="" capture inst install
  assert_eq 0 "$rc" "install (stderr: $err)"
  assert_contains "$out" "node not labelled"
  capture inst status
  assert_contains "$out" "node label: not set (install had no node name)"
  capture inst install
  capture inst status
  assert_contains "$out" "node label: reaper.runtime/installed=true on node node-1"
}

# status runs the installed `reaper doctor` on the node (through REAPER_INSTALL_HOST_EXEC)
# with where install put the links and the containerd config it changed, and exits with
# its status; REAPER_INSTALL_DOCTOR=0 leaves it out.
test_installer_status_runs_doctor_on_the_node() {
  _bb_setup
  mkdir -p "$ROOT/etc/containerd"
  debian_config >"$ROOT/etc/containerd/config.toml"
  capture inst install
  assert_eq 0 "$rc" "install (stderr: $err)"
  # The node binary runs with a reaper.conf holding a misspelt key: the doctor says so.
  printf 'REAPER_BOGUS=1\n' >"$REAPER_CONFIG"
  capture inst status
  assert_eq 1 "$rc" "status with a failing check (stdout: $out)"
  assert_contains "$out" "installed under $ROOT"
  assert_contains "$out" "reaper doctor on the node:"
  assert_contains "$out" "✔ overlayfs"
  grep -q "^✘ reaper.conf " <<<"$out" || fail "no ✘ reaper.conf in: $out"
  assert_contains "$out" "$REAPER_CONFIG:1: unknown setting \"REAPER_BOGUS\" ignored"
  assert_contains "$out" "check(s) failed"
  # The doctor was asked about the installed links and containerd's config.toml.
  local args
  args=$(INST_ENV=REAPER_INSTALL_HOST_EXEC=$TEST_TMP/rec capture inst status; calls | tail -n 1)
  assert_eq "/usr/local/bin/reaper doctor --bin-dir /usr/local/bin --containerd-config /etc/containerd/config.toml --node node-1" \
    "$args" "the doctor's command line"
  INST_ENV=REAPER_INSTALL_DOCTOR=0 capture inst status
  assert_eq 0 "$rc" "status without the doctor ($err)"
  assert_not_contains "$out" "reaper doctor"
  rm -f "$REAPER_CONFIG"
  capture inst uninstall
  assert_eq 0 "$rc" "uninstall ($err)"
}
