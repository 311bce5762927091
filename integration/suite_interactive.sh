#!/usr/bin/env bash
# Interactive containers, each checked against podman running the same image and
# command in the same test: `run -i` (piped stdin), stdin closed without `-i`,
# `run -t`/`-it` and `exec -it` on a pty (typed input in tmux, the window size and
# its changes, the exit code, the caller's terminal restored), `attach` with
# ctrl-p ctrl-q, exit codes of a signalled container. Ends with `N passed, M failed`.
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
    in_tmux k3at "$K3 attach at1"; sleep 0.5
    tm send-keys -t k3at 'echo attached-$((2*4))' Enter
    wait_screen k3at '^attached-8'
    tm send-keys -t k3at C-p C-q
    expect_eq 0 "$(wait_rc k3at)" "detach exit code"
    expect_eq RUNNING "$(status_of at1)" "still running after the detach"
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

after_each() { k3 rm -f at1 ex1 sig1; p rm -f -t 0 at1 ex1 sig1; tm kill-server; }

t_foreground_output_order_and_no_residue() {
    expect_eq "$(printf 'a\nb\nc')" "$(k3 run --rm alpine sh -c 'echo a; echo b; echo c')"
    expect_eq "" "$(k3 ps -aq)" "nothing left after --rm"
}

run_suite
