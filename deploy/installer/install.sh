#!/bin/sh
# reaper's node installer: puts the static binary and its personality links on a node,
# registers the reaper-v2 runtime handler with containerd, restarts containerd when its
# configuration changed, and labels the node. `uninstall` undoes exactly that.
# POSIX sh: it runs under the static busybox of the installer image (Containerfile).
#
#   install.sh [OPTIONS] install|uninstall|status
#
# Everything is done below a ROOT directory (the node's / as mounted into the installer
# pod: /host); paths below are the node's own (as containerd sees them).
#
# Options (each also an environment variable; flags win):
#   --root DIR          REAPER_INSTALL_ROOT              /host
#   --binary FILE       REAPER_INSTALL_BINARY            <this script's dir>/bin/reaper
#   --bin-dir DIR       REAPER_INSTALL_BIN_DIR           /usr/local/bin
#   --config FILE       REAPER_INSTALL_CONTAINERD_CONFIG /etc/containerd/config.toml
#   --confd DIR         REAPER_INSTALL_CONFD             /etc/containerd/conf.d
#   --reaper-conf FILE  REAPER_INSTALL_REAPER_CONF       (none): installed as /etc/reaper/reaper.conf
#   --node NAME         NODE_NAME                        (none: the node is not labelled)
#   --flavor F          REAPER_INSTALL_FLAVOR            auto: containerd, k3s, rke2 or k0s,
#                                                        from what the node has (below)
# Environment only:
#   REAPER_INSTALL_STATE_DIR      /etc/reaper/installer: what install did, and backups
#   REAPER_INSTALL_NODE_LABEL     reaper.runtime/installed=true
#   REAPER_INSTALL_LABEL_CMD      "kubectl label --overwrite node": run as CMD NODE KEY=VALUE
#                                 to label, CMD NODE KEY- to unlabel
#   REAPER_INSTALL_RESTART_CMD    how to restart containerd; "none" skips. Default:
#                                 "systemctl restart UNIT" when ROOT is /, else
#                                 "HOST_EXEC systemctl restart UNIT"; UNIT: containerd, or
#                                 the k3s/RKE2/k0s unit enabled on the node
#   REAPER_INSTALL_HOST_EXEC      how to run a command in the node's mount namespace
#                                 (needs the pod's hostPID): "nsenter -t 1 -m --"
#   REAPER_INSTALL_CONTAINERD_CMD how to run the node's containerd to validate a config
#                                 (CMD --config FILE config dump); "none" skips. Default:
#                                 containerd on PATH when ROOT is /, else
#                                 "chroot ROOT /usr/bin/containerd" if there is one
#   REAPER_INSTALL_TEMPLATES      dir with reaper-v2.toml and reaper-v3.toml
#   REAPER_INSTALL_SHIM_ROOT      /run/reaper: the shim's state root (REAPER_ROOT); uninstall
#                                 refuses while containers have state there
#   REAPER_INSTALL_FORCE=1        uninstall even while reaper containers exist (their
#                                 overlay groups and state are kept, and said so)
#   REAPER_OVERLAY_ROOT           the overlay root, if not REAPER_OVERLAY_ROOT of the node's
#                                 reaper.conf or /run/reaper/overlay (as reaper reads it)
#   REAPER_INSTALL_DOCTOR=0       status does not run `reaper doctor` on the node
#
# status says what install did, then runs the installed `reaper doctor` on the node (through
# REAPER_INSTALL_HOST_EXEC unless ROOT is /) and exits with its status: 0 when reaper can
# work on the node, 1 when a check failed or reaper is not installed.
#
# One run at a time per node: a second one while a first holds ROOT/run/reaper-installer.lock
# (a directory with the holder's pid) stops at once with an error and changes nothing.
#
# uninstall removes, besides what install added: reaper's overlay groups (their tmpfs layers,
# namespaces and `reaper-overlay hold` helpers, through `reaper overlay gc --idle 0` on the
# node), then reaper's empty state directories (REAPER_INSTALL_SHIM_ROOT, the overlay root).
# It refuses while reaper containers have state; with REAPER_INSTALL_FORCE=1 it says which
# groups and directories it kept and why.
#
# How containerd's configuration is changed (docs/install.md):
#   version = 3 (containerd 2.x): drop-in CONFD/reaper.toml (deploy/containerd/reaper-v3.toml),
#     imported from config.toml by absolute path (2.x merges drop-ins key by key).
#   version = 2 (1.6/1.7), config.toml configures the CRI plugin: a drop-in would replace
#     that whole section, so the handler table (and a runc table, if config.toml has none)
#     goes into config.toml between "# BEGIN reaper-installer" / "# END reaper-installer".
#   version = 2 without CRI settings, or no config.toml: drop-in CONFD/reaper.toml holding a
#     complete CRI section (runc and reaper-v2), imported by absolute path.
#   k3s, RKE2 (they write containerd's config.toml at every start): the handler table goes
#     between the markers into their template, /var/lib/rancher/{k3s,rke2}/agent/etc/
#     containerd/config.toml.tmpl (config-v3.toml.tmpl when the generated config is version
#     3), created as {{ template "base" . }} plus the table when there is none; the k3s,
#     k3s-agent, rke2-server or rke2-agent unit is restarted. --config/--confd are ignored.
#   k0s: drop-in /etc/k0s/containerd.d/reaper.toml (k0s imports that directory; version
#     from /etc/k0s/containerd.toml); the k0sworker or k0scontroller unit is restarted.
#   auto: k3s or rke2 when /var/lib/rancher/{k3s,rke2}/agent/etc/containerd exists, k0s
#     when /etc/k0s/containerd.toml does, else plain containerd.
# Every change is validated with the node's containerd (config dump) when it can be run
# (not for k3s, RKE2 and k0s: they render or merge the configuration themselves),
# and refused, with nothing changed, when containerd rejects it. Running install twice
# changes nothing the second time; uninstall leaves an untouched config.toml byte-identical.
set -eu

prog=install.sh
here=$(cd "$(dirname "$0")" && pwd)
PERSONALITIES="reaper-runtime containerd-shim-reaper-v2 reaper-overlay reaper-sandbox"
BEGIN_MARK="# BEGIN reaper-installer"
END_MARK="# END reaper-installer"
CRI_V2='plugins."io.containerd.grpc.v1.cri"'
CRI_V3='plugins."io.containerd.cri.v1.runtime"'

die() { echo "$prog: error: $*" >&2; exit 1; }
note() { echo "$prog: $*"; }
usage() {
  sed -n '/^#   install.sh/,/^#   --flavor/p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

ROOT=${REAPER_INSTALL_ROOT:-/host}
BINARY=${REAPER_INSTALL_BINARY:-$here/bin/reaper}
BIN_DIR=${REAPER_INSTALL_BIN_DIR:-/usr/local/bin}
CONFIG=${REAPER_INSTALL_CONTAINERD_CONFIG:-/etc/containerd/config.toml}
CONFD=${REAPER_INSTALL_CONFD:-/etc/containerd/conf.d}
REAPER_CONF_SRC=${REAPER_INSTALL_REAPER_CONF:-}
NODE=${NODE_NAME:-}
FLAVOR=${REAPER_INSTALL_FLAVOR:-auto}
HOST_EXEC=${REAPER_INSTALL_HOST_EXEC:-nsenter -t 1 -m --}
STATE_DIR=${REAPER_INSTALL_STATE_DIR:-/etc/reaper/installer}
NODE_LABEL=${REAPER_INSTALL_NODE_LABEL:-reaper.runtime/installed=true}
LABEL_CMD=${REAPER_INSTALL_LABEL_CMD:-kubectl label --overwrite node}
TEMPLATES=${REAPER_INSTALL_TEMPLATES:-}
SHIM_ROOT=${REAPER_INSTALL_SHIM_ROOT:-/run/reaper}
verb=""

while [ $# -gt 0 ]; do
  case $1 in
    --root|--binary|--bin-dir|--config|--confd|--reaper-conf|--node|--flavor)
      [ $# -ge 2 ] || die "$1 needs a value"
      case $1 in
        --root) ROOT=$2 ;; --binary) BINARY=$2 ;; --bin-dir) BIN_DIR=$2 ;;
        --config) CONFIG=$2 ;; --confd) CONFD=$2 ;; --reaper-conf) REAPER_CONF_SRC=$2 ;;
        --node) NODE=$2 ;; --flavor) FLAVOR=$2 ;;
      esac
      shift 2 ;;
    -h|--help) usage ;;
    install|uninstall|status)
      [ -z "$verb" ] || die "one verb only (got $verb and $1)"
      verb=$1; shift ;;
    *) echo "$prog: error: unknown argument '$1'" >&2; usage ;;
  esac
done
[ -n "$verb" ] || { echo "$prog: error: no verb (install, uninstall or status)" >&2; usage; }

# ------------------------------------------------------------------ checks and paths
# Node paths are written into TOML strings and state files: absolute, no quotes,
# backslashes, spaces or glob characters.
check_node_path() {  # check_node_path WHAT PATH
  case $2 in
    /*) ;;
    *) die "$1 must be an absolute path, got '$2'" ;;
  esac
  case $2 in
    *[!A-Za-z0-9._/+@:-]*|*/../*|*/..) die "$1 '$2' contains characters the installer does not accept" ;;
  esac
}
check_node_path "--bin-dir" "$BIN_DIR"
case $FLAVOR in
  auto|containerd|k3s|rke2|k0s) ;;
  *) die "--flavor must be auto, containerd, k3s, rke2 or k0s, got '$FLAVOR'" ;;
esac
check_node_path "--config" "$CONFIG"
check_node_path "--confd" "$CONFD"
check_node_path "REAPER_INSTALL_STATE_DIR" "$STATE_DIR"
check_node_path "REAPER_INSTALL_SHIM_ROOT" "$SHIM_ROOT"
[ -d "$ROOT" ] || die "root '$ROOT' is not a directory"
ROOT=$(cd "$ROOT" && pwd)
case $NODE_LABEL in
  ?*=*) LABEL_KEY=${NODE_LABEL%%=*} ;;
  *) die "REAPER_INSTALL_NODE_LABEL must be KEY=VALUE, got '$NODE_LABEL'" ;;
esac

# host PATH: the file on disk for a node path
host() { if [ "$ROOT" = / ]; then printf '%s' "$1"; else printf '%s%s' "$ROOT" "$1"; fi; }

BIN_DIR=${BIN_DIR%/}; CONFD=${CONFD%/}; STATE_DIR=${STATE_DIR%/}
H_STATE=$(host "$STATE_DIR")
H_BIN=$(host "$BIN_DIR")

if [ -z "$TEMPLATES" ]; then
  for d in "$here/containerd" "$here/../containerd"; do
    [ -f "$d/reaper-v2.toml" ] && { TEMPLATES=$d; break; }
  done
fi


# Globbing only where asked for (import globs, state files): entries are data.
set -f

# Scratch files (never renamed into place: write_file makes its own temp file beside
# its target); removed on exit.
TMP=""
LOCK_HELD=""
cleanup() {
  [ -z "$TMP" ] || rm -rf "$TMP"
  [ -z "$LOCK_HELD" ] || release_lock
}
trap cleanup EXIT
trap 'exit 130' INT TERM
make_tmp() {
  [ -n "$TMP" ] && return 0
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/reaper-installer.XXXXXX") || die "mktemp in ${TMPDIR:-/tmp} failed"
}

# ------------------------------------------------------------------ lock
# mkdir is atomic; the directory holds the owner's pid. A lock whose owner is gone (killed,
# or a reboot: /run is a tmpfs) is taken over.
LOCK_PARENT_MADE=0
acquire_lock() {
  _ld=$(host /run/reaper-installer.lock)
  if [ ! -d "$(host /run)" ]; then mkdir "$(host /run)" && LOCK_PARENT_MADE=1; fi
  if ! mkdir "$_ld" 2>/dev/null; then
    _owner=$(cat "$_ld/pid" 2>/dev/null || true)
    if [ -n "$_owner" ] && kill -0 "$_owner" 2>/dev/null; then
      [ "$LOCK_PARENT_MADE" = 0 ] || rmdir "$(host /run)"
      die "another install.sh (pid $_owner) is running on this node (lock /run/reaper-installer.lock); nothing was changed"
    fi
    note "taking over the lock of a run that is gone (pid ${_owner:-unknown})"
    rm -rf "$_ld" && mkdir "$_ld" || die "cannot take /run/reaper-installer.lock"
  fi
  echo $$ >"$_ld/pid"
  LOCK_HELD=$_ld
}
release_lock() {
  rm -rf "$LOCK_HELD"; LOCK_HELD=""
  [ "$LOCK_PARENT_MADE" = 0 ] || rmdir "$(host /run)" 2>/dev/null || true
}

# ------------------------------------------------------------------ state
# STATE_DIR/state: KEY=VALUE lines saying what install did; STATE_DIR/*: backups.
state_get() {  # state_get KEY: its value, empty when unset or no state
  [ -f "$H_STATE/state" ] || return 0
  sed -n "s/^$1=//p" "$H_STATE/state" | head -n 1
}
have_state() { [ -f "$H_STATE/state" ]; }

# ------------------------------------------------------------------ text helpers
# Writes stdin to FILE atomically (temp file, rename), keeping FILE's mode and owner.
write_file() {  # write_file FILE [MODE]
  _f=$1 _t="$1.reaper-tmp.$$"
  if [ -e "$_f" ]; then cp -p "$_f" "$_t"; fi
  cat >"$_t" || { rm -f "$_t"; die "cannot write $_f"; }
  if [ $# -ge 2 ]; then chmod "$2" "$_t"; fi
  mv -f "$_t" "$_f" || { rm -f "$_t"; die "cannot rename into $_f"; }
}

ends_with_newline() { [ ! -s "$1" ] || [ "$(tail -c 1 "$1" | wc -l)" -eq 1 ]; }

# Lines of FILE before its first table header (the top level of a TOML file).
top_level() { awk '/^[[:space:]]*\[/ { exit } { print }' "$1"; }

# The integer of the top-level `version = N`, "" when there is none; dies on a bad one.
config_version() {  # config_version FILE
  _v=$(top_level "$1" | sed -n 's/^[[:space:]]*version[[:space:]]*=[[:space:]]*//p')
  [ -n "$_v" ] || return 0
  [ "$(printf '%s\n' "$_v" | wc -l)" -eq 1 ] || die "$CONFIG: more than one version line"
  _v=$(printf '%s' "$_v" | sed 's/[[:space:]]*#.*//; s/[[:space:]]*$//')
  case $_v in
    ''|*[!0-9]*) die "$CONFIG: cannot read 'version = $_v' (expected an integer)" ;;
  esac
  printf '%s' "$_v"
}

# Non-comment text of a file (comment lines dropped), to look for tables in.
code_of() { grep -v '^[[:space:]]*#' "$1" 2>/dev/null || true; }

# The runtimes.reaper-v2 table of a template: its header to the end of the file.
handler_table() { sed -n '/^\[plugins\..*\.containerd\.runtimes\.reaper-v2\]/,$p' "$1"; }

# Absolute import entries of a config's single-line top-level `imports = [...]`.
import_entries() {  # import_entries LINE: one entry a line
  printf '%s\n' "$1" | sed 's/^[^[]*\[//; s/\][^]]*$//' | tr ',' '\n' |
    sed 's/^[[:space:]]*//; s/[[:space:]]*$//; s/^"\(.*\)"$/\1/; s/^'"'"'\(.*\)'"'"'$/\1/' | grep -v '^$' || true
}

# Does import ENTRY (a path or glob) take in our drop-in? Only absolute entries count:
# containerd 1.6.0-1.6.28 / 1.7.0-1.7.15 resolve relative globs against their cwd.
import_covers() {  # import_covers ENTRY
  case $1 in /*) ;; *) return 1 ;; esac
  [ "$1" = "$DROPIN" ] && return 0
  [ "${1%/*}" = "$CONFD" ] || return 1
  # shellcheck disable=SC2254  # the entry is a pattern on purpose
  case ${DROPIN##*/} in $(printf '%s' "${1##*/}")) return 0 ;; esac
  return 1
}

# ------------------------------------------------------------------ containerd validation
# dump_config NODE_FILE OUT: containerd's merged view of a config; non-zero if it fails.
dump_config() {
  # shellcheck disable=SC2086  # a command line on purpose
  $CONTAINERD_CMD --config "$1" config dump >"$2" 2>"$2.err"
}

containerd_major() {  # the node containerd's major version, "" when unknown
  [ "$CONTAINERD_CMD" != none ] || return 0
  # shellcheck disable=SC2086
  $CONTAINERD_CMD --version 2>/dev/null | awk '{ v = $3; sub(/^v/, "", v); split(v, a, "."); print a[1] }' || true
}

# ------------------------------------------------------------------ config plan
# strip_config IN OUT: IN with everything an earlier install added taken out again (the
# marker block, the import line), i.e. the administrator's own config.
strip_config() {
  _in=$1 _out=$2
  if [ ! -f "$_in" ]; then : >"$_out"; return 0; fi
  if ! have_state; then cp "$_in" "$_out"; return 0; fi
  _imp=$(state_get IMPORT)
  _orig_line="" _new_line=""
  [ -f "$H_STATE/imports.new" ] && _new_line=$(cat "$H_STATE/imports.new")
  [ -f "$H_STATE/imports.orig" ] && _orig_line=$(cat "$H_STATE/imports.orig")
  awk -v b="$BEGIN_MARK" -v e="$END_MARK" -v imp="$_imp" -v nl="$_new_line" -v ol="$_orig_line" '
    skip { if (index($0, e) == 1) skip = 0; next }
    index($0, b) == 1 { skip = 1; next }
    !done && (imp == "added" || imp == "modified") && $0 == nl {
      done = 1; if (imp == "modified") print ol; next }
    { print }' "$_in" >"$_out"
  # awk ends every line with a newline: give back a missing final one.
  if { [ "$(state_get TRAILING_NEWLINE)" = 0 ] || ! ends_with_newline "$_in"; } && [ -s "$_out" ]; then
    printf '%s' "$(cat "$_out")" >"$_out.n" && mv -f "$_out.n" "$_out"
  fi
}

# plan ORIG: decides, from the administrator's config ORIG (a host file, may be missing),
# what install writes. Sets STRATEGY, CONFIG_CREATED, IMPORT, TRAILING_NEWLINE and writes
# $TMP/config.new (what config.toml must be), $TMP/dropin.new (empty: no drop-in),
# $TMP/imports.orig / imports.new.
plan() {
  case $FLAVOR in
    k3s|rke2) plan_template "$1"; return 0 ;;
    k0s) plan_k0s "$1"; return 0 ;;
  esac
  _orig=$1
  : >"$TMP/dropin.new"; : >"$TMP/imports.orig"; : >"$TMP/imports.new"
  IMPORT=none CONFIG_CREATED=0 TRAILING_NEWLINE=1
  if [ -f "$_orig" ]; then
    ends_with_newline "$_orig" || TRAILING_NEWLINE=0
    version=$(config_version "$_orig") || exit 1
    cp "$_orig" "$TMP/config.new"
  else
    CONFIG_CREATED=1 version=""
    if [ "$(containerd_major)" = 2 ]; then version=3; else version=2; fi
    printf '# containerd configuration, created by reaper'"'"'s installer.\nversion = %s\n' \
      "$version" >"$TMP/config.base"
    cp "$TMP/config.base" "$TMP/config.new"
  fi

  case $version in
    3) STRATEGY=v3-dropin ;;
    2) STRATEGY=v2 ;;
    "")
      # Config version 1 (no version line). A version 2 drop-in merges with it only when
      # it has no plugin tables (containerd then reads the merged file as version 2).
      if code_of "$_orig" | grep -Eq '^[[:space:]]*(\[plugins|plugins[[:space:].=])'; then
        die "$CONFIG has no 'version =' line (config version 1) and configures plugins: containerd cannot merge the reaper-v2 handler into it. Convert it to version 2 first (add 'version = 2' and use full plugin ids, e.g. [plugins.\"io.containerd.grpc.v1.cri\"]); nothing was changed"
      fi
      STRATEGY=v2 ;;
    *) die "$CONFIG: config version $version is not one this installer knows (2 or 3); nothing was changed" ;;
  esac

  if code_of "$TMP/config.new" | grep -Eq 'runtimes\."?reaper-v2"?[].]'; then
    STRATEGY=manual
    note "$CONFIG already declares runtimes.reaper-v2 (not by this installer): leaving containerd's configuration as it is"
    return 0
  fi

  if [ "$STRATEGY" = v2 ]; then
    if code_of "$TMP/config.new" | grep -q 'io\.containerd\.grpc\.v1\.cri'; then
      STRATEGY=v2-inline
    else
      STRATEGY=v2-dropin
    fi
  fi

  # The top-level imports line (single-line arrays only).
  _lines=$(top_level "$TMP/config.new" | grep -n '^[[:space:]]*imports[[:space:]]*=' || true)
  _count=0; [ -z "$_lines" ] || _count=$(printf '%s\n' "$_lines" | wc -l)
  [ "$_count" -le 1 ] || die "$CONFIG has more than one imports line; nothing was changed"
  _impno=${_lines%%:*} _impline=${_lines#*:}
  if [ "$_count" = 1 ]; then
    case $_impline in
      *\[*\]*) ;;
      *) die "$CONFIG: the imports array spans several lines; put it on one line (or add $DROPIN to it yourself); nothing was changed" ;;
    esac
    _entries=$(import_entries "$_impline")
    # Files config.toml already imports must not configure the CRI plugin in 1.6/1.7: the
    # last file's CRI table replaces the earlier ones.
    if [ "$STRATEGY" != v3-dropin ]; then
      for _e in $_entries; do
        case $_e in /*) ;; *) note "warning: relative import '$_e' ignored (resolved against containerd's working directory before 1.6.29/1.7.16)"; continue ;; esac
        set +f; _files=$(for _f in $(host "$_e"); do [ -f "$_f" ] && echo "$_f"; done); set -f
        for _f in $_files; do
          [ "$_f" != "$H_DROPIN" ] || continue
          if code_of "$_f" | grep -q 'io\.containerd\.grpc\.v1\.cri'; then
            die "imported file ${_f#"${ROOT%/}"} configures the CRI plugin; containerd 1.6/1.7 replaces one file's CRI section with the next one's, so add the reaper-v2 table (deploy/containerd/reaper-v2.toml) to that file yourself; nothing was changed"
          fi
        done
      done
    fi
  fi

  _table=$(handler_table "$TEMPLATES/reaper-v2.toml")
  case $STRATEGY in
    v2-inline)
      _has_runc=0
      if code_of "$TMP/config.new" | grep -Eq 'runtimes\."?runc"?[].]'; then _has_runc=1; fi
      {
        [ "$TRAILING_NEWLINE" = 1 ] || echo
        echo "$BEGIN_MARK: added by reaper's installer; \`install.sh uninstall\` removes it."
        echo "# A drop-in cannot add this: containerd 1.6/1.7 would replace the CRI section above."
        if [ "$_has_runc" = 0 ]; then
          echo "# runc again: declaring any runtime replaces containerd's default runtimes map."
          echo "[$CRI_V2.containerd.runtimes.runc]"
          echo '  runtime_type = "io.containerd.runc.v2"'
        fi
        printf '%s\n' "$_table"
        echo "$END_MARK"
      } >>"$TMP/config.new"
      return 0 ;;
    v2-dropin)
      {
        echo "# Written by reaper's installer (deploy/installer/install.sh); uninstall removes it."
        echo "# containerd 1.6/1.7 replace the CRI plugin's whole section with a drop-in's, so this"
        echo "# file holds a complete one: runc (the default runtime) and reaper-v2."
        echo "version = 2"
        echo
        echo "[$CRI_V2.containerd]"
        echo '  default_runtime_name = "runc"'
        echo
        echo "[$CRI_V2.containerd.runtimes.runc]"
        echo '  runtime_type = "io.containerd.runc.v2"'
        echo
        printf '%s\n' "$_table"
      } >"$TMP/dropin.new" ;;
    v3-dropin)
      {
        echo "# Written by reaper's installer (deploy/installer/install.sh); uninstall removes it."
        echo "version = 3"
        echo
        handler_table "$TEMPLATES/reaper-v3.toml"
      } >"$TMP/dropin.new" ;;
  esac

  # The drop-in must be imported, by its absolute path.
  if [ "$_count" = 1 ]; then
    for _e in $_entries; do
      if import_covers "$_e"; then return 0; fi
    done
    _new="imports = ["
    for _e in $_entries; do _new="$_new\"$_e\", "; done
    _new="$_new\"$DROPIN\"]"
    printf '%s\n' "$_impline" >"$TMP/imports.orig"
    printf '%s\n' "$_new" >"$TMP/imports.new"
    IMPORT=modified
    awk -v n="$_impno" -v t="$_new" 'NR == n { print t; next } { print }' "$TMP/config.new" >"$TMP/c" &&
      mv -f "$TMP/c" "$TMP/config.new"
  else
    _new="imports = [\"$DROPIN\"]"
    printf '%s\n' "$_new" >"$TMP/imports.new"
    IMPORT=added
    _vno=$(top_level "$TMP/config.new" | grep -n '^[[:space:]]*version[[:space:]]*=' | head -n 1 | cut -d: -f1)
    awk -v n="${_vno:-0}" -v t="$_new" '
      n == 0 && NR == 1 { print t }
      { print }
      NR == n { print t }
      END { if (NR == 0) print t }' "$TMP/config.new" >"$TMP/c" && mv -f "$TMP/c" "$TMP/config.new"
  fi
  if [ "$TRAILING_NEWLINE" = 0 ]; then
    printf '%s' "$(cat "$TMP/config.new")" >"$TMP/c" && mv -f "$TMP/c" "$TMP/config.new"
  fi
}

# plan for k3s/RKE2: the handler table between the markers at the end of their containerd
# template (created as the "base" template plus the table when there is none).
plan_template() {
  _orig=$1
  : >"$TMP/dropin.new"; : >"$TMP/imports.orig"; : >"$TMP/imports.new"
  IMPORT=none CONFIG_CREATED=0 TRAILING_NEWLINE=1
  if [ -f "$_orig" ]; then
    ends_with_newline "$_orig" || TRAILING_NEWLINE=0
    cp "$_orig" "$TMP/config.new"
  else
    CONFIG_CREATED=1
    printf '%s\n' '{{ template "base" . }}' >"$TMP/config.base"
    cp "$TMP/config.base" "$TMP/config.new"
  fi
  if code_of "$TMP/config.new" | grep -Eq 'runtimes\."?reaper-v2"?[].]'; then
    STRATEGY=manual
    note "$CONFIG already declares runtimes.reaper-v2 (not by this installer): leaving it as it is"
    return 0
  fi
  STRATEGY=template
  {
    [ "$TRAILING_NEWLINE" = 1 ] || echo
    echo "$BEGIN_MARK: added by reaper's installer; \`install.sh uninstall\` removes it."
    echo "# $FLAVOR renders this template into config.toml when it starts."
    handler_table "$TEMPLATES/reaper-v$TPL_VERSION.toml"
    echo "$END_MARK"
  } >>"$TMP/config.new"
}

# plan for k0s: a drop-in in /etc/k0s/containerd.d (k0s imports the directory and merges
# the CRI runtimes of its files); containerd.toml, which k0s manages, stays as it is.
plan_k0s() {
  _orig=$1
  : >"$TMP/imports.orig"; : >"$TMP/imports.new"
  IMPORT=none CONFIG_CREATED=0 TRAILING_NEWLINE=1
  [ -f "$_orig" ] || die "k0s: $CONFIG not found (k0s writes it when it starts); nothing was changed"
  cp "$_orig" "$TMP/config.new"
  ends_with_newline "$_orig" || TRAILING_NEWLINE=0
  _v=$(config_version "$_orig") || exit 1
  [ "$_v" = 3 ] || _v=2
  STRATEGY=k0s-dropin
  {
    echo "# Written by reaper's installer (deploy/installer/install.sh); uninstall removes it."
    echo "version = $_v"
    echo
    handler_table "$TEMPLATES/reaper-v$_v.toml"
  } >"$TMP/dropin.new"
}

# Checks a config with the node's containerd: it must load, and show reaper-v2 (and runc
# for 1.6/1.7). Returns non-zero with the reason on stderr.
validate() {  # validate NODE_CONFIG STRATEGY
  [ "$CONTAINERD_CMD" != none ] || { note "no containerd to validate with: configuration not validated"; return 0; }
  if ! dump_config "$1" "$TMP/dump"; then
    echo "$prog: containerd rejects the new configuration:" >&2; cat "$TMP/dump.err" >&2; return 1
  fi
  case $2 in
    v3-dropin) _want="[$CRI_V3.containerd.runtimes.reaper-v2]" ;;
    *) _want="[$CRI_V2.containerd.runtimes.reaper-v2]|[$CRI_V2.containerd.runtimes.runc]" ;;
  esac
  _ifs=$IFS; IFS='|'
  for _w in $_want; do
    if ! grep -qF "$_w" "$TMP/dump"; then
      IFS=$_ifs
      echo "$prog: containerd's merged configuration lacks $_w (was the drop-in imported?)" >&2
      return 1
    fi
  done
  IFS=$_ifs
  note "containerd accepts the new configuration (config dump shows reaper-v2)"
}

restart_containerd() {
  if [ "$RESTART_CMD" = none ]; then
    note "containerd's configuration changed: restart containerd yourself (REAPER_INSTALL_RESTART_CMD=none)"
    return 0
  fi
  note "restarting containerd: $RESTART_CMD"
  # shellcheck disable=SC2086
  $RESTART_CMD || die "restarting containerd failed ($RESTART_CMD); its new configuration is in place"
}

label_node() {  # label_node KEY=VALUE | KEY-
  if [ -z "$NODE" ]; then note "no node name (NODE_NAME): node not labelled"; return 0; fi
  # shellcheck disable=SC2086
  $LABEL_CMD "$NODE" "$1" >/dev/null ||
    die "could not label node $NODE with $1 ($LABEL_CMD); label it by hand: kubectl label --overwrite node $NODE $1"
  note "node $NODE: label $1"
}

# ------------------------------------------------------------------ install
same_file() { [ -f "$1" ] && [ -f "$2" ] && cmp -s "$1" "$2"; }

# Directories of PATH that do not exist yet, outermost first (so uninstall can remove
# exactly those, innermost first).
missing_dirs() {  # missing_dirs NODE_DIR
  _d=$1 _list=""
  while [ "$_d" != / ] && [ ! -d "$(host "$_d")" ]; do _list="$_d $_list"; _d=$(dirname "$_d"); done
  printf '%s' "$_list"
}

# make_dirs NODE_DIR...: creates the missing ones (parents first), adds them to
# $dirs_created and prints them.
make_dirs() {
  _made=""
  for _want in "$@"; do
    for _d in $(missing_dirs "$_want"); do
      [ -d "$(host "$_d")" ] && continue
      mkdir "$(host "$_d")" || die "cannot create $_d"
      _made="$_made $_d"
    done
  done
  printf '%s' "$_made"
}

do_install() {
  # 1. Checks: nothing is changed before every input is known good.
  [ -f "$BINARY" ] || die "binary '$BINARY' not found (--binary)"
  [ -x "$BINARY" ] || die "binary '$BINARY' is not executable"
  _ver=$("$BINARY" --version 2>/dev/null) || die "'$BINARY --version' failed: not a reaper binary for this machine?"
  case $_ver in "reaper version"*) ;; *) die "'$BINARY' is not reaper (--version says: $_ver)" ;; esac
  [ -n "$TEMPLATES" ] && [ -f "$TEMPLATES/reaper-v2.toml" ] && [ -f "$TEMPLATES/reaper-v3.toml" ] ||
    die "containerd templates reaper-v2.toml / reaper-v3.toml not found (REAPER_INSTALL_TEMPLATES)"
  [ -n "$(handler_table "$TEMPLATES/reaper-v2.toml")" ] && [ -n "$(handler_table "$TEMPLATES/reaper-v3.toml")" ] ||
    die "no runtimes.reaper-v2 table in $TEMPLATES"
  if [ -n "$REAPER_CONF_SRC" ]; then
    [ -f "$REAPER_CONF_SRC" ] || die "reaper.conf source '$REAPER_CONF_SRC' not found"
    # Every error and warning (a misspelt key) with file:line; any of them refuses.
    make_tmp
    "$BINARY" config check "$REAPER_CONF_SRC" >/dev/null 2>"$TMP/conf.err" || {
      cat "$TMP/conf.err" >&2; die "reaper.conf '$REAPER_CONF_SRC' is not valid; nothing was changed"; }
  fi
  if ! have_state; then
    for _n in reaper $PERSONALITIES; do
      [ ! -e "$H_BIN/$_n" ] && [ ! -L "$H_BIN/$_n" ] ||
        die "$BIN_DIR/$_n exists and was not installed by this installer; remove it or choose another --bin-dir; nothing was changed"
    done
    [ ! -e "$H_DROPIN" ] || die "$DROPIN exists and was not written by this installer; nothing was changed"
  fi
  [ ! -e "$H_CONFIG" ] || [ -f "$H_CONFIG" ] || die "$CONFIG is not a regular file"
  if [ -f "$H_CONFIG" ] && [ "$CONTAINERD_CMD" != none ]; then
    make_tmp
    dump_config "$CONFIG" "$TMP/dump.before" || {
      cat "$TMP/dump.before.err" >&2; die "containerd cannot read the current $CONFIG; nothing was changed"; }
  fi

  # 2. The plan, from the administrator's own config (an earlier install taken out).
  make_tmp
  strip_config "$H_CONFIG" "$TMP/config.orig"
  if [ ! -f "$H_CONFIG" ]; then rm -f "$TMP/config.orig"; fi
  if [ "$(state_get CONFIG_CREATED)" = 1 ] && [ -f "$H_STATE/config.base" ] &&
     same_file "$TMP/config.orig" "$H_STATE/config.base"; then
    rm -f "$TMP/config.orig"   # the file an earlier install created: plan as for none
  fi
  plan "$TMP/config.orig"

  config_changed=0
  if [ "$STRATEGY" != manual ]; then
    same_file "$TMP/config.new" "$H_CONFIG" || config_changed=1
    if [ -s "$TMP/dropin.new" ]; then same_file "$TMP/dropin.new" "$H_DROPIN" || config_changed=1
    elif [ -e "$H_DROPIN" ]; then config_changed=1; fi
  fi

  # 3. containerd's configuration: drop-in first (validation needs it in place), the
  #    candidate config.toml beside the real one, validated, then renamed over it.
  dirs_created=$(state_get DIRS_CREATED)
  if [ "$config_changed" = 1 ]; then
    if [ -s "$TMP/dropin.new" ]; then _new_dirs=$(make_dirs "$(dirname "$CONFIG")" "$CONFD")
    else _new_dirs=$(make_dirs "$(dirname "$CONFIG")"); fi
    dirs_created="$dirs_created $_new_dirs"
    _dropin_backup=""
    if [ -f "$H_DROPIN" ]; then _dropin_backup=$TMP/dropin.prev; cp -p "$H_DROPIN" "$_dropin_backup"; fi
    if [ -s "$TMP/dropin.new" ]; then write_file "$H_DROPIN" 0644 <"$TMP/dropin.new"; else rm -f "$H_DROPIN"; fi
    _cand=$CONFIG.reaper-new
    cp "$TMP/config.new" "$(host "$_cand")"
    if ! validate "$_cand" "$STRATEGY"; then
      rm -f "$(host "$_cand")"
      if [ -n "$_dropin_backup" ]; then mv -f "$_dropin_backup" "$H_DROPIN"; else rm -f "$H_DROPIN"; fi
      for _d in $(printf '%s\n' $_new_dirs | sed -n '1!G;h;$p'); do rmdir "$(host "$_d")" 2>/dev/null || true; done
      die "the new containerd configuration was refused; nothing was changed"
    fi
    rm -f "$(host "$_cand")"
  fi

  # From here on, changes are recorded as they are made.
  dirs_created="$dirs_created $(make_dirs "$STATE_DIR")"
  if [ "$config_changed" = 1 ]; then
    if [ -f "$H_CONFIG" ] && [ ! -f "$H_STATE/config.toml.orig" ] && [ "$CONFIG_CREATED" = 0 ]; then
      cp -p "$TMP/config.orig" "$H_STATE/config.toml.orig"   # the backup of the original
    fi
    cp "$TMP/imports.orig" "$H_STATE/imports.orig"
    cp "$TMP/imports.new" "$H_STATE/imports.new"
    if [ "$CONFIG_CREATED" = 1 ]; then cp "$TMP/config.base" "$H_STATE/config.base"; else rm -f "$H_STATE/config.base"; fi
    write_file "$H_CONFIG" <"$TMP/config.new"
    if [ -s "$TMP/dropin.new" ]; then note "containerd: $STRATEGY ($CONFIG imports $DROPIN)"
    else note "containerd: $STRATEGY (handler table in $CONFIG)"; fi
  else
    note "containerd: configuration already as needed ($STRATEGY)"
  fi

  # 4. The binary and its links (relative, so they hold on the node and under ROOT).
  dirs_created="$dirs_created $(make_dirs "$BIN_DIR")"
  if same_file "$BINARY" "$H_BIN/reaper"; then
    note "binary: $BIN_DIR/reaper already up to date"
  else
    cp "$BINARY" "$H_BIN/reaper.reaper-tmp.$$" && chmod 0755 "$H_BIN/reaper.reaper-tmp.$$" &&
      mv -f "$H_BIN/reaper.reaper-tmp.$$" "$H_BIN/reaper" || die "cannot install $BIN_DIR/reaper"
    note "binary: $BIN_DIR/reaper ($_ver)"
  fi
  for _n in $PERSONALITIES; do
    [ "$(readlink "$H_BIN/$_n" 2>/dev/null)" = reaper ] && continue
    ln -sf reaper "$H_BIN/$_n.reaper-tmp" && mv -f "$H_BIN/$_n.reaper-tmp" "$H_BIN/$_n"
  done

  # 5. reaper.conf.
  reaper_conf=$(state_get REAPER_CONF)
  _hc=$(host /etc/reaper/reaper.conf)
  if [ -n "$REAPER_CONF_SRC" ] && ! same_file "$REAPER_CONF_SRC" "$_hc"; then
    dirs_created="$dirs_created $(make_dirs /etc/reaper)"
    if [ -z "$reaper_conf" ]; then
      if [ -f "$_hc" ]; then cp -p "$_hc" "$H_STATE/reaper.conf.orig"; reaper_conf=replaced; else reaper_conf=created; fi
    fi
    write_file "$_hc" 0644 <"$REAPER_CONF_SRC"
    note "node configuration: /etc/reaper/reaper.conf"
  fi

  # 6. The record of it all.
  {
    echo "FLAVOR=$FLAVOR"
    echo "STRATEGY=$STRATEGY"
    echo "CONFIG=$CONFIG"
    echo "DROPIN=$(case $STRATEGY in *-dropin) echo "$DROPIN" ;; esac)"
    echo "CONFIG_CREATED=$CONFIG_CREATED"
    echo "IMPORT=$IMPORT"
    echo "TRAILING_NEWLINE=$TRAILING_NEWLINE"
    echo "BIN_DIR=$BIN_DIR"
    echo "LINKS=$PERSONALITIES"
    echo "REAPER_CONF=$reaper_conf"
    echo "DIRS_CREATED=$(echo $dirs_created)"
    echo "NODE_LABEL=$NODE_LABEL"
    echo "NODE_LABELLED=$NODE"
    echo "VERSION=$_ver"
  } >"$TMP/state"
  same_file "$TMP/state" "$H_STATE/state" || write_file "$H_STATE/state" 0644 <"$TMP/state"

  # 7. containerd picks up its new configuration; then pods may come.
  [ "$config_changed" = 0 ] || restart_containerd
  label_node "$NODE_LABEL"
  note "installed"
}

# ------------------------------------------------------------------ uninstall
reaper_containers() {  # number of reaper containers the shim keeps state for on the node
  _n=0
  set +f
  for _s in "$(host "$SHIM_ROOT")"/*/*/state.json; do [ -f "$_s" ] && _n=$((_n + 1)); done
  set -f
  echo "$_n"
}

# The node's overlay root, as reaper reads it: the environment, reaper.conf, the default.
overlay_root() {
  if [ -n "${REAPER_OVERLAY_ROOT:-}" ]; then echo "$REAPER_OVERLAY_ROOT"; return 0; fi
  _v=$(sed -n 's/^[[:space:]]*REAPER_OVERLAY_ROOT[[:space:]]*=[[:space:]]*//p' "$(host /etc/reaper/reaper.conf)" 2>/dev/null |
    tail -n 1 | sed 's/[[:space:]]*$//; s/^"\(.*\)"$/\1/; s/^'"'"'\(.*\)'"'"'$/\1/')
  echo "${_v:-/run/reaper/overlay}"
}

# `reaper-overlay hold` helpers of groups under the overlay root: "PID DIR" lines.
overlay_holders() {  # overlay_holders NODE_OVERLAY_ROOT
  set +f
  for _p in /proc/[0-9]*; do
    _c=$(tr '\0' ' ' <"$_p/cmdline" 2>/dev/null) || continue
    case $_c in
      "reaper-overlay hold $1/"*) echo "${_p#/proc/} ${_c#reaper-overlay hold }" ;;
    esac
  done
  set -f
}

# What reaper's runtime left on the node: overlay groups (tmpfs layers, namespaces, their
# hold helpers, the root's self-bind with the last group), then empty state directories.
# What has to stay (groups in use by running containers, with REAPER_INSTALL_FORCE=1) is
# named, with the reason.
remove_runtime_state() {  # remove_runtime_state BIN_DIR
  _ovr=$(overlay_root)
  if [ ! -x "$(host "$1/reaper")" ]; then
    note "warning: $1/reaper is missing: overlay groups under $_ovr not removed"
    return 0
  fi
  if [ "$ROOT" = / ]; then _rcmd="$1/reaper"; else _rcmd="$HOST_EXEC $1/reaper"; fi
  # shellcheck disable=SC2086
  _gc=$($_rcmd overlay gc --idle 0 2>&1) ||
    die "'$_rcmd overlay gc --idle 0' failed: $_gc; the node label is removed, nothing else was changed"
  [ -z "$_gc" ] || printf '%s\n' "$_gc" | sed "s/^/$prog: overlay: /"
  # shellcheck disable=SC2086
  _left=$($_rcmd overlay list 2>/dev/null | awk 'NR > 1 { print $1 }' | tr '\n' ' ')
  if [ -n "$_left" ]; then
    note "kept overlay groups in use by running containers (REAPER_INSTALL_FORCE=1): $_left- remove them with 'reaper overlay rm' once those containers are gone"
  else
    # Helpers of groups that no longer exist only wait to be killed.
    overlay_holders "$_ovr" | while read -r _pid _dir; do
      kill "$_pid" 2>/dev/null && note "overlay: stopped the helper $_pid holding $_dir"
    done
  fi
  # Empty directories only, innermost first: never anything a container still has.
  for _d in "$_ovr" "$SHIM_ROOT"; do
    _hd=$(host "$_d")
    [ -d "$_hd" ] || continue
    find "$_hd" -depth -type d -empty -exec rmdir {} \; 2>/dev/null || true
    [ ! -d "$_hd" ] || note "kept $_d: it is not empty (or still mounted): $(ls -A "$_hd" | tr '\n' ' ')"
  done
}

do_uninstall() {
  if ! have_state; then
    label_node "$LABEL_KEY-"
    note "not installed (no $STATE_DIR/state): nothing to remove"
    return 0
  fi
  _bin=$(state_get BIN_DIR) _strategy=$(state_get STRATEGY)
  check_node_path "state BIN_DIR" "$_bin"
  _n=$(reaper_containers)
  if [ "$_n" != 0 ] && [ "${REAPER_INSTALL_FORCE:-0}" != 1 ]; then
    die "$_n reaper container(s) still have state under $SHIM_ROOT on this node: delete their pods first (or REAPER_INSTALL_FORCE=1); nothing was changed"
  fi
  _label=$(state_get NODE_LABEL)
  label_node "${_label%%=*}-"   # first: no new reaper pods come here

  make_tmp
  config_changed=0
  if [ "$_strategy" != manual ]; then
    strip_config "$H_CONFIG" "$TMP/config.orig"
    _dropin=$(state_get DROPIN)
    if [ "$(state_get CONFIG_CREATED)" = 1 ] && [ -f "$H_STATE/config.base" ] &&
       same_file "$TMP/config.orig" "$H_STATE/config.base"; then
      rm -f "$H_CONFIG"; config_changed=1
    elif [ -f "$H_CONFIG" ] && ! same_file "$TMP/config.orig" "$H_CONFIG"; then
      write_file "$H_CONFIG" <"$TMP/config.orig"; config_changed=1
    fi
    if [ -n "$_dropin" ] && [ -e "$(host "$_dropin")" ]; then rm -f "$(host "$_dropin")"; config_changed=1; fi
  fi

  remove_runtime_state "$_bin"

  for _n in $(state_get LINKS); do
    [ "$(readlink "$(host "$_bin/$_n")" 2>/dev/null)" = reaper ] && rm -f "$(host "$_bin/$_n")"
  done
  rm -f "$(host "$_bin/reaper")"

  _hc=$(host /etc/reaper/reaper.conf)
  case $(state_get REAPER_CONF) in
    created) rm -f "$_hc" ;;
    replaced) [ -f "$H_STATE/reaper.conf.orig" ] && mv -f "$H_STATE/reaper.conf.orig" "$_hc" ;;
  esac

  _dirs=$(state_get DIRS_CREATED)
  rm -f "$H_STATE/state" "$H_STATE/imports.orig" "$H_STATE/imports.new" "$H_STATE/config.base" \
    "$H_STATE/config.toml.orig" "$H_STATE/reaper.conf.orig"
  rmdir "$H_STATE" 2>/dev/null || note "warning: $STATE_DIR is not empty; left in place"
  # Directories install created, innermost first, if nothing else came to live in them.
  for _d in $(printf '%s\n' $_dirs | sort -r); do rmdir "$(host "$_d")" 2>/dev/null || true; done

  [ "$config_changed" = 0 ] || restart_containerd
  note "uninstalled"
}

# ------------------------------------------------------------------ status
do_status() {
  if ! have_state; then echo "reaper: not installed under $ROOT"; return 1; fi
  _bin=$(state_get BIN_DIR)
  echo "reaper: installed under $ROOT ($(state_get VERSION))"
  echo "  binary:     $_bin/reaper $( [ -x "$(host "$_bin/reaper")" ] && echo ok || echo MISSING)"
  for _n in $(state_get LINKS); do
    echo "  link:       $_bin/$_n -> $(readlink "$(host "$_bin/$_n")" 2>/dev/null || echo MISSING)"
  done
  echo "  containerd: $(state_get STRATEGY) in $(state_get CONFIG)$( [ -n "$(state_get DROPIN)" ] && echo " + $(state_get DROPIN)")"
  if [ -n "$(state_get NODE_LABELLED)" ]; then
    echo "  node label: $(state_get NODE_LABEL) on node $(state_get NODE_LABELLED)"
  else
    echo "  node label: not set (install had no node name)"
  fi
  echo "  reaper containers with state: $(reaper_containers)"
  [ "${REAPER_INSTALL_DOCTOR:-1}" != 0 ] || return 0
  run_doctor "$_bin"
}

# `reaper doctor` of the installed binary, on the node: where install put the links, the
# containerd configuration install changed (plain containerd only: k3s, RKE2 and k0s
# render theirs), the node install labelled. Its exit status is status's.
run_doctor() {  # run_doctor BIN_DIR
  set -- "$1/reaper" doctor --bin-dir "$1"
  [ "$FLAVOR" != containerd ] || set -- "$@" --containerd-config "$(state_get CONFIG)"
  [ -z "$(state_get NODE_LABELLED)" ] || set -- "$@" --node "$(state_get NODE_LABELLED)"
  echo "reaper doctor on the node:"
  _st=0
  if [ "$ROOT" = / ]; then "$@" || _st=$?
  else
    # shellcheck disable=SC2086  # HOST_EXEC is a command with its arguments
    $HOST_EXEC "$@" || _st=$?
  fi
  if [ "$_st" -gt 1 ]; then
    echo "$prog: could not run '$*' on the node (exit $_st): hostPID and REAPER_INSTALL_HOST_EXEC are needed" >&2
    return 1
  fi
  return "$_st"
}

# ------------------------------------------------------------------ flavor
# Which containerd this node runs (see the header), and from that: the file install
# edits, the drop-in, and the default restart and validation commands.
detect_flavor() {
  if [ -d "$(host /var/lib/rancher/k3s/agent/etc/containerd)" ]; then echo k3s
  elif [ -d "$(host /var/lib/rancher/rke2/agent/etc/containerd)" ]; then echo rke2
  elif [ -f "$(host /etc/k0s/containerd.toml)" ]; then echo k0s
  else echo containerd; fi
}

# The systemd unit (of UNITS, in order) enabled on the node, else the first one present.
node_unit() {  # node_unit UNIT...
  for _u in "$@"; do
    _w=$(host "/etc/systemd/system/multi-user.target.wants/$_u.service")
    { [ -e "$_w" ] || [ -L "$_w" ]; } && { echo "$_u"; return 0; }
  done
  for _u in "$@"; do
    for _d in /etc/systemd/system /usr/local/lib/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
      [ -f "$(host "$_d/$_u.service")" ] && { echo "$_u"; return 0; }
    done
  done
  return 1
}

resolve_flavor() {
  if [ "$verb" != install ] && have_state; then
    FLAVOR=$(state_get FLAVOR); FLAVOR=${FLAVOR:-containerd}
  elif [ "$FLAVOR" = auto ]; then
    FLAVOR=$(detect_flavor)
  fi
  _units=""
  case $FLAVOR in
    k3s|rke2)
      _cd=/var/lib/rancher/$FLAVOR/agent/etc/containerd
      TPL_VERSION=2
      if [ -f "$(host "$_cd/config.toml")" ]; then
        CONFIG=$_cd/config.toml
        [ "$(config_version "$(host "$_cd/config.toml")")" != 3 ] || TPL_VERSION=3
      fi
      if [ "$TPL_VERSION" = 3 ]; then CONFIG=$_cd/config-v3.toml.tmpl; else CONFIG=$_cd/config.toml.tmpl; fi
      if [ "$FLAVOR" = k3s ]; then _units="k3s k3s-agent"; else _units="rke2-server rke2-agent"; fi ;;
    k0s)
      CONFIG=/etc/k0s/containerd.toml CONFD=/etc/k0s/containerd.d
      _units="k0sworker k0scontroller" ;;
  esac
  [ "$verb" != install ] && have_state && CONFIG=$(state_get CONFIG)
  DROPIN=$CONFD/reaper.toml
  H_CONFIG=$(host "$CONFIG")
  H_DROPIN=$(host "$DROPIN")

  if [ "${REAPER_INSTALL_RESTART_CMD+set}" = set ]; then
    RESTART_CMD=$REAPER_INSTALL_RESTART_CMD
  else
    _unit=containerd
    if [ -n "$_units" ]; then
      # shellcheck disable=SC2086
      _unit=$(node_unit $_units) ||
        die "$FLAVOR: none of the units $_units is on this node; set REAPER_INSTALL_RESTART_CMD"
    fi
    if [ "$ROOT" = / ]; then RESTART_CMD="systemctl restart $_unit"
    else RESTART_CMD="$HOST_EXEC systemctl restart $_unit"; fi
  fi

  CONTAINERD_CMD=none
  if [ "$FLAVOR" != containerd ]; then
    [ "${REAPER_INSTALL_CONTAINERD_CMD:-none}" = none ] ||
      note "$FLAVOR renders containerd's configuration itself: REAPER_INSTALL_CONTAINERD_CMD not used"
  elif [ "${REAPER_INSTALL_CONTAINERD_CMD+set}" = set ]; then
    CONTAINERD_CMD=${REAPER_INSTALL_CONTAINERD_CMD:-none}
  elif [ "$ROOT" = / ]; then
    command -v containerd >/dev/null 2>&1 && CONTAINERD_CMD=containerd
  else
    for p in /usr/bin/containerd /usr/local/bin/containerd /bin/containerd; do
      [ -x "$ROOT$p" ] && { CONTAINERD_CMD="chroot $ROOT $p"; break; }
    done
  fi
  return 0
}

[ "$verb" = status ] || acquire_lock
resolve_flavor
case $verb in
  install) do_install ;;
  uninstall) do_uninstall ;;
  status) do_status ;;
esac
