#!/usr/bin/env bash
# containerd (a private instance: own config, root, state and socket) driving k3rt
# through its runc shim with `ctr run --runc-binary k3rt`: run and exit codes, tty,
# exec, ps, pause/resume, kill, delete, memory limit.
source "$(dirname "$0")/lib.sh"
need_root
need containerd ctr umoci jq script
[[ -x $K3RT ]] || { echo "FAIL k3rt not built: $K3RT"; echo "0 passed, 1 failed"; exit 1; }
source "$(dirname "$0")/images_local.sh"

WORK=$(mktemp -d /tmp/k3-ctd.XXXXXX)
SOCK=$WORK/containerd.sock
NS=k3test
cat > "$WORK/config.toml" <<CONF
version = 2
root = "$WORK/root"
state = "$WORK/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
CONF
containerd -c "$WORK/config.toml" >"$WORK/containerd.log" 2>&1 &
CTD=$!
c() { ctr -a "$SOCK" -n "$NS" "$@"; }

cleanup() {
  local t
  for t in $(c task ls -q 2>/dev/null); do c task kill -s KILL "$t" >/dev/null 2>&1; c task delete -f "$t" >/dev/null 2>&1; done
  for t in $(c containers ls -q 2>/dev/null); do c containers delete "$t" >/dev/null 2>&1; done
  kill "$CTD" 2>/dev/null; wait "$CTD" 2>/dev/null
  rmdir /sys/fs/cgroup/*/"$NS" /sys/fs/cgroup/"$NS" 2>/dev/null || true # containerd's namespace parent cgroup
  umount -R "$WORK/root" "$WORK/state" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

for _ in $(seq 100); do [[ -S $SOCK ]] && break; sleep 0.05; done
[[ -S $SOCK ]] || { echo "FAIL containerd did not start: $(tail -3 "$WORK/containerd.log")"; echo "0 passed, 1 failed"; exit 1; }
oci_busybox "$WORK/oci" && tar -C "$WORK/oci" -cf "$WORK/img.tar" . && c images import --index-name docker.io/k3/busybox:latest "$WORK/img.tar" >/dev/null \
  || { echo "FAIL image import"; echo "0 passed, 1 failed"; exit 1; }
IMG=docker.io/k3/busybox:latest
run() { c run --runc-binary "$K3RT" "$@"; }

wait_status() { # ID STATUS
  for _ in $(seq 100); do [[ $(c task ls | awk -v id="$1" '$1==id{print $3}') == "$2" ]] && return 0; sleep 0.05; done
  fail "task $1 is not $2: $(c task ls)"
}

t_run_output_and_exit_code() {
  expect_eq "hello ctr" "$(run --rm "$IMG" r1 echo hello ctr)"
  local rc=0; run --rm "$IMG" r2 sh -c 'exit 3' || rc=$?
  expect_eq 3 "$rc" "exit code"
}

t_tty() {
  local out; out=$(script -qec "ctr -a $SOCK -n $NS run --runc-binary $K3RT --rm -t $IMG r3 tty" /dev/null | tr -d '\r\0')
  expect_contains "$out" "/dev/pts/0"
}

t_exec_ps_pause_resume_kill_delete() {
  run -d "$IMG" r4 sleep 1000 >/dev/null
  wait_status r4 RUNNING
  expect_eq exec-ok "$(c task exec --exec-id e1 r4 sh -c 'echo exec-ok')"
  local rc=0; c task exec --exec-id e2 r4 sh -c 'exit 2' || rc=$?
  expect_eq 2 "$rc" "exec exit code"
  local pid; pid=$(c task ls | awk '$1=="r4"{print $2}')
  expect_contains "$(c task ps r4)" "$pid"
  c task pause r4; wait_status r4 PAUSED
  c task resume r4; wait_status r4 RUNNING
  c task kill -s KILL r4; wait_status r4 STOPPED
  c task delete r4 >/dev/null
  c containers delete r4
  [[ ! -e /run/containerd/runc/$NS/r4 ]] || fail "k3rt state left behind"
}

t_memory_limit_applied() {
  run -d --memory-limit 67108864 "$IMG" r5 sleep 1000 >/dev/null
  wait_status r5 RUNNING
  local pid; pid=$(c task ls | awk '$1=="r5"{print $2}')
  local cg; cg=$(awk -F: '$2=="memory"{print $3}' /proc/$pid/cgroup)
  if [[ -n $cg ]]; then
    expect_eq 67108864 "$(cat /sys/fs/cgroup/memory$cg/memory.limit_in_bytes)"
  else
    expect_eq 67108864 "$(cat /sys/fs/cgroup$(awk -F: '$1=="0"{print $3}' /proc/$pid/cgroup)/memory.max)"
  fi
  c task kill -s KILL r5; wait_status r5 STOPPED
  c task delete r5 >/dev/null; c containers delete r5
}

run_suite
