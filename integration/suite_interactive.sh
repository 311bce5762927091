#!/usr/bin/env bash
# Interactive containers, each checked against podman running the same image and
# command in the same test: `run -i` (piped stdin), stdin closed without `-i`,
# `run -t`/`-it` and `exec -it` on a pty (typed input in tmux, the window size and
# its changes, the exit code, the caller's terminal restored), `attach` with
# ctrl-p ctrl-q, `--detach-keys` (a list, one character, "", a broken sequence, keys
# pasted in one read, bad values) on run/start -a/attach/exec, exit codes of a
# signalled container. Ends with `N passed, M failed`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/engine_lib.sh"
engine_setup
need podman tmux script

podman_private
source "$(dirname "$0")/tmux_lib.sh"
trap 'tm kill-server 2>/dev/null; podman_cleanup; engine_cleanup' EXIT INT TERM
p pull -q --tls-verify=false "$REG/alpine:latest" >/dev/null || { echo "FAIL podman pull"; echo "0 passed, 1 failed"; exit 1; }
IMG=alpine PIMG=$REG/alpine:latest

# both ENGINE ARGS...: `k3 ARGS` and `podman ARGS` (image $IMG / $PIMG in place of IMG)
with_img() { local img=$1; shift; local a; for a in "$@"; do [ "$a" = IMG ] && echo "$img" || echo "$a"; done; }

t_run_i_pipes_stdin() {
    expect_eq hi "$(echo 'echo hi' | k3 run --rm -i alpine sh)"
    expect_eq hi "$(echo 'echo hi' | p run --rm -i "$PIMG" sh)" "podman"
    local rc=0; echo 'exit 6' | k3 run --rm -i alpine sh || rc=$?
    expect_eq 6 "$rc" "exit code of the piped script"
    # more than a pipe holds, both ways at once
    expect_eq 3000000 "$(head -c 3000000 /dev/zero | k3 run --rm -i alpine sh -c 'cat | wc -c' | tr -d ' ')"
}

t_without_i_stdin_is_closed_as_podman() {
    local k pm krc=0 prc=0
    k=$(echo 'echo hi' | k3 run --rm alpine sh) || krc=$?
    pm=$(echo 'echo hi' | p run --rm "$PIMG" sh) || prc=$?
    expect_eq "$pm" "$k" "output"
    expect_eq "$prc" "$krc" "exit code"
    expect_eq "$(p run --rm "$PIMG" sh -c 'cat; echo rc=$?' </dev/null)" "$(echo data | k3 run --rm alpine sh -c 'cat; echo rc=$?')"
}

t_run_t_under_script() {
    local k pm krc=0 prc=0
    k=$(script -qec "$K3 run --rm -t alpine sh -c 'tty; exit 5'" /dev/null | tr -d '\r') || krc=$?
    pm=$(script -qec "$P run --rm -t $PIMG sh -c 'tty; exit 5'" /dev/null | tr -d '\r') || prc=$?
    expect_contains "$k" /dev/pts/0
    expect_contains "$pm" /dev/pts/0 "podman"
    expect_eq 5 "$krc" "k3 exit code"
    expect_eq "$prc" "$krc" "same exit code as podman"
}

t_run_it_typed_input_resize_exit_code() {
    interactive_shell k3it "$K3 run --rm -it alpine sh"
    interactive_shell podit "$P run --rm -it $PIMG sh"
}

t_exec_it_typed_input_resize_exit_code() {
    k3 run -d --name ex1 alpine sleep 1000 >/dev/null
    p run -d --name ex1 "$PIMG" sleep 1000 >/dev/null
    interactive_shell k3ex "$K3 exec -it ex1 sh"
    interactive_shell podex "$P exec -it ex1 sh"
    expect_eq "$(p exec ex1 sh -c 'cat; echo rc=$?' </dev/null)" "$(echo data | k3 exec ex1 sh -c 'cat; echo rc=$?')" "exec without -i"
    expect_eq data "$(echo data | k3 exec -i ex1 cat)"
    k3 rm -f ex1 >/dev/null; p rm -f -t 0 ex1 >/dev/null
}

t_attach_and_detach() {
    k3 run -dit --name at1 alpine sh >/dev/null
    p run -dit --name at1 "$PIMG" sh >/dev/null 2>&1
    # the default keys, typed one at a time (in one read they are input, as podman's)
    local e
    for e in k3 pod; do
        in_tmux ${e}at "$(eng $e) attach at1"; sleep 0.5
        tm send-keys -t ${e}at 'echo attached-$((2*4))' Enter
        wait_screen ${e}at '^attached-8'
        key ${e}at C-p; key ${e}at C-q
        expect_eq 0 "$(wait_rc ${e}at)" "$e: detach exit code"
        running $e at1
    done
    # attach again: typed input, then the container's code, as podman's attach
    local eng n
    for eng in k3 pod; do
        n=${eng}at2
        if [ $eng = k3 ]; then in_tmux $n "$K3 attach at1"; else in_tmux $n "$P attach at1"; fi
        sleep 0.5
        tm send-keys -t $n 'echo again-$((3*3))' Enter
        wait_screen $n '^again-9'
        tm send-keys -t $n 'exit 3' Enter
        # docker's attach exits with the container's code; podman's (5.x) with 0
        if [ $eng = k3 ]; then expect_eq 3 "$(wait_rc $n)" "attach ends with the container's code"; fi
    done
    k3 rm -f at1 >/dev/null; p rm -f -t 0 at1 >/dev/null
}

t_exit_codes_of_signals_as_podman() {
    k3 run -d --name sig1 alpine sleep 1000 >/dev/null
    p run -d --name sig1 "$PIMG" sleep 1000 >/dev/null
    k3 kill -s KILL sig1 >/dev/null; p kill -s KILL sig1 >/dev/null
    local k pm; k=$(k3 wait sig1); pm=$(p wait sig1)
    expect_eq 137 "$k"
    expect_eq "$pm" "$k" "same as podman"
    k3 rm -f sig1 >/dev/null; p rm -f -t 0 sig1 >/dev/null
}

# ---- --detach-keys, the same keys typed into podman and k3 ----

hexlines() { tm capture-pane -p -t "$1" | grep '^ [0-9a-f][0-9a-f]' || true; }
pstatus() { p inspect -f '{{.State.Status}}' "$1"; }
# running ENGINE NAME: the container still runs
running() { if [ "$1" = k3 ]; then expect_eq RUNNING "$(status_of "$2")" "k3: $2 runs on"; else expect_eq running "$(pstatus "$2")" "podman: $2 runs on"; fi; }
# eng ENGINE: the command line of that engine (k3 or podman) and its image
eng() { if [ "$1" = k3 ]; then echo "$K3"; else echo "$P"; fi; }
img() { if [ "$1" = k3 ]; then echo alpine; else echo "$PIMG"; fi; }

t_detach_keys_list_partial_and_pasted_as_podman() {
    local e n
    for e in k3 pod; do
        n=${e}dk
        in_tmux $n "$(eng $e) run -it --name dk1 --detach-keys ctrl-a,x $(img $e) sh -c '$HEXLOOP'"
        wait_screen $n '^ready'
        # a partial sequence goes on with the key that broke it
        key $n C-a; key $n y; key $n Enter
        wait_screen $n '^ 01 79$'
        # ... which is no new start: ctrl-a ctrl-a x is input
        key $n C-a; key $n C-a; key $n x; key $n Enter
        wait_screen $n '^ 01 01 78$'
        # keys pasted in one read are input
        tm send-keys -t $n C-a x; sleep 0.3; key $n Enter
        wait_screen $n '^ 01 78$'
        [ ! -s "$T/$n.rc" ] || fail "$e: detached by input that was not the keys"
        key $n C-a; key $n x
        expect_eq 0 "$(wait_rc $n)" "$e: exit code after the detach keys"
        running $e dk1
    done
    expect_eq "$(hexlines poddk)" "$(hexlines k3dk)" "what the container read, podman vs k3"
    expect_eq "$(printf ' 01 79\n 01 01 78\n 01 78')" "$(hexlines k3dk)" "what k3's container read"
    k3 rm -f dk1 >/dev/null; p rm -f -t 0 dk1 >/dev/null
}

t_detach_keys_one_character_and_none_as_podman() {
    local e n
    for e in k3 pod; do
        # one character
        n=${e}one
        in_tmux $n "$(eng $e) run -it --name dk2 --detach-keys q $(img $e) sh"
        wait_screen $n '^/ #'
        key $n q
        expect_eq 0 "$(wait_rc $n)" "$e: exit code after q"
        running $e dk2
        # none: the default keys reach the container, which then ends as usual
        n=${e}none
        in_tmux $n "$(eng $e) run -it --name dk3 --detach-keys '' $(img $e) sh -c '$HEXLOOP'"
        wait_screen $n '^ready'
        key $n C-p; key $n C-q; key $n Enter
        wait_screen $n '^ 10 11$'
        [ ! -s "$T/$n.rc" ] || fail "$e: detached with --detach-keys \"\""
        key $n C-d
        expect_eq 0 "$(wait_rc $n)" "$e: the container's own end"
    done
    expect_eq "$(hexlines podnone)" "$(hexlines k3none)" "what the container read, podman vs k3"
    expect_eq exited "$(pstatus dk3)" "podman's container ended"
    expect_eq STOPPED "$(status_of dk3)" "k3's container ended"
    k3 rm -f dk2 dk3 >/dev/null; p rm -f -t 0 dk2 dk3 >/dev/null
}

t_detach_keys_of_start_attach_and_exec_as_podman() {
    local e n rc
    k3 create -it --name dk4 alpine sh >/dev/null
    p create -it --name dk4 "$PIMG" sh >/dev/null
    for e in k3 pod; do
        n=${e}start
        in_tmux $n "$(eng $e) start -ai --detach-keys ctrl-a,x dk4"
        wait_screen $n '^/ #'
        key $n C-a; key $n x
        expect_eq 0 "$(wait_rc $n)" "$e: start -a, exit code after the keys"
        running $e dk4
        n=${e}att
        in_tmux $n "$(eng $e) attach --detach-keys ctrl-],q dk4"; sleep 0.5
        tm send-keys -t $n 'echo att-$((2*3))' Enter
        wait_screen $n '^att-6'
        key $n 'C-]'; key $n q
        expect_eq 0 "$(wait_rc $n)" "$e: attach, exit code after the keys"
        running $e dk4
        n=${e}exec
        in_tmux $n "$(eng $e) exec -it --detach-keys ctrl-a,x dk4 sh -c 'echo started; exec sleep 1234'"
        wait_screen $n '^started'
        key $n C-a; key $n x
    done
    expect_eq 0 "$(wait_rc k3exec)" "k3: exec, exit code after the keys"
    # podman 4.3 detaches too, but fails after a 5 s wait for the exec's exit file
    for rc in $(seq 100); do [ -s "$T/podexec.rc" ] && break; sleep 0.2; done
    rc=$(cat "$T/podexec.rc" 2>/dev/null || echo none)
    [ "$rc" != none ] && [ "$rc" -ne 0 ] || fail "podman's exec detach: want its known failure, got \`$rc\`"
    # the exec'd process runs on in both, k3's terminal held by a k3 __ptyhold
    expect_contains "$(p exec dk4 ps -o args)" "sleep 1234" "podman's exec'd process"
    expect_contains "$(k3 exec dk4 ps -o args)" "sleep 1234" "k3's exec'd process"
    pgrep -f "/k3 __ptyhold" >/dev/null || fail "no k3 __ptyhold"
    # ... until the process ends: then its holder goes too
    k3 exec dk4 sh -c 'for d in /proc/[0-9]*; do [ "$(cat $d/comm)" = sleep ] && kill ${d#/proc/}; done; true'
    local i; for i in $(seq 50); do pgrep -f "/k3 __ptyhold" >/dev/null || break; sleep 0.1; done
    if pgrep -f "/k3 __ptyhold" >/dev/null; then fail "k3 __ptyhold outlived the process"; fi
    k3 rm -f dk4 >/dev/null; p rm -f -t 0 dk4 >/dev/null
}

t_bad_detach_keys_as_podman() {
    local v rc prc before
    k3 run -dit --name dk5 alpine sh >/dev/null
    p run -dit --name dk5 "$PIMG" sh >/dev/null
    k3 create -it --name dk6 alpine sh >/dev/null
    p create -it --name dk6 "$PIMG" sh >/dev/null
    for v in ctrl-zz ctrl- ctrl-A ab é ctrl-p, ,x; do
        # run: k3 refuses before it creates anything (podman 4.3: 126, and its
        # container is left behind)
        before=$(residue)
        rc=0; k3 run --name dk7 --detach-keys "$v" alpine true 2>"$T/err" || rc=$?
        expect_eq 125 "$rc" "k3 run --detach-keys $v"
        expect_contains "$(cat "$T/err")" "\`--detach-keys\` value \`$v\`" "k3's message"
        prc=0; p run --name dk7 --detach-keys "$v" "$PIMG" true 2>"$T/perr" || prc=$?
        expect_eq 126 "$prc" "podman run --detach-keys $v"
        expect_contains "$(cat "$T/perr")" "invalid detach keys" "podman's message"
        expect_eq "$before" "$(residue)" "k3 left nothing"
        p rm -f -t 0 dk7 >/dev/null 2>&1
        # start -a, attach: 125 in both; nothing started
        rc=0; k3 start -a --detach-keys "$v" dk6 2>"$T/err" || rc=$?
        prc=0; p start -a --detach-keys "$v" dk6 2>/dev/null || prc=$?
        expect_eq "$prc" "$rc" "start -a --detach-keys $v, podman vs k3"
        expect_contains "$(cat "$T/err")" "\`--detach-keys\` value \`$v\`" "k3's message"
        expect_eq CREATED "$(status_of dk6)" "k3's container not started"
        rc=0; k3 attach --detach-keys "$v" dk5 2>"$T/err" </dev/null || rc=$?
        prc=0; p attach --detach-keys "$v" dk5 2>/dev/null </dev/null || prc=$?
        expect_eq "$prc" "$rc" "attach --detach-keys $v, podman vs k3"
        expect_contains "$(cat "$T/err")" "\`--detach-keys\` value \`$v\`" "k3's message"
        # exec: k3 125; podman 4.3 runs the exec and fails in it (255)
        rc=0; k3 exec -it --detach-keys "$v" dk5 true 2>"$T/err" </dev/null || rc=$?
        prc=0; p exec -it --detach-keys "$v" dk5 true 2>/dev/null </dev/null || prc=$?
        expect_eq 125 "$rc" "k3 exec --detach-keys $v"
        expect_eq 255 "$prc" "podman exec --detach-keys $v"
        expect_contains "$(cat "$T/err")" "\`--detach-keys\` value \`$v\`" "k3's message"
    done
    running k3 dk5
    k3 rm -f dk5 dk6 >/dev/null; p rm -f -t 0 dk5 dk6 >/dev/null
}

after_each() { k3 rm -f at1 ex1 sig1 dk1 dk2 dk3 dk4 dk5 dk6 dk7; p rm -f -t 0 at1 ex1 sig1 dk1 dk2 dk3 dk4 dk5 dk6 dk7; tm_reset; }

t_foreground_output_order_and_no_residue() {
    expect_eq "$(printf 'a\nb\nc')" "$(k3 run --rm alpine sh -c 'echo a; echo b; echo c')"
    expect_eq "" "$(k3 ps -aq)" "nothing left after --rm"
}

run_suite
