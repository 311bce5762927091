#!/usr/bin/env bash
# Observing containers as docker/podman users do, each verb run against k3 and
# podman in the same test, comparing what a script would parse: `logs --tail/
# --since/--until/-t/-f` and stdout/stderr order, `stats` (streaming, `--no-stream`,
# every running container, memory of the limit or of the host), `inspect --format`
# with docker's field names, `ps` STATUS/CREATED/PORTS (the same through the
# daemon), `ps --filter` (the same through the daemon), `inspect` of several names (a
# JSON array), `top`, `port`, `pause`/`unpause`, `events`. Ends with `N passed, M failed`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/engine_lib.sh"
engine_setup
need podman timeout

podman_private
stop_daemon() { if [ -n "${DPID:-}" ]; then kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null || true; fi; DPID=; }
trap 'stop_daemon; podman_cleanup; engine_cleanup' EXIT INT TERM
p pull -q --tls-verify=false "$REG/alpine:latest" >/dev/null || { echo "FAIL podman pull"; echo "0 passed, 1 failed"; exit 1; }
PIMG=$REG/alpine:latest
NAMES="ob1 ob2 ob3 lg1 lg2 lg3 st1 st2 st3 in1 in2 in3 pt1 tp1 pa1 ev1 ps1 ps2 ps3 fl1 fl2 fl3 fl4 fl5 xfl1y ia1 ia2"

# both NAME ARGS...: `k3 run -d --name NAME ARGS` and the same with podman (alpine)
both() {
    local n=$1; shift
    k3 run -d --name "$n" "$@" >/dev/null
    # podman's image in place of `alpine`
    local a args=(); for a in "$@"; do [ "$a" = alpine ] && args+=("$PIMG") || args+=("$a"); done
    p run -d --name "$n" "${args[@]}" >/dev/null
}

# until_ok TENTHS CMD...: retries CMD until it succeeds, at most TENTHS tenths of a second
until_ok() { local n=$1 i; shift; for i in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done; "$@"; }
has_line() { grep -qx -- "$2" <<<"$($1)"; }

t_logs_tail_and_stream_order_as_podman() {
    # out/err alternate; a pause between them so each engine's monitor reads them apart
    both lg1 alpine sh -c 'for i in 1 2 3; do echo out$i; sleep 0.2; echo err$i >&2; sleep 0.2; done'
    k3 wait lg1 >/dev/null; p wait lg1 >/dev/null
    local k pm
    k=$(k3 logs lg1 2>&1); pm=$(p logs lg1 2>&1)
    expect_eq "$(printf 'out1\nerr1\nout2\nerr2\nout3\nerr3')" "$k" "stdout/stderr order"
    expect_eq "$pm" "$k" "as podman"
    expect_eq "$(p logs --tail 2 lg1 2>&1)" "$(k3 logs --tail 2 lg1 2>&1)" "--tail 2"
    expect_eq "out3" "$(k3 logs -n 2 lg1 2>/dev/null)" "-n 2, stdout only"
    expect_eq "$(p logs --tail 0 lg1 2>&1)" "$(k3 logs --tail 0 lg1 2>&1)" "--tail 0"
    expect_eq "$pm" "$(k3 logs --tail all lg1 2>&1)" "--tail all"
    expect_eq "err1" "$(k3 logs lg1 2>&1 >/dev/null | sed -n 1p)" "stderr stays on stderr"
    local rc=0; k3 logs --tail x lg1 2>"$T/err" || rc=$?
    [ $rc -ne 0 ] || fail "--tail x accepted"
    expect_contains "$(cat "$T/err")" '`tail`'
}

t_logs_since_until_timestamps_as_podman() {
    both lg2 alpine sh -c 'echo first; exec sleep 1000'
    until_ok 100 has_line "k3 logs lg2" first
    until_ok 100 has_line "p logs lg2" first
    sleep 1.2
    local mark; mark=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
    sleep 0.2
    # written later by an exec, on the container's own stdout
    k3 exec lg2 sh -c 'echo second >/proc/1/fd/1'
    p exec lg2 sh -c 'echo second >/proc/1/fd/1'
    until_ok 100 has_line "k3 logs lg2" second
    until_ok 100 has_line "p logs lg2" second
    expect_eq second "$(k3 logs --since "$mark" lg2)" "--since"
    expect_eq "$(p logs --since "$mark" lg2)" "$(k3 logs --since "$mark" lg2)" "--since as podman"
    expect_eq first "$(k3 logs --until "$mark" lg2)" "--until"
    expect_eq "$(p logs --until "$mark" lg2)" "$(k3 logs --until "$mark" lg2)" "--until as podman"
    expect_eq "$(printf 'first\nsecond')" "$(k3 logs --since 10m lg2)" "--since a duration"
    local now line ts; now=$(date +%s)
    for eng in k3 p; do
        line=$($eng logs -t lg2 | sed -n 1p)
        [[ $line =~ ^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+))\ first$ ]] || fail "$eng -t: \`$line\`"
        ts=$(date -d "${BASH_REMATCH[1]}" +%s)
        (( ts <= now && ts > now - 60 )) || fail "$eng -t time \`${BASH_REMATCH[1]}\` is not recent"
    done
    local rc=0; k3 logs --since yesterday-ish lg2 2>"$T/err" || rc=$?
    [ $rc -ne 0 ] || fail "a bad --since accepted"
    expect_contains "$(cat "$T/err")" '`since`'
}

t_logs_follow_ends_with_the_container() {
    both lg3 alpine sh -c 'echo x; sleep 1; echo y'
    local k pm
    k=$(timeout 30 "$K3" logs -f lg3); pm=$(timeout 30 $P logs -f lg3)
    expect_eq "$(printf 'x\ny')" "$k"
    expect_eq "$pm" "$k" "as podman"
}

# the MEM USAGE / LIMIT cell of a `stats --no-stream` table row (k3 and podman alike)
mem_cell() { awk -v n="$2" '$0 ~ n {for (i = 1; i <= NF; i++) if ($i == "/") {print $(i-1), "/", $(i+1); exit}}' <<<"$1"; }

t_stats_no_stream_limit_or_host_memory() {
    both st1 --memory 64m alpine sleep 1000
    both st2 alpine sleep 1000
    k3 create --name st3 alpine sleep 1000 >/dev/null
    local k pm host
    k=$(k3 stats --no-stream); pm=$(p stats --no-stream)
    expect_eq "CONTAINER ID|NAME|CPU %|MEM USAGE / LIMIT|MEM %|NET I/O|BLOCK I/O|PIDS" "$(head -1 <<<"$k" | sed 's/   */|/g')" "docker's columns"
    # every running container without ids, not the created one
    for n in st1 st2; do grep >/dev/null "^$n " <<<"$k" || fail "$n missing: $k"; grep >/dev/null " $n " <<<"$pm" || fail "podman: $n missing"; done
    grep >/dev/null "^st3 " <<<"$k" && fail "a created container shown: $k"
    # a limit as the limit; none as the host's memory, never exabytes
    host=$(awk '/MemTotal/ {print $2 * 1024}' /proc/meminfo)
    expect_contains "$(mem_cell "$k" st1)" "/ 64MiB" "k3 st1"
    expect_contains "$(mem_cell "$pm" st1)" "/ 67.11MB" "podman st1"
    local kl pl
    kl=$(mem_cell "$k" st2 | awk '{print $3}'); pl=$(mem_cell "$pm" st2 | awk '{print $3}')
    python3 - "$host" "$kl" "$pl" <<'PY' || fail "no limit: k3 \`$kl\`, podman \`$pl\`, host $host"
import re, sys
host = float(sys.argv[1])
units = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
def size(s):
    m = re.fullmatch(r"([0-9.]+)([A-Za-z]+)", s)
    return float(m.group(1)) * units[m.group(2)]
for s in sys.argv[2:]:
    assert abs(size(s) - host) / host < 0.01, s
PY
    [[ $k != *EB* && $k != *EiB* ]] || fail "exabytes: $k"
    # percent columns are numbers with %
    awk '/^st1 / {exit !($3 ~ /^[0-9.]+%$/ && $7 ~ /^[0-9.]+%$/)}' <<<"$k" || fail "percent cells: $k"
    # json: one snapshot with the percentages
    local j; j=$(k3 stats --format json st1)
    expect_eq 67108864 "$(json_get "$j" 'j[0]["memory_limit"]')"
    json_get "$j" 'j[0]["memory_percent"] > 0 and j[0]["cpu_percent"] is not None' | grep >/dev/null True || fail "json: $j"
    local rc=0; k3 stats --no-stream nope 2>"$T/err" || rc=$?
    [ $rc -ne 0 ] || fail "stats of no container"
    expect_contains "$(cat "$T/err")" '`nope`'

}

t_stats_streams_and_counts_cpu() {
    both st1 alpine sh -c 'while :; do :; done'
    # streaming by default, as podman: more than one frame before it is stopped
    local frames
    # podman samples every 5 s unless told; docker and k3 every second
    for eng in "$K3 stats" "$P stats --interval 1"; do
        timeout 6 $eng st1 >"$T/frames" 2>&1 || true
        frames=$(grep -c "CPU %" "$T/frames" || true)
        (( frames >= 2 )) || fail "$eng: $frames frame(s): $(cat "$T/frames")"
    done
    local cpu; cpu=$(k3 stats --no-stream st1 | awk '/^st1 / {sub("%", "", $3); print int($3)}')
    (( cpu >= 20 )) || fail "a busy loop at \`$cpu\`%"
}

t_inspect_format_as_podman() {
    both in1 --memory 64m -e FOO=bar alpine sleep 1000
    local f
    for f in '{{.Name}}' '{{.State.Status}}' '{{.State.Running}}' '{{.State.Paused}}' '{{.State.OOMKilled}}' \
             '{{.State.ExitCode}}' '{{json .Config.Cmd}}' '{{.HostConfig.Memory}}' '{{.Path}} {{.Args}}' \
             '{{.RestartCount}}' '{{index .Config.Cmd 1}}' '{{len .Config.Cmd}}'; do
        expect_eq "$(p inspect --format "$f" in1)" "$(k3 inspect --format "$f" in1)" "$f"
    done
    local pid; pid=$(k3 inspect -f '{{.State.Pid}}' in1)
    expect_eq "sleep1000" "$(tr -d '\0' </proc/$pid/cmdline)" "{{.State.Pid}} is the init"
    [ -d "/proc/$(p inspect -f '{{.State.Pid}}' in1)" ] || fail "podman pid"
    [[ $(k3 inspect -f '{{.NetworkSettings.IPAddress}}' in1) =~ ^[0-9]+(\.[0-9]+){3}$ ]] || fail "ip"
    [[ $(p inspect -f '{{.NetworkSettings.IPAddress}}' in1) =~ ^[0-9]+(\.[0-9]+){3}$ ]] || fail "podman ip"
    expect_eq "$(k3 inspect -f '{{.NetworkSettings.IPAddress}}' in1)" "$(json_get "$(k3 inspect in1)" 'j[0]["Summary"]["ip"]')"
    for eng in k3 p; do
        json_get "$($eng inspect -f '{{json .Config}}' in1)" '"FOO=bar" in j["Env"] and j["Cmd"] == ["sleep", "1000"]' | grep >/dev/null True || fail "$eng json .Config"
        expect_contains "$($eng inspect -f '{{range .Config.Env}}[{{.}}]{{end}}' in1)" "[FOO=bar]" "$eng range"
        local rc=0; $eng inspect -f '{{.Nope}}' in1 >/dev/null 2>&1 || rc=$?
        [ $rc -ne 0 ] || fail "$eng: a missing field is not an error"
    done
    # k3's own fields stay for its tests and dashboard
    expect_eq RUNNING "$(json_get "$(k3 inspect in1)" 'j[0]["State"]["status"]')"
    # after the exit
    both in2 alpine sh -c 'exit 3'
    k3 wait in2 >/dev/null; p wait in2 >/dev/null
    f='{{.State.Status}} {{.State.ExitCode}} {{.State.Running}} {{.State.Pid}}'
    expect_eq "exited 3 false 0" "$(k3 inspect -f "$f" in2)"
    expect_eq "$(p inspect -f "$f" in2)" "$(k3 inspect -f "$f" in2)" "exited, as podman"
    k3 create --name in3 alpine true >/dev/null; p create --name in3 "$PIMG" true >/dev/null
    expect_eq "$(p inspect -f '{{.State.Status}}' in3)" "$(k3 inspect -f '{{.State.Status}}' in3)" "created"
    [[ $(k3 inspect -f '{{.Created}}' in3) =~ ^20[0-9-]+T[0-9:.]+Z$ ]] || fail "Created is not RFC 3339"
}

# `3 seconds` and `1 second` alike as `N seconds`
seconds() { sed -E 's/(Less than a second|[0-9]+ seconds?)/N seconds/g' <<<"$1"; }

t_ps_status_created_ports_as_podman() {
    both ps1 -p 18081:80 alpine sleep 1000
    both ps2 alpine sh -c 'exit 2'
    k3 create --name ps3 alpine true >/dev/null; p create --name ps3 "$PIMG" true >/dev/null
    k3 wait ps2 >/dev/null; p wait ps2 >/dev/null
    local n k pm
    for n in ps1 ps2 ps3; do
        k=$(k3 ps -a --format '{{.Status}}|{{.Ports}}|{{.Names}}' | grep "|$n$")
        pm=$(p ps -a --filter "name=^$n\$" --format '{{.Status}}|{{.Ports}}|{{.Names}}')
        # podman 4.3 says `Up 3 seconds ago` where docker says `Up 3 seconds`
        [[ $pm != Up* ]] || pm=${pm/ ago|/|}
        # a second may tick between the two
        expect_eq "$(seconds "$pm")" "$(seconds "$k")" "$n: k3 \`$k\`, podman \`$pm\`"
    done
    k=$(k3 ps -a)
    expect_eq "CONTAINER ID|IMAGE|COMMAND|CREATED|STATUS|PORTS|NAMES" "$(head -1 <<<"$k" | sed 's/   */|/g')" "header"
    grep >/dev/null '^ps1 .*"sleep 1000" .* ago .*Up [0-9L].*0.0.0.0:18081->80/tcp *ps1$' <<<"$k" || fail "running row: $k"
    grep >/dev/null '^ps2 .*Exited (2) .* ago .*ps2$' <<<"$k" || fail "exited row: $k"
    grep >/dev/null '^ps3 .* Created .*ps3$' <<<"$k" || fail "created row: $k"
}

t_ps_is_the_same_through_the_daemon() {
    k3 run -d --name ps1 -p 18082:80 alpine sleep 1000 >/dev/null
    k3 run -d --name ps2 alpine true >/dev/null
    k3 wait ps2 >/dev/null
    local sock=$ROOT/k3.sock
    "$K3" serve >"$T/daemon.log" 2>&1 &
    DPID=$!
    until_ok 100 curl -sf --unix-socket "$sock" http://k3/api/system || fail "daemon: $(tail -3 "$T/daemon.log")"
    local i same=0 local_t remote_t
    for i in 1 2 3; do # a second may tick between the two
        local_t=$(K3_NO_DAEMON=1 "$K3" ps -a)
        remote_t=$("$K3" ps -a)
        [ "$local_t" = "$remote_t" ] && { same=1; break; }
    done
    stop_daemon
    [ $same = 1 ] || fail "standalone: $local_t | daemon: $remote_t"
    expect_contains "$remote_t" "0.0.0.0:18082->80/tcp"
}

# filter_args ENGINE WORDS: `--filter WORD` each (`IMGREF` is the image reference)
filter_args() {
    local w; for w in $2; do printf -- '--filter\n%s\n' "${w//IMGREF/$PIMG}"; done
}

# ps_names ENGINE [-a] WORDS: the sorted names `ps` keeps under those filters
ps_names() {
    local eng=$1 all=$2 fa; mapfile -t fa < <(filter_args "$eng" "$3")
    $eng ps $all --format '{{.Names}}' "${fa[@]}" | sort | tr '\n' ' '
}

# the fl* containers: running with labels, exited 3, created, running, exited 0, paused
filter_setup() {
    both fl1 --label a=1 --label b=2 alpine sleep 1000
    both fl2 --label a=2 alpine sh -c 'exit 3'
    k3 create --name fl3 --label a=1 alpine true >/dev/null; p create --name fl3 --label a=1 "$PIMG" true >/dev/null
    both xfl1y alpine sleep 1000
    both fl4 alpine true
    both fl5 alpine sleep 1000
    k3 pause fl5 >/dev/null; p pause fl5 >/dev/null
    local n; for n in fl2 fl4; do k3 wait $n >/dev/null; p wait $n >/dev/null; done
}

t_ps_filters_as_podman() {
    filter_setup
    local id f want
    id=$(p image inspect -f '{{.Id}}' "$PIMG")
    # with -a: labels (all must match), names (regex, OR-ed), keys AND-ed, status,
    # exit codes, the image by reference and by id
    for f in "label=a=1" "label=a" "label=a=1 label=b" "label=a=1 label=a=2" "name=fl1" \
        "name=fl1 name=fl2" "name=^fl[0-9]$" "name=fl1 status=running" "status=running status=created" \
        "status=exited" "status=paused" "exited=3" "exited=0" "exited=3 exited=0" "label=a=1 name=fl3" \
        "ancestor=IMGREF" "ancestor=$id" "ancestor=$id status=exited"; do
        expect_eq "$(ps_names p -a "$f")" "$(ps_names k3 -a "$f")" "ps -a --filter $f"
    done
    # without -a a status filter still finds stopped containers
    for f in "status=exited" "status=paused" "status=created" "name=fl1" "exited=3"; do
        expect_eq "$(ps_names p "" "$f")" "$(ps_names k3 "" "$f")" "ps --filter $f"
    done
    expect_eq "fl1 xfl1y " "$(ps_names k3 -a "name=fl1")" "name is a regex, unanchored"
    expect_eq "fl2 " "$(ps_names k3 -a "label=a=2 exited=3")"
    expect_eq fl1 "$(k3 ps -q -f label=b=2)" "-q and -f"
    # bad filters: refused by both with 125, k3's message names the filter
    local krc prc
    for f in foo=bar status=bogus status=Running exited=x exited= name; do
        krc=0; prc=0
        k3 ps -a --filter "$f" >/dev/null 2>"$T/err" || krc=$?
        p ps -a --filter "$f" >/dev/null 2>&1 || prc=$?
        expect_eq 125 "$prc" "podman's code for --filter $f"
        expect_eq 125 "$krc" "k3's code for --filter $f"
        expect_contains "$(cat "$T/err")" "\`--filter\` value \`$f\`"
    done
}

t_ps_filters_the_same_through_the_daemon() {
    filter_setup
    local sock=$ROOT/k3.sock f local_t remote_t
    "$K3" serve >"$T/daemon.log" 2>&1 &
    DPID=$!
    until_ok 100 curl -sf --unix-socket "$sock" http://k3/api/system || fail "daemon: $(tail -3 "$T/daemon.log")"
    for f in "label=a=1 label=b" "name=fl1 name=fl2" "status=exited" "exited=3" "ancestor=IMGREF status=paused"; do
        local fa; mapfile -t fa < <(filter_args k3 "$f")
        local_t=$(K3_NO_DAEMON=1 "$K3" ps --format '{{.Names}}' "${fa[@]}" | sort)
        remote_t=$("$K3" ps --format '{{.Names}}' "${fa[@]}" | sort)
        expect_eq "$local_t" "$remote_t" "through the daemon: $f"
        expect_eq "$(ps_names p "" "$f" | tr ' ' '\n' | sed '/^$/d')" "$remote_t" "as podman: $f"
    done
    # docker's query: ?filters={"label":["a=1"]}, both of its shapes
    local j
    j=$(curl -sf --unix-socket "$sock" 'http://k3/containers?all=1&filters=%7B%22label%22%3A%5B%22a%3D1%22%5D%7D')
    expect_eq "fl1 fl3" "$(json_get "$j" '" ".join(sorted(c["name"] for c in j))')" "GET /containers?filters="
    j=$(curl -sf --unix-socket "$sock" 'http://k3/containers?filters=%7B%22status%22%3A%7B%22exited%22%3Atrue%7D%7D')
    expect_eq "fl2 fl4" "$(json_get "$j" '" ".join(sorted(c["name"] for c in j))')" "the map form"
    local code
    code=$(curl -s -o "$T/out" -w '%{http_code}' --unix-socket "$sock" 'http://k3/containers?filters=%7B%22colour%22%3A%5B%22red%22%5D%7D')
    expect_eq 400 "$code" "an unknown filter over HTTP"
    expect_contains "$(cat "$T/out")" "unknown filter"
    local rc=0; "$K3" ps --filter colour=red 2>"$T/err" || rc=$?
    expect_eq 125 "$rc" "a bad filter with the daemon up"
    expect_contains "$(cat "$T/err")" "colour=red"
    stop_daemon
}

t_inspect_several_names_as_podman() {
    both ia1 alpine sleep 1000
    both ia2 alpine true
    local eng rc out
    for eng in k3 p; do
        out=$($eng inspect ia1 ia2 | python3 -c 'import json,sys; j=json.load(sys.stdin); print(len(j), *[x["Name"].lstrip("/") for x in j])')
        expect_eq "2 ia1 ia2" "$out" "$eng: an array, one element per name"
        out=$($eng inspect ia2 | python3 -c 'import json,sys; j=json.load(sys.stdin); print(type(j).__name__, len(j))')
        expect_eq "list 1" "$out" "$eng: one name, still an array"
        # an unknown name: reported, the known ones still printed, podman's 125
        rc=0; out=$($eng inspect -f '{{.Name}} {{.State.Status}}' ia1 nope ia2 2>"$T/err.$eng") || rc=$?
        expect_eq 125 "$rc" "$eng: exit code with an unknown name"
        expect_eq "$(printf 'ia1 running\nia2 exited')" "${out//\//}" "$eng: -f per element"
        expect_contains "$(cat "$T/err.$eng")" nope
        rc=0; out=$($eng inspect nope 2>/dev/null) || rc=$?
        expect_eq "125 []" "$rc $out" "$eng: only unknown names"
        rc=0; out=$($eng inspect ia1 nope 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') || rc=$?
        expect_eq 1 "$out" "$eng: the known one as an array"
    done
    expect_contains "$(cat "$T/err.k3")" 'container `nope` does not exist'
}

t_top_as_podman() {
    both tp1 alpine sh -c 'sleep 1000 & exec sleep 2000'
    until_ok 100 sh -c "$K3 top tp1 | grep -q 'sleep 1000'"
    local k pm
    k=$(k3 top tp1)
    expect_eq "UID|PID|PPID|C|STIME|TTY|TIME|CMD" "$(head -1 <<<"$k" | sed 's/   */|/g')" "docker's columns"
    # the container's own pids: 1 is the init, its child's parent is 1
    expect_eq "root 1 0 sleep 2000" "$(awk '$8 == "sleep" && $9 == 2000 {print $1, $2, $3, $8, $9}' <<<"$k")"
    expect_eq "1 sleep 1000" "$(awk '$8 == "sleep" && $9 == 1000 {print $3, $8, $9}' <<<"$k")"
    until_ok 100 sh -c "$P top tp1 pid args | grep -q 'sleep 1000'"
    pm=$(p top tp1 pid args | tail -n +2 | awk '{$1 = $1; print}' | sort)
    expect_eq "$pm" "$(tail -n +2 <<<"$k" | awk '{print $2, $8, $9}' | sort)" "pids and commands as podman"
    local rc=0; k3 top nope 2>/dev/null || rc=$?
    [ $rc -ne 0 ] || fail "top of no container"
}

t_port_as_podman() {
    both pt1 -p 18083:80 -p 127.0.0.1:18084:81/udp alpine sleep 1000
    expect_eq "$(p port pt1 | sort)" "$(k3 port pt1 | sort)" "all ports"
    expect_eq "$(p port pt1 80)" "$(k3 port pt1 80)" "one port"
    expect_eq "0.0.0.0:18083" "$(k3 port pt1 80/tcp)"
    expect_eq "127.0.0.1:18084" "$(k3 port pt1 81/udp)"
    local rc=0 prc=0
    k3 port pt1 82 2>/dev/null || rc=$?; p port pt1 82 >/dev/null 2>&1 || prc=$?
    [ $rc -ne 0 ] && [ $prc -ne 0 ] || fail "an unpublished port: k3 $rc podman $prc"
}

t_pause_unpause_as_podman() {
    both pa1 alpine sh -c 'while :; do date +%s%N >/tmp/tick; sleep 0.05; done'
    local eng
    for eng in k3 p; do
        expect_eq pa1 "$($eng pause pa1)" "$eng pause prints the id"
        expect_eq paused "$($eng inspect -f '{{.State.Status}}' pa1)" "$eng paused"
        local rc=0; $eng pause pa1 >/dev/null 2>&1 || rc=$?
        [ $rc -ne 0 ] || fail "$eng: pausing a paused container"
    done
    # frozen: the loop writes no more
    local pid a b; pid=$(k3 inspect -f '{{.State.Pid}}' pa1)
    a=$(cat /proc/$pid/root/tmp/tick); sleep 0.3; b=$(cat /proc/$pid/root/tmp/tick)
    expect_eq "$a" "$b" "nothing runs while paused"
    expect_contains "$(k3 ps)" "(Paused)"
    for eng in k3 p; do
        expect_eq pa1 "$($eng unpause pa1)"
        expect_eq running "$($eng inspect -f '{{.State.Status}}' pa1)" "$eng running again"
        local rc=0; $eng unpause pa1 >/dev/null 2>&1 || rc=$?
        [ $rc -ne 0 ] || fail "$eng: unpausing a running container"
    done
    until_ok 50 sh -c "[ \"\$(cat /proc/$pid/root/tmp/tick)\" != '$b' ]" || fail "the loop did not resume"
    k3 rm -f pa1 >/dev/null
    local rc=0; k3 pause pa1 2>/dev/null || rc=$?
    [ $rc -ne 0 ] || fail "pause of a removed container"
}

t_stop_and_rm_f_of_a_paused_container_as_podman() {
    both ps1 alpine sleep 1000
    both ps2 alpine sleep 1000
    local eng rc code out bin
    for eng in k3 p; do
        [ $eng = k3 ] && bin=("$K3") || bin=($P)
        $eng pause ps1 >/dev/null; $eng pause ps2 >/dev/null
        # rm -f: the frozen process must still get its KILL (a v1 freezer holds it)
        rc=0; timeout 30 "${bin[@]}" rm -f ps1 >/dev/null 2>"$T/err.$eng" || rc=$?
        expect_eq 0 "$rc" "$eng rm -f of a paused container: $(cat "$T/err.$eng")"
        rc=0; $eng inspect ps1 >/dev/null 2>&1 || rc=$?
        [ $rc -ne 0 ] || fail "$eng: ps1 still there after rm -f"
        rc=0; timeout 30 "${bin[@]}" stop -t 1 ps2 >/dev/null 2>&1 || rc=$?
        out=$($eng inspect -f '{{.State.Status}}' ps2 2>/dev/null)
        code=$($eng inspect -f '{{.State.ExitCode}}' ps2 2>/dev/null)
        # exit status: docker's 1 for k3's stop and kill, podman's 125
        echo "$eng stop of a paused container: $( ((rc)) && echo refused || echo done), $out, exit $code" >>"$T/paused"
        rc=0; timeout 30 "${bin[@]}" kill ps2 >/dev/null 2>&1 || rc=$?
        # (podman 4.3 reports the refusal, yet its KILL reaches the process: state not compared)
        echo "$eng kill of a paused container: $( ((rc)) && echo refused || echo done)" >>"$T/paused"
    done
    cat "$T/paused"
    # the same outcomes: stop's and kill's status, the state and the code they leave
    expect_eq "$(sed -n '3,4p' "$T/paused" | cut -d' ' -f2-)" "$(sed -n '1,2p' "$T/paused" | cut -d' ' -f2-)" "stop and kill of a paused container as podman"
    expect_contains "$("$K3" stop ps2 2>&1)" "unpause"
}

t_events_as_podman() {
    local since; since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    # a stream started before the container sees its events as they happen
    timeout 30 "$K3" events --filter container=ev1 --format '{{.Action}} {{.Actor.ID}}' >"$T/stream" 2>&1 &
    local sp=$!
    sleep 0.5 # the stream has taken its starting point
    both ev1 alpine sleep 1000
    k3 pause ev1 >/dev/null; p pause ev1 >/dev/null
    k3 unpause ev1 >/dev/null; p unpause ev1 >/dev/null
    # docker's text line (the image is known while the container exists)
    local line; line=$(timeout 20 "$K3" events --since "$since" --until 0s --filter container=ev1 --filter event=start)
    [[ $line =~ ^20[0-9-]+T[0-9:.]+Z\ container\ start\ ev1\ \(image=[^,]*alpine(:latest)?,\ name=ev1\)$ ]] || fail "text line \`$line\`"
    k3 rm -f ev1 >/dev/null; p rm -f -t 0 ev1 >/dev/null
    until_ok 100 grep -q "^destroy ev1" "$T/stream" || fail "stream: $(cat "$T/stream")"
    kill $sp 2>/dev/null; wait $sp 2>/dev/null || true
    local k pm until
    until=$(date -u -d '+1 second' +%Y-%m-%dT%H:%M:%SZ); sleep 1.1
    k=$(timeout 20 "$K3" events --since "$since" --until "$until" --filter container=ev1 --format '{{.Action}}')
    expect_eq "$(cut -d' ' -f1 "$T/stream")" "$k" "the stream and the replay agree"
    # podman says `died` and `remove` where docker says `die` and `destroy`; it adds init/cleanup
    # (podman 4.3 with its file logger prints nothing for `--until`: `--stream=false`)
    pm=$(timeout 20 $P events --since "$since" --stream=false --filter container=ev1 --format '{{.Status}}' |
        sed 's/^died$/die/; s/^remove$/destroy/' | grep -x 'create\|start\|pause\|unpause\|die\|destroy')
    expect_eq "$pm" "$(grep -x 'create\|start\|pause\|unpause\|die\|destroy' <<<"$k")" "as podman"
    local rc=0; k3 events --filter color=red 2>/dev/null || rc=$?
    [ $rc -ne 0 ] || fail "a bad filter accepted"
}

after_each() {
    stop_daemon
    for n in $NAMES; do k3 rm -f "$n"; done
    p rm -af -t 0
}

run_suite
