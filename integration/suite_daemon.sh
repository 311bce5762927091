#!/usr/bin/env bash
# End-to-end tests of `k3 serve` as root: the API over the unix socket and
# TCP (bearer token), the dashboard in headless Chromium, restart policies,
# webhooks to a loopback receiver, the shutdown sequence and crash
# reconciliation, and `k3 selftest limits`. Private root, socket, ports and
# registry; a trap stops the daemon and removes everything.
# Ends with `N passed, M failed`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/engine_lib.sh"
need_root
need "$K3" umoci skopeo /usr/bin/docker-registry busybox python3 curl chromium sqlite3 ip nft
export K3_RUNTIME=${K3_RUNTIME:-$(dirname "$K3")/k3rt}
[ -x "$K3_RUNTIME" ] || { echo "FAIL missing runtime $K3_RUNTIME"; echo "0 passed, 1 failed"; exit 1; }
SOCK=$ROOT/k3.sock
DPID=
RECV_PID=
daemon_cleanup() {
    [ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null
    # A daemon a test started in its subshell (the suite's DPID never sees it).
    [ -f "$T/daemon.pid" ] && kill -KILL "$(cat "$T/daemon.pid")" 2>/dev/null
    [ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null
    [ -n "${PROXY_PID:-}" ] && kill "$PROXY_PID" 2>/dev/null
    engine_cleanup
}
trap daemon_cleanup EXIT INT TERM
registry_start || { echo "0 passed, 1 failed"; exit 1; }
image_build busybox latest "" >"$T/build.log" 2>&1 || { echo "FAIL image: $(tail -3 "$T/build.log")"; echo "0 passed, 1 failed"; exit 1; }
export K3_DEFAULT_REGISTRY=$REG
mkdir -p "$ROOT" "$T/art"
k3 pull -q busybox

# The webhook receiver: appends each body as one line to $T/hooks.jsonl.
hook_receiver_start || { echo "FAIL receiver"; echo "0 passed, 1 failed"; exit 1; }
# A dead receiver: a port that accepts nothing.
DEAD_PORT=$(free_port)
TCP_PORT=$(free_port)
echo "tok-$RANDOM$RANDOM" >"$T/token"

start_daemon() {
    "$K3" serve --listen "127.0.0.1:$TCP_PORT" --token-file "$T/token" --grace "${GRACE:-3}" \
        --webhook "http://127.0.0.1:$HOOK_PORT/hook" --webhook "http://127.0.0.1:$DEAD_PORT/dead" \
        --webhook-timeout 1 >>"$T/daemon.log" 2>&1 &
    DPID=$!
    echo "$DPID" >"$T/daemon.pid"
    for _ in $(seq 100); do [ -S "$SOCK" ] && curl -s --unix-socket "$SOCK" http://k3/api/system >/dev/null && return 0; sleep 0.1; done
    fail "daemon did not start: $(tail -5 "$T/daemon.log")"
}
api() { curl -s --unix-socket "$SOCK" "$@"; }
start_daemon
PROXY_PORT=$(free_port)
cat >"$T/proxy.py" <<'PY'
import http.server, sys, urllib.request, urllib.error
up, tok = sys.argv[2], open(sys.argv[3]).read().strip()
class P(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            r = urllib.request.urlopen(urllib.request.Request(up + self.path, headers={"Authorization": "Bearer " + tok}))
        except urllib.error.HTTPError as e:
            r = e
        body = r.read()
        self.send_response(r.status); self.send_header("Content-Type", r.headers["Content-Type"]); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), P).serve_forever()
PY
python3 "$T/proxy.py" "$PROXY_PORT" "http://127.0.0.1:$TCP_PORT" "$T/token" &
PROXY_PID=$!
wait_port "$PROXY_PORT" || { echo "FAIL proxy"; echo "0 passed, 1 failed"; exit 1; }

t_a_socket_mode_and_api_create_list() {
    expect_eq 660 "$(stat -c %a "$SOCK")" "socket mode"
    out=$(api -X POST -d '{"containerId":"api1","image":"busybox","network":"none","args":"sleep 1000"}' -w ' %{http_code}' http://k3/containers)
    expect_contains "$out" ' 201'
    expect_contains "$out" '"containerId":"api1"'
    api -X POST http://k3/containers/api1/start | grep >/dev/null '"pid"' || fail "start"
    api 'http://k3/containers?all=true' | python3 -c 'import json,sys; assert any(c["id"]=="api1" and c["status"]=="RUNNING" for c in json.load(sys.stdin))'
    # The typed error with its statusCode as the HTTP status.
    code=$(api -o "$T/err.json" -w '%{http_code}' -X POST -d '{"containerId":"api1","image":"busybox"}' http://k3/containers)
    expect_eq 422 "$code" "duplicate id status"
    expect_eq VALIDATION_ERROR "$(python3 -c "import json; print(json.load(open('$T/err.json'))['type'])")"
    expect_eq 404 "$(api -o /dev/null -w '%{http_code}' http://k3/containers/nope)" "unknown container"
    out=$(api -X POST -d '{"cmd":["echo","hi"]}' http://k3/containers/api1/exec)
    expect_eq hi "$(json_get "$out" 'j["stdout"].strip()')"
    # bad bodies and names are 4xx, never 200 or 500
    expect_eq 400 "$(api -o /dev/null -w '%{http_code}' -X POST -d '{"cmd":[]}' http://k3/containers/api1/exec)" "exec without a command"
    out=$(api -X POST -d '{"cmd":["--help"]}' http://k3/containers/api1/exec)
    expect_eq 127 "$(json_get "$out" 'j["exitCode"]')" "a command that looks like an option is the container's program"
    expect_eq 404 "$(api -o /dev/null -w '%{http_code}' --path-as-is -X DELETE http://k3/networks/..)" "DELETE /networks/.."
    local net; for net in 0.0.0.0/1 127.0.0.0/8 169.254.0.0/16; do
        expect_eq 422 "$(api -o /dev/null -w '%{http_code}' -X POST -d "{\"name\":\"badnet\",\"subnet\":\"$net\"}" http://k3/networks)" "network $net"
    done
    ip link show badnet >/dev/null 2>&1 && fail "a bridge was made for a refused subnet"
    # The CLI talks to the daemon: ps lists it, rm goes through DELETE.
    k3 ps | grep >/dev/null api1 || fail "k3 ps through the daemon"
    grep -q 'DELETE' "$T/daemon.log" && true
    k3 rm -f api1 >/dev/null
    expect_eq 404 "$(api -o /dev/null -w '%{http_code}' http://k3/containers/api1)" "removed"
}

t_b_tcp_needs_token() {
    expect_eq 401 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$TCP_PORT/containers")" "no token"
    expect_eq 401 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' "http://127.0.0.1:$TCP_PORT/containers")" "wrong token"
    expect_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$T/token")" "http://127.0.0.1:$TCP_PORT/containers")" "token"
}

t_c_api_containers_system_metrics() {
    k3 run -d --name mon1 --network none --cpus 0.5 -m 64m busybox sh -c 'while :; do :; done' >/dev/null
    sleep 1.5
    api http://k3/api/containers >/dev/null
    sleep 1
    out=$(api http://k3/api/containers)
    python3 - "$out" <<'PY'
import json, sys
j = json.loads(sys.argv[1])
c = [c for c in j["containers"] if c["id"] == "mon1"][0]
for k in ["id","pid","state","cpu_usage","cpu_limit","cpu_percent","memory_usage","memory_limit","memory_percent"]:
    assert k in c, k
assert c["state"] == "RUNNING"
assert c["cpu_limit"] == 0.5, c
assert 35 <= c["cpu_percent"] <= 65, c          # a spinning loop under a 0.5 CPU quota
assert c["memory_limit"] == 64 * 1024 * 1024, c
assert 0 < c["memory_usage"] < c["memory_limit"], c
PY
    sys=$(api http://k3/api/system)
    python3 -c "import json,sys; j=json.loads(sys.argv[1]); assert 0 < j['used_memory'] < j['total_memory'] and 'cpu_percent' in j" "$sys"
    m=$(api http://k3/metrics)
    expect_contains "$m" 'k3_container_cpu_limit{id="mon1"} 0.5'
    expect_contains "$m" '# TYPE k3_container_memory_usage_bytes gauge'
    k3 stop -t 1 mon1 >/dev/null
    out=$(api http://k3/api/containers)
    python3 -c "import json,sys; c=[c for c in json.loads(sys.argv[1])['containers'] if c['id']=='mon1'][0]; assert c['state']=='STOPPED' and 'cpu_usage' not in c, c" "$out"
    k3 rm mon1 >/dev/null
}

chrome() {
    chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
        --disable-sync --no-first-run --user-data-dir="$(mktemp -d "$T/chrome.XXXX")" "$@" 2>>"$T/chrome.log"
}

t_d_dashboard_in_chromium() {
    k3 run -d --name dash1 --network none --cpus 0.3 busybox sh -c 'while :; do :; done' >/dev/null
    k3 run -d --name dash2 --network none busybox sleep 1000 >/dev/null
    # Chromium cannot send the bearer token: a loopback proxy adds it and
    # forwards to the daemon's TCP listener, so the browser loads the real page.
    url=http://127.0.0.1:$PROXY_PORT/
    api http://k3/ >/dev/null; sleep 2
    dom1=$(chrome --dump-dom "$url")
    expect_contains "$dom1" 'id="c-dash1"'
    expect_contains "$dom1" 'id="c-dash2"'
    [ "$(grep -o '<svg class="chart' <<<"$dom1" | wc -l)" -ge 4 ] || fail "fewer than 4 charts"
    p1=$(grep -o 'id="c-dash1".*' <<<"$dom1" | grep -o 'data-points="[0-9]*"' | head -1 | tr -dc 0-9)
    sleep 2
    dom2=$(chrome --dump-dom "$url")
    p2=$(grep -o 'id="c-dash1".*' <<<"$dom2" | grep -o 'data-points="[0-9]*"' | head -1 | tr -dc 0-9)
    (( p2 > p1 )) || fail "chart did not grow after a refresh: $p1 -> $p2"
    chrome --screenshot="$T/art/dashboard.png" --window-size=1200,600 "$url" >/dev/null
    [ -s "$T/art/dashboard.png" ] || fail "no screenshot"
    cp "$T/art/dashboard.png" "${K3_ARTIFACTS:-/tmp}/k3-dashboard-$$.png"
    echo "screenshot: ${K3_ARTIFACTS:-/tmp}/k3-dashboard-$$.png" >&2
    k3 rm -f dash1 dash2 >/dev/null
}

restarts_of() { sqlite3 "$ROOT/k3.db" "select count(*) from restarts where container_id='$1'"; }

t_e_on_failure_stops_after_max_attempts() {
    k3 run -d --options-json '{"containerId":"fail3","image":"busybox","network":"none","args":"sh -c \"exit 1\"","restart":"on-failure","maxAttempts":3}' >/dev/null
    for _ in $(seq 100); do [ "$(restarts_of fail3)" -ge 3 ] && break; sleep 0.1; done
    sleep 2
    expect_eq 3 "$(restarts_of fail3)" "restarts"
    expect_eq STOPPED "$(status_of fail3)"
    expect_eq "1 1 1" "$(sqlite3 "$ROOT/k3.db" "select exit_code from restarts where container_id='fail3'" | tr '\n' ' ' | xargs)" "exit codes recorded"
    k3 rm fail3 >/dev/null
}

t_f_always_restarts_and_unless_stopped_respects_stop() {
    k3 run -d --options-json '{"containerId":"alw","image":"busybox","network":"none","args":"sh -c \"sleep 0.3; exit 0\"","restart":"always"}' >/dev/null
    for _ in $(seq 100); do [ "$(restarts_of alw)" -ge 2 ] && break; sleep 0.1; done
    [ "$(restarts_of alw)" -ge 2 ] || fail "always: $(restarts_of alw) restarts"
    k3 rm -f alw >/dev/null
    k3 run -d --options-json '{"containerId":"uls","image":"busybox","network":"none","args":"sleep 1000","restart":"unless-stopped"}' >/dev/null
    k3 stop -t 1 uls >/dev/null
    sleep 1.5
    expect_eq STOPPED "$(status_of uls)" "unless-stopped after a user stop"
    expect_eq 0 "$(restarts_of uls)"
    k3 start uls >/dev/null
    k3 kill uls >/dev/null
    for _ in $(seq 50); do [ "$(restarts_of uls)" -ge 1 ] && break; sleep 0.1; done
    expect_eq 1 "$(restarts_of uls)" "unless-stopped restarts after a kill"
    k3 rm -f uls >/dev/null
}

t_g_webhooks_delivered_dead_receiver_does_not_slow_create() {
    t0=$(date +%s%N)
    api -X POST -d '{"containerId":"hook1","image":"busybox","network":"none","args":"sh -c \"exit 3\""}' http://k3/containers >/dev/null
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    (( ms < 1000 )) || fail "create took ${ms} ms with a dead receiver"
    api -X POST http://k3/containers/hook1/start >/dev/null
    for _ in $(seq 100); do grep -q '"containerId":"hook1".*"event":"die"\|"event":"die".*"containerId":"hook1"' "$T/hooks.jsonl" 2>/dev/null && break; sleep 0.1; done
    grep '"hook1"' "$T/hooks.jsonl" | grep >/dev/null '"event":"create"' || fail "no create webhook: $(cat "$T/hooks.jsonl")"
    grep '"hook1"' "$T/hooks.jsonl" | grep '"event":"die"' | grep >/dev/null '"exitCode":3' || fail "no die webhook with exit code"
    k3 rm hook1 >/dev/null
    grep '"hook1"' "$T/hooks.jsonl" >/dev/null
}

t_h_selftest_limits() {
    out=$(K3_NO_DAEMON=1 k3 selftest limits --image busybox --seconds 4 2>&1) || fail "selftest failed: $out"
    echo "$out" >"$T/art/selftest.txt"
    cp "$T/art/selftest.txt" "${K3_ARTIFACTS:-/tmp}/k3-selftest-$$.txt"
    echo "$out" | grep -c ' ok$' | grep -x >/dev/null 6 || fail "not 6 ok lines: $out"
}

t_z_shutdown_and_crash_reconcile() {
    # `wait` gets an exit status only for a child of the shell that waits, and
    # each test runs in a subshell: the suite's daemon (a child of the top-level
    # shell) is replaced by one started here.
    kill -TERM "$DPID"
    for _ in $(seq 150); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
    start_daemon
    k3 run -d --name sd1 --network none busybox sleep 1000 >/dev/null
    k3 run -d --name sd2 --network none busybox sh -c 'trap "" TERM; while :; do sleep 1; done' >/dev/null
    k3 create --name sd3 --network none busybox sleep 1000 >/dev/null
    k3 run -d --options-json '{"containerId":"sd4","image":"busybox","network":"none","args":"sleep 1000","restart":"always"}' >/dev/null
    p2=$(json_get "$(k3 inspect sd2)" 'j[0]["State"]["pid"]')
    kill -TERM "$DPID"
    for _ in $(seq 150); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
    wait "$DPID" && rc=0 || rc=$?; DPID=
    # started again at once: the shutdown recorded sd2 as stopped before sd2's
    # monitor had removed its runtime state and namespace (it must not remove
    # the new run's)
    out=$(K3_NO_DAEMON=1 k3 start sd2 2>&1) || fail "start right after the shutdown: $out"
    expect_eq 0 "$rc" "daemon exit status"
    [ ! -e "$SOCK" ] || fail "socket left"
    for c in sd1 sd3 sd4; do expect_eq STOPPED "$(status_of "$c")" "$c after shutdown"; done
    [ ! -d "/proc/$p2" ] || fail "TERM-ignoring container not killed"
    sleep 1
    expect_eq RUNNING "$(status_of sd2)" "sd2 started again right after the shutdown"
    K3_NO_DAEMON=1 k3 exec sd2 true || fail "exec in sd2 started again"
    K3_NO_DAEMON=1 k3 rm -f sd2 >/dev/null
    k3 run -d --name sd2 --network none busybox sleep 1000 >/dev/null
    K3_NO_DAEMON=1 k3 stop -t 0 sd2 >/dev/null
    grep -q 'SIGKILL to \["sd2"' "$T/daemon.log" || grep >/dev/null 'SIGKILL to .*sd2' "$T/daemon.log" || fail "sd2 not killed after the grace: $(tail -3 "$T/daemon.log")"
    # always comes back at the next start; a crash (kill -9) is reconciled.
    start_daemon
    for _ in $(seq 50); do [ "$(status_of sd4)" = RUNNING ] && break; sleep 0.1; done
    expect_eq RUNNING "$(status_of sd4)" "always at daemon start"
    expect_eq STOPPED "$(status_of sd1)" "policy none stays stopped"
    kill -KILL "$DPID"; wait "$DPID" 2>/dev/null || true; DPID=  # 137: killed on purpose
    p4=$(json_get "$(k3 inspect sd4)" 'j[0]["State"]["pid"]')
    mp=$(sqlite3 "$ROOT/k3.db" "select monitor_pid from container_state where id='sd4'")
    kill -KILL "$mp" "$p4"; sleep 0.5
    sqlite3 "$ROOT/k3.db" "select status from container_state where id='sd4'" | grep -x >/dev/null RUNNING || fail "setup: record changed early"
    start_daemon
    grep -q 'reconciled 1 container(s): sd4' "$T/daemon.log" || fail "no reconcile: $(tail -5 "$T/daemon.log")"
    kill -TERM "$DPID"; wait "$DPID"; DPID=
    for c in sd1 sd2 sd3 sd4; do K3_NO_DAEMON=1 k3 rm -f "$c" >/dev/null; done
}

run_suite
