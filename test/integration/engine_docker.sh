# reaper-runtime as a Docker runtime (dockerd --add-runtime reaper=…, which drives it through
# containerd's runc shim), with Debian's docker.io (installed by test/lib/engines.sh when
# missing) in a private dockerd started by each test: its own data and exec roots and
# socket, no iptables, no bridge, vfs storage, an image imported from a busybox directory
# (no registry is needed). The image's programs are not used: the host's run.
# test-timeout: 180
# shellcheck shell=bash disable=SC2154  # rc, out, err: set by capture (harness.sh)
source "$(dirname "${BASH_SOURCE[0]}")/../lib/engines.sh"

test_docker_run_exit_codes_and_output() {
  docker_up
  capture drun --rm /bin/sh -c 'echo hi; exit 7'
  assert_eq 7 "$rc" "docker run exit code (stderr: $err)"
  assert_eq hi "$out" "docker run output"
  capture drun --rm /bin/sh -c 'kill -KILL $$'
  assert_eq 137 "$rc" "a workload killed by SIGKILL (stderr: $err)"
  capture drun --rm /bin/sh -c 'readlink -f /proc/$$/exe'
  assert_eq "$(readlink -f /bin/sh)" "$out" "the shell that ran is the host's"
  engine_gone "$PMARK" "after docker run --rm"
}

test_docker_detached_exec_logs_stop_and_overlay() {
  docker_up
  local probe=/etc/reaper-engine-docker-$$
  capture drun -d --name d-d /bin/sh -c "echo started; echo written >$probe; exec sleep 1000"
  assert_eq 0 "$rc" "docker run -d (stderr: $err)"
  capture dk exec d-d /bin/sh -c "cat $probe; exit 5"
  assert_eq 5 "$rc" "docker exec exit code (stderr: $err)"
  assert_eq written "$out" "docker exec sees the container's write"
  assert_no_file "$probe"
  capture dk logs d-d
  assert_eq started "$out" "docker logs"
  local pid
  pid=$(dk inspect d-d --format '{{.State.Pid}}')
  assert_eq reaper-standin "$(proc_comm "$pid")" "the process Docker's shim waits for"
  capture dk stop -t 5 d-d
  assert_eq 0 "$rc" "docker stop (stderr: $err)"
  assert_eq 143 "$(dk inspect d-d --format '{{.State.ExitCode}}')" "exit code after stop"
  dk rm d-d >/dev/null || fail "docker rm"
  engine_gone "$PMARK" "after docker rm"
  assert_no_file "$probe"
}
