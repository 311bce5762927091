#!/usr/bin/env bash
# Issue 15, items 9, 5 and 3, as root. Two k3 roots side by side on one host
# (distinct IPs on the shared kb0, each reachable, published ports of both, rm
# and reconcile in one leaving the other intact, a network of one not
# removed by the other); restart policies enforced without the daemon
# (`on-failure:N`, `always`, `k3 stop` ending them, the count in inspect, the
# monitor holding none of the caller's descriptors); signals (a background
# job's ignored signals do not reach the container, a foreground `run`
# forwards SIGINT/SIGTERM and ends with the container's 130/143, a client
# killed mid-output leaves the container and its monitor running). Where the
# behaviour is docker's, podman runs the same command in the same test.
# Ends with `N passed, M failed`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/engine_lib.sh"
engine_setup
need podman

ROOTB=$T/rootb
kb() { "$K3" --root "$ROOTB" "$@"; }
podman_private
cleanup_b() {
    local id
    if [ -d "$ROOTB" ]; then
        for id in $(kb ps -aq 2>/dev/null); do kb rm -f "$id" >/dev/null 2>&1; done
        for id in $(kb network ls -q 2>/dev/null); do [ "$id" = kb0 ] || kb network rm "$id" >/dev/null 2>&1; done
    fi
}
podman_cleanup() { p rm -af -t 0 >/dev/null 2>&1; p system reset --force >/dev/null 2>&1; umount -R "$PW/storage" 2>/dev/null; true; }
trap 'cleanup_b; podman_cleanup; engine_cleanup' EXIT INT TERM
p pull -q --tls-verify=false "$REG/alpine:latest" >/dev/null || { echo "FAIL podman pull"; echo "0 passed, 1 failed"; exit 1; }
PIMG=$REG/alpine:latest

# the test's own reads wait for the writers (monitors restarting containers)
sq() { sqlite3 -cmd '.timeout 10000' "$ROOT/k3.db" "$1"; }
ip_in() { "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Summary"]["ip"])'; }
hash_in() { "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Hash"])'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# until TENTHS CMD...: CMD succeeds within TENTHS tenths of a second
until_ok() { local n=$1 i; shift; for i in $(seq "$n"); do "$@" && return 0; sleep 0.1; done; return 1; }
answers() { [ "$(curl -s -m 2 "$1")" = "hello from k3" ]; }

after_each() {
    cleanup_b
    for id in $(k3 ps -aq 2>/dev/null); do k3 rm -f "$id" >/dev/null 2>&1; done
    p rm -af -t 0 >/dev/null 2>&1
}

# ---- item 9: two roots on one host

t_two_roots_distinct_ips_both_reachable_ports_of_both_work() {
    local ha hb ipa ipb
    ha=$(free_port); hb=$(free_port)
    k3 run -d --name web -p "$ha:80" nginx >/dev/null
    kb run -d --name web -p "$hb:80" nginx >/dev/null
    ipa=$(ip_in k3 inspect web); ipb=$(ip_in kb inspect web)
    [[ $ipa == 192.168.100.* && $ipb == 192.168.100.* ]] || fail "ips $ipa $ipb"
    [ "$ipa" != "$ipb" ] || fail "both roots leased $ipa"
    until_ok 50 answers "http://$ipa/" || fail "A's container at $ipa does not answer"
    until_ok 50 answers "http://$ipb/" || fail "B's container at $ipb does not answer"
    expect_eq "hello from k3" "$(curl -s -m 5 "http://127.0.0.1:$ha/")" "A's published port"
    expect_eq "hello from k3" "$(curl -s -m 5 "http://127.0.0.1:$hb/")" "B's published port"
    # each root sees the other's from inside too (one bridge, one subnet)
    expect_eq "hello from k3" "$(kb run --rm alpine timeout 5 wget -qO- "http://$ipa/")" "A from a container of B"
    # a port A publishes is refused to B, naming A's container and root
    local out
    out=$(kb run -d --name clash -p "$ha:80" nginx 2>&1) && fail "B published A's port $ha"
    expect_contains "$out" "already published by container \`web\` of k3 root \`$ROOT\`"
    expect_eq "" "$(kb ps -aq | grep -x clash || true)" "nothing left of the refused create"
}

t_rm_and_reconcile_in_one_root_leave_the_other_intact() {
    local ha hb va ipa
    ha=$(free_port); hb=$(free_port)
    k3 run -d --name web -p "$ha:80" nginx >/dev/null
    kb run -d --name web -p "$hb:80" nginx >/dev/null
    va=k3-$(hash_in k3 inspect web | cut -c1-12)
    ipa=$(ip_in k3 inspect web)
    # creates in B run B's reconcile; a stop, creates, rms and a prune in B
    kb run --rm --name other alpine true >/dev/null
    kb stop -t 1 web >/dev/null
    kb rm web >/dev/null
    for c in one two; do kb create --name "$c" alpine true >/dev/null; kb rm "$c" >/dev/null; done
    kb prune >/dev/null
    ip link show "$va" >/dev/null 2>&1 || fail "B removed A's veth $va"
    local rules; rules=$(nft list chain ip k3 portmap)
    [[ $rules == *"dport $ha "* ]] || fail "B's rm removed A's port rule: $rules"
    [[ $rules != *"dport $hb "* ]] || fail "B's rule left after B's rm: $rules"
    until_ok 50 answers "http://$ipa/" || fail "A's container unreachable after B's rm"
    expect_eq "hello from k3" "$(curl -s -m 5 "http://127.0.0.1:$ha/")" "A's port after B's rm"
    # B's `network rm kb0` keeps the bridge A's container is on
    kb network rm kb0 >/dev/null || fail "B could not remove its kb0"
    ip link show kb0 >/dev/null 2>&1 || fail "B's network rm removed the kb0 A uses"
    expect_eq "hello from k3" "$(curl -s -m 5 "http://127.0.0.1:$ha/")" "A's port after B's network rm"
    # and B's kb0 comes back on first use, on the same bridge and subnet
    kb run -d --name again nginx >/dev/null
    [[ $(ip_in kb inspect again) == 192.168.100.* ]] || fail "B's kb0 not back"
}

t_networks_of_two_roots_do_not_clash() {
    k3 network create shared1 --subnet 10.77.0.0/24 >/dev/null
    EXTRA_BRIDGES+=(shared1)
    local out
    out=$(kb network create shared1 --subnet 10.78.0.0/24 2>&1) && fail "B took A's bridge with another subnet"
    expect_contains "$out" "bridge \`shared1\` is network \`shared1\`"
    out=$(kb network create other1 --subnet 10.77.0.128/25 2>&1) && fail "B's subnet overlaps A's"
    expect_contains "$out" "overlaps network \`shared1\` (\`10.77.0.0/24\`) of k3 root \`$ROOT\`"
    # the same network in both is shared; removed in one, it stays for the other
    kb network create shared1 --subnet 10.77.0.0/24 >/dev/null || fail "the same network refused to B"
    k3 run -d --name s1 --network shared1 nginx >/dev/null
    kb run -d --name s1 --network shared1 nginx >/dev/null
    [ "$(ip_in k3 inspect s1)" != "$(ip_in kb inspect s1)" ] || fail "same IP on shared1"
    kb rm -f s1 >/dev/null; kb network rm shared1 >/dev/null
    ip link show shared1 >/dev/null 2>&1 || fail "B removed the bridge A uses"
    until_ok 50 answers "http://$(ip_in k3 inspect s1)/" || fail "A's s1 unreachable"
    k3 rm -f s1 >/dev/null; k3 network rm shared1 >/dev/null
    ip link show shared1 >/dev/null 2>&1 && fail "last user's network rm left the bridge"
    true
}

# ---- item 5: restart policies without the daemon

restart_count() { k3 inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["restart_count"])'; }
restarts_of() { sq "select count(*) from restarts where container_id='$1'"; }
stopped_with() { [ "$(status_of "$1")" = STOPPED ] && [ "$(restarts_of "$1")" -ge "$2" ]; }
p_exited_with() { [ "$(p inspect "$1" --format '{{.State.Status}} {{.RestartCount}}')" = "exited $2" ]; }

t_on_failure_n_restarts_n_times_as_podman() {
    K3_NO_DAEMON=1 k3 run -d --name rf --restart on-failure:2 alpine sh -c 'exit 3' >/dev/null
    p run -d --name rf --restart on-failure:2 "$PIMG" sh -c 'exit 3' >/dev/null
    until_ok 150 stopped_with rf 2 || fail "k3: $(status_of rf), $(restarts_of rf) restarts"
    until_ok 150 p_exited_with rf 2 || fail "podman: $(p inspect rf --format '{{.State.Status}} {{.RestartCount}}')"
    # the last monitor is gone: no third try
    local mp; mp=$(sq "select monitor_pid from container_state where id='rf'")
    until_ok 50 bash -c "! kill -0 $mp 2>/dev/null" || fail "monitor $mp still there"
    expect_eq 2 "$(restarts_of rf)" "restarts"
    expect_eq "$(p inspect rf --format '{{.RestartCount}}')" "$(restart_count rf)" "restart count, podman's"
    expect_eq 2 "$(k3 ps -a --format json | python3 -c 'import json,sys; print([c["restart_count"] for c in json.load(sys.stdin) if c["id"] == "rf"][0])')" "restart count in ps"
    expect_eq "$(p inspect rf --format '{{.State.ExitCode}}')" "$(k3 inspect rf | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["exit_code"])')" "exit code"
    # `on-failure` leaves a clean exit alone
    k3 run -d --name ok0 --restart on-failure:2 alpine true >/dev/null
    until_ok 50 bash -c "$K3 inspect ok0 | grep -q '\"status\": \"STOPPED\"'" || fail "ok0 still running"
    expect_eq 0 "$(restarts_of ok0)" "restarts after exit 0"
    local out; out=$(k3 run -d --name bad --restart always:3 alpine true 2>&1) && fail "always:3 accepted"
    expect_contains "$out" "always:3"
}

t_always_restarts_until_stop_as_podman() {
    k3 run -d --name al --restart always alpine sh -c 'sleep 0.2' >/dev/null
    p run -d --name al --restart always "$PIMG" sh -c 'sleep 0.2' >/dev/null
    until_ok 150 bash -c "[ \$(sqlite3 -cmd '.timeout 10000' '$ROOT/k3.db' \"select count(*) from restarts where container_id='al'\") -ge 3 ]" || fail "k3: $(restarts_of al) restarts"
    until_ok 150 bash -c "[ \$($P inspect al --format '{{.RestartCount}}') -ge 3 ]" || fail "podman: $(p inspect al --format '{{.RestartCount}}')"
    k3 stop -t 2 al >/dev/null; p stop -t 2 al >/dev/null
    local n; n=$(restarts_of al)
    # a monitor waiting out a delay ends too: then nothing more comes
    until_ok 50 bash -c "! pgrep -f '[_]_monitor.*\"id\":\"al\"' >/dev/null" || fail "a monitor of al is left"
    expect_eq STOPPED "$(status_of al)" "after stop"
    expect_eq "$n" "$(restarts_of al)" "no restart after stop"
    expect_eq exited "$(p inspect al --format '{{.State.Status}}')" "podman after stop"
    expect_eq "$(restarts_of al)" "$(restart_count al)" "count in inspect"
    # a start brings back the policy
    k3 start al >/dev/null
    until_ok 100 bash -c "[ \$(sqlite3 -cmd '.timeout 10000' '$ROOT/k3.db' \"select count(*) from restarts where container_id='al'\") -gt $n ]" || fail "no restart after start"
}

t_restarted_monitor_holds_none_of_the_callers_descriptors() {
    exec 7>"$T/caller-fd"
    k3 run -d --name fdr --restart always alpine sh -c 'sleep 0.3' >/dev/null
    exec 7>&-
    until_ok 100 bash -c "[ \$(sqlite3 -cmd '.timeout 10000' '$ROOT/k3.db' \"select count(*) from restarts where container_id='fdr'\") -ge 2 ]" || fail "not restarted"
    local mp; mp=$(sq "select monitor_pid from container_state where id='fdr'")
    [ -d "/proc/$mp" ] || fail "no monitor"
    if ls -l "/proc/$mp/fd" | grep -q caller-fd; then fail "monitor $mp holds the caller's descriptor"; fi
    # nor does any process of the container's
    local hit; hit=$( (find /proc/[0-9]*/fd -lname "$T/caller-fd" 2>/dev/null || true) | head -3)
    expect_eq "" "$hit" "processes holding the caller's descriptor"
    k3 stop -t 1 fdr >/dev/null
}

# ---- item 3: signals

sig_masks() { grep -E '^Sig(Ign|Blk)' | tr -s '\t ' ' ' | tr '\n' ' '; }
# the same without signals 32 and 33 (glibc's own): a caller such as make leaves them
# ignored, bash cannot reset them, and podman passes them on as it got them
sig_masks_no_glibc() {
    local l out=""
    while read -r l; do
        case $l in
        SigIgn:* | SigBlk:*) out+="${l%%:*}: $(printf '%016x' $((0x${l##*[[:space:]]} & ~0x180000000))) " ;;
        esac
    done
    echo "$out"
}

t_background_job_ignored_signals_do_not_reach_the_container_as_podman() {
    local pm k rt
    pm=$(bash -c "$P run --rm $PIMG cat /proc/self/status & wait" | sig_masks_no_glibc)
    expect_contains "$pm" "SigIgn: 0000000000000000" "podman (setup)"
    for rt in k3rt crun runc; do
        k=$(bash -c "$K3 --runtime $rt run --rm alpine cat /proc/self/status & wait")
        expect_eq "$pm" "$(sig_masks_no_glibc <<<"$k")" "signal masks with $rt"
        # k3 itself resets every signal, glibc's too
        expect_contains "$(sig_masks <<<"$k")" "SigBlk: 0000000000000000 SigIgn: 0000000000000000" "k3 with $rt"
    done
}

# fg ENGINE NAME SIG: a foreground `run` of a container that ends by SIG once it
# gets it, SIG sent to the client; prints its exit code
fg() {
    local c rc=0
    if [ "$1" = k3 ]; then c="$K3 run --name $2"; else c="$P run --name $2"; fi
    # the trap re-raises: the shell (pid 1) ends by the signal it got
    c="$c $( [ "$1" = k3 ] && echo alpine || echo "$PIMG" ) sh -c 'trap \"trap - $3; kill -$3 \\\$\\\$\" $3; echo up; sleep 100 & wait'"
    bash -c "$c" >"$T/fg.$2" 2>&1 &
    local pid=$!
    until_ok 100 grep -q up "$T/fg.$2" || { kill -KILL $pid; echo "never up: $(cat "$T/fg.$2")"; return; }
    kill -"$3" $pid
    wait $pid || rc=$?
    echo "$rc"
}

t_foreground_run_forwards_int_and_term_with_podmans_codes() {
    local s k pm
    for s in INT TERM; do
        k=$(fg k3 "f$s" "$s"); pm=$(fg podman "f$s" "$s")
        expect_eq "$pm" "$k" "exit code after SIG$s, podman's"
    done
    expect_eq 130 "$(fg k3 g1 INT)"
    expect_eq 143 "$(fg k3 g2 TERM)"
}

t_a_client_killed_mid_output_leaves_the_container_running() {
    local pid
    bash -c "exec $K3 run --name chatty alpine sh -c 'while :; do echo line; sleep 0.05; done'" >/dev/null 2>&1 &
    pid=$!
    until_ok 100 bash -c "[ \"\$($K3 inspect chatty 2>/dev/null | grep -c RUNNING)\" -ge 1 ]" || fail "not running"
    sleep 0.3
    kill -KILL $pid; wait $pid 2>/dev/null || true
    sleep 1  # output keeps coming: the monitor writes to the gone client
    expect_eq RUNNING "$(status_of chatty)" "after the client was killed"
    local mp; mp=$(sq "select monitor_pid from container_state where id='chatty'")
    [ -d "/proc/$mp" ] || fail "monitor $mp died with its client"
    k3 stop -t 1 chatty >/dev/null
    expect_eq STOPPED "$(status_of chatty)" "exit recorded by the monitor"
}

run_suite
