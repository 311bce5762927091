#!/usr/bin/env bash
# The bad-input matrix (issue 16): every value class (empty, huge, negative,
# overflow, traversal, unicode, wrong type, unknown field) fed to every k3rt
# verb and flag, to config.json, to every k3 CLI verb and option, and to every
# API route. Each case must fail with a non-zero exit (a 4xx over HTTP, never
# a crash: no abort, no signal, no timeout), name the field in its message,
# and leave nothing behind (state dirs, cgroups, mounts, DB rows, bundles).
# Table driven: a failing case is listed and the test goes on; one k3 root.
# Ends with `N passed, M failed`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/engine_lib.sh"
need_root
need jq python3 curl sqlite3 busybox umoci skopeo /usr/bin/docker-registry timeout
export K3_RUNTIME=${K3_RUNTIME:-$(dirname "$K3")/k3rt}
[ -x "$K3RT" ] || { echo "FAIL k3rt not built: $K3RT"; echo "0 passed, 1 failed"; exit 1; }
[ -x "$K3" ] || { echo "FAIL k3 not built: $K3"; echo "0 passed, 1 failed"; exit 1; }

MARK=kbad$$
RTROOT=/run/k3rt-bad-$$
RT=$T/rt
SOCK=$ROOT/k3.sock
HUGE=$(printf 'a%.0s' $(seq 5000))
mkdir -p "$RT/out"

bad_cleanup() {
    local id
    for id in $(ls "$RTROOT" 2>/dev/null); do "$K3RT" --root "$RTROOT" delete --force "$id" >/dev/null 2>&1; done
    [ -f "$T/daemon.pid" ] && kill -KILL "$(cat "$T/daemon.pid")" 2>/dev/null
    find /sys/fs/cgroup -maxdepth 4 -depth -type d -name "*$MARK*" -exec rmdir {} \; 2>/dev/null
    rm -rf "$RTROOT"
    engine_cleanup
}
trap bad_cleanup EXIT INT TERM

"$TOP/bundles/mkbundle.sh" "$K3RT" "$RT/base" sleep 100000 >/dev/null || { echo "FAIL bundle"; echo "0 passed, 1 failed"; exit 1; }
kr() { "$K3RT" --root "$RTROOT" "$@"; }
# a running container for the verbs that need one
kr run -d -b "$RT/base" "$MARK-live" >/dev/null 2>&1 </dev/null || { echo "FAIL live container"; echo "0 passed, 1 failed"; exit 1; }

# ---- the harness of the matrix ------------------------------------------------
CASES=0
BAD=()
# note CASE-DESCRIPTION PROBLEM: one failed case (the test goes on)
note() {
    BAD+=("$1: $2")
    echo "BAD $1: $2" >&2
    [ -z "${BADLOG:-}" ] || echo "BAD $1: $2" >>"$BADLOG"
}
# show ARGS...: a short printable form of a command line
show() { local s; s=$(printf '%q ' "$@"); echo "${s:0:160}"; }
# matrix_done: fails the test if any case failed
matrix_done() {
    echo "$CASES cases, ${#BAD[@]} failed"
    [ -z "${CASELOG:-}" ] || echo "${FUNCNAME[1]#t_} $CASES" >>"$CASELOG"
    [ ${#BAD[@]} -eq 0 ] || fail "${#BAD[@]} of $CASES cases failed (listed above)"
}

rt_residue() {
    find "$RTROOT" 2>/dev/null | sort
    find /sys/fs/cgroup -maxdepth 4 -name "*$MARK*" ! -name "*$MARK-live" 2>/dev/null | grep -v "/$MARK-live/" | sort
    grep -c " $T" /proc/mounts
    ls -A "$RT/out"
}

# check_fail WHAT RC NEEDLE: the common assertions on a refused command
check_fail() {
    local what=$1 rc=$2 needle=$3
    if [ "$rc" -eq 0 ]; then note "$what" "succeeded"; return 1; fi
    # 124: timeout; 128+N: killed by signal N (134 an abort: a panic in a release build)
    if [ "$rc" -eq 124 ] || [ "$rc" -ge 128 ]; then note "$what" "died (rc $rc: timeout, abort or signal): $(head -c 300 "$T/err")"; return 1; fi
    if ! grep -qiF -- "$needle" "$T/err" "$T/out"; then
        note "$what" "message does not name \`$needle\`: $(head -c 300 "$T/err")"
        return 1
    fi
}

# bad_rt NEEDLE -- K3RT-ARGS...: k3rt refuses, names NEEDLE, leaves nothing
bad_rt() {
    local needle=$1; shift 2
    local before after rc=0 what
    CASES=$((CASES + 1))
    what="k3rt $(show "$@")"
    before=$(rt_residue)
    timeout 20 "$K3RT" --root "$RTROOT" "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
    check_fail "$what" "$rc" "$needle" || true
    after=$(rt_residue)
    if [ "$before" != "$after" ]; then
        note "$what" "left behind: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -5 | tr '\n' ' ')"
        for id in $(ls "$RTROOT" 2>/dev/null); do [ "$id" = "$MARK-live" ] || kr delete --force "$id" >/dev/null 2>&1; done
    fi
}

# bad_cfg NEEDLE JQ-FILTER: create and run of the base bundle edited by the filter
bad_cfg() {
    local needle=$1 filter=$2 b=$RT/cfg
    rm -rf "$b"; mkdir -p "$b"
    jq --arg r "$RT/base/rootfs" --arg huge "$HUGE" --arg mark "$MARK" ".root.path = \$r | $filter" \
        "$RT/base/config.json" >"$b/config.json" || { note "jq $filter" "bad filter"; return; }
    bad_rt "$needle" -- create -b "$b" --pid-file "$RT/out/pid" "$MARK-cfg"
    bad_rt "$needle" -- run -d -b "$b" --pid-file "$RT/out/pid" "$MARK-cfg"
}

# bad_k3 NEEDLE -- K3-ARGS...: k3 refuses, names NEEDLE, leaves nothing
bad_k3() {
    local needle=$1; shift 2
    local before after rc=0 what
    CASES=$((CASES + 1))
    what="k3 $(show "$@")"
    before=$(residue)
    K3_NO_DAEMON=1 timeout 30 "$K3" "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
    check_fail "$what" "$rc" "$needle" || true
    after=$(residue)
    if [ "$before" != "$after" ]; then
        note "$what" "left behind: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' ' ')"
    fi
}

# bad_api STATUS NEEDLE METHOD PATH [BODY]: a 4xx (STATUS exactly, or 4xx for
# `4xx`) whose body names NEEDLE, nothing left behind, the daemon still up
bad_api() {
    local want=$1 needle=$2 method=$3 path=$4 before after code what
    CASES=$((CASES + 1))
    what="$method ${path:0:100}${5:+ ${5:0:100}}"
    before=$(residue)
    if [ $# -ge 5 ]; then
        printf '%s' "$5" >"$T/body"
        code=$(curl -s -o "$T/out" -w '%{http_code}' --max-time 20 --unix-socket "$SOCK" -X "$method" \
            -H 'Content-Type: application/json' --data-binary @"$T/body" "http://k3$path") || code=000
    else
        code=$(curl -s -o "$T/out" -w '%{http_code}' --max-time 20 --unix-socket "$SOCK" -X "$method" "http://k3$path") || code=000
    fi
    : >"$T/err"
    if [[ $want == 4xx && $code != 4?? ]] || [[ $want != 4xx && $code != "$want" ]]; then
        note "$what" "status $code, want $want: $(head -c 300 "$T/out")"
    elif ! grep -qiF -- "$needle" "$T/out"; then
        note "$what" "body does not name \`$needle\`: $(head -c 300 "$T/out")"
    fi
    after=$(residue)
    [ "$before" = "$after" ] || note "$what" "left behind: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' ' ')"
    if ! curl -s -o /dev/null --max-time 5 --unix-socket "$SOCK" http://k3/api/system; then
        note "$what" "the daemon is gone: $(tail -3 "$T/daemon.log")"
        start_daemon
    fi
}

# ---- k3rt ------------------------------------------------------------------------

# ids: empty, huge, leading dash, dots, traversal, unicode, blank, a newline; then
# a valid id that does not exist
t_k3rt_ids_for_every_verb() {
    local ids=("" "$HUGE" "-$MARK" "." ".." "../$MARK" "$MARK/../x" "/$MARK" "é$MARK☃" "$MARK x" "$MARK
x" "%2e%2e")
    local id
    for id in "${ids[@]}"; do
        local needle="container id"
        bad_rt "$needle" -- create -b "$RT/base" --pid-file "$RT/out/pid" -- "$id"
        bad_rt "$needle" -- run -d -b "$RT/base" -- "$id"
        bad_rt "$needle" -- restore -b "$RT/base" -- "$id"
        bad_rt "$needle" -- checkpoint -- "$id"
        local v
        for v in start state delete pause resume ps update; do
            bad_rt "$needle" -- "$v" -- "$id"
        done
        bad_rt "$needle" -- kill -- "$id" KILL
        bad_rt "$needle" -- events --stats -- "$id"
        bad_rt "$needle" -- exec -- "$id" true
    done
    for v in start state delete pause resume ps update "events --stats" "exec" "kill"; do
        # shellcheck disable=SC2086
        bad_rt "does not exist" -- $v "$MARK-none" $([ "$v" = exec ] && echo true)
    done
    matrix_done
}

t_k3rt_create_and_run_flags() {
    local b=$RT/base
    local v
    for v in create "run -d"; do
        # shellcheck disable=SC2086
        {
        bad_rt "bundle" -- $v -b "" "$MARK-f"
        bad_rt "bundle" -- $v -b "$T/none" "$MARK-f"
        bad_rt "bundle" -- $v -b "../../../../$MARK" "$MARK-f"
        bad_rt "bundle" -- $v -b "$T/$HUGE" "$MARK-f"
        bad_rt "bundle" -- $v -b "$T/é☃" "$MARK-f"
        bad_rt "preserve-fds" -- $v -b "$b" --preserve-fds -1 "$MARK-f"
        bad_rt "preserve-fds" -- $v -b "$b" --preserve-fds 99999999999999999999 "$MARK-f"
        bad_rt "preserve-fds" -- $v -b "$b" --preserve-fds 2147483647 "$MARK-f"
        bad_rt "preserve-fds" -- $v -b "$b" --preserve-fds abc "$MARK-f"
        bad_rt "preserve-fds" -- $v -b "$b" --preserve-fds "" "$MARK-f"
        bad_rt "pid file" -- $v -b "$b" --pid-file "$T/none/pid" "$MARK-f"
        bad_rt "console socket" -- $v -b "$b" --console-socket "$T/none.sock" "$MARK-f"
        bad_rt "--no-such-flag" -- $v -b "$b" --no-such-flag "$MARK-f"
        }
    done
    matrix_done
}

t_k3rt_config_values() {
    # empty
    bad_cfg "process.args" '.process.args = []'
    bad_cfg "process.args" '.process.args = [""]'
    bad_cfg "ociVersion" '.ociVersion = ""'
    bad_cfg "root.path" '.root.path = ""'
    bad_cfg "process.cwd" '.process.cwd = ""'
    bad_cfg "process.env" '.process.env = ["=x"]'
    bad_cfg "process.env" '.process.env = [""]'
    bad_cfg "process" 'del(.process)'
    bad_cfg "root" 'del(.root)'
    # huge
    bad_cfg "hostname" '.hostname = $huge'
    bad_cfg "process.args" '.process.args = ["/" + $huge]'
    bad_cfg "process.cwd" '.process.cwd = "/" + $huge'
    # negative
    bad_cfg "linux.resources.memory" '.linux.resources.memory.limit = -2'
    bad_cfg "process.user.uid" '.process.user.uid = -1'
    bad_cfg "process.oomScoreAdj" '.process.oomScoreAdj = -5000'
    bad_cfg "hooks.timeout" '.hooks.prestart = [{"path":"/bin/true","timeout":-1}]'
    bad_cfg "linux.resources.cpu.period" '.linux.resources.cpu.period = 1 | .linux.resources.cpu.quota = 1000'
    bad_cfg "process.consoleSize" '.process.terminal = true | .process.consoleSize = {"height":-1,"width":2}'
    # overflow
    bad_cfg "process.user.uid" '.process.user.uid = 4294967296'
    bad_cfg "linux.resources.memory.limit" '.linux.resources.memory.limit = 9223372036854775808'
    bad_cfg "linux.resources.cpu.shares" '.linux.resources.cpu.shares = 18446744073709551616'
    bad_cfg "process.rlimits" '.process.rlimits = [{"type":"RLIMIT_NOFILE","soft":18446744073709551616,"hard":1}]'
    bad_cfg "process.rlimits" '.process.rlimits = [{"type":"RLIMIT_NOFILE","soft":2048,"hard":1024}]'
    bad_cfg "linux.resources.pids" '.linux.resources.pids.limit = 9223372036854775807 * 4'
    # traversal
    bad_cfg "root.path" '.root.path = "../../../../../../nonexistent-" + $mark'
    bad_cfg "process.cwd" '.process.cwd = "../x"'
    bad_cfg "linux.namespaces" '.linux.namespaces += [{"type":"network","path":"../../proc/1/ns/net"}]'
    bad_cfg "hooks.path" '.hooks.prestart = [{"path":"../bin/true"}]'
    bad_cfg "mounts" '.mounts += [{"destination":"/x","type":"bind","source":("/nonexistent-" + $mark), "options":["bind"]}]'
    # unicode
    bad_cfg "ociVersion" '.ociVersion = "1.0.é"'
    bad_cfg "process.rlimits" '.process.rlimits = [{"type":"RLIMIT_NOFILÉ","soft":1,"hard":1}]'
    bad_cfg "process.args" '.process.args = ["/bin/nonexistent-é☃"]'
    # wrong type
    bad_cfg "process" '.process = 5'
    bad_cfg "process.args" '.process.args = "sleep 1"'
    bad_cfg "linux.namespaces" '.linux.namespaces = {}'
    bad_cfg "mounts" '.mounts = [5]'
    bad_cfg "root" '.root = []'
    bad_cfg "hostname" '.hostname = true'
    # unknown values where a name is expected (unknown fields are ignored by the spec)
    bad_cfg "linux.namespaces" '.linux.namespaces += [{"type":"nosuchns"}]'
    bad_cfg "linux.seccomp" '.linux.seccomp = {"defaultAction":"SCMP_ACT_NOSUCH"}'
    bad_cfg "linux.rootfsPropagation" '.linux.rootfsPropagation = "sideways"'
    bad_cfg "process.capabilities" '.process.capabilities.bounding += ["CAP_NOSUCH"]'
    bad_cfg "linux.sysctl" '.linux.sysctl = {"no.such.key": "1"}'
    matrix_done
}

t_k3rt_flags_of_running_container_verbs() {
    local id=$MARK-live
    local mem0; mem0=$(kr state "$id" | jq -r .pid)
    # kill: signals
    local s
    for s in "" SIGNOSUCH NOSUCH -1 65 99999999999999999999 é 1e3 "SIG"; do
        bad_rt "signal" -- kill "$id" "$s"
    done
    # update
    for s in "" -5 abc 99999999999999999999999 1x 9223372036854775807g; do
        bad_rt "memory" -- update --memory "$s" "$id"
    done
    bad_rt "cpu-quota" -- update --cpu-quota abc "$id"
    bad_rt "cpu-quota" -- update --cpu-quota 99999999999999999999 "$id"
    bad_rt "cpu-share" -- update --cpu-share -1 "$id"
    bad_rt "pids-limit" -- update --pids-limit abc "$id"
    bad_rt "blkio-weight" -- update --blkio-weight 70000 "$id"
    bad_rt "cpuset.cpus" -- update --cpuset-cpus abc "$id"
    bad_rt "cpuset.cpus" -- update --cpuset-cpus 99999 "$id"
    bad_rt "cpuset.mems" -- update --cpuset-mems "é" "$id"
    bad_rt "resources" -- update -r "$T/none.json" "$id"
    echo '{' >"$T/res-bad.json"; bad_rt "resources" -- update -r "$T/res-bad.json" "$id"
    echo '{"memory":{"limit":"big"}}' >"$T/res-type.json"; bad_rt "memory.limit" -- update -r "$T/res-type.json" "$id"
    echo '[]' >"$T/res-arr.json"; bad_rt "resources" -- update -r "$T/res-arr.json" "$id"
    bad_rt "--no-such-flag" -- update --no-such-flag 1 "$id"
    # exec
    bad_rt "process" -- exec -p "$T/none.json" "$id"
    echo '{' >"$T/p-bad.json"; bad_rt "process" -- exec -p "$T/p-bad.json" "$id"
    echo '{"args":[],"cwd":"/"}' >"$T/p-empty.json"; bad_rt "process" -- exec -p "$T/p-empty.json" "$id"
    echo '{"args":["true"],"cwd":"/","user":{"uid":-1,"gid":0}}' >"$T/p-neg.json"; bad_rt "uid" -- exec -p "$T/p-neg.json" "$id"
    for s in -1 abc 99999999999 "0:x" ":" "" "é"; do bad_rt "user" -- exec -u "$s" "$id" true; done
    bad_rt "cwd" -- exec --cwd rel "$id" true
    bad_rt "cwd" -- exec --cwd "" "$id" true
    bad_rt "env" -- exec -e "=x" "$id" true
    bad_rt "env" -- exec -e "" "$id" true
    bad_rt "CAP_NOSUCH" -- exec --cap CAP_NOSUCH "$id" true
    bad_rt "additional-gids" -- exec -g abc "$id" true
    bad_rt "additional-gids" -- exec -g -1 "$id" true
    bad_rt "preserve-fds" -- exec --preserve-fds -1 "$id" true
    bad_rt "command" -- exec "$id"
    bad_rt "pid file" -- exec -d --pid-file "$T/none/pid" "$id" true
    # ps, events, list
    bad_rt "format" -- ps --format nosuch "$id"
    bad_rt "format" -- list --format nosuch
    for s in "" -1s abc 0 99999999999999999999h 1e3s; do bad_rt "interval" -- events --interval "$s" "$id"; done
    # the container is untouched
    expect_eq running "$(kr state "$id" | jq -r .status)" "status after the refusals"
    expect_eq "$mem0" "$(kr state "$id" | jq -r .pid)" "pid"
    matrix_done
}

t_k3rt_global_flags_spec_features() {
    bad_rt "log-format" -- --log-format nosuch state "$MARK-live"
    bad_rt "log" -- --log "$T/none/log" state "$MARK-live"
    bad_rt "root" -- --root "" state "$MARK-live"
    : >"$T/afile"; bad_rt "root" -- --root "$T/afile" state "$MARK-live"
    bad_rt "bundle" -- spec -b "$T/none"
    mkdir -p "$T/spec"; echo '{}' >"$T/spec/config.json"
    bad_rt "config.json" -- spec -b "$T/spec"
    bad_rt "unexpected argument" -- features extra
    bad_rt "unrecognized subcommand" -- nosuchverb
    matrix_done
}

# ---- k3 CLI ----------------------------------------------------------------------

setup_engine() {
    registry_start >/dev/null 2>&1 || return 1
    image_build busybox latest "" >"$T/build.log" 2>&1 || return 1
    export K3_DEFAULT_REGISTRY=$REG
    mkdir -p "$ROOT"
    K3_NO_DAEMON=1 "$K3" pull -q busybox >/dev/null
    K3_NO_DAEMON=1 "$K3" run -d --network none --name "$MARK-live" busybox sleep 100000 >/dev/null
}
setup_engine || { echo "FAIL engine setup: $(tail -3 "$T/build.log")"; echo "0 passed, 1 failed"; exit 1; }

t_k3_create_and_run_options() {
    local v
    for v in create "run -d"; do
        # shellcheck disable=SC2086
        {
        # containerId
        bad_k3 "containerId" -- $v --network none --name "" busybox
        bad_k3 "containerId" -- $v --network none --name "$HUGE" busybox
        bad_k3 "containerId" -- $v --network none --name "../$MARK" busybox
        bad_k3 "containerId" -- $v --network none --name "é$MARK" busybox
        bad_k3 "already exists" -- $v --network none --name "$MARK-live" busybox
        # image / tag
        bad_k3 "image" -- $v --network none --name "$MARK-c" ""
        bad_k3 "image" -- $v --network none --name "$MARK-c" "$HUGE"
        bad_k3 "image" -- $v --network none --name "$MARK-c" "../$MARK"
        bad_k3 "image" -- $v --network none --name "$MARK-c" "é"
        bad_k3 "image" -- $v --network none --name "$MARK-c" "UPPER"
        bad_k3 "image" -- $v --network none --name "$MARK-c" "nosuchimage$MARK"
        bad_k3 "tag" -- $v --network none --name "$MARK-c" --tag "" busybox
        bad_k3 "tag" -- $v --network none --name "$MARK-c" --tag "../x" busybox
        bad_k3 "tag" -- $v --network none --name "$MARK-c" --tag "$HUGE" busybox
        # memory, cpus, diskLimit
        local m
        for m in "" "$HUGE" -1 -512m 99999999999999999999g 9223372036854775807k "../" "é" 1x 0; do
            bad_k3 "memory" -- $v --network none --name "$MARK-c" --memory "$m" busybox
        done
        for m in "" -1 0 1e308 NaN inf abc 99999; do
            bad_k3 "cpus" -- $v --network none --name "$MARK-c" --cpus "$m" busybox
        done
        for m in "" -1 0 99999999999999999999999 abc; do
            bad_k3 "disk" -- $v --network none --name "$MARK-c" --disk-limit "$m" busybox
        done
        # env, hostname
        bad_k3 "env" -- $v --network none --name "$MARK-c" -e "" busybox
        bad_k3 "env" -- $v --network none --name "$MARK-c" -e "=x" busybox
        # `-e KEY` takes the caller's value (docker): a huge key is bad for its `!`
        bad_k3 "env" -- $v --network none --name "$MARK-c" -e "$HUGE!" busybox
        bad_k3 "hostname" -- $v --network none --name "$MARK-c" --hostname "$HUGE" busybox
        bad_k3 "hostname" -- $v --network none --name "$MARK-c" --hostname "-x" busybox
        bad_k3 "hostname" -- $v --network none --name "$MARK-c" --hostname "é" busybox
        # mounts, volumes
        bad_k3 "mount" -- $v --network none --name "$MARK-c" --mount "" busybox
        bad_k3 "mount" -- $v --network none --name "$MARK-c" --mount "../x:/y" busybox
        bad_k3 "mount" -- $v --network none --name "$MARK-c" --mount "/tmp:rel" busybox
        bad_k3 "mount" -- $v --network none --name "$MARK-c" --mount "/tmp:/x:rx" busybox
        bad_k3 "/nonexistent-$MARK" -- $v --network none --name "$MARK-c" --mount "/nonexistent-$MARK:/x" busybox
        bad_k3 "volume" -- $v --network none --name "$MARK-c" --volume "" busybox
        bad_k3 "volume" -- $v --network none --name "$MARK-c" --volume "../v:/x" busybox
        bad_k3 "volume" -- $v --network none --name "$MARK-c" --volume "v:rel" busybox
        bad_k3 "volume" -- $v --network none --name "$MARK-c" --volume "é:/x" busybox
        # network, ip, mac, publish
        bad_k3 "network" -- $v --name "$MARK-c" --network "" busybox
        bad_k3 "network" -- $v --name "$MARK-c" --network "../n" busybox
        bad_k3 "network" -- $v --name "$MARK-c" --network "nosuch$MARK" busybox
        bad_k3 "ip" -- $v --name "$MARK-c" --network none --ip 10.1.1.1 busybox
        bad_k3 "ip" -- $v --name "$MARK-c" --ip 999.1.1.1 busybox
        bad_k3 "ip" -- $v --name "$MARK-c" --ip -1 busybox
        bad_k3 "mac" -- $v --name "$MARK-c" --mac-address zz busybox
        bad_k3 "mac" -- $v --name "$MARK-c" --mac-address 01:00:5e:00:00:01 busybox
        for m in "" 99999:80 -1:80 80:80/sctp "a:b" "1.2.3.4:80:80:80"; do
            bad_k3 "publish" -- $v --name "$MARK-c" -p "$m" busybox
        done
        # network aliases: not a host name (checked before the network is looked up);
        # off user networks (none, host, the default kb0), as docker
        for m in "" "a b" -x x- a..b é a_b "$HUGE"; do
            bad_k3 "host name" -- $v --name "$MARK-c" --network "nosuch$MARK" --network-alias "$m" busybox
        done
        bad_k3 "--network-alias" -- $v --name "$MARK-c" --network "nosuch$MARK" --network-alias ok --network-alias "a b" busybox
        for m in none host kb0; do
            bad_k3 "not \`$m\`" -- $v --name "$MARK-c" --network "$m" --network-alias ok busybox
        done
        bad_k3 "not \`kb0\`" -- $v --name "$MARK-c" --network-alias ok busybox
        bad_k3 "networkAlias" -- $v --options-json '{"containerId":"'"$MARK"'-c","image":"busybox","networkAlias":"x"}'
        # capabilities, restart
        bad_k3 "capAdd" -- $v --network none --name "$MARK-c" --cap-add CAP_NOSUCH busybox
        bad_k3 "capAdd" -- $v --network none --name "$MARK-c" --cap-add "" busybox
        bad_k3 "capDrop" -- $v --network none --name "$MARK-c" --cap-drop "é" busybox
        bad_k3 "restart" -- $v --network none --name "$MARK-c" --restart sometimes busybox
        bad_k3 "restart" -- $v --network none --name "$MARK-c" --restart "" busybox
        bad_k3 "restart-delay" -- $v --network none --name "$MARK-c" --restart-delay -1 busybox
        bad_k3 "restartDelay" -- $v --network none --name "$MARK-c" --restart always --restart-delay 18446744073709551615 busybox
        # the command: empty program, a NUL cannot be passed on a command line
        bad_k3 "args" -- $v --network none --name "$MARK-c" busybox ""
        # --options-json: empty, malformed, wrong type, unknown field, bad values
        bad_k3 "options" -- $v --options-json ""
        bad_k3 "options" -- $v --options-json "{"
        bad_k3 "options" -- $v --options-json "[]"
        bad_k3 "containerId" -- $v --options-json '{"containerId":5,"image":"busybox"}'
        bad_k3 "zzUnknown" -- $v --options-json '{"containerId":"'"$MARK"'-c","image":"busybox","zzUnknown":1}'
        bad_k3 "memory" -- $v --options-json '{"containerId":"'"$MARK"'-c","image":"busybox","memory":"-1","network":"none"}'
        bad_k3 "diskLimit" -- $v --options-json '{"containerId":"'"$MARK"'-c","image":"busybox","diskLimit":-1}'
        bad_k3 "maxAttempts" -- $v --options-json '{"containerId":"'"$MARK"'-c","image":"busybox","maxAttempts":4294967296}'
        bad_k3 "--no-such-flag" -- $v --no-such-flag busybox
        }
    done
    matrix_done
}

t_k3_verbs_ids_and_options() {
    local id v
    for id in "" "$HUGE" "../$MARK" "é$MARK" "$MARK/x" "nosuch$MARK"; do
        for v in start stop restart rm inspect logs wait stats; do
            bad_k3 "$( [ "$id" = "nosuch$MARK" ] && echo "nosuch$MARK" || echo "")" -- $v -- "$id"
        done
        bad_k3 "" -- kill -- "$id"
        bad_k3 "" -- exec -- "$id" true
    done
    local live=$MARK-live
    for v in -1 abc 99999999999999999999999 "" 1e3; do
        bad_k3 "time" -- stop -t "$v" "$live"
        bad_k3 "timeout" -- wait --timeout "$v" "$live"
    done
    for v in "" SIGNOSUCH NOSUCH -1 65 99999999999 é; do bad_k3 "signal" -- kill -s "$v" "$live"; done
    bad_k3 "workdir" -- exec -w rel "$live" true
    bad_k3 "workdir" -- exec -w "" "$live" true
    bad_k3 "env" -- exec -e "=x" "$live" true
    bad_k3 "env" -- exec -e "" "$live" true
    bad_k3 "CMD" -- exec "$live"
    bad_k3 "" -- exec "$live" ""
    # detach keys: docker's list syntax, refused before anything runs (125)
    for v in ctrl-zz ctrl- ctrl-A ab é "ctrl-p," ",x" "$HUGE"; do
        bad_k3 "--detach-keys" -- run --network none --name "$MARK-c" --detach-keys "$v" busybox true
        bad_k3 "--detach-keys" -- run -d --network none --name "$MARK-c" --detach-keys "$v" busybox true
        bad_k3 "--detach-keys" -- start -a --detach-keys "$v" "$live"
        bad_k3 "--detach-keys" -- attach --detach-keys "$v" "$live"
        bad_k3 "--detach-keys" -- exec -it --detach-keys "$v" "$live" true
    done
    # networks
    for v in "" "$HUGE" "../$MARK" "é$MARK" "-x" "a/b"; do
        bad_k3 "name" -- network create --subnet 10.213.0.0/24 -- "$v"
    done
    for v in "" abc 10.0.0.0/33 10.0.0.0/-1 999.0.0.0/24 "10.0.0.0/24/1" "é"; do
        bad_k3 "subnet" -- network create --subnet "$v" "$MARK"n
    done
    bad_k3 "gateway" -- network create --subnet 10.213.0.0/24 --gateway x "$MARK"n
    bad_k3 "gateway" -- network create --subnet 10.213.0.0/24 --gateway 10.9.9.9 "$MARK"n
    for v in "" "../x" "nosuch$MARK" "$HUGE"; do bad_k3 "$v" -- network rm -- "$v"; done
    for v in "" "../x" "nosuch$MARK" "$HUGE" "é"; do bad_k3 "$v" -- volume rm -- "$v"; done
    # images
    for v in "" UPPER "../x" "$HUGE" "é" "a@sha256:zz" "a:" ":a" "a//b"; do
        bad_k3 "" -- pull -- "$v"
        bad_k3 "" -- rmi -- "$v"
    done
    for v in colour=red nokey dangling=x "reference=[" id=xyz "before=nosuch$MARK" "label==x" since= "reference=$HUGE["; do
        bad_k3 "\`--filter\` value \`${v:0:60}" -- images --filter "$v"
    done
    bad_k3 "dangling=false" -- images --filter dangling=true --filter dangling=false
    local st; st=$(status_of "$live" | tr A-Z a-z)
    [ "$st" = running ] || K3_NO_DAEMON=1 "$K3" inspect "$live" | python3 -c 'import json,sys; j=json.load(sys.stdin)[0]; print(j["State"], j.get("Events", j.get("events")))' | tail -c 1500
    expect_eq running "$st" "the live container after the refusals"
    matrix_done
}

# ---- the API ---------------------------------------------------------------------

start_daemon() {
    # a short grace: the live container (a `sleep` as pid 1 ignores TERM) is killed after it
    "$K3" serve --grace 2 >>"$T/daemon.log" 2>&1 &
    echo $! >"$T/daemon.pid"
    for _ in $(seq 100); do
        curl -s -o /dev/null --max-time 2 --unix-socket "$SOCK" http://k3/api/system && return 0
        sleep 0.1
    done
    fail "daemon did not start: $(tail -5 "$T/daemon.log")"
}

t_k3_api_routes_and_bodies() {
    start_daemon
    local live=$MARK-live c='"containerId":"'"$MARK"'-a","image":"busybox","network":"none"'
    # create: empty, malformed, wrong type, unknown field, huge, each option class
    bad_api 400 "containerId" POST /containers ""
    bad_api 400 "EOF" POST /containers "{"
    bad_api 400 "JSON object" POST /containers "[]"
    bad_api 400 "containerId" POST /containers '{"containerId":5,"image":"busybox"}'
    bad_api 400 "zzUnknown" POST /containers "{$c,\"zzUnknown\":1}"
    bad_api 4xx "containerId" POST /containers "{\"containerId\":\"$HUGE\",\"image\":\"busybox\"}"
    bad_api 4xx "" POST /containers "{$c,\"env\":[\"$(printf 'x%.0s' $(seq 200000))\"]}"
    bad_api 422 "containerId" POST /containers '{"containerId":"../x","image":"busybox"}'
    bad_api 422 "memory" POST /containers "{$c,\"memory\":\"-1\"}"
    bad_api 422 "memory" POST /containers "{$c,\"memory\":\"99999999999999999999g\"}"
    bad_api 422 "cpus" POST /containers "{$c,\"cpus\":-1}"
    bad_api 400 "cpus" POST /containers "{$c,\"cpus\":\"1\"}"
    bad_api 400 "diskLimit" POST /containers "{$c,\"diskLimit\":-1}"
    bad_api 400 "diskLimit" POST /containers "{$c,\"diskLimit\":18446744073709551616}"
    bad_api 422 "restartDelay" POST /containers "{$c,\"restart\":\"always\",\"restartDelay\":18446744073709551615}"
    bad_api 422 "mount" POST /containers "{$c,\"mount\":[\"../x:/y\"]}"
    bad_api 4xx "nonexistent-$MARK" POST /containers "{$c,\"mount\":[\"/nonexistent-$MARK:/y\"]}"
    bad_api 422 "env" POST /containers "{$c,\"env\":[\"=x\"]}"
    bad_api 422 "hostname" POST /containers "{$c,\"hostname\":\"é\"}"
    bad_api 422 "image" POST /containers '{"containerId":"'"$MARK"'-a","image":"UPPER"}'
    # seed 000: a failed pull (the image is missing) is GENERIC_ERROR 500, not a 4xx
    bad_api 500 "nosuch$MARK" POST /containers '{"containerId":"'"$MARK"'-a","image":"nosuch'"$MARK"'","network":"none"}'
    bad_api 422 "--network-alias" POST /containers "{$c,\"networkAlias\":[\"a b\"]}"
    bad_api 422 "not \`none\`" POST /containers "{$c,\"networkAlias\":[\"db\"]}"
    bad_api 422 "not \`kb0\`" POST /containers '{"containerId":"'"$MARK"'-a","image":"busybox","networkAlias":["db"]}'
    bad_api 400 "networkAlias" POST /containers "{$c,\"networkAlias\":\"db\"}"
    bad_api 422 "publish" POST /containers '{"containerId":"'"$MARK"'-a","image":"busybox","publish":["99999:80"]}'
    # container verbs: ids and query values
    local id
    for id in "nosuch$MARK" "..%2f..%2fx" "%C3%A9" "$HUGE"; do
        bad_api 404 "" GET "/containers/$id"
        bad_api 404 "" DELETE "/containers/$id"
        bad_api 404 "" POST "/containers/$id/start"
        bad_api 404 "" POST "/containers/$id/stop"
        bad_api 404 "" GET "/containers/$id/logs"
        bad_api 404 "" GET "/containers/$id/wait?t=1"
    done
    for v in abc -1 "" 1e3 99999999999999999999999; do
        bad_api 400 '`t`' POST "/containers/$live/stop?t=$v"
        bad_api 400 '`t`' POST "/containers/$live/restart?t=$v"
        bad_api 400 '`t`' GET "/containers/$live/wait?t=$v"
        bad_api 400 '`since`' GET "/events?since=$v"
    done
    for v in NOSUCH -1 65 "" 99999999999; do bad_api 4xx "signal" POST "/containers/$live/kill?signal=$v"; done
    for v in ctrl-zz ctrl-A ab ctrl-p%2C %C3%A9 %zz "$HUGE"; do
        bad_api 400 "detachKeys" POST "/containers/$live/attach?stream=1&stdout=1&detachKeys=$v"
    done
    bad_api 400 "cmd" POST "/containers/$live/exec" '{"cmd":[]}'
    bad_api 400 "cmd" POST "/containers/$live/exec" '{"cmd":[""]}'
    bad_api 400 "cmd" POST "/containers/$live/exec" '{"cmd":"sh"}'
    bad_api 400 "zz" POST "/containers/$live/exec" '{"cmd":["true"],"zz":1}'
    bad_api 400 "NUL" POST "/containers/$live/exec" '{"cmd":["a\u0000b"]}'
    # networks, volumes, images
    bad_api 400 "subnet" POST /networks '{"name":"'"$MARK"'n"}'
    bad_api 400 "zz" POST /networks '{"name":"'"$MARK"'n","subnet":"10.213.0.0/24","zz":1}'
    bad_api 4xx "name" POST /networks '{"name":"../x","subnet":"10.213.0.0/24"}'
    bad_api 4xx "name" POST /networks '{"name":"","subnet":"10.213.0.0/24"}'
    bad_api 4xx "subnet" POST /networks '{"name":"'"$MARK"'n","subnet":"10.0.0.0/33"}'
    bad_api 4xx "subnet" POST /networks '{"name":"'"$MARK"'n","subnet":"é"}'
    bad_api 4xx "gateway" POST /networks '{"name":"'"$MARK"'n","subnet":"10.213.0.0/24","gateway":"10.9.9.9"}'
    bad_api 400 "name" POST /networks '{"name":5,"subnet":"10.213.0.0/24"}'
    bad_api 4xx "" DELETE "/networks/nosuch$MARK"
    bad_api 4xx "" DELETE "/networks/..%2f..%2fx"
    bad_api 4xx "" DELETE "/volumes/nosuch$MARK"
    bad_api 4xx "" DELETE "/volumes/%C3%A9"
    bad_api 400 "reference" POST /images/pull '{"reference":"UPPER"}'
    bad_api 400 "reference" POST /images/pull '{"reference":""}'
    bad_api 400 "reference" POST /images/pull '{"reference":5}'
    bad_api 400 "zz" POST /images/pull '{"reference":"busybox","zz":1}'
    bad_api 400 "reference" POST /images/pull '{"reference":"'"$HUGE"'"}'
    for v in '{' '[1]' '{"colour":["red"]}' '{"reference":"x"}' '{"reference":["["]}' '{"dangling":["x"]}' \
        '{"dangling":["true","false"]}' '{"before":["nosuch'"$MARK"'"]}' '{"id":["é"]}' "{\"reference\":[\"$HUGE[\"]}"; do
        bad_api 400 '`filters`' GET "/images?filters=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$v")"
    done
    bad_api 400 '`filters`' GET "/images?filters=%zz"
    # routes and methods
    bad_api 404 "" GET /nosuch
    bad_api 404 "" GET "/containers/a/b/c"
    bad_api 404 "" POST "/containers/$live/explode"
    bad_api 405 "" PUT /containers
    bad_api 405 "" GET "/containers/$live/stop"
    bad_api 4xx "" GET "/$HUGE$HUGE"
    expect_eq running "$(K3_NO_DAEMON=1 "$K3" inspect "$live" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["status"].lower())')" "live container"
    kill "$(cat "$T/daemon.pid")" && wait "$(cat "$T/daemon.pid")" 2>/dev/null
    rm -f "$T/daemon.pid"
    # the daemon's shutdown stops every container: the live one is back for the next test
    K3_NO_DAEMON=1 "$K3" start "$live" >/dev/null
    matrix_done
}

run_suite
