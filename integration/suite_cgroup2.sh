#!/usr/bin/env bash
# k3rt on cgroup v2. On a pure v2 host this runs on the host's /sys/fs/cgroup. On a
# v1/hybrid host (this VM) it runs k3rt in a private mount namespace whose
# /sys/fs/cgroup is the host's cgroup2 hierarchy, so k3rt takes its v2 path for real:
# placement, cgroup.freeze, kill, ps, exec, events, the eBPF device policy, the cgroup
# namespace and removal on delete. That hierarchy has no controllers here (they are
# bound to v1), so a resource limit must fail clearly and leave nothing; on a v2 host
# with controllers the limits are written and read back instead.
source "$(dirname "$0")/lib.sh"
need_root
need jq busybox unshare nsenter
[[ -x $K3RT ]] || { echo "FAIL k3rt not built: $K3RT"; echo "0 passed, 1 failed"; exit 1; }

HOLDER=
if [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]]; then
  CGROOT=/sys/fs/cgroup # the hierarchy as the host sees it
  K3RT_CMD=("$K3RT")
else
  CGROOT=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
  [[ -n $CGROOT ]] || { echo "FAIL no cgroup2 hierarchy mounted"; echo "0 passed, 1 failed"; exit 1; }
  unshare -m --propagation private sleep infinity &
  HOLDER=$!
  for _ in $(seq 100); do [[ $(readlink /proc/$HOLDER/ns/mnt) != "$(readlink /proc/self/ns/mnt)" ]] && break; sleep 0.01; done
  nsenter -t "$HOLDER" -m mount -t cgroup2 cgroup2 /sys/fs/cgroup \
    || { echo "FAIL cannot mount the v2 view"; kill "$HOLDER"; echo "0 passed, 1 failed"; exit 1; }
  K3RT_CMD=(nsenter -t "$HOLDER" -m "$K3RT")
fi
source "$(dirname "$0")/containers.sh"
k() { "${K3RT_CMD[@]}" --root "$ROOT" "$@"; }
# containers.sh's EXIT trap deletes the containers; the view goes after them
trap 'cleanup; [[ -n $HOLDER ]] && kill "$HOLDER"; rmdir "$CGROOT"/k3rt/it-* "$CGROOT"/k3rt 2>/dev/null; true' EXIT

CONTROLLERS=$(cat "$CGROOT/cgroup.controllers")

cg_of() { awk -F: '$1 == "0" {print $3}' "/proc/$1/cgroup"; }

t_placement_ps_exec_and_removal() {
  local b; b=$(mkb pl '.process.args = ["sleep","100"]')
  k run -d -b "$b" it-pl
  local pid; pid=$(k state it-pl | jq -r .pid)
  expect_eq /k3rt/it-pl "$(cg_of "$pid")" "v2 cgroup of the init"
  expect_eq "$pid" "$(cat "$CGROOT/k3rt/it-pl/cgroup.procs")"
  expect_eq 1 "$(k ps --format json it-pl | jq length)" "ps"
  k exec -d --pid-file "$WORK/pl.pid" it-pl sleep 50
  grep -qx "$(cat "$WORK/pl.pid")" "$CGROOT/k3rt/it-pl/cgroup.procs" || fail "exec'd process not in the v2 cgroup"
  expect_eq 2 "$(k ps --format json it-pl | jq length)" "ps after exec"
  k kill --all it-pl KILL
  for _ in $(seq 100); do [[ $(status_of it-pl) == stopped ]] && break; sleep 0.02; done
  expect_eq stopped "$(status_of it-pl)"
  k delete it-pl
  [[ ! -e $CGROOT/k3rt/it-pl ]] || fail "cgroup left behind"
  # the parent k3rt made goes with its last container (unless another one still runs)
  if [[ -z $(ls -d "$CGROOT"/k3rt/*/ 2>/dev/null) ]]; then
    [[ ! -e $CGROOT/k3rt ]] || fail "the parent $CGROOT/k3rt k3rt made is left empty"
  fi
}

t_pause_resume_with_cgroup_freeze() {
  local b; b=$(mkb fr '.process.args = ["sh","-c","while :; do sleep 0.05; done"]')
  k run -d -b "$b" it-fr
  k pause it-fr
  expect_eq paused "$(status_of it-fr)"
  expect_eq 1 "$(cat "$CGROOT/k3rt/it-fr/cgroup.freeze")"
  grep -qx "frozen 1" "$CGROOT/k3rt/it-fr/cgroup.events" || fail "not frozen: $(cat "$CGROOT/k3rt/it-fr/cgroup.events")"
  k resume it-fr
  expect_eq running "$(status_of it-fr)"
  grep -qx "frozen 0" "$CGROOT/k3rt/it-fr/cgroup.events" || fail "still frozen"
  k delete --force it-fr
  [[ ! -e $CGROOT/k3rt/it-fr ]] || fail "cgroup left behind"
}

t_events_stats_read_v2_files() {
  local b; b=$(mkb ev '.process.args = ["sh","-c","i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 100"]')
  k run -d -b "$b" it-ev
  sleep 0.5
  local st; st=$(k events --stats it-ev)
  expect_eq stats "$(jq -r .type <<<"$st")"
  (($(jq -r .data.cpu.usage.total <<<"$st") > 0)) || fail "no cpu usage from cpu.stat: $st"
  k delete --force it-ev
}

t_cgroup_namespace_root() {
  local b; b=$(mkb cn '.linux.namespaces += [{"type":"cgroup"}] | .process.args = ["cat","/proc/self/cgroup"]')
  expect_contains "$(k run -b "$b" it-cn)" "0::/" "cgroup namespace view"
}

t_device_policy_is_an_ebpf_program() {
  expect_eq denied "$(loop_device_read d2)" "the loop device without a rule"
  expect_eq READ "$(loop_device_read d3 allow)" "the loop device once allowed"
  local b; b=$(mkb d4 '.process.args = ["sh","-c","echo ok > /dev/null && head -c 1 /dev/zero | wc -c"]')
  expect_eq 1 "$(k run -b "$b" it-d4)" "the default devices stay usable"
}

t_limits_written_or_refused_clearly() {
  local b; b=$(mkb li '.linux.resources = {"memory":{"limit":67108864},"pids":{"limit":20}} | .process.args = ["sleep","100"]')
  if [[ " $CONTROLLERS " == *" memory "* && " $CONTROLLERS " == *" pids "* ]]; then
    k run -d -b "$b" it-li
    expect_eq 67108864 "$(cat "$CGROOT/k3rt/it-li/memory.max")"
    expect_eq 20 "$(cat "$CGROOT/k3rt/it-li/pids.max")"
    k delete --force it-li
  else
    local err; err=$(k run -d -b "$b" it-li 2>&1) && fail "a memory limit without the memory controller was accepted"
    expect_contains "$err" "the \`memory\` controller is not available"
    expect_contains "$err" "memory.max"
    no_leftovers it-li
    [[ ! -e $CGROOT/k3rt/it-li ]] || fail "cgroup left behind"
  fi
}

run_suite
