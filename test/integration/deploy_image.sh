# The installer image built with buildah (Debian's package; vfs storage and chroot isolation,
# so no daemon, no overlay mounts, no registry: the Containerfile is FROM scratch) and its
# entry point run in a container of that image against a fake node root mounted at /host:
# install, then uninstall back to the tree of before.
# test-timeout: 300

_image_setup() {
  command -v buildah >/dev/null || fail "buildah is not installed (deploy/build.sh installs it)"
  KUBECTL_BIN=$(readlink -f "$(command -v kubectl 2>/dev/null)" 2>/dev/null || true)
  if [[ -z $KUBECTL_BIN ]]; then
    echo "SKIP: no static kubectl on this machine (the image needs one to label nodes; Debian bookworm packages none)"
    return 1
  fi
  S=$TEST_TMP/storage
  BUILDAH=(buildah --root "$S/root" --runroot "$S/run" --storage-driver vfs)
  IMAGE=localhost/reaper-installer:test
  trap '"${BUILDAH[@]}" rm -a >/dev/null 2>&1; "${BUILDAH[@]}" rmi -a -f >/dev/null 2>&1; harness_cleanup' EXIT
}

test_image_builds_and_its_entry_point_installs_on_a_node_root() {
  _image_setup || return 0
  capture env REAPER="$REAPER" BUSYBOX="$(command -v busybox)" KUBECTL="$KUBECTL_BIN" \
    ENGINE="${BUILDAH[*]}" BUILD_ARGS="--isolation chroot" bash "$TOP/deploy/installer/build-image.sh" "$IMAGE"
  assert_eq 0 "$rc" "build (stderr: $err)"
  local cfg
  cfg=$("${BUILDAH[@]}" inspect --type image "$IMAGE" |
    /usr/bin/python3 -c 'import json, sys; c = json.load(sys.stdin)["OCIv1"]["config"]; print(c["Entrypoint"], c["Cmd"])') ||
    fail "inspect"
  assert_eq "['/bin/sh', '/opt/reaper/install.sh'] ['status']" "$cfg" "entry point"
  # A node root with Debian's containerd config, and a recorder for restart and label.
  local node=$TEST_TMP/node rec=$TEST_TMP/rec
  mkdir -p "$node/etc/containerd" "$rec"
  printf 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "x/pause:1"\n' >"$node/etc/containerd/config.toml"
  printf '#!/bin/sh\necho "$*" >>/rec/calls\n' >"$rec/record"; chmod +x "$rec/record"
  local before ctr
  before=$(cd "$node" && find . -printf '%p %y %m %l\n' | sort && find . -type f -exec sha256sum {} + | sort)
  ctr=$("${BUILDAH[@]}" from "$IMAGE") || fail "buildah from"
  # shellcheck disable=SC2317  # run_entry is called below, shellcheck does not see it
  run_entry() {  # the entry point with VERB, as the DaemonSet's init container runs it
    "${BUILDAH[@]}" run --isolation chroot -v "$node:/host" -v "$rec:/rec" \
      --env NODE_NAME=node-1 --env REAPER_INSTALL_RESTART_CMD="/rec/record restart" \
      --env REAPER_INSTALL_LABEL_CMD="/rec/record label" --env REAPER_INSTALL_HOST_EXEC="/rec/record hostexec" \
      "$ctr" -- /bin/sh /opt/reaper/install.sh "$1"
  }
  capture run_entry install
  assert_eq 0 "$rc" "install in the image (stdout: $out, stderr: $err)"
  cmp -s "$REAPER" "$node/usr/local/bin/reaper" || fail "binary not installed from the image"
  assert_eq reaper "$(readlink "$node/usr/local/bin/containerd-shim-reaper-v2")" "shim link"
  grep -q '^# BEGIN reaper-installer' "$node/etc/containerd/config.toml" || fail "handler block"
  assert_eq $'restart\nlabel node-1 reaper.runtime/installed=true' "$(cat "$rec/calls")" "calls"
  capture run_entry status
  assert_contains "$out" "installed under /host"
  : >"$rec/calls"
  capture run_entry uninstall
  assert_eq 0 "$rc" "uninstall in the image (stderr: $err)"
  assert_eq "$before" "$(cd "$node" && find . -printf '%p %y %m %l\n' | sort && find . -type f -exec sha256sum {} + | sort)" \
    "node root after uninstall"
}
