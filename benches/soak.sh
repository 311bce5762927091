#!/usr/bin/env bash
# `make soak`: k3rt and k3 under load and over many cycles, with every resource a
# container can hold counted before and after (state dirs, cgroups, mounts,
# processes, veths, netns, nft rules, loop devices, DB rows, bundles, open files).
#   1. 50 parallel `k3rt create` (all win), 10 parallel with one id (exactly one wins)
#   2. 20 parallel `k3 run -d` on kb0: unique IPs, no "database is locked"
#   3. `k3 serve` with 100 concurrent API clients for DURATION seconds: no 5xx, no
#      refused connection, the daemon's descriptors and memory flat
#   4. CYCLES_RT k3rt create/start/delete cycles and CYCLES_K3 `k3 run --rm` cycles
# Exits non-zero on any difference or failure. Root. Loopback only.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
CYCLES_RT=${CYCLES_RT:-1000}
CYCLES_K3=${CYCLES_K3:-300}
DURATION=${DURATION:-60}
CLIENTS=${CLIENTS:-100}
need() { command -v "$1" >/dev/null || { echo "missing tool: $1 (make deps)" >&2; exit 1; }; }
[ "$(id -u)" = 0 ] || { echo "soak needs root" >&2; exit 2; }
for t in jq curl umoci skopeo /usr/bin/docker-registry python3 nft sqlite3 losetup; do need "$t"; done
fail() { echo "FAIL: $*" >&2; return 1; }
source "$TOP/integration/engine_lib.sh"
touch "$T/stamp"
K3RT=$TOP/target/x86_64-unknown-linux-gnu/release/k3rt
RT_ROOT=$T/rt-root
FAILS=0
check() { # WHAT COMMAND...: run a check, count failures, go on
    local what=$1; shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; FAILS=$((FAILS + 1)); fi
}
soak_cleanup() {
    local id
    for id in $(ls "$RT_ROOT" 2>/dev/null); do "$K3RT" --root "$RT_ROOT" delete -f "$id" >/dev/null 2>&1; done
    [ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
    engine_cleanup
}
trap soak_cleanup EXIT INT TERM

# processes whose root or command line lies under $T: container inits and their
# children (root in an overlay there), monitors and runtimes (bundle paths there)
procs_here() {
    local p n=0 r c
    for p in /proc/[0-9]*; do
        r=$(readlink "$p/root" 2>/dev/null) || continue
        c=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
        case "$r $c" in *"$T"*) n=$((n + 1)) ;; esac
    done
    echo "$n"
}

# every resource a container can hold, one line each
resources() {
    echo "k3rt state: $(ls "$RT_ROOT" 2>/dev/null | wc -l)"
    echo "k3rt cgroups: $(ls -d /sys/fs/cgroup/*/k3rt/soak-* /sys/fs/cgroup/k3rt/soak-* 2>/dev/null | wc -l)"
    echo "k3 cgroups made by the soak: $(find /sys/fs/cgroup/*/k3 /sys/fs/cgroup/k3 -mindepth 1 -maxdepth 1 -type d -newer "$T/stamp" 2>/dev/null | wc -l)"
    echo "mounts under $T: $(awk -v t="$T" 'index($5, t) == 1' /proc/self/mountinfo | wc -l)"
    echo "processes of this soak: $(procs_here)"
    echo "veths: $(ip -br link | awk '$1 ~ /^k3-/' | wc -l)"
    echo "netns: $(ls "$ROOT/netns" 2>/dev/null | wc -l)"
    echo "nft rules: $(nft -a list table ip k3 2>/dev/null | grep -c handle)"
    echo "loop devices: $(losetup -a | wc -l)"
    echo "bundles: $(ls "$ROOT/containers" 2>/dev/null | wc -l) overlays: $(ls "$ROOT/overlays" 2>/dev/null | wc -l)"
    echo "db rows: $(sqlite3 "$ROOT/k3.db" 'select (select count(*) from containers), (select count(*) from container_state), (select count(*) from leases), (select count(*) from ports), (select count(*) from snapshots)' 2>/dev/null)"
}
same_resources() { # BEFORE
    local after; after=$(resources)
    [ "$1" = "$after" ] || fail "resources differ:$(diff <(echo "$1") <(echo "$after") | sed 's/^/  /')"
}

# k3rt bundle: a shared busybox rootfs, configs per test
"$TOP/bundles/mkbundle.sh" "$K3RT" "$T/rtb" sleep 1000 >/dev/null || { echo "bundle failed" >&2; exit 1; }
jq '.process.args = ["true"]' "$T/rtb/config.json" >"$T/rtb-true.json"
mkdir -p "$T/rtt" && jq --arg r "$T/rtb/rootfs" '.root.path = $r' "$T/rtb-true.json" >"$T/rtt/config.json"
rt() { "$K3RT" --root "$RT_ROOT" "$@"; }

registry_start >/dev/null
image_build alpine latest "" --config.cmd /bin/sh >/dev/null 2>&1 || { echo "image build failed" >&2; exit 1; }
export K3_DEFAULT_REGISTRY=$REG
k3 pull -q alpine >/dev/null
k3 run --rm --name warm alpine true >/dev/null # kb0, the nft table, the DB
BEFORE=$(resources)
echo "== resources before"; echo "$BEFORE"

parallel_creates() {
    local i pids=() bad=0
    for i in $(seq 50); do rt create -b "$T/rtb" "soak-p$i" </dev/null >/dev/null 2>"$T/p$i.err" & pids+=($!); done
    for i in "${!pids[@]}"; do wait "${pids[$i]}" || { bad=$((bad + 1)); cat "$T/p$((i + 1)).err" >&2; }; done
    [ "$bad" = 0 ] || fail "$bad of 50 parallel creates failed"
    [ "$(rt list -q | grep -c '^soak-p')" = 50 ] || fail "not 50 containers listed"
    for i in $(seq 50); do rt delete -f "soak-p$i" || return 1; done
}
same_id_once() {
    local i pids=() won=0
    for i in $(seq 10); do rt create -b "$T/rtb" soak-same </dev/null >/dev/null 2>/dev/null & pids+=($!); done
    for i in "${pids[@]}"; do wait "$i" && won=$((won + 1)); done
    [ "$won" = 1 ] || fail "$won of 10 creates with one id won"
    rt delete -f soak-same
}
parallel_k3_runs() {
    local i pids=() bad=0
    for i in $(seq 20); do k3 run -d --name "soak-k$i" alpine sleep 1000 >/dev/null 2>"$T/k$i.err" & pids+=($!); done
    for i in "${!pids[@]}"; do wait "${pids[$i]}" || bad=$((bad + 1)); done
    ! grep -l "database is locked" "$T"/k*.err >/dev/null 2>&1 || fail "database is locked: $(cat "$T"/k*.err)"
    [ "$bad" = 0 ] || fail "$bad of 20 parallel runs failed: $(cat "$T"/k*.err)"
    local ips; ips=$(for i in $(seq 20); do k3 inspect "soak-k$i" | jq -r '.[0].Summary.ip'; done)
    [ "$(sort -u <<<"$ips" | grep -c .)" = 20 ] || fail "IPs not unique: $(tr '\n' ' ' <<<"$ips")"
    for i in $(seq 20); do k3 rm -f "soak-k$i" >/dev/null || return 1; done
}

api_clients() {
    local sock=$ROOT/k3.sock
    "$K3" serve >"$T/daemon.log" 2>&1 &
    DPID=$!
    for _ in $(seq 100); do [ -S "$sock" ] && curl -s --unix-socket "$sock" http://k3/containers >/dev/null && break; sleep 0.1; done
    k3 run -d --name soak-api --network none alpine sleep 1000 >/dev/null
    load 3 # warm-up: the server's worker threads and their database handles
    local fds0 fdsa fdsb rss0 rssb total=0 bad=0
    sleep 1; fds0=$(ls /proc/$DPID/fd | wc -l); rss0=$(awk '/VmRSS/ {print $2}' /proc/$DPID/status)
    # two equal halves: what the daemon holds may grow to a working set in the first,
    # and must not grow again in the second (a leak grows with the requests served)
    load $((DURATION / 2)); count_requests; fdsa=$(settled_fds "$fds0")
    load $((DURATION / 2)); count_requests; fdsb=$(settled_fds "$fdsa")
    rssb=$(awk '/VmRSS/ {print $2}' /proc/$DPID/status)
    echo "     $CLIENTS clients, ${DURATION}s: $total requests, $bad not 200; daemon fds $fds0 -> $fdsa -> $fdsb, RSS ${rss0} -> ${rssb} kB"
    k3 rm -f soak-api >/dev/null
    kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
    [ "$bad" = 0 ] || fail "$bad requests failed"
    [ "$fdsb" -le $((fdsa + 2)) ] || fail "daemon descriptors grew with the requests: $fds0 -> $fdsa -> $fdsb"
}

count_requests() {
    total=$((total + $(cat "$T"/client* | awk '{s += $1} END {print s}')))
    bad=$((bad + $(cat "$T"/client* | awk '{s += $2} END {print s}')))
}

# settled_fds BASE: the daemon's descriptor count once requests in flight are done
# (down to BASE + 2, or after 10 s)
settled_fds() {
    local n
    for _ in $(seq 100); do
        n=$(ls /proc/$DPID/fd | wc -l)
        [ "$n" -le $(($1 + 2)) ] && break
        sleep 0.1
    done
    echo "$n"
}

load() { # SECONDS: CLIENTS concurrent clients
    local sock=$ROOT/k3.sock end=$((SECONDS + $1)) i pids=()
    rm -f "$T"/client*
    for i in $(seq "$CLIENTS"); do
        (
            n=0 bad=0
            while [ $SECONDS -lt $end ]; do
                case $((n % 3)) in
                    0) path=/containers ;;
                    1) path=/containers/soak-api ;;
                    2) path=/networks ;;
                esac
                code=$(curl -s -o /dev/null -m 10 -w '%{http_code}' --unix-socket "$sock" "http://k3$path")
                [ "$code" = 200 ] || bad=$((bad + 1))
                n=$((n + 1))
            done
            echo "$n $bad" >"$T/client$i"
        ) &
        pids+=($!)
    done
    wait "${pids[@]}"
}

rt_cycles() {
    local i t0=$SECONDS
    for i in $(seq "$CYCLES_RT"); do
        rt create -b "$T/rtt" soak-c </dev/null >/dev/null || return 1
        rt start soak-c || return 1
        for _ in $(seq 200); do [ "$(rt state soak-c | jq -r .status)" = stopped ] && break; sleep 0.005; done
        rt delete soak-c || return 1
    done
    echo "     $CYCLES_RT k3rt create/start/delete cycles in $((SECONDS - t0)) s"
}
k3_cycles() {
    local i t0=$SECONDS
    for i in $(seq "$CYCLES_K3"); do k3 run --rm --name soak-r alpine true >/dev/null || return 1; done
    echo "     $CYCLES_K3 k3 run --rm cycles in $((SECONDS - t0)) s"
}

check "50 parallel k3rt creates" parallel_creates
check "10 parallel creates of one id: exactly one wins" same_id_once
check "20 parallel k3 run -d on kb0: unique IPs, no lock errors" parallel_k3_runs
check "daemon under $CLIENTS concurrent API clients for ${DURATION}s" api_clients
check "$CYCLES_RT k3rt cycles" rt_cycles
check "$CYCLES_K3 k3 run --rm cycles" k3_cycles
check "every resource as before" same_resources "$BEFORE"
echo "== resources after"; resources
echo "soak: $FAILS failed"
[ "$FAILS" = 0 ]
