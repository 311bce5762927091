#!/usr/bin/env bash
# podman with `--runtime k3rt` (conmon in between, as users run it): run/exec/logs/top,
# stop/restart/kill/rm, pause, tty and stdin, resource limits read back from inside,
# OOM, read-only root, users, capabilities, seccomp, networking and published ports.
source "$(dirname "$0")/lib.sh"
need_root
need podman conmon umoci jq curl script
[[ -x $K3RT ]] || { echo "FAIL k3rt not built: $K3RT"; echo "0 passed, 1 failed"; exit 1; }
source "$(dirname "$0")/images_local.sh"

WORK=/tmp/k3-podman-$$-$RANDOM; mkdir -p "$WORK" # lowercase: podman names images after the path
had_bridge=$(ip -o link show podman0 >/dev/null 2>&1 && echo yes || echo no)
# podman's network backend adds iptables chains for published ports: put the rules
# back as they were unless podman networking was already set up on this host
iptables-save > "$WORK/iptables.before" 2>/dev/null || true
had_netavark=$(grep -q NETAVARK "$WORK/iptables.before" && echo yes || echo no)
cat > "$WORK/containers.conf" <<CONF
[containers]
# this VM's root lacks CAP_SYS_RESOURCE: keep podman's default ulimits out
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF=$WORK/containers.conf
cd "$WORK" # conmon leaves an `oom` marker file in its working directory
p() { podman --root "$WORK/storage" --runroot "$WORK/run" --runtime "$K3RT" "$@"; }

cleanup() {
  restore_subids
  p rm -af -t 0 >/dev/null 2>&1
  p system reset --force >/dev/null 2>&1
  [[ $had_bridge == yes ]] || ip link del podman0 2>/dev/null || true
  [[ $had_netavark == yes ]] || iptables-restore < "$WORK/iptables.before" 2>/dev/null || true
  umount -R "$WORK/storage" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

oci_busybox "$WORK/oci" || { echo "FAIL image"; echo "0 passed, 1 failed"; exit 1; }
p pull -q "oci:$WORK/oci:latest" >/dev/null || { echo "FAIL podman pull"; echo "0 passed, 1 failed"; exit 1; }
IMG=$(p images --format '{{.Repository}}:{{.Tag}}' | head -1)

# with_subids: /etc/subuid and /etc/subgid get a `containers` range for --userns=auto
# (this host has none); restore_subids (also at exit) puts the files back as they were.
with_subids() {
  local f
  for f in subuid subgid; do
    cp -p "/etc/$f" "$WORK/$f.before"
    grep -q '^containers:' "/etc/$f" || echo "containers:300000:200000" >> "/etc/$f"
  done
}
restore_subids() {
  local f
  for f in subuid subgid; do
    [[ ! -e $WORK/$f.before ]] || { cp -p "$WORK/$f.before" "/etc/$f" && rm -f "$WORK/$f.before"; }
  done
}

t_idmap_volumes_show_the_owners_crun_shows() {
  mkdir -p "$WORK/idv" && touch "$WORK/idv/f" && chown 1000:1000 "$WORK/idv/f"
  local rt got
  for rt in "$K3RT" crun; do
    local q=(podman --root "$WORK/storage" --runroot "$WORK/run" --runtime "$rt" run --rm --network none)
    got=$("${q[@]}" --uidmap 0:100000:65536 --gidmap 0:100000:65536 -v "$WORK/idv:/mnt:idmap" "$IMG" stat -c %u:%g /mnt/f)
    expect_eq 1000:1000 "$got" "${rt##*/} --uidmap with an :idmap volume"
    got=$("${q[@]}" --uidmap 0:100000:65536 --gidmap 0:100000:65536 -v "$WORK/idv:/mnt" "$IMG" stat -c %u:%g /mnt/f)
    expect_eq 65534:65534 "$got" "${rt##*/} --uidmap with a plain volume"
    with_subids
    got=$("${q[@]}" --userns=auto -v "$WORK/idv:/mnt:idmap" "$IMG" sh -c 'stat -c %u:%g /mnt/f; cat /proc/self/uid_map')
    restore_subids
    expect_contains "$got" "1000:1000" "${rt##*/} --userns=auto with an :idmap volume"
    expect_contains "$got" " 300000 " "${rt##*/} --userns=auto's mapping"
  done
}

t_run_output_and_exit_codes() {
  expect_eq "hello" "$(p run --rm "$IMG" echo hello)"
  local rc=0; p run --rm "$IMG" sh -c 'exit 3' || rc=$?
  expect_eq 3 "$rc" "exit code"
}

t_stdin_and_tty() {
  expect_eq piped "$(echo piped | p run --rm -i "$IMG" cat)"
  local out; out=$(script -qec "podman --root $WORK/storage --runroot $WORK/run --runtime $K3RT run --rm -t $IMG sh -c 'tty; stty size'" /dev/null | tr -d '\r')
  expect_contains "$out" "/dev/pts/0"
}

t_detached_exec_logs_top_stop_restart_kill_rm() {
  p run -d --name k3d "$IMG" sh -c 'echo started; trap "exit 0" TERM; while :; do sleep 0.1; done' >/dev/null
  expect_eq exec-ok "$(p exec k3d sh -c 'echo exec-ok')"
  local rc=0; p exec k3d sh -c 'exit 4' || rc=$?
  expect_eq 4 "$rc" "exec exit code"
  for _ in $(seq 50); do [[ $(p logs k3d) == *started* ]] && break; sleep 0.1; done
  expect_contains "$(p logs k3d)" started
  expect_contains "$(p top k3d)" "sleep"
  p stop -t 5 k3d >/dev/null
  expect_eq exited "$(p inspect -f '{{.State.Status}}' k3d)"
  p restart -t 1 k3d >/dev/null
  expect_eq running "$(p inspect -f '{{.State.Status}}' k3d)"
  p kill k3d >/dev/null
  p rm -f k3d >/dev/null
}

t_pause_unpause() {
  p run -d --name k3p "$IMG" sleep 1000 >/dev/null
  p pause k3p >/dev/null
  expect_eq paused "$(p inspect -f '{{.State.Status}}' k3p)"
  p unpause k3p >/dev/null
  expect_eq running "$(p inspect -f '{{.State.Status}}' k3p)"
  p rm -f -t 0 k3p >/dev/null
}

t_limits_read_back_from_inside() {
  local out; out=$(p run --rm --memory 64m --cpus 0.5 --pids-limit 50 --cpuset-cpus 0 "$IMG" sh -c \
    'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpuset/cpuset.cpus 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpuset.cpus')
  expect_contains "$out" "67108864"
  expect_contains "$out" "50000"
  expect_contains "$out" "50"
  expect_eq 0 "$(tail -1 <<<"$out")" "cpuset"
}

t_oom_kill_exits_137() {
  local rc=0; p run --rm --memory 16m --memory-swap 16m "$IMG" sh -c 'x=a; while :; do x=$x$x; done' 2>/dev/null || rc=$?
  expect_eq 137 "$rc"
}

t_tiny_memory_limit_starts() {
  expect_eq small-ok "$(p run --rm --memory 512k "$IMG" echo small-ok)"
}

t_read_only_root_with_tmpfs() {
  local out; out=$(p run --rm --read-only "$IMG" sh -c 'probe write /x; probe write /tmp/y')
  expect_contains "$out" "write /x: Read-only file system"
  expect_contains "$out" "write /tmp/y: ok"
  out=$(p run --rm --tmpfs /data:size=1m "$IMG" sh -c 'probe write /data/z')
  expect_contains "$out" "write /data/z: ok"
}

t_user_and_capabilities() {
  expect_contains "$(p run --rm --user 1000:1000 "$IMG" probe ids)" "uid=1000 gid=1000"
  expect_contains "$(p run --rm --cap-drop all --cap-add NET_ADMIN "$IMG" grep CapEff /proc/self/status)" "0000000000001000"
}

t_cap_drop_all_leaves_no_capability_as_under_crun() {
  # podman sends "capabilities": {} for --cap-drop ALL: every set must be empty,
  # the bounding set too (a uid-0 process would otherwise get all back at execve)
  local want; want=$(podman --root "$WORK/storage" --runroot "$WORK/run" --runtime crun run --rm --cap-drop ALL "$IMG" grep ^Cap /proc/self/status)
  expect_contains "$want" $'CapBnd:\t0000000000000000' "crun's view"
  expect_eq "$want" "$(p run --rm --cap-drop ALL "$IMG" grep ^Cap /proc/self/status)" "k3rt vs crun, --cap-drop ALL"
  expect_eq "$(podman --root "$WORK/storage" --runroot "$WORK/run" --runtime crun run --rm --cap-drop ALL "$IMG" sh -c 'chown 1 /tmp 2>/dev/null && echo chowned || echo refused')" \
    "$(p run --rm --cap-drop ALL "$IMG" sh -c 'chown 1 /tmp 2>/dev/null && echo chowned || echo refused')" "root without CAP_CHOWN"
  # and exec into such a container gets none either
  p run -d --name capnone --cap-drop ALL "$IMG" sleep 100 >/dev/null
  expect_contains "$(p exec capnone grep CapBnd /proc/self/status)" $'CapBnd:\t0000000000000000' "exec"
  p rm -f -t 0 capnone >/dev/null
}

t_missing_program_exit_codes_as_crun() {
  # podman maps the runtime's message: not found 127, not executable 126
  local rc=0; p run --rm "$IMG" /nonexistent 2>/dev/null || rc=$?
  expect_eq 127 "$rc" "missing program"
  rc=0; p run --rm "$IMG" /etc/passwd 2>/dev/null || rc=$?
  expect_eq 126 "$rc" "not executable"
}

t_seccomp_default_and_unconfined() {
  expect_contains "$(p run --rm "$IMG" grep Seccomp: /proc/self/status)" $'Seccomp:\t2'
  expect_contains "$(p run --rm --security-opt seccomp=unconfined "$IMG" grep Seccomp: /proc/self/status)" $'Seccomp:\t0'
  # the default profile refuses what containers must not do
  local out; out=$(p run --rm "$IMG" sh -c 'unshare -m true 2>&1 || echo refused')
  expect_contains "$out" "refused"
}

t_network_none_and_published_port() {
  local out; out=$(p run --rm --network none "$IMG" ip -o addr)
  expect_contains "$out" "127.0.0.1"
  [[ $out != *eth0* ]] || fail "network none has eth0: $out"
  p run -d --name k3web -p 127.0.0.1:18080:80 "$IMG" sh -c 'mkdir -p /www; echo k3-web-ok > /www/index.html; httpd -f -p 80 -h /www' >/dev/null
  local body=""
  for _ in $(seq 50); do body=$(curl -s --max-time 1 http://127.0.0.1:18080/ || true); [[ -n $body ]] && break; sleep 0.1; done
  p rm -f -t 0 k3web >/dev/null
  expect_eq k3-web-ok "$body" "published port"
}

run_suite
