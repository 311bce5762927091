# Terminal helpers for the interactive suites (suite_interactive.sh, suite_apiattach.sh):
# a command in a tmux window of its own, what its pane shows, its exit code, and the
# typed-input/resize/exit check of an interactive shell. Sourced after lib.sh; needs $T.
TMUX_SOCK=$T/tmux.sock
tm() { tmux -S "$TMUX_SOCK" "$@"; }
# tm_reset: no tmux server; its socket gone too, so the next window starts a fresh server
# instead of reaching the old one while it exits ("server exited unexpectedly")
tm_reset() { tm kill-server 2>/dev/null; rm -f "$TMUX_SOCK"; }

# in_tmux NAME CMD: CMD in a fresh 100x30 tmux window; the exit code lands in $T/NAME.rc,
# the terminal settings before and after in $T/NAME.before / .after
in_tmux() {
    local name=$1 cmd=$2
    rm -f "$T/$name.rc"
    tm new-session -d -s "$name" -x 100 -y 30 \
        "stty -g >$T/$name.before; $cmd; echo \$? >$T/$name.rc; stty -g >$T/$name.after; sleep 30"
}
shows() { # NAME TEXT TENTHS: whether the pane shows TEXT within TENTHS tenths of a second
    local i; for i in $(seq "$3"); do tm capture-pane -p -t "$1" | grep -q -- "$2" && return 0; sleep 0.1; done
    return 1
}
wait_screen() { # NAME TEXT: waits until the pane shows TEXT
    shows "$1" "$2" 100 && return 0
    fail "pane $1 never showed \`$2\`: $(tm capture-pane -p -t "$1" | grep -v '^$' | tail -5)"
}
# key NAME KEY: one key, alone in its read (as typed: detach keys count only so)
key() { tm send-keys -t "$1" "$2"; sleep 0.3; }
# a container's shell that prints each line it reads as hex (ctrl-q is no XON there)
HEXLOOP='stty -ixon; echo ready; while read -r l; do printf %s "$l" | od -An -tx1; done'
wait_rc() { local i; for i in $(seq 100); do [ -s "$T/$1.rc" ] && { cat "$T/$1.rc"; return; }; sleep 0.1; done; echo none; }

# interactive_shell NAME CMD [CHECK]: CMD (a shell on a tty) in a window: typed input, the
# window size and its change, `exit 7`'s code, the terminal restored; CHECK (a command)
# runs once the prompt shows
interactive_shell() {
    local n=$1
    in_tmux "$n" "$2"
    wait_screen "$n" '^/ #'
    [ -z "${3:-}" ] || $3 "$n"
    tm send-keys -t "$n" 'echo typed-$((6*7)); stty size' Enter
    wait_screen "$n" '^typed-42'
    wait_screen "$n" '^30 100'
    tm resize-window -t "$n" -x 90 -y 25 2>/dev/null || tm resize-pane -t "$n" -x 90 -y 25
    # tmux sets a pane's new size on its own timer, so keys sent at once can reach
    # the shell first (podman's too): ask again until the size arrives; a resize
    # that is lost on the way never shows, and fails below
    local try
    for try in 1 2 3 4 5; do
        tm send-keys -t "$n" 'stty size' Enter
        shows "$n" '^25 90' 20 && break
    done
    wait_screen "$n" '^25 90'
    tm send-keys -t "$n" 'exit 7' Enter
    expect_eq 7 "$(wait_rc "$n")" "$n exit code"
    expect_eq "$(cat "$T/$n.before")" "$(cat "$T/$n.after" 2>/dev/null)" "$n terminal restored"
}
