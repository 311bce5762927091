#!/usr/bin/env bash
# Issue 16, "survive a kill at any instruction", for the engine: `k3 run -d` (a
# bridge network, a published port and a new named volume, so every kind of
# resource is made) is killed part-way, then one of the three ways k3 cleans up
# after a crash must leave nothing: `k3 rm -f ID`, `k3 prune`, or the daemon's
# start-up reconcile (`k3 serve` started and stopped). Nothing means the counts of
# `residue` equal those before: bundles, overlay dirs, netns files, runtime state
# dirs, create markers (`creating/`), mounts under the root, cgroups under `k3/`,
# processes naming the root (monitors, the runtime's create and its init), `k3-*`
# veths, nft portmap rules, loop devices backed by the root, the named volume, and
# the DB rows (containers, container_state, leases, ports, volumes, snapshots).
#
# A create journals each step before it runs (src/engine/create/journal.rs); the
# three cleanups replay that journal. Crash points:
# * steps: K3_CREATE_CRASH_AT=N SIGKILLs `k3` right after it journals step N, for
#   every step that makes something (5 volumes .. 12 the rows) and 16 (after the
#   commit, before the marker goes); each step with each of the three cleanups.
# * syscalls: `strace --inject=NAME:signal=KILL:when=K` at every K3_ENGINE_CRASH_STRIDE-th
#   (default 20) syscall of the `k3` process (its monitor and runtime carry on, as
#   after a real kill), the cleanup taking turns. K3_ENGINE_CRASH_FULL=1 tries
#   every position (~1 s each, a few hundred positions).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/engine_lib.sh"
need strace sqlite3 losetup
engine_setup

STRIDE=${K3_ENGINE_CRASH_STRIDE:-20}
[[ -n ${K3_ENGINE_CRASH_FULL:-} ]] && STRIDE=1
exec 3>&1 # each sweep's figures are shown, also when it passes
# the pattern in a file: grep's own command line must not match itself
printf '%s\n' "$ROOT" >"$T/rootpat"
k3 pull -q alpine >/dev/null
k3 run --rm alpine true >/dev/null # kb0, the nft table and the runtime root exist from here on


# counts: one line per resource kind, with what is there.
counts() {
    echo "bundles: $(ls "$ROOT/containers" 2>/dev/null | tr '\n' ' ')"
    echo "overlays: $(ls "$ROOT/overlays" 2>/dev/null | tr '\n' ' ')"
    echo "netns: $(ls "$ROOT/netns" 2>/dev/null | tr '\n' ' ')"
    echo "runtime: $(ls "$ROOT"/run/*/ 2>/dev/null | tr '\n' ' ')"
    echo "markers: $(ls "$ROOT/creating" 2>/dev/null | tr '\n' ' ')"
    echo "volumes: $(ls "$ROOT/volumes" 2>/dev/null | tr '\n' ' ')"
    echo "mounts: $(awk -v r="$ROOT/" 'index($2, r) == 1 {print $2}' /proc/mounts | tr '\n' ' ')"
    echo "cgroups: $(find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -type d -path '*/k3/*' 2>/dev/null | tr '\n' ' ')"
    local p pids=
    local c
    for p in $(grep -l -F -f "$T/rootpat" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
        [[ $p == "$$" || $p == "$BASHPID" ]] && continue
        c=$({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | cut -c1-60) && [[ -n $c ]] && pids+="$p($c) "
    done
    echo "processes: $pids"
    echo "veths: $(ip -br link | awk '$1 ~ /^k3-/ {print $1}' | tr '\n' ' ')"
    echo "nft: $(nft list chain ip k3 portmap 2>/dev/null | grep -c "dport 18931")" # ours only: the table is the host's
    echo "loops: $(losetup -nO BACK-FILE 2>/dev/null | grep -c "^$ROOT")"
    echo "rows: $(sqlite3 "$ROOT/k3.db" 'select (select count(*) from containers), (select count(*) from container_state), (select count(*) from leases), (select count(*) from ports), (select count(*) from volumes), (select count(*) from snapshots)' 2>/dev/null)"
}

# serve_reconcile: starts the daemon (its start-up reconcile), then stops it.
serve_reconcile() {
    : >"$T/serve.out"
    "$K3" serve --grace 1 >"$T/serve.out" 2>&1 &
    local pid=$! i
    for ((i = 0; i < 600; i++)); do
        grep -q "listening" "$T/serve.out" && break
        sleep 0.05
    done
    # (a SIGTERM before the daemon listens can be lost: sent again until it goes)
    for ((i = 0; i < 50; i++)); do
        kill -TERM "$pid" 2>/dev/null || break
        sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    grep -q "reconciled" "$T/serve.out" || { echo "serve did not reconcile: $(cat "$T/serve.out")"; return 1; }
}

# cleanup HOW ID: one way of cleaning up after the crash; a container whose create
# did commit is a container and goes with `rm -f` after `prune` or `serve`.
cleanup() {
    local how=$1 id=$2
    case $how in
        rm) "$K3" rm -f "$id" >"$T/clean.out" 2>&1 || grep -q "does not exist" "$T/clean.out" || { cat "$T/clean.out"; return 1; } ;;
        prune) "$K3" prune >"$T/clean.out" 2>&1 || { cat "$T/clean.out"; return 1; } ;;
        serve) serve_reconcile ;;
    esac
    if "$K3" inspect "$id" >/dev/null 2>&1; then "$K3" rm -f "$id" >/dev/null 2>&1 || echo "rm -f of the committed container failed"; fi
    # the named volume is the user's once made (podman keeps it too): removed when
    # the crashed create did not journal it, and after a committed create
    "$K3" volume rm crashvol >/dev/null 2>&1 || true
}

# scrub ID: removes by hand what was left, so the next position starts clean.
scrub() {
    local p
    for p in $(grep -l -F -f "$T/rootpat" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
        [[ $p == "$$" || $p == "$BASHPID" ]] || kill -9 "$p" 2>/dev/null
    done
    for id in $("$K3" ps -aq 2>/dev/null); do "$K3" rm -f "$id" >/dev/null 2>&1; done
    "$K3" prune >/dev/null 2>&1
    "$K3" volume rm crashvol >/dev/null 2>&1
    rm -f "$ROOT"/creating/*
}

BASE=
LEFT_BY_CRASH=0
# try TAG HOW ID CMD...: runs CMD (a `k3 run -d` killed somewhere), cleans up with
# HOW, and compares the counts; prints the residue (empty when clean).
try() {
    local tag=$1 how=$2 id=$3 left; shift 3
    # under sh, which returns 137 without bash's "Killed" report for each position
    local rc=0
    timeout 30 sh -c '"$@"' sh "$@" >"$T/run.out" 2>&1 </dev/null || rc=$?
    [[ $rc -eq 124 ]] && echo "  $tag: run hung; "
    # what the crash left for the cleanup (the kinds of resource, counted over a sweep)
    local made
    made=$(diff <(echo "$BASE") <(counts) | grep -c '^>')
    LEFT_BY_CRASH=$((LEFT_BY_CRASH + made))
    [[ -z ${MUST_LEAVE:-} || $made -gt 0 ]] || echo "  $tag: the crash left nothing: did it crash? $(head -c 300 "$T/run.out")"
    left=$(cleanup "$how" "$id" 2>&1)
    local now i
    for ((i = 0; i < 20; i++)); do # a monitor that finishes by itself takes a moment
        now=$(counts)
        [[ $now == "$BASE" ]] && break
        sleep 0.1
    done
    [[ $now == "$BASE" ]] || left+=$(diff <(echo "$BASE") <(echo "$now") | grep '^>' | tr '\n' ' ')
    if [[ -n $left ]]; then
        [[ $how != serve ]] || left+=" (k3 serve said: $(tr '\n' ' ' <"$T/serve.out"))"
        echo "  $tag ($how): $left"
        scrub "$id"
        return 1
    fi
}

HOWS=(rm prune serve)

t_kill_at_each_create_step() {
    BASE=$(counts)
    LEFT_BY_CRASH=0
    local n tried=0 bad=0 t0=$SECONDS how
    for n in 5 6 7 8 9 10 11 12 16; do
        for how in "${HOWS[@]}"; do
            tried=$((tried + 1))
            MUST_LEAVE=$([[ $n -ge 6 ]] && echo 1) try "step $n" "$how" "cs$n$how" env K3_CREATE_CRASH_AT=$n \
                "$K3" run -d --name "cs$n$how" -p 18931:80 -v crashvol:/data alpine sleep 60 || bad=$((bad + 1))
        done
    done
    local sum="     engine steps: $tried crashes (9 steps x 3 cleanups), $LEFT_BY_CRASH kinds of resource left by the crashes, $bad with residue after the cleanup, $((SECONDS - t0)) s"
    echo "$sum"; echo "$sum" >&3
    [[ $bad -eq 0 ]]
}

t_kill_at_each_syscall_of_k3_run() {
    BASE=$(counts)
    LEFT_BY_CRASH=0
    strace -qq -o "$T/k3.trace" "$K3" run -d --name plain -p 18931:80 -v crashvol:/data alpine sleep 60 >/dev/null 2>&1 </dev/null || fail "plain run failed"
    "$K3" rm -f plain >/dev/null; "$K3" volume rm crashvol >/dev/null
    mapfile -t pos < <(awk '/^(\+\+\+|---)/ {next}
        { n = $0; sub(/\(.*/, "", n); if (n == "" || n ~ /[^a-z0-9_]/) next; c[n]++; print n ":" c[n] }' "$T/k3.trace")
    local n=${#pos[@]} i tried=0 bad=0 t0=$SECONDS how id
    for ((i = 0; i < n; i += STRIDE)); do
        how=${HOWS[$((tried % 3))]}
        id=sc$i
        tried=$((tried + 1))
        try "#$i ${pos[i]}" "$how" "$id" strace -qq -o /dev/null -e inject="${pos[i]%%:*}:signal=KILL:when=${pos[i]##*:}" \
            "$K3" run -d --name "$id" -p 18931:80 -v crashvol:/data alpine sleep 60 || bad=$((bad + 1))
    done
    local sum="     engine syscalls: $tried of $n positions (stride $STRIDE), $LEFT_BY_CRASH kinds of resource left by the crashes, $bad with residue after the cleanup, $((SECONDS - t0)) s"
    echo "$sum"; echo "$sum" >&3
    [[ $bad -eq 0 ]]
}

run_suite
