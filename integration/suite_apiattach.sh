#!/usr/bin/env bash
# Interactive containers through the daemon's API, each checked against podman's
# compat API in the same test: integration/hijack.py drives
# `POST /containers/ID/attach` (docker's hijack: `101 UPGRADED`, then the raw
# connection) and `POST /containers/ID/resize` on podman's socket
# (`podman system service`) and on k3's, same image, same steps, same observable
# results (frames, pty bytes, exit codes from `/wait`, error statuses). Then the CLI:
# `k3 run -i/-it` and `k3 attach` through the daemon under tmux, with typed input,
# give the output and exit codes of the standalone path (K3_NO_DAEMON=1). Detach keys
# (`detachKeys`, `--detach-keys`) the same way on both sockets and both paths.
# Ends with `N passed, M failed`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/engine_lib.sh"
engine_setup
need podman tmux ss

podman_private
source "$(dirname "$0")/tmux_lib.sh"
KSOCK=$ROOT/k3.sock PSOCK=$T/podman.sock
KPID= PPID_SVC=
suite_cleanup() {
    tm kill-server 2>/dev/null
    [ -n "$KPID" ] && kill "$KPID" 2>/dev/null && wait "$KPID" 2>/dev/null
    [ -n "$PPID_SVC" ] && kill "$PPID_SVC" 2>/dev/null && wait "$PPID_SVC" 2>/dev/null
    podman_cleanup
    engine_cleanup
}
trap suite_cleanup EXIT INT TERM

# detached LOG CMD...: CMD in the background, stdin /dev/null, its output to LOG and
# no other descriptor of the suite (closed before the exec); its pid in $!
detached() {
    local log=$1; shift
    python3 -c 'import os, sys; os.closerange(3, 65536); os.execvp(sys.argv[1], sys.argv[1:])' "$@" </dev/null >"$log" 2>&1 &
}
wait_sock() { local i; for i in $(seq 100); do [ -S "$1" ] && python3 "$H" "$1" - GET /containers/json >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

H=$TOP/integration/hijack.py
p pull -q --tls-verify=false "$REG/alpine:latest" >/dev/null || { echo "FAIL podman pull"; echo "0 passed, 1 failed"; exit 1; }
k3 pull -q alpine >/dev/null || { echo "FAIL k3 pull"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p "$ROOT"
detached "$T/k3d.log" "$K3" serve --grace 1; KPID=$!
detached "$T/podman-service.log" $P system service --time=0 "unix://$PSOCK"; PPID_SVC=$!
wait_sock "$KSOCK" || { echo "FAIL k3 serve: $(tail -3 "$T/k3d.log")"; echo "0 passed, 1 failed"; exit 1; }
wait_sock "$PSOCK" || { echo "FAIL podman service: $(tail -3 "$T/podman-service.log")"; echo "0 passed, 1 failed"; exit 1; }

# mk NAME ARGS...: `run -d --name NAME ARGS` in both engines (IMG: each one's image)
mk() {
    local n=$1; shift; local a ka=() pa=()
    for a in "$@"; do
        if [ "$a" = IMG ]; then ka+=(alpine); pa+=("$REG/alpine:latest"); else ka+=("$a"); pa+=("$a"); fi
    done
    k3 run -d --name "$n" "${ka[@]}" >/dev/null
    p run -d --name "$n" "${pa[@]}" >/dev/null 2>&1
}
hj() { python3 "$H" "$@"; }
j() { json_get "$1" "$2"; }
wait_code() { j "$(hj "$1" - POST "/containers/$2/wait")" 'json.loads(j["body"])["StatusCode"]'; }

t_daemons_hold_no_descriptor_of_the_suite() {
    # none of the suite shell's descriptors (its output, the flock, the script)
    local pid fd tgt mine
    mine=$(for fd in /proc/$$/fd/*; do readlink "$fd"; done | grep -v '^/dev/null$' | sort -u)
    [ -n "$mine" ] || fail "cannot read the suite's descriptors"
    for pid in "$KPID" "$PPID_SVC"; do
        expect_eq /dev/null "$(readlink "/proc/$pid/fd/0")" "stdin of $pid"
        for fd in /proc/"$pid"/fd/*; do
            tgt=$(readlink "$fd") || continue
            if grep -qxF -- "$tgt" <<<"$mine"; then fail "daemon $pid holds the suite's \`$tgt\` ($fd)"; fi
        done
    done
}

t_echo_hi_to_an_i_container_running_cat() {
    mk cat1 -i IMG cat
    local s out
    for s in "$PSOCK" "$KSOCK"; do
        out=$(hj "$s" cat1 'stream=1&stdin=1&stdout=1&stderr=1' send:'hi\n' close)
        expect_eq 101 "$(j "$out" 'j["status"]')" "status on $s"
        expect_eq tcp "$(j "$out" 'j["upgrade"]')" "Upgrade header on $s"
        expect_eq '[[1, "hi\n"]]' "$(j "$out" 'json.dumps(j["frames"])')" "frames on $s"
        # the shut write half closed cat's stdin: it ended with 0
        expect_eq 0 "$(wait_code "$s" cat1)" "exit code on $s"
    done
}

t_stdout_and_stderr_frames_and_exit_code() {
    mk mux1 -i IMG sh
    local s out want='[[1, "out\n"], [2, "err\n"], [1, "out2\n"]]'
    for s in "$PSOCK" "$KSOCK"; do
        out=$(hj "$s" mux1 'stream=1&stdin=1&stdout=1&stderr=1' send:'echo out; sleep 0.2; echo err >&2; sleep 0.2; echo out2; exit 3\n')
        expect_eq "$want" "$(j "$out" 'json.dumps(j["frames"])')" "frames on $s"
        expect_eq 3 "$(wait_code "$s" mux1)" "exit code on $s"
    done
    # stderr alone: docker leaves the stdout frames out (podman 5 sends them anyway)
    k3 run -d --name mux2 -i alpine sh >/dev/null
    out=$(hj "$KSOCK" mux2 'stream=1&stdin=1&stderr=1' send:'echo out; echo err >&2; exit 0\n')
    expect_eq '[[2, "err\n"]]' "$(j "$out" 'json.dumps(j["frames"])')" "stderr only"
}

t_stdin_for_a_container_without_i_is_ignored_as_podman() {
    local s out
    for s in "$PSOCK" "$KSOCK"; do
        # made right before its attach: it ends a second after its start
        if [ "$s" = "$PSOCK" ]; then
            p run -d --name noi1 "$REG/alpine:latest" sh -c 'sleep 1; echo later; cat; echo rc=$?' >/dev/null
        else
            k3 run -d --name noi1 alpine sh -c 'sleep 1; echo later; cat; echo rc=$?' >/dev/null
        fi
        out=$(hj "$s" noi1 'stream=1&stdin=1&stdout=1&stderr=1' send:'zzz\n' close)
        expect_eq 101 "$(j "$out" 'j["status"]')" "status on $s"
        expect_eq '[[1, "later\nrc=0\n"]]' "$(j "$out" 'json.dumps(j["frames"])')" "frames on $s"
        expect_eq 0 "$(wait_code "$s" noi1)" "exit code on $s"
    done
}

t_tty_typed_input_resize_and_exit_code() {
    mk tty1 -it IMG sh
    local s out
    for s in "$PSOCK" "$KSOCK"; do
        out=$(hj "$s" tty1 'stream=1&stdin=1&stdout=1&stderr=1' --raw resize:20,70 sleep:0.3 \
            send:'stty size\n' expect:'20 70' resize:25,90 sleep:0.3 send:'echo typed-$((6*7)); stty size\n' \
            expect:'typed-42' expect:'25 90' send:'exit 4\n')
        expect_eq 101 "$(j "$out" 'j["status"]')" "status on $s"
        # the pty's bytes, unframed: echo, prompt and answers as the shell wrote them
        expect_contains "$(j "$out" 'j["frames"][0][1]')" $'\r\n20 70\r\n' "pty output on $s"
        expect_contains "$(j "$out" 'j["frames"][0][1]')" $'\r\ntyped-42\r\n25 90\r\n' "pty output on $s"
        expect_eq 4 "$(wait_code "$s" tty1)" "exit code on $s"
    done
    # a shut write half leaves a pty's input open (cat runs on), as podman
    mk tty2 -it IMG cat
    for s in "$PSOCK" "$KSOCK"; do
        timeout 3 python3 "$H" "$s" tty2 'stream=1&stdin=1&stdout=1' --raw send:'abc\n' expect:abc close >/dev/null && fail "stream on $s ended"
        expect_eq running "$(p inspect -f '{{.State.Status}}' tty2)" "podman's cat"
        expect_eq RUNNING "$(status_of tty2)" "k3's cat"
    done
}

t_errors_as_podman_and_docker() {
    local s
    for s in "$PSOCK" "$KSOCK"; do
        expect_eq 404 "$(j "$(hj "$s" nope 'stream=1&stdout=1')" 'j["status"]')" "attach unknown on $s"
        expect_eq 404 "$(j "$(hj "$s" - POST '/containers/nope/resize?h=10&w=10')" 'j["status"]')" "resize unknown on $s"
    done
    mk bad1 -it IMG sh
    for s in "$PSOCK" "$KSOCK"; do
        expect_eq 400 "$(j "$(hj "$s" - POST '/containers/bad1/resize?h=abc&w=10')" 'j["status"]')" "h=abc on $s"
        expect_eq 400 "$(j "$(hj "$s" - POST '/containers/bad1/resize?h=-1&w=10')" 'j["status"]')" "h=-1 on $s"
    done
    local out; out=$(hj "$KSOCK" - POST '/containers/bad1/resize?h=abc&w=10')
    expect_contains "$out" '`h` `abc`' "k3 names the value"
    expect_contains "$(hj "$KSOCK" - POST '/containers/bad1/resize?w=10')" 'missing `h`' "k3: h missing"
    expect_contains "$(hj "$KSOCK" bad1 'stdout=maybe')" '`stdout` `maybe`' "k3: bad flag"
    # a stopped container: docker's 409 (podman instead re-initializes it and waits)
    k3 run --name done1 alpine true >/dev/null
    out=$(hj "$KSOCK" done1 'stream=1&stdout=1')
    expect_eq 409 "$(j "$out" 'j["status"]')" "attach to a stopped container"
    expect_eq CONFLICT "$(j "$out" 'json.loads(j["body"])["type"]')"
    expect_eq 409 "$(j "$(hj "$KSOCK" - POST '/containers/done1/resize?h=10&w=10')" 'j["status"]')" "resize of a stopped container"
}

t_logs_then_nothing_for_a_stopped_container() {
    # k3 alone: podman 5's compat replay splits lines into malformed frames
    k3 run --name lg1 alpine sh -c 'echo one; sleep 0.2; echo two >&2' >/dev/null 2>&1
    local out; out=$(hj "$KSOCK" lg1 'logs=1&stream=0&stdout=1&stderr=1')
    expect_eq '[[1, "one\n"], [2, "two\n"]]' "$(j "$out" 'json.dumps(j["frames"])')" "replayed frames"
}

# ---- the CLI through the daemon, compared with the standalone path ----

daemon_conns() { { ss -xp | grep -c "pid=$KPID,"; } || true; }

# through the daemon, the daemon holds the stream while the shell runs
CONNS_BEFORE=0
holds_stream() { # NAME
    [ "$(daemon_conns)" -ge $((CONNS_BEFORE + 2)) ] ||
        fail "$1: the daemon holds no stream ($CONNS_BEFORE -> $(daemon_conns) connections)"
}

t_cli_run_it_through_the_daemon_as_standalone() {
    CONNS_BEFORE=$(daemon_conns)
    interactive_shell dmit "$K3 run --rm -it alpine sh" holds_stream
    interactive_shell loit "K3_NO_DAEMON=1 $K3 run --rm -it alpine sh"
    expect_eq "" "$(k3 ps -aq)" "--rm left nothing"
}

t_cli_run_i_pipes_and_streams_as_standalone() {
    local mode out err rc
    for mode in daemon local; do
        rc=0
        if [ $mode = daemon ]; then
            out=$(echo 'echo hi; echo oops >&2; exit 6' | k3 run --rm -i alpine sh 2>"$T/err") || rc=$?
        else
            out=$(echo 'echo hi; echo oops >&2; exit 6' | K3_NO_DAEMON=1 k3 run --rm -i alpine sh 2>"$T/err") || rc=$?
        fi
        expect_eq hi "$out" "$mode stdout"
        expect_eq oops "$(cat "$T/err")" "$mode stderr"
        expect_eq 6 "$rc" "$mode exit code"
    done
    expect_eq 3000000 "$(head -c 3000000 /dev/zero | k3 run --rm -i alpine sh -c 'cat | wc -c' | tr -d ' ')" "3 MB both ways through the daemon"
    # engine errors: docker's 125, 127 for a missing program, both paths
    for mode in daemon local; do
        rc=0; if [ $mode = daemon ]; then k3 run --rm alpine /nope 2>/dev/null || rc=$?; else K3_NO_DAEMON=1 k3 run --rm alpine /nope 2>/dev/null || rc=$?; fi
        expect_eq 127 "$rc" "$mode: missing program"
        rc=0; if [ $mode = daemon ]; then k3 run --rm no-such-image 2>/dev/null || rc=$?; else K3_NO_DAEMON=1 k3 run --rm no-such-image 2>/dev/null || rc=$?; fi
        expect_eq 125 "$rc" "$mode: missing image"
    done
    expect_eq "" "$(k3 ps -aq)" "nothing left"
}

t_cli_attach_detach_and_exit_code_as_standalone() {
    local mode n pre
    for mode in daemon local; do
        k3 run -dit --name at1 alpine sh >/dev/null
        pre=; [ $mode = local ] && pre="K3_NO_DAEMON=1 "
        n=${mode}at
        in_tmux $n "$pre$K3 attach at1"; sleep 0.5
        tm send-keys -t $n 'echo attached-$((2*4))' Enter
        wait_screen $n '^attached-8'
        key $n C-p; key $n C-q
        expect_eq 0 "$(wait_rc $n)" "$mode detach exit code"
        expect_eq RUNNING "$(status_of at1)" "$mode: still running after the detach"
        n=${mode}at2
        in_tmux $n "$pre$K3 attach at1"; sleep 0.5
        tm send-keys -t $n 'echo again-$((3*3))' Enter
        wait_screen $n '^again-9'
        tm send-keys -t $n 'exit 3' Enter
        expect_eq 3 "$(wait_rc $n)" "$mode: attach ends with the container's code"
        k3 rm -f at1 >/dev/null
    done
    # a stopped container: the same refusal both ways
    k3 run --name st1 alpine true >/dev/null
    local d=0 l=0; k3 attach st1 2>/dev/null || d=$?; K3_NO_DAEMON=1 k3 attach st1 2>/dev/null || l=$?
    expect_eq "$l" "$d" "exit code of attach to a stopped container"
    [ "$d" -ne 0 ] || fail "attach to a stopped container succeeded"
}

t_detach_keys_in_the_api_as_podman() {
    mk dk1 -it IMG sh -c "$HEXLOOP"
    local s out rc q='stream=1&stdin=1&stdout=1&stderr=1'
    for s in "$PSOCK" "$KSOCK"; do
        # a partial sequence goes on with the key that broke it; then the keys end
        # the stream and the container runs on (podman writes `Error: detached from
        # container` into the stream first; docker and k3 do not)
        out=$(timeout 20 python3 "$H" "$s" dk1 "$q&detachKeys=ctrl-a%2Cx" --raw sleep:0.3 send:'\x01' sleep:0.3 \
            send:'y' sleep:0.3 send:'\r' expect:' 01 79' send:'\x01' sleep:0.3 send:'x') || fail "stream on $s did not end at the keys"
        expect_eq 101 "$(j "$out" 'j["status"]')" "status on $s"
        expect_contains "$(j "$out" 'j["frames"][0][1]')" $'\r\n 01 79\r' "what the container read on $s"
        # one character
        timeout 20 python3 "$H" "$s" dk1 "$q&detachKeys=q" --raw sleep:0.3 send:'q' >/dev/null || fail "stream on $s did not end at q"
        # none: ctrl-p ctrl-q are input, the stream goes on
        rc=0; timeout 4 python3 "$H" "$s" dk1 "$q&detachKeys=" --raw sleep:0.3 send:'\x10' sleep:0.3 send:'\x11' \
            sleep:0.3 send:'\r' expect:' 10 11' >/dev/null || rc=$?
        expect_eq 124 "$rc" "detachKeys= on $s: the keys reached the container and the stream went on"
        expect_eq running "$(p inspect -f '{{.State.Status}}' dk1)" "podman's container"
        expect_eq RUNNING "$(status_of dk1)" "k3's container"
    done
    # a bad list: 400 naming the field (podman 4.3 answers 500)
    local v
    for v in ctrl-zz ctrl-A ab ctrl-p%2C %C3%A9; do
        out=$(hj "$KSOCK" dk1 "$q&detachKeys=$v")
        expect_eq 400 "$(j "$out" 'j["status"]')" "k3: detachKeys=$v"
        expect_contains "$(j "$out" 'j["body"]')" '`detachKeys`' "k3 names the field"
        expect_eq 500 "$(j "$(hj "$PSOCK" dk1 "$q&detachKeys=$v")" 'j["status"]')" "podman: detachKeys=$v"
    done
    expect_eq RUNNING "$(status_of dk1)" "k3's container after the refusals"
}

t_cli_detach_keys_through_the_daemon_as_standalone() {
    local mode n pre before rc
    for mode in daemon local; do
        pre=; [ $mode = local ] && pre="K3_NO_DAEMON=1 "
        n=${mode}dk
        in_tmux $n "$pre$K3 run -it --name dk2 --detach-keys ctrl-a,x alpine sh -c '$HEXLOOP'"
        wait_screen $n '^ready'
        key $n C-a; key $n y; key $n Enter
        wait_screen $n '^ 01 79'
        key $n C-a; key $n x
        expect_eq 0 "$(wait_rc $n)" "$mode: exit code after the keys"
        expect_eq RUNNING "$(status_of dk2)" "$mode: the container runs on"
        # none: the daemon is told too (its default would end the stream at ctrl-p ctrl-q)
        n=${mode}dk0
        in_tmux $n "$pre$K3 attach --detach-keys '' dk2"; sleep 0.5
        key $n C-p; key $n C-q; key $n Enter
        wait_screen $n '^ 10 11'
        [ ! -s "$T/$n.rc" ] || fail "$mode: detached with --detach-keys \"\""
        key $n C-d
        expect_eq 0 "$(wait_rc $n)" "$mode: the container's own end"
        k3 rm -f dk2 >/dev/null
        # a bad list: 125 naming it, nothing made
        before=$(residue)
        rc=0; env ${pre:+K3_NO_DAEMON=1} "$K3" run --name dk3 --detach-keys ctrl-zz alpine true 2>"$T/err" || rc=$?
        expect_eq 125 "$rc" "$mode: exit code of a bad list"
        expect_contains "$(cat "$T/err")" '`--detach-keys` value `ctrl-zz`' "$mode: the message"
        expect_eq "$before" "$(residue)" "$mode: nothing left"
    done
}

after_each() {
    local n
    for n in cat1 mux1 mux2 noi1 tty1 tty2 bad1 done1 lg1 at1 st1 dk1 dk2 dk3; do k3 rm -f $n; p rm -f -t 0 $n; done
    tm_reset
}

run_suite
