# `reaper metrics --listen` for the tests: start it on a free port, ask it over raw HTTP,
# stop it by pid; metrics-check.py parses what it says. Needs PY, REAPER, REAPER_ROOT, TEST_TMP.
# shellcheck disable=SC2034  # read by the files that source this one
METRICS_PY="$(dirname "${BASH_SOURCE[0]}")/metrics-check.py"

# http_req PORT RAW-REQUEST: the raw response (status line first), 5 s at most.
http_req() {
  "$PY" - "$1" "$2" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
data = b""
while True:
    b = s.recv(65536)
    if not b: break
    data += b
sys.stdout.write(data.decode("utf-8", "replace"))
PY
}
status_of() { head -n 1 <<<"$1" | cut -d' ' -f2; }
body_of() { sed '1,/^\r$/d' <<<"$1"; }

SERVER_PID="" PORT=""
start_server() {
  "$REAPER" metrics --root "$REAPER_ROOT" --listen 127.0.0.1:0 2>"$TEST_TMP/server.log" &
  SERVER_PID=$!
  local i
  for ((i = 0; i < 200; i++)); do
    PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TEST_TMP/server.log")
    [[ -n $PORT ]] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || fail "server died: $(cat "$TEST_TMP/server.log")"
    sleep 0.025
  done
  fail "server did not say where it listens: $(cat "$TEST_TMP/server.log")"
}
stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID"
}
