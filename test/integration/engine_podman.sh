# reaper-runtime as Podman's OCI runtime (podman --runtime, through conmon), with Debian's
# podman and conmon (installed by test/lib/engines.sh when missing). Podman's storage, run
# root and tmp dir are private to each test; containers use host networking and a busybox
# --rootfs, which reaper ignores: the host's programs run. Checked: runc's contract with
# conmon (the pid in --pid-file is conmon's child and ends with the workload's status), exec,
# stop, logs, and that the overlay holds for Podman's workloads.
# test-timeout: 180
# shellcheck shell=bash disable=SC2154  # rc, out, err: set by capture (harness.sh)
source "$(dirname "${BASH_SOURCE[0]}")/../lib/engines.sh"

podman_up() {
  podman_ensure
  trap 'pman_cleanup; harness_cleanup' EXIT
  PMARK=$(engine_mark podman)
}

test_podman_run_exit_codes_and_output() {
  podman_up
  capture prun --rm /bin/sh -c 'echo hi; exit 7'
  assert_eq 7 "$rc" "podman run exit code (stderr: $err)"
  assert_eq hi "$out" "podman run output"
  capture prun --rm /bin/sh -c 'exit 0'
  assert_eq 0 "$rc" "exit 0 (stderr: $err)"
  capture prun --rm /bin/sh -c 'kill -KILL $$'
  assert_eq 137 "$rc" "a workload killed by SIGKILL (stderr: $err)"
  # The workload ran on the host: the host's sh, not the busybox of --rootfs.
  capture prun --rm /bin/sh -c 'readlink -f /proc/$$/exe'
  assert_eq "$(readlink -f /bin/sh)" "$out" "the shell that ran"
  engine_gone "$PMARK" "after podman run --rm"
  assert_root_empty "reaper-runtime's state after --rm"
}

test_podman_detached_exec_logs_and_stop() {
  podman_up
  capture prun -d --name p-d /bin/sh -c 'echo started; exec sleep 1000'
  assert_eq 0 "$rc" "podman run -d (stderr: $err)"
  capture pman exec p-d /bin/sh -c 'echo from-exec; exit 4'
  assert_eq 4 "$rc" "podman exec exit code (stderr: $err)"
  assert_eq from-exec "$out" "podman exec output"
  capture pman logs p-d
  assert_eq started "$out" "podman logs"
  # The pid Podman knows is the one reaper-runtime's state reports, and conmon's child.
  local pid ppid
  pid=$(pman inspect p-d --format '{{.State.Pid}}')
  assert_eq "$pid" "$(rt state "$(pman inspect p-d --format '{{.Id}}')" | json_field pid)" "state pid"
  ppid=$(proc_stat "$pid" | cut -d' ' -f2)
  assert_eq conmon "$(proc_comm "$ppid")" "the parent of the container's pid"
  # stop sends SIGTERM; without a pid namespace the sleep is no pid 1 and dies of it (143).
  capture pman stop -t 5 p-d
  assert_eq 0 "$rc" "podman stop (stderr: $err)"
  assert_eq "143 exited" "$(pman inspect p-d --format '{{.State.ExitCode}} {{.State.Status}}')" "after stop"
  capture pman rm p-d
  assert_eq 0 "$rc" "podman rm (stderr: $err)"
  engine_gone "$PMARK" "after podman rm"
  assert_root_empty "reaper-runtime's state after podman rm"
}

test_podman_kill_and_overlay_protects_the_host() {
  podman_up
  local probe=/etc/reaper-engine-podman-$$
  capture prun -d --name p-k /bin/sh -c "echo written >$probe; exec sleep 1000"
  assert_eq 0 "$rc" "podman run -d (stderr: $err)"
  capture pman exec p-k /bin/cat "$probe"
  assert_eq written "$out" "the container sees its own write (stderr: $err)"
  assert_no_file "$probe"
  # Masking (docs/overlay.md): inside, every password field of /etc/shadow is "!".
  capture pman exec p-k /bin/sh -c 'cut -d: -f2 /etc/shadow | sort -u'
  assert_eq '!' "$out" "password fields of /etc/shadow in the container (stderr: $err)"
  capture pman kill --signal KILL p-k
  assert_eq 0 "$rc" "podman kill (stderr: $err)"
  capture pman wait p-k
  assert_eq 137 "$out" "exit code after SIGKILL (stderr: $err)"
  pman rm p-k >/dev/null || fail "podman rm"
  engine_gone "$PMARK" "after podman rm"
  assert_no_file "$probe"
}

# Terminals: conmon passes --console-socket to create and exec; the workload's stdio is a
# PTY, input reaches it, the exit code comes back.
test_podman_terminal_run_and_exec() {
  podman_up
  capture prun --rm -t /bin/sh -c 'tty; exit 5'
  assert_eq 5 "$rc" "podman run -t exit code (stderr: $err)"
  [[ $out =~ /dev/pts/[0-9]+ ]] || fail "podman run -t: no PTY: $out"
  capture prun -d --name p-t /bin/sleep 1000
  assert_eq 0 "$rc" "podman run -d (stderr: $err)"
  capture pman exec -it p-t /bin/sh -c 'tty; read x; echo "got=$x"; exit 4' <<<"typed"
  assert_eq 4 "$rc" "podman exec -it exit code (stderr: $err)"
  [[ $out =~ /dev/pts/[0-9]+ ]] || fail "podman exec -it: no PTY: $out"
  assert_contains "$out" "got=typed" "input to podman exec -it"
  pman rm -f -t 0 p-t >/dev/null || fail "podman rm -f"
  engine_gone "$PMARK" "after podman rm -f"
  assert_root_empty "reaper-runtime's state after podman rm -f"
}
