#!/usr/bin/env bash
# The flags docker and podman users type (issue 15, items 3 and 4), each run as the
# same command under k3 and podman in the same test and compared by what a user sees
# (output, exit code): -w, -u (HOME, supplementary groups), --entrypoint, --env-file,
# -e KEY, -v /host:/ctr[:ro], --mount type=..., names with `_` and `.`, --rm with -d,
# --label, --read-only, --tmpfs, --device, --ulimit, --sysctl, --security-opt,
# --shm-size, --init, --stop-signal; --options-json with the same fields; bad values
# refused with exit 125, the flag and value named, nothing left behind.
# Ends with `N passed, M failed`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/engine_lib.sh"
engine_setup
need podman catatonit script

podman_private
trap 'podman_cleanup; engine_cleanup' EXIT INT TERM

# an image with users, groups and a stop signal of its own
x=$T/img-users; mkdir -p "$x/etc" "$x/home/app"
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$x/etc/passwd"
printf 'root:x:0:\napp:x:1000:\nstaff:x:50:app\naudio:x:63:other,app\nwheel:x:10:root\nnogroup:x:65534:\n' >"$x/etc/group"
image_build users latest "$x" --config.cmd /bin/sh --config.stopsignal SIGUSR1 >"$T/users.log" 2>&1 ||
    { echo "FAIL building the users image: $(tail -3 "$T/users.log")"; echo "0 passed, 1 failed"; exit 1; }
for i in alpine users; do
    p pull -q --tls-verify=false "$REG/$i:latest" >/dev/null || { echo "FAIL podman pull $i"; echo "0 passed, 1 failed"; exit 1; }
done

# args ENGINE ARGS...: the arguments with `IMG`/`USERS` as that engine names the images
args() {
    local eng=$1 a; shift
    for a in "$@"; do
        case $a in
            IMG) [ "$eng" = k3 ] && echo alpine || echo "$REG/alpine:latest" ;;
            USERS) [ "$eng" = k3 ] && echo users || echo "$REG/users:latest" ;;
            *) printf '%s\n' "$a" ;;
        esac
    done
}

# same ARGS...: `k3 run --rm ARGS` and `podman run --rm ARGS` print the same and end
# with the same code; the output is left in $OUT, the code in $RC
same() {
    local k pm krc=0 prc=0 ka pa
    mapfile -t ka < <(args k3 "$@")
    mapfile -t pa < <(args pod "$@")
    k=$(k3 run --rm "${ka[@]}" 2>"$T/k.err") || krc=$?
    pm=$(p run --rm "${pa[@]}" 2>"$T/p.err") || prc=$?
    expect_eq "$prc" "$krc" "exit code of \`run $*\` (k3 stderr: $(head -c 300 "$T/k.err"); podman: $(head -c 300 "$T/p.err"))"
    expect_eq "$pm" "$k" "output of \`run $*\` (k3 stderr: $(head -c 300 "$T/k.err"))"
    OUT=$k RC=$krc
}

t_workdir() {
    same -w /tmp IMG pwd; expect_eq /tmp "$OUT"
    same --workdir /usr/../tmp USERS pwd; expect_eq /tmp "$OUT"
    # a directory the image lacks: podman refuses it (126), k3 too (125, as its own check)
    bad '`workdir` value `/srv/new/dir`: no such directory in the image' --workdir /srv/new/dir IMG pwd
}

t_user_home_and_groups() {
    same -u app USERS id; expect_eq "uid=1000(app) gid=1000(app) groups=50(staff),63(audio),1000(app)" "$OUT"
    same -u 1000:10 USERS id; expect_eq "uid=1000(app) gid=10(wheel) groups=10(wheel)" "$OUT"
    # a uid without a passwd entry: root's group, HOME=/ (podman also writes an entry
    # for it into /etc/passwd, which docker and k3 do not: its name is not compared)
    same --user 4242 USERS sh -c 'id -u; id -g; id -G; echo $HOME'; expect_eq "$(printf '4242\n0\n0\n/')" "$OUT"
    same --user 4242:50 USERS sh -c 'id -u; id -g; id -G'; expect_eq "$(printf '4242\n50\n50')" "$OUT"
    same USERS sh -c 'echo $HOME; id'; expect_eq "$(printf '/root\nuid=0(root) gid=0(root) groups=10(wheel)')" "$OUT"
    same -u app USERS sh -c 'echo $HOME'; expect_eq /home/app "$OUT"
    same -u app -e HOME=/mine USERS sh -c 'echo $HOME'; expect_eq /mine "$OUT"
    same -u nobody USERS sh -c 'echo $HOME'
}

t_entrypoint() {
    same --entrypoint echo IMG hi there; expect_eq "hi there" "$OUT"
    same --entrypoint '["sh","-c"]' IMG 'echo $0-x'; expect_eq "sh-x" "$OUT"
    same --entrypoint '' IMG echo plain; expect_eq plain "$OUT"
}

t_env_from_caller_and_files() {
    printf '# comment\n\nFROMFILE=a b\nCALLER_SET\nCALLER_UNSET\n' >"$T/envfile"
    export CALLER_SET=from-caller
    unset CALLER_UNSET
    same --env-file "$T/envfile" -e CALLER_SET -e CALLER_UNSET -e X=1 IMG sh -c 'env | grep -E "^(FROMFILE|CALLER|X)=|CALLER" | sort'
    expect_eq "$(printf 'CALLER_SET=from-caller\nFROMFILE=a b\nX=1')" "$OUT"
}

t_bind_mounts_in_docker_syntax() {
    local d=$T/share; mkdir -p "$d"; echo from-host >"$d/f"
    same -v "$d:/data" IMG cat /data/f; expect_eq from-host "$OUT"
    same -v "$d:/data:ro" IMG sh -c 'touch /data/x 2>/dev/null; echo $?'; expect_eq 1 "$OUT"
    same -v "$d:/data:rw,z" IMG sh -c 'echo w >/data/w && cat /data/w'; expect_eq w "$OUT"
    same --mount "type=bind,source=$d,target=/m,readonly" IMG sh -c 'cat /m/f; touch /m/y 2>/dev/null; echo $?'
    expect_eq "$(printf 'from-host\n1')" "$OUT"
    same --mount "type=tmpfs,target=/t" IMG sh -c 'grep " /t " /proc/mounts | cut -d" " -f3'; expect_eq tmpfs "$OUT"
}

t_names_with_underscore_and_dot() {
    k3 run -d --name my_app.v1 alpine sleep 100 >/dev/null
    p run -d --name my_app.v1 "$REG/alpine:latest" sleep 100 >/dev/null
    expect_eq RUNNING "$(status_of my_app.v1)"
    k3 rm -f my_app.v1 >/dev/null; p rm -f -t 0 my_app.v1 >/dev/null
}

gone() { # ENGINE NAME: waits until the container is removed
    local i
    for i in $(seq 100); do
        if [ "$1" = k3 ]; then k3 inspect "$2" >/dev/null 2>&1 || return 0
        else p container exists "$2" || return 0; fi
        sleep 0.1
    done
    fail "$1: container $2 still there"
}

t_rm_with_detach() {
    k3 run -d --rm --name rmd alpine sh -c 'exit 3' >/dev/null
    p run -d --rm --name rmd "$REG/alpine:latest" sh -c 'exit 3' >/dev/null
    gone k3 rmd; gone pod rmd
    # stopped by the user: removed too
    k3 run -d --rm --name rms alpine sleep 100 >/dev/null
    p run -d --rm --name rms "$REG/alpine:latest" sleep 100 >/dev/null
    k3 stop -t 1 rms >/dev/null; p stop -t 1 rms >/dev/null
    gone k3 rms; gone pod rms
    expect_eq "" "$(k3 ps -aq)" "nothing left"
}

t_labels() {
    k3 run -d --name lab --label tier=web -l owner alpine sleep 100 >/dev/null
    p run -d --name lab --label tier=web -l owner "$REG/alpine:latest" sleep 100 >/dev/null
    local k; k=$(k3 inspect lab | python3 -c 'import json,sys; print(dict(json.load(sys.stdin)[0]["Validated"]["labels"]))')
    expect_eq "{'tier': 'web', 'owner': ''}" "$k"
    expect_eq "$(p inspect --format '{{.Config.Labels.tier}}' lab)" web "podman"
    expect_eq web "$(k3 inspect --format '{{.Config.Labels.tier}}' lab)" "Config.Labels as podman's"
    k3 rm -f lab >/dev/null; p rm -f -t 0 lab >/dev/null
}

t_read_only() {
    same --read-only IMG sh -c 'touch /x 2>/dev/null; echo $?; for d in /tmp /var/tmp /run; do touch $d/y && echo $d ok; done'
    expect_eq "$(printf '1\n/tmp ok\n/var/tmp ok\n/run ok')" "$OUT"
}

t_tmpfs() {
    same --tmpfs /scratch IMG sh -c 'grep " /scratch " /proc/mounts | cut -d" " -f3; echo x >/scratch/f && cat /scratch/f; grep " /scratch " /proc/mounts | grep -c noexec'
    expect_eq "$(printf 'tmpfs\nx\n0')" "$OUT"
    same --tmpfs /big:size=1m,mode=700 IMG sh -c 'stat -c %a /big; df -k /big | tail -1 | awk "{print \$2}"'
    expect_eq "$(printf '700\n1024')" "$OUT"
}

t_device() {
    same --device /dev/fuse IMG sh -c 'stat -c "%F %t:%T" /dev/fuse; exec 3<>/dev/fuse && echo opened'
    expect_eq "$(printf 'character special file a:e5\nopened')" "$OUT"
    same --device /dev/fuse:/dev/myfuse:r IMG sh -c 'stat -c "%t:%T" /dev/myfuse; exec 3</dev/myfuse && echo read'
    expect_eq "$(printf 'a:e5\nread')" "$OUT"
    # the `r` of the rule reaches the device cgroup: opening for writing is refused
    # (under runc and crun; k3rt allows every node of linux.devices `rwm`)
    local rt out
    for rt in runc crun; do
        out=$(k3 --runtime $rt run --rm --device /dev/fuse:/dev/myfuse:r alpine sh -c '(exec 3>/dev/myfuse) 2>/dev/null || echo no-write')
        expect_eq no-write "$out" "write refused under $rt"
    done
    expect_eq no-write "$(p run --rm --device /dev/fuse:/dev/myfuse:r "$REG/alpine:latest" sh -c '(exec 3>/dev/myfuse) 2>/dev/null || echo no-write')" podman
    same IMG sh -c 'test -e /dev/fuse || echo absent'; expect_eq absent "$OUT"
}

t_ulimit() {
    # an nproc of our own: podman's default one needs CAP_SYS_RESOURCE, which this root may lack
    same --ulimit nofile=512:768 --ulimit nproc=1000:1000 IMG sh -c 'ulimit -n; ulimit -Hn'; expect_eq "$(printf '512\n768')" "$OUT"
    same --ulimit core=0 --ulimit nproc=200:300 --ulimit nofile=1024:1024 IMG sh -c 'ulimit -c; ulimit -Hu'; expect_eq "$(printf '0\n300')" "$OUT"
}

t_sysctl() {
    same --sysctl net.ipv4.ip_forward=1 --sysctl kernel.shmmax=1000000 IMG sh -c 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax'
    expect_eq "$(printf '1\n1000000')" "$OUT"
}

t_security_opt() {
    same --security-opt seccomp=unconfined IMG sh -c 'grep ^Seccomp: /proc/self/status'; expect_contains "$OUT" 0
    same IMG sh -c 'grep ^Seccomp: /proc/self/status'; expect_contains "$OUT" 2
    same --security-opt no-new-privileges IMG sh -c 'grep ^NoNewPrivs: /proc/self/status'; expect_contains "$OUT" 1
    same --security-opt apparmor=unconfined IMG echo ran; expect_eq ran "$OUT"
    cat >"$T/profile.json" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW",
 "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
JSON
    same --security-opt "seccomp=$T/profile.json" IMG sh -c 'mkdir /newdir 2>&1; echo rc=$?'
    expect_contains "$OUT" "rc=1"
    expect_contains "$OUT" "Permission denied"
}

t_shm_size() {
    same --shm-size 128m IMG sh -c 'df -k /dev/shm | tail -1 | awk "{print \$2}"'; expect_eq 131072 "$OUT"
    same --shm-size 1g IMG sh -c 'df -k /dev/shm | tail -1 | awk "{print \$2}"'; expect_eq 1048576 "$OUT"
}

t_init_is_pid_1_and_reaps() {
    local k pm
    k=$(k3 run --rm --init alpine sh -c 'tr "\0" " " </proc/1/cmdline')
    pm=$(p run --rm --init "$REG/alpine:latest" sh -c 'tr "\0" " " </proc/1/cmdline')
    expect_eq "/run/k3-init -- sh -c tr \"\\0\" \" \" </proc/1/cmdline " "$k"
    expect_eq "${pm/podman-init/k3-init}" "$k" "podman's init the same way"
    # an orphan is re-parented to the init, which reaps it: no zombie left
    same --init IMG sh -c 'sh -c "sleep 0.2 &"; sleep 1; ps -o stat | grep -c Z'
    expect_eq 0 "$OUT"
    same --init IMG sh -c 'exit 7'; expect_eq 7 "$RC"
    same --init IMG sh -c 'kill -TERM $$'; expect_eq 143 "$RC"
    # a command that does not exist: k3 answers docker's 127; podman's catatonit exits 1
    local rc=0; k3 run --rm --init alpine nonexistent-cmd 2>/dev/null || rc=$?
    expect_eq 127 "$rc" "k3 exit code of a missing command under --init"
    rc=0; p run --rm --init "$REG/alpine:latest" nonexistent-cmd 2>/dev/null || rc=$?
    expect_eq 1 "$rc" "podman's"
}

t_init_on_a_terminal() {
    # the command gets the terminal's foreground group: ^C-style job control works,
    # the exit code comes through
    local k pm krc=0 prc=0
    k=$(script -qec "$K3 run --rm -t --init alpine sh -c 'tty; exit 5'" /dev/null | tr -d '\r') || krc=$?
    pm=$(script -qec "$P run --rm -t --init $REG/alpine:latest sh -c 'tty; exit 5'" /dev/null | tr -d '\r') || prc=$?
    expect_contains "$k" /dev/pts/0
    expect_eq "$pm" "$k" "output as podman's"
    expect_eq 5 "$krc" "k3 exit code"
    expect_eq "$prc" "$krc" "same exit code as podman"
}

t_init_forwards_stop() {
    # without an init `sleep` as PID 1 ignores TERM and is killed after the grace
    # period; with one, TERM reaches it at once
    local eng s e
    k3 run -d --init --name in1 alpine sleep 1000 >/dev/null
    p run -d --init --name in1 "$REG/alpine:latest" sleep 1000 >/dev/null
    s=$(date +%s%N); k3 stop -t 20 in1 >/dev/null; e=$(date +%s%N)
    [ $(((e - s) / 1000000)) -lt 10000 ] || fail "k3 stop took $(((e - s) / 1000000)) ms: TERM not forwarded"
    p stop -t 20 in1 >/dev/null
    expect_eq "$(p inspect --format '{{.State.ExitCode}}' in1)" "$(k3 wait in1)" "exit code after stop"
    expect_eq 143 "$(k3 wait in1)"
    k3 rm -f in1 >/dev/null; p rm -f -t 0 in1 >/dev/null
}

t_stop_signal() {
    local loop='trap "echo got-usr1; exit 3" USR1; while true; do sleep 0.1; done'
    k3 run -d --stop-signal SIGUSR1 --name ss alpine sh -c "$loop" >/dev/null
    p run -d --stop-signal SIGUSR1 --name ss "$REG/alpine:latest" sh -c "$loop" >/dev/null
    k3 stop -t 20 ss >/dev/null; p stop -t 20 ss >/dev/null
    expect_eq 3 "$(k3 wait ss)" "exit code after stop"
    expect_eq "$(p inspect --format '{{.State.ExitCode}}' ss)" "$(k3 wait ss)" "same as podman"
    expect_contains "$(k3 logs ss)" got-usr1
    k3 rm -f ss >/dev/null; p rm -f -t 0 ss >/dev/null
    # the image's StopSignal (SIGUSR1 in USERS) when no flag names one
    k3 run -d --name ss2 users sh -c "$loop" >/dev/null
    p run -d --name ss2 "$REG/users:latest" sh -c "$loop" >/dev/null
    k3 stop -t 20 ss2 >/dev/null; p stop -t 20 ss2 >/dev/null
    expect_eq "$(p inspect --format '{{.State.ExitCode}}' ss2)" "$(k3 wait ss2)" "image StopSignal as podman"
    k3 rm -f ss2 >/dev/null; p rm -f -t 0 ss2 >/dev/null
}

t_options_json_takes_the_same_fields() {
    export OJ_CALLER=yes
    local out
    out=$(k3 run --rm --options-json '{"containerId":"oj_1.x","image":"users","args":"sh -c \"pwd; id; echo $HOME $OJ_CALLER; ulimit -n; cat /proc/sys/net/ipv4/ip_forward; tr \\\"\\\\0\\\" \\\" \\\" </proc/1/cmdline\"","workdir":"/tmp","user":"app","env":["OJ_CALLER"],"ulimit":["nofile=300"],"sysctl":["net.ipv4.ip_forward=1"],"init":true,"readOnly":true,"label":["a=b"],"shmSize":"32m","securityOpt":["no-new-privileges"],"tmpfs":["/t"],"stopSignal":"INT"}')
    expect_eq "$(printf '/tmp\nuid=1000(app) gid=1000(app) groups=50(staff),63(audio),1000(app)\n/home/app yes\n300\n1\n/run/k3-init -- sh -c pwd; id; echo $HOME $OJ_CALLER; ulimit -n; cat /proc/sys/net/ipv4/ip_forward; tr "\\0" " " </proc/1/cmdline ')" "$out"
}

# cell ENGINE VERB INIT CASE: the exit code of one cell of docker's exit-code table.
# VERB: run | start-a | exec (in the running `ec2`); CASE: missing (no such command),
# noexec (not executable), exit3, selfterm (TERM to itself: ignored by a PID 1 shell),
# engine (no such image / container)
cell() {
    local eng=$1 verb=$2 init=$3 c=$4 img rc=0 cmd
    img=$(args "$eng" IMG)
    case $c in
        missing) cmd=(nonexistent-cmd) ;;
        noexec) cmd=(/etc/passwd) ;;
        exit3) cmd=(sh -c 'exit 3') ;;
        selfterm) cmd=(sh -c 'kill -TERM $$') ;;
        engine) cmd=(true) ;;
    esac
    case $verb in
        run)
            [ "$c" = engine ] && img=$img-nosuch
            $eng run --rm $init "$img" "${cmd[@]}" </dev/null >/dev/null 2>"$T/cell.$eng" || rc=$? ;;
        start-a)
            if [ "$c" = engine ]; then
                $eng start -a nosuch-ctr </dev/null >/dev/null 2>"$T/cell.$eng" || rc=$?
            else
                # (k3's create already refuses a command it cannot find or run)
                if $eng create --name ec1 $init "$img" "${cmd[@]}" >/dev/null 2>"$T/cell.$eng"; then
                    $eng start -a ec1 </dev/null >/dev/null 2>"$T/cell.$eng" || rc=$?
                else
                    rc=$?
                fi
                $eng rm -f ec1 >/dev/null 2>&1
            fi ;;
        exec)
            local ctr=ec2; [ "$c" = engine ] && ctr=nosuch-ctr
            $eng exec $ctr "${cmd[@]}" </dev/null >/dev/null 2>"$T/cell.$eng" || rc=$? ;;
    esac
    echo "$rc"
}

# killed ENGINE VERB INIT: the code of a foreground `run`/`start -a` whose container
# gets KILL from `kill`
killed() {
    local eng=$1 verb=$2 init=$3 img rc=0 pid i
    img=$(args "$eng" IMG)
    if [ "$verb" = run ]; then
        $eng run --rm --name ek $init "$img" sleep 1000 </dev/null >/dev/null 2>&1 & pid=$!
    else
        $eng create --name ek $init "$img" sleep 1000 >/dev/null
        $eng start -a ek </dev/null >/dev/null 2>&1 & pid=$!
    fi
    for i in $(seq 100); do
        [ "$($eng inspect -f '{{.State.Status}}' ek 2>/dev/null)" = running ] && break; sleep 0.1
    done
    $eng kill -s KILL ek >/dev/null
    wait $pid || rc=$?
    $eng rm -f ek >/dev/null 2>&1
    echo "$rc"
}

t_exit_codes_as_podman() {
    # docker's rules: 125 the engine failed, 126 cannot invoke, 127 not found, else the
    # container's code (128+signal). Where podman differs, k3 keeps docker's code
    # (docs/k3.md): under --init podman's catatonit exits 1 for a command it cannot
    # run (docker's tini: 127/126), and podman's `start -a` says 125 for one.
    local verb init c k pm want pdiff table= bad=
    for init in "" --init; do
        pdiff=125; [ -n "$init" ] && pdiff=1
        k3 run -d --name ec2 $init alpine sleep 1000 >/dev/null
        p run -d --name ec2 $init "$REG/alpine:latest" sleep 1000 >/dev/null
        for verb in run start-a exec; do
            for c in missing noexec exit3 selfterm engine; do
                k=$(cell k3 $verb "$init" $c); pm=$(cell p $verb "$init" $c)
                want=$pm
                case "$verb/$init/$c" in
                    run/--init/missing | start-a/*/missing) want=127 ;;
                    run/--init/noexec | start-a/*/noexec) want=126 ;;
                esac
                table+="$verb $init $c: k3 $k podman $pm"$'\n'
                [ "$want" = "$k" ] || bad+="k3 $verb $init $c: want $want, got $k ($(head -c 200 "$T/cell.k3"))"$'\n'
                # podman's own differences are what docs/k3.md says
                [ "$want" = "$pm" ] || [ "$pm" = "$pdiff" ] || bad+="podman $verb $init $c: $pm"$'\n'
            done
        done
        k3 rm -f ec2 >/dev/null; p rm -f -t 0 ec2 >/dev/null
        for verb in run start-a; do
            k=$(killed k3 $verb "$init"); pm=$(killed p $verb "$init")
            table+="$verb $init killed: k3 $k podman $pm"$'\n'
            [ "$k" = 137 ] && [ "$pm" = 137 ] || bad+="$verb $init killed: k3 $k podman $pm"$'\n'
        done
    done
    printf '%s' "$table"
    [ -z "${EXIT_TABLE:-}" ] || printf '%s' "$table" >"$EXIT_TABLE"
    [ -z "$bad" ] || fail "$bad"
}

# bad VALUE-NEEDLE ARGS...: `k3 run ARGS` fails with 125 naming the value, leaves
# nothing; podman refuses the same command too
bad() {
    local needle=$1; shift
    local before after krc=0 prc=0 ka pa
    mapfile -t ka < <(args k3 "$@")
    mapfile -t pa < <(args pod "$@")
    k3 ps -a >/dev/null  # the database exists before the first count
    before=$(residue)
    k3 run --rm "${ka[@]}" >/dev/null 2>"$T/k.err" || krc=$?
    p run --rm "${pa[@]}" >/dev/null 2>"$T/p.err" || prc=$?
    expect_eq 125 "$krc" "k3 exit code of \`run $*\` ($(cat "$T/k.err"))"
    [ "$prc" -ne 0 ] || fail "podman accepted \`run $*\`"
    expect_contains "$(cat "$T/k.err")" "$needle" "k3's message"
    [ "$(wc -l <"$T/k.err")" -le 2 ] || fail "k3's message is more than the problem: $(cat "$T/k.err")"
    after=$(residue)
    [ "$before" = "$after" ] || fail "residue left by \`run $*\`: $(diff <(echo "$before") <(echo "$after"))"
}

t_bad_values_are_refused_cleanly() {
    bad '`workdir` value `rel/dir`' -w rel/dir IMG true
    bad '`entrypoint` value `[1]`' --entrypoint '[1]' IMG true
    bad '`user` value `a b`' -u 'a b' IMG true
    bad 'user `nosuch` not found' -u nosuch IMG true
    bad '`envFile` value `/nonexistent/env`' --env-file /nonexistent/env IMG true
    bad '`volume` value `/nonexistent-k3:/x`' -v /nonexistent-k3:/x IMG true
    bad '`mount` value `type=nfs,source=a,target=/x`' --mount type=nfs,source=a,target=/x IMG true
    bad '`tmpfs` value `/t:bogus`' --tmpfs /t:bogus IMG true
    bad '`device` value `/nonexistent-dev`' --device /nonexistent-dev IMG true
    bad '`ulimit` value `bogus=1`' --ulimit bogus=1 IMG true
    bad '`ulimit` value `nofile=9:8`' --ulimit nofile=9:8 IMG true
    bad '`sysctl` value `vm.swappiness=1`' --sysctl vm.swappiness=1 IMG true
    bad '`securityOpt` value `bogus`' --security-opt bogus IMG true
    bad '`securityOpt` value `seccomp=/nonexistent.json`' --security-opt seccomp=/nonexistent.json IMG true
    bad '`shmSize` value `lots`' --shm-size lots IMG true
    bad '`stopSignal` value `NOPE`' --stop-signal NOPE IMG true
    bad '`containerId` value `_x`' --name _x IMG true
    bad '`restart` value `always`' -d --restart always IMG true
}

after_each() {
    k3 rm -f my_app.v1 rmd rms lab in1 ss ss2 ec1 ec2 ek
    p rm -f -t 0 my_app.v1 rmd rms lab in1 ss ss2 ec1 ec2 ek
}

run_suite
