#!/usr/bin/env bash
# The guest half of integration/suite_vm.sh: runs as root inside the Debian trixie guest
# (systemd, pure cgroup v2) that integration/vm/ built, from /opt/k3 (integration/vm/push.sh
# puts lib.sh, this file, the busybox rootfs and config.json there, k3rt and k3 in
# /usr/local/bin). Every check is one function c_NAME RUNTIME, run for runc, crun and
# k3rt side by side (tests NAME__RUNTIME), and the table at the end shows them in rows.
# ONLY=PATTERN runs the tests whose name contains it (ONLY=systemd, ONLY=__k3rt,
# ONLY=systemd_scope__k3rt); RUNTIMES="k3rt crun" picks the columns.
source /opt/k3/lib.sh
need_root
need jq busybox python3 systemctl podman ctr runuser

read -r -a RTS <<<"${RUNTIMES:-runc crun k3rt}"
BASE=/opt/k3/config.json
ROOTFS=/opt/k3/rootfs
STATE=/run/k3test     # the runtimes' --root (one per runtime), bundles, sockets
COPIES=/var/lib/k3test # writable rootfs copies: not under /run, which trixie mounts noexec
CG=/sys/fs/cgroup
USER_NAME=k3user USER_ID=1000
mkdir -p "$STATE" "$COPIES"
rm -f "$STATE/k3-pulled" "$STATE"/podman-view-* "$STATE"/sdv-view-* # this run's image, podman's and runc's answers

rtbin() {
  case $1 in
    k3rt) echo /usr/local/bin/k3rt ;;
    *) command -v "$1" ;;
  esac
}
# R RT ARGS: the runtime with its own state root; RS: the same with the systemd driver
R() { local rt=$1; shift; timeout 120 "$(rtbin "$rt")" --root "$STATE/$rt" "$@" </dev/null; }
RS() { local rt=$1; shift; timeout 120 "$(rtbin "$rt")" --root "$STATE/$rt" --systemd-cgroup "$@" </dev/null; }

# mkb NAME JQ-FILTER: a bundle (STATE/b/NAME/config.json) on the shared read-only rootfs
mkb() {
  local d=$STATE/b/$1
  rm -rf "$d"; mkdir -p "$d"
  jq --arg rootfs "$ROOTFS" ".root.path = \$rootfs | .root.readonly = true | $2" "$BASE" >"$d/config.json"
  echo "$d"
}
# a writable copy of the rootfs (podman, containerd and the notify socket write into it)
rootfs_copy() { rm -rf "$1"; cp -a "$ROOTFS" "$1"; }

pid_of() { R "$1" state "$2" | jq -r .pid; }
status_of() { R "$1" state "$2" 2>/dev/null | jq -r .status; }
cg_of() { awk -F: '$1 == "0" {print $3}' "/proc/$1/cgroup"; }
# wait_for SECONDS CMD...: until CMD succeeds
wait_for() {
  local n=$(($1 * 5)); shift
  while ((n-- > 0)); do "$@" && return 0; sleep 0.2; done
  "$@"
}
is_status() { [[ $(status_of "$1" "$2") == "$3" ]]; }
# unit_show UNIT: the systemd properties the checks look at, one per line
unit_show() { systemctl show "$1" -p LoadState -p ActiveState -p MemoryMax -p TasksMax -p CPUQuotaPerSecUSec -p ControlGroup; }
unit_gone() { [[ $(systemctl show "$1" -p ActiveState --value) != active ]]; }
# expect_unit UNIT PROP=VALUE...: systemd's view of the unit
expect_unit() {
  local unit=$1 show; shift
  show=$(unit_show "$unit")
  local p
  for p in LoadState=loaded ActiveState=active "$@"; do
    grep -qx "$p" <<<"$show" || fail "systemctl show $unit: want $p, got: $(tr '\n' ' ' <<<"$show")"
  done
}
as_user() {
  cd /
  runuser -u "$USER_NAME" -- env -i HOME=/home/$USER_NAME USER=$USER_NAME LOGNAME=$USER_NAME \
    PATH=/usr/local/bin:/usr/bin:/bin XDG_RUNTIME_DIR=/run/user/$USER_ID \
    DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/$USER_ID/bus "$@" </dev/null
}
podman_() { timeout 180 podman "$@" </dev/null; }

# --- checks: each c_NAME takes the runtime ---

# create/start/state/kill/delete, and run's exit code
c_lifecycle() {
  local rt=$1 id=lc-$1
  local b; b=$(mkb lc '.process.args = ["sh","-c","trap \"exit 0\" TERM; while :; do sleep 0.1; done"]')
  R "$rt" create --bundle "$b" "$id"
  expect_eq created "$(status_of "$rt" "$id")" "after create"
  R "$rt" start "$id"
  expect_eq running "$(status_of "$rt" "$id")" "after start"
  R "$rt" kill "$id" TERM
  wait_for 20 is_status "$rt" "$id" stopped || fail "not stopped after TERM: $(status_of "$rt" "$id")"
  R "$rt" delete "$id"
  ! R "$rt" state "$id" >/dev/null 2>&1 || fail "state of a deleted container succeeded"
  b=$(mkb lc2 '.process.args = ["sh","-c","exit 3"]')
  local rc=0
  R "$rt" run --bundle "$b" "$id-run" || rc=$?
  expect_eq 3 "$rc" "exit code of run"
}

# absolute cgroupsPath: every limit read back from the v2 files; the cgroup goes on delete
c_limits_absolute() {
  local rt=$1 id=lim-$1 cg=/k3test/lim-$1
  local b; b=$(mkb lim ".linux.cgroupsPath = \"$cg\" | .process.args = [\"sleep\",\"100\"]
    | .linux.resources += {memory: {limit: 67108864}, pids: {limit: 42},
        cpu: {quota: 50000, period: 100000, shares: 1024}, blockIO: {weight: 500}}")
  R "$rt" run -d --bundle "$b" "$id"
  local pid; pid=$(pid_of "$rt" "$id")
  expect_eq "$cg" "$(cg_of "$pid")" "cgroup of the init"
  expect_eq 67108864 "$(cat "$CG$cg/memory.max")" memory.max
  expect_eq 42 "$(cat "$CG$cg/pids.max")" pids.max
  expect_eq "50000 100000" "$(cat "$CG$cg/cpu.max")" cpu.max
  # shares 1024: runc's linear conversion gives 39, crun >= 1.23's quadratic one 100
  local w; w=$(cat "$CG$cg/cpu.weight")
  [[ $w == 39 || $w == 100 ]] || fail "cpu.weight for shares 1024: want 39 (runc) or 100 (crun), got $w"
  # blockIO weight 500: io.bfq.weight as is, or io.weight converted (1 + (500-10)*9999/990)
  if [[ -e $CG$cg/io.bfq.weight ]]; then
    expect_eq "default 500" "$(head -n 1 "$CG$cg/io.bfq.weight")" io.bfq.weight
  elif [[ -e $CG$cg/io.weight ]]; then
    expect_eq "default 4950" "$(head -n 1 "$CG$cg/io.weight")" io.weight
  else
    echo "note: no io.weight here (io controller not available), not checked"
  fi
  R "$rt" delete --force "$id"
  [[ ! -e $CG$cg ]] || fail "cgroup $cg left behind"
}

# relative cgroupsPath, from a caller whose own cgroup (an ssh session scope) holds
# processes: v2's no-internal-process rule forbids controllers there
c_relative_path() {
  local rt=$1 id=rel-$1
  local b; b=$(mkb rel ".linux.cgroupsPath = \"k3test-rel/$id\" | .process.args = [\"sleep\",\"100\"]
    | .linux.resources += {memory: {limit: 67108864}, pids: {limit: 42}}")
  echo "caller's cgroup: $(cg_of $$)"
  R "$rt" run -d --bundle "$b" "$id"
  local pid cg; pid=$(pid_of "$rt" "$id"); cg=$(cg_of "$pid")
  echo "container's cgroup: $cg"
  [[ $cg == */k3test-rel/$id ]] || fail "cgroup $cg does not end in k3test-rel/$id"
  expect_eq 67108864 "$(cat "$CG$cg/memory.max")" memory.max
  expect_eq 42 "$(cat "$CG$cg/pids.max")" pids.max
  R "$rt" delete --force "$id"
  [[ ! -e $CG$cg ]] || fail "cgroup $cg left behind"
}

c_oom() {
  local rt=$1 id=oom-$1 cg=/k3test/oom-$1
  local b; b=$(mkb oom ".linux.cgroupsPath = \"$cg\"
    | .process.args = [\"sh\",\"-c\",\"dd if=/dev/zero of=/dev/null bs=64M count=1; echo dd: \$?; sleep 100\"]
    | .linux.resources += {memory: {limit: 33554432, swap: 33554432}}")
  R "$rt" run -d --bundle "$b" "$id"
  oom_killed() { (($(awk '$1 == "oom_kill" {print $2}' "$CG$cg/memory.events") >= 1)); }
  wait_for 30 oom_killed || fail "no oom_kill in memory.events: $(tr '\n' ' ' <"$CG$cg/memory.events")"
  expect_eq running "$(status_of "$rt" "$id")" "the init survives its child's OOM kill"
  R "$rt" delete --force "$id"
}

c_pids_limit() {
  local rt=$1 id=pids-$1 cg=/k3test/pids-$1
  local b; b=$(mkb pids ".linux.cgroupsPath = \"$cg\"
    | .process.args = [\"sh\",\"-c\",\"for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 100 & done; sleep 100\"]
    | .linux.resources += {pids: {limit: 6}}")
  R "$rt" run -d --bundle "$b" "$id"
  hit_max() { (($(awk '$1 == "max" {print $2}' "$CG$cg/pids.events") >= 1)); }
  wait_for 30 hit_max || fail "pids.events max not counted: $(cat "$CG$cg/pids.events")"
  (($(cat "$CG$cg/pids.current") <= 6)) || fail "pids.current $(cat "$CG$cg/pids.current") > 6"
  R "$rt" delete --force "$id"
}

c_pause_resume() {
  local rt=$1 id=fr-$1 cg=/k3test/fr-$1
  local b; b=$(mkb fr ".linux.cgroupsPath = \"$cg\" | .process.args = [\"sh\",\"-c\",\"while :; do sleep 0.1; done\"]")
  R "$rt" run -d --bundle "$b" "$id"
  R "$rt" pause "$id"
  expect_eq paused "$(status_of "$rt" "$id")" "status after pause"
  expect_eq 1 "$(cat "$CG$cg/cgroup.freeze")" cgroup.freeze
  grep -qx "frozen 1" "$CG$cg/cgroup.events" || fail "not frozen: $(tr '\n' ' ' <"$CG$cg/cgroup.events")"
  R "$rt" resume "$id"
  expect_eq running "$(status_of "$rt" "$id")" "status after resume"
  grep -qx "frozen 0" "$CG$cg/cgroup.events" || fail "still frozen"
  R "$rt" delete --force "$id"
}

c_update() {
  local rt=$1 id=upd-$1 cg=/k3test/upd-$1
  local b; b=$(mkb upd ".linux.cgroupsPath = \"$cg\" | .process.args = [\"sleep\",\"100\"]
    | .linux.resources += {memory: {limit: 67108864}, pids: {limit: 42}, cpu: {quota: 50000, period: 100000}}")
  R "$rt" run -d --bundle "$b" "$id"
  echo '{"memory":{"limit":134217728},"pids":{"limit":50},"cpu":{"quota":20000,"period":100000}}' >"$STATE/upd.json"
  R "$rt" update --resources "$STATE/upd.json" "$id"
  expect_eq 134217728 "$(cat "$CG$cg/memory.max")" memory.max
  expect_eq 50 "$(cat "$CG$cg/pids.max")" pids.max
  expect_eq "20000 100000" "$(cat "$CG$cg/cpu.max")" cpu.max
  R "$rt" delete --force "$id"
}

# --systemd-cgroup with slice:prefix:name: systemd knows the scope and its limits
c_systemd_scope() {
  local rt=$1 id=sd-$1 unit=k3test-sd-$1.scope
  local b; b=$(mkb sd ".linux.cgroupsPath = \"system.slice:k3test:$id\" | .process.args = [\"sleep\",\"100\"]
    | .linux.resources += {memory: {limit: 67108864}, pids: {limit: 42}, cpu: {quota: 50000, period: 100000}}")
  RS "$rt" run -d --bundle "$b" "$id"
  local pid; pid=$(pid_of "$rt" "$id")
  local cg; cg=$(cg_of "$pid")
  # crun puts the init one level down (its run.oci.systemd.subgroup, default `container`)
  [[ $cg == "/system.slice/$unit" || $cg == "/system.slice/$unit/"* ]] || fail "cgroup of the init: $cg, not in /system.slice/$unit"
  expect_eq 67108864 "$(cat "$CG/system.slice/$unit/memory.max")" memory.max
  expect_unit "$unit" MemoryMax=67108864 TasksMax=42 CPUQuotaPerSecUSec=500ms
  RS "$rt" delete --force "$id"
  wait_for 10 unit_gone "$unit" || fail "unit still active after delete: $(unit_show "$unit" | tr '\n' ' ')"
  [[ ! -e $CG/system.slice/$unit ]] || fail "cgroup of $unit left behind"
}

# update under the systemd driver: systemd's view follows (SetUnitProperties)
c_systemd_update() {
  local rt=$1 id=sdu-$1 unit=k3test-sdu-$1.scope
  local b; b=$(mkb sdu ".linux.cgroupsPath = \"system.slice:k3test:$id\" | .process.args = [\"sleep\",\"100\"]
    | .linux.resources += {memory: {limit: 67108864}, pids: {limit: 42}}")
  RS "$rt" run -d --bundle "$b" "$id"
  echo '{"memory":{"limit":134217728},"pids":{"limit":50}}' >"$STATE/sdu.json"
  RS "$rt" update --resources "$STATE/sdu.json" "$id"
  expect_eq 134217728 "$(cat "$CG/system.slice/$unit/memory.max")" memory.max
  expect_unit "$unit" MemoryMax=134217728 TasksMax=50
  RS "$rt" delete --force "$id"
}

# --systemd-cgroup and the device rules: systemd gets them as DevicePolicy= and
# DeviceAllow= (runc's mapping), so a daemon-reload, which re-applies the unit's
# properties, keeps the container's device policy. The bundle: the default rules (deny
# all, then the runtime's own list) and one more allowed device, /dev/kmsg (c 1:11, in
# linux.resources.devices and linux.devices); the container may mknod (CAP_MKNOD,
# `c *:* m`) but not open c 4:1. Each
# runtime's `systemctl show` is compared with runc's for the same bundle (sdv_view).
SDV_PROBE='rm -f /dev/xdeny; mknod /dev/xdeny c 4 1 && echo mknod-ok
(: >/dev/kmsg) && echo allowed-ok
(: >/dev/xdeny) 2>&1 || echo denied-refused'
sdv_bundle() {
  mkb "sdv-$1" ".linux.cgroupsPath = \"system.slice:k3test:sdv-$1\" | .process.args = [\"sleep\",\"100\"]
    | .process.capabilities |= (.bounding += [\"CAP_MKNOD\"] | .effective += [\"CAP_MKNOD\"] | .permitted += [\"CAP_MKNOD\"])
    | .linux.resources.devices = [{allow: false, access: \"rwm\"}, {allow: true, type: \"c\", major: 1, minor: 11, access: \"rwm\"}]
    | .linux.devices = [{path: \"/dev/kmsg\", type: \"c\", major: 1, minor: 11, fileMode: 420, uid: 0, gid: 0}]"
}
# sdv_show UNIT: the unit's device properties
sdv_show() { systemctl show "$1" -p DevicePolicy -p DeviceAllow; }
# sdv_view RT: the device properties of RT's scope for the bundle, and what the
# container could do before and after a daemon-reload (runc's once per suite run)
sdv_view() {
  local rt=$1 f=$STATE/sdv-view-$1 id=sdv-$1 unit=k3test-sdv-$1.scope
  if [[ ! -s $f ]]; then
    local b; b=$(sdv_bundle "$rt")
    RS "$rt" run -d --bundle "$b" "$id" >/dev/null || { echo "run failed"; return 1; }
    {
      sdv_show "$unit"
      echo "-- before daemon-reload"
      RS "$rt" exec "$id" sh -c "$SDV_PROBE" 2>&1
      systemctl daemon-reload
      echo "-- after daemon-reload"
      RS "$rt" exec "$id" sh -c "$SDV_PROBE" 2>&1
      sdv_show "$unit"
    } >"$f.new"
    RS "$rt" delete --force "$id"
    wait_for 10 unit_gone "$unit" || { echo "unit still active after delete"; return 1; }
    mv "$f.new" "$f"
  fi
  cat "$f"
}
c_systemd_devices() {
  local rt=$1
  # the denied node opens on the host: a refusal in the container is the device policy
  : >/dev/tty1 || fail "c 4:1 (/dev/tty1) does not open on the guest host"
  local mine ref; mine=$(sdv_view "$rt") || fail "$rt: $mine"
  echo "$rt:"; echo "$mine"
  grep -qx 'DevicePolicy=strict' <<<"$mine" || fail "$rt: no DevicePolicy=strict"
  grep -q '^DeviceAllow=.*/dev/char/1:11 rwm' <<<"$mine" || fail "$rt: the extra device is not in DeviceAllow"
  [[ $(grep -cx mknod-ok <<<"$mine") == 2 ]] || fail "$rt: mknod refused"
  [[ $(grep -cx allowed-ok <<<"$mine") == 2 ]] || fail "$rt: the allowed device did not open before and after the daemon-reload"
  [[ $(grep -cx denied-refused <<<"$mine") == 2 ]] || fail "$rt: the denied device opened before or after the daemon-reload"
  [[ $(grep -c 'Operation not permitted' <<<"$mine") == 2 ]] || fail "$rt: the denied device's refusal is not EPERM"
  [[ $rt != runc ]] || return 0
  ref=$(sdv_view runc) || fail "runc: $ref"
  local d
  # the accesses, before and after the daemon-reload: the same in all three
  d=$(diff <(grep -v '^Device' <<<"$ref") <(grep -v '^Device' <<<"$mine")) || fail "$rt vs runc, the container's accesses: $d"
  d=$(diff <(echo "$ref") <(echo "$mine")) && return 0
  # crun 1.21 sends its own default list (docs/compat.md): reported only
  [[ $rt == crun ]] || fail "$rt vs runc, systemctl show: $d"
  echo "crun's DeviceAllow differs from runc's:"; echo "$d"
}

# an empty slice is systemd's system.slice (runc's and crun's default)
c_systemd_default_slice() {
  local rt=$1 id=sdd-$1 unit=k3test-sdd-$1.scope
  local b; b=$(mkb sdd ".linux.cgroupsPath = \":k3test:$id\" | .process.args = [\"sleep\",\"100\"]
    | .linux.resources += {pids: {limit: 17}}")
  if [[ $rt == crun ]]; then
    # the runtimes differ here (docs/compat.md): crun 1.21 refuses an empty slice,
    # runc (and k3rt, as runc) default to system.slice; crun's refusal must leave nothing
    RS "$rt" run -d --bundle "$b" "$id" >/dev/null 2>&1 && fail "crun accepted an empty slice (it refused it when this check was written)"
    ! R "$rt" state "$id" >/dev/null 2>&1 || { R "$rt" delete --force "$id"; fail "state left behind"; }
    unit_gone "$unit" || fail "$unit active"
    return 0
  fi
  RS "$rt" run -d --bundle "$b" "$id"
  local cg; cg=$(cg_of "$(pid_of "$rt" "$id")")
  [[ $cg == "/system.slice/$unit" || $cg == "/system.slice/$unit/"* ]] || fail "cgroup of the init: $cg, not in /system.slice/$unit"
  expect_unit "$unit" TasksMax=17
  RS "$rt" delete --force "$id"
  wait_for 10 unit_gone "$unit" || fail "unit still active after delete"
}

# no system bus and no /run/systemd/private (hidden in a mount namespace): create fails, nothing is left
# (no unit, no cgroup, no state); k3rt's error names the socket
c_systemd_no_bus() {
  local rt=$1 id=sdnb-$1 unit=k3test-sdnb-$1.scope
  local b; b=$(mkb sdnb ".linux.cgroupsPath = \"system.slice:k3test:$id\" | .process.args = [\"true\"]")
  local err
  err=$(unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /run/dbus && mount --bind /dev/null /run/systemd/private && exec "$@"' sh \
    timeout 60 "$(rtbin "$rt")" --root "$STATE/$rt" --systemd-cgroup run --bundle "$b" "$id" 2>&1 </dev/null) \
    && fail "--systemd-cgroup ran without a system bus"
  echo "error: $err"
  [[ $rt != k3rt ]] || grep -q '/run/dbus/system_bus_socket' <<<"$err" || fail "the error does not name the bus socket"
  ! R "$rt" state "$id" >/dev/null 2>&1 || { R "$rt" delete --force "$id"; fail "state left behind"; }
  unit_gone "$unit" || fail "$unit active"
  [[ ! -e $CG/system.slice/$unit ]] || fail "cgroup of $unit left behind"
}

# After the last container of a slice is gone, the slice keeps no controller the config
# did not need among those systemd manages: memory and pids (this config's limits, and
# systemd's default accounting) may stay, cpuset, cpu and io may not; the root's set is
# unchanged. hugetlb, rdma and misc are outside systemd's management: runc 1.1 and crun
# 1.21 turn them on in the slice and leave them there too, so they are only reported.
c_systemd_controllers() {
  local rt=$1 id=ctl-$1 slice=k3ctl$1.slice
  systemctl stop "$slice" 2>/dev/null || true
  rmdir "$CG/$slice"/* "$CG/$slice" 2>/dev/null || true
  local root_before; root_before=$(cat "$CG/cgroup.subtree_control")
  local b; b=$(mkb ctl ".linux.cgroupsPath = \"$slice:k3test:$id\" | .process.args = [\"sleep\",\"100\"]
    | .linux.resources += {memory: {limit: 67108864}, pids: {limit: 42}}")
  RS "$rt" run -d --bundle "$b" "$id"
  echo "in $slice while running: $(cat "$CG/$slice/cgroup.subtree_control")"
  RS "$rt" delete --force "$id"
  sleep 1
  expect_eq "$root_before" "$(cat "$CG/cgroup.subtree_control")" "root cgroup.subtree_control"
  if [[ -e $CG/$slice ]]; then
    local left c; left=$(cat "$CG/$slice/cgroup.subtree_control")
    echo "in $slice after delete: $left"
    for c in $left; do
      case $c in
        memory | pids) ;;
        hugetlb | rdma | misc) echo "note: $c left enabled in $slice (as runc and crun leave it)" ;;
        *) fail "controller $c left enabled in $slice after the last container (all: $left)" ;;
      esac
    done
  fi
}

# cgroupfs driver, the issue's machine.slice case: a parent that exists before the
# container (k3ctl-RT, nothing enabled, as machine.slice) and a level the runtime makes
# under it (sub). k3rt turns on only what the config needs (memory and pids here) and,
# with the last container gone, turns it off again and removes the level it made; runc
# 1.1 and crun 1.21 turn on every controller there is, from the root down (hugetlb,
# rdma, misc in the root too) and leave them and the level (reported, not failed).
# Every runtime: the limits hold and the container's own cgroup goes on delete.
c_cgroupfs_controllers() {
  local rt=$1 id=cfs-$1 top=$CG/k3ctl-$1
  rmdir "$top/sub/$id" "$top/sub" "$top" 2>/dev/null || true
  mkdir "$top"
  local root_before; root_before=$(cat "$CG/cgroup.subtree_control")
  local b; b=$(mkb cfs ".linux.cgroupsPath = \"/k3ctl-$rt/sub/$id\" | .process.args = [\"sleep\",\"100\"]
    | .linux.resources += {memory: {limit: 67108864}, pids: {limit: 42}}")
  R "$rt" run -d --bundle "$b" "$id"
  expect_eq 67108864 "$(cat "$top/sub/$id/memory.max")" memory.max
  expect_eq 42 "$(cat "$top/sub/$id/pids.max")" pids.max
  local on_top on_sub; on_top=$(cat "$top/cgroup.subtree_control"); on_sub=$(cat "$top/sub/cgroup.subtree_control")
  echo "running: k3ctl-$rt: $on_top; sub: $on_sub"
  R "$rt" delete --force "$id"
  [[ ! -e $top/sub/$id ]] || fail "cgroup $top/sub/$id left behind"
  local left_top left_sub=removed root_after
  root_after=$(cat "$CG/cgroup.subtree_control")
  left_top=$(cat "$top/cgroup.subtree_control")
  [[ -e $top/sub ]] && left_sub="left, enabling: $(cat "$top/sub/cgroup.subtree_control")"
  echo "after delete: root enables: $root_after (before: $root_before); k3ctl-$rt: ${left_top:-nothing}; sub: $left_sub"
  if [[ $rt == k3rt ]]; then
    expect_eq "$root_before" "$root_after" "root cgroup.subtree_control"
    expect_eq "memory pids" "$on_top" "k3ctl-$rt cgroup.subtree_control while running"
    expect_eq "memory pids" "$on_sub" "sub cgroup.subtree_control while running"
    expect_eq "" "$left_top" "k3ctl-$rt cgroup.subtree_control after the last container"
    expect_eq removed "$left_sub" "the level k3rt made"
  fi
  rmdir "$top/sub" 2>/dev/null || true
  rmdir "$top"
}

c_features_systemd() {
  local rt=$1 f
  f=$(R "$rt" features)
  expect_eq true "$(jq -r '.linux.cgroup.systemd' <<<"$f")" "features .linux.cgroup.systemd"
  expect_eq true "$(jq -r '.linux.cgroup.v2' <<<"$f")" "features .linux.cgroup.v2"
}

# NOTIFY_SOCKET in create's (and start's) environment: the container's READY=1 reaches it
c_sdnotify_runtime() {
  local rt=$1 id=sdn-$1 sock=$STATE/notify-$1.sock out=$STATE/notify-$1.out
  rootfs_copy "$COPIES/rootfs-sdn-$rt"
  local b; b=$(mkb sdn ".root.path = \"$COPIES/rootfs-sdn-$rt\" | .root.readonly = false
    | .linux.cgroupsPath = \"/k3test/$id\" | .process.args = [\"sh\",\"-c\",\"sdnotify READY=1 && sleep 100\"]")
  rm -f "$sock" "$out" "$out.bound"
  python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(90)
open(sys.argv[2] + ".bound", "w").close()
try: m = s.recv(4096).decode()
except socket.timeout: m = "TIMEOUT"
open(sys.argv[2], "w").write(m)' "$sock" "$out" &
  local lpid=$!
  wait_for 30 test -e "$out.bound"
  NOTIFY_SOCKET=$sock R "$rt" create --bundle "$b" "$id"
  NOTIFY_SOCKET=$sock R "$rt" start "$id"
  wait_for 60 test -s "$out" || fail "nothing reached $sock"
  kill "$lpid" 2>/dev/null || true
  grep -q 'READY=1' "$out" || fail "the caller's socket got \`$(cat "$out")\`, not READY=1"
  R "$rt" delete --force "$id"
}

# --- k3 itself (issue 18): the container's own cgroup at /sys/fs/cgroup on v2 ---

# k3's image: cgview:latest (busybox and the probe) from a docker-registry on the guest's
# loopback, serving the storage push.sh copied to /opt/k3/registry; pulled once per boot
# by k3 (root K3_ROOT) and podman. The registry stays up for the suite (killed at its end).
IMG=127.0.0.1:5000/cgview:latest
export K3_ROOT=$COPIES/k3 # overlays need exec: not under /run
k3_image() {
  if ! (echo >/dev/tcp/127.0.0.1/5000) 2>/dev/null; then
    printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: /opt/k3/registry\nhttp:\n  addr: 127.0.0.1:5000\n' >"$STATE/registry.yml"
    setsid /opt/k3/bin/docker-registry serve "$STATE/registry.yml" </dev/null >"$STATE/registry.log" 2>&1 &
    echo $! >"$STATE/registry.pid"
    wait_for 20 bash -c '(echo >/dev/tcp/127.0.0.1/5000) 2>/dev/null' || fail "registry did not start: $(tail -n 5 "$STATE/registry.log")"
  fi
  [[ -s $STATE/k3-pulled ]] && return 0
  timeout 120 k3 pull -q "$IMG" >/dev/null
  podman_ pull -q --tls-verify=false "$IMG" >/dev/null
  echo "$IMG" >"$STATE/k3-pulled"
}

# What a container reports of its cgroup, one fact a line: the limit files at the top of
# /sys/fs/cgroup, the mount there (root, options, fstype), its cgroup, whether its cgroup
# namespace is the host's, the probe's JVM-like reading, whether it can make a sub-cgroup
# (its own limits stay the host's to set even when privileged: nsdelegate).
CG_READ='for f in memory.max cpu.max pids.max; do echo "$f=$(cat /sys/fs/cgroup/$f 2>&1)"; done
awk '\''$5 == "/sys/fs/cgroup" {split($0, h, " - "); split(h[2], s, " "); print "mount", $4, $6, s[1]}'\'' /proc/self/mountinfo
grep "^0::" /proc/self/cgroup
echo "cgroupns $(readlink /proc/self/ns/cgroup)"
probe cgroup
{ mkdir /sys/fs/cgroup/sub && rmdir /sys/fs/cgroup/sub && echo "sub-cgroup made"; } 2>/dev/null || echo "read-only"'
CG_LIMITS=(--memory 64m --cpus 0.5 --pids-limit 50)
# cg_norm: the engine's own cgroup path and the namespace's inode made comparable
cg_norm() {
  awk -v host="cgroupns $(readlink /proc/self/ns/cgroup)" '$0 == host {print "cgroupns host"; next}
    /^cgroupns / {print "cgroupns private"; next} {print}' \
    | sed -e 's|^0::/k3/[0-9a-f]*$|0::ENGINE-CGROUP|' -e 's|^0::/machine.slice/libpod-[0-9a-f]*\.scope\(/container\)\?$|0::ENGINE-CGROUP|'
}
# super_opts: the hierarchy-wide options of the host's cgroup2 mount (nsdelegate, ...)
super_opts() { awk '$5 == "/sys/fs/cgroup" {split($0, h, " - "); split(h[2], s, " "); print s[3]}' /proc/self/mountinfo; }
HOST_SUPER=$(super_opts)
# podman_view MODE FLAGS...: podman's answer (its default runtime, crun), once per mode
podman_view() {
  local f=$STATE/podman-view-$1; shift
  if [[ ! -s $f ]]; then
    podman_ run --rm --network none "$@" "${CG_LIMITS[@]}" "$IMG" sh -c "$CG_READ" | cg_norm >"$f.new"
    restore_super
    mv "$f.new" "$f"
  fi
  cat "$f"
}
# crun and runc mount a new cgroup2 from the host's cgroup namespace for --cgroupns host,
# which clears nsdelegate and memory_recursiveprot host-wide (runc#5258): put them back
restore_super() {
  [[ $(super_opts) == "$HOST_SUPER" ]] || mount -o "remount,${HOST_SUPER#rw,}" /sys/fs/cgroup
}

# k3 --runtime RT, --memory 64m --cpus 0.5 --pids-limit 50: by default a private cgroup
# namespace with cgroup2 read-only at /sys/fs/cgroup and the limits read there (by the
# shell and the probe); --cgroupns host: the host's namespace and the whole hierarchy,
# read-only, the probe still finds the limits through /proc/self/cgroup; --privileged:
# writable (a sub-cgroup made). Each the same as podman's answer for the same flags.
c_k3_cgroupview() {
  local rt=$1 out
  k3_image
  local want_private="memory.max=67108864
cpu.max=50000 100000
pids.max=50
mount / ro,nosuid,nodev,noexec,relatime cgroup2
0::/
cgroupns private
layout=v2 memory=67108864 cpu_quota=50000 cpu_period=100000 pids=50
read-only"
  out=$(timeout 120 k3 --runtime "$rt" run --rm --network none "${CG_LIMITS[@]}" "$IMG" sh -c "$CG_READ" </dev/null | cg_norm)
  expect_eq "$want_private" "$out" "k3 --runtime $rt"
  expect_eq "$(podman_view private)" "$out" "k3 --runtime $rt vs podman"

  out=$(timeout 120 k3 --runtime "$rt" run --rm --network none --cgroupns host "${CG_LIMITS[@]}" "$IMG" sh -c "$CG_READ" </dev/null | cg_norm)
  local super; super=$(super_opts)
  restore_super
  expect_contains "$out" "mount / ro,nosuid,nodev,noexec,relatime cgroup2
0::ENGINE-CGROUP
cgroupns host
layout=v2 memory=67108864 cpu_quota=50000 cpu_period=100000 pids=50
read-only" "k3 --runtime $rt --cgroupns host"
  expect_eq "$(podman_view host --cgroupns host)" "$out" "k3 --runtime $rt --cgroupns host vs podman"
  if [[ $rt == k3rt ]]; then
    expect_eq "$HOST_SUPER" "$super" "the host's cgroup2 options after a container in its cgroup namespace"
  elif [[ $super != "$HOST_SUPER" ]]; then
    echo "note: $rt cleared the host's cgroup2 options ($HOST_SUPER -> $super, runc#5258); put back"
  fi

  out=$(timeout 120 k3 --runtime "$rt" run --rm --network none --privileged "${CG_LIMITS[@]}" "$IMG" sh -c "$CG_READ" </dev/null | cg_norm)
  expect_eq "${want_private/ro,nosuid/rw,nosuid}" "${out/sub-cgroup made/read-only}" "k3 --runtime $rt --privileged"
  expect_contains "$out" "sub-cgroup made"
  expect_eq "$(podman_view privileged --privileged)" "$out" "k3 --runtime $rt --privileged vs podman"
  # --rm left no container and no cgroup
  expect_eq "" "$(k3 ps -aq)" "k3 ps -aq after --rm"
  expect_eq "" "$(find "$CG/k3" -mindepth 1 -maxdepth 1 -type d 2>/dev/null)" "cgroups left under $CG/k3"
}

# podman as root, systemd cgroup manager: libpod-ID.scope with the limits; exec through
# the runtime; the scope goes with the container
c_podman_systemd() {
  local rt=$1 name=k3p-$1
  rootfs_copy "$COPIES/rootfs-p-$rt"
  podman_ rm -f -t 0 --ignore "$name" >/dev/null
  podman_ --runtime "$(rtbin "$rt")" --cgroup-manager systemd run -d --name "$name" --network none \
    --memory 64m --pids-limit 42 --rootfs "$COPIES/rootfs-p-$rt" sleep 100
  local id; id=$(podman_ inspect -f '{{.Id}}' "$name")
  expect_unit "libpod-$id.scope" MemoryMax=67108864 TasksMax=42
  expect_eq 67108864 "$(podman_ exec "$name" cat /sys/fs/cgroup/memory.max)" "memory.max seen inside"
  podman_ rm -f -t 0 "$name"
  wait_for 10 unit_gone "libpod-$id.scope" || fail "libpod-$id.scope still active"
}

# podman --sdnotify=container under a Type=notify unit: the unit becomes active only
# when the container's READY=1 got through runtime, conmon and podman
c_podman_sdnotify() {
  local rt=$1 unit=k3sdn-$1.service
  rootfs_copy "$COPIES/rootfs-n-$rt"
  podman_ rm -f -t 0 --ignore "k3n-$rt" >/dev/null
  systemctl reset-failed "$unit" 2>/dev/null || true
  systemd-run --unit "$unit" -p Type=notify -p NotifyAccess=all -p TimeoutStartSec=120 --no-block -q -- \
    podman --runtime "$(rtbin "$rt")" run --rm --name "k3n-$rt" --network none --sdnotify=container \
    --rootfs "$COPIES/rootfs-n-$rt" sh -c 'sdnotify READY=1; sleep 100'
  settled() { [[ $(systemctl show "$unit" -p ActiveState --value) != activating ]]; }
  wait_for 120 settled || true
  local st; st=$(systemctl show "$unit" -p ActiveState --value)
  if [[ $st != active ]]; then
    journalctl -u "$unit" --no-pager | tail -n 15
    fail "$unit is $st, not active"
  fi
  systemctl stop "$unit"
}

# ctr_clean ID: no task and no container ID in containerd's k3test namespace
ctr_clean() {
  if ctr -n k3test task ls -q | grep -x "$1" >/dev/null; then
    ctr -n k3test task kill -s SIGKILL "$1" || true
    wait_for 20 bash -c "! ctr -n k3test task ls | awk '\$1 == \"$1\" {print \$3}' | grep -x RUNNING >/dev/null"
    ctr -n k3test task rm -f "$1"
  fi
  if ctr -n k3test container ls -q | grep -x "$1" >/dev/null; then ctr -n k3test container rm "$1"; fi
}

# containerd's runc shim with SystemdCgroup (ctr --runc-systemd-cgroup)
c_containerd_systemd() {
  local rt=$1 id=k3c-$1 unit=k3ctr-k3c-$1.scope
  rootfs_copy "$COPIES/rootfs-c-$rt"
  ctr_clean "$id"
  timeout 120 ctr -n k3test run -d --runc-binary "$(rtbin "$rt")" --runc-systemd-cgroup \
    --cgroup "system.slice:k3ctr:$id" --memory-limit 67108864 \
    --rootfs "$COPIES/rootfs-c-$rt" "$id" /bin/sleep 100 </dev/null
  expect_unit "$unit" MemoryMax=67108864
  local cg; cg=$(cg_of "$(ctr -n k3test task ls | awk -v id="$id" '$1 == id {print $2}')")
  [[ $cg == "/system.slice/$unit" || $cg == "/system.slice/$unit/"* ]] || fail "cgroup of the task: $cg, not in /system.slice/$unit"
  ctr_clean "$id"
  wait_for 10 unit_gone "$unit" || fail "$unit still active"
}

# rootless podman (a real user with subuids, its own systemd and bus): run, exec, a
# limit through the user's delegated cgroup (the scope below user@UID.service), stop, rm
c_podman_rootless() {
  local rt=$1 name=k3r-$1 dir=/home/$USER_NAME/rootfs-$1
  wait_for 30 test -S "/run/user/$USER_ID/bus" || fail "no user bus for $USER_NAME"
  as_user timeout 60 podman rm -f -t 0 --ignore "$name" >/dev/null
  rm -rf "$dir"; cp -a "$ROOTFS" "$dir"; chown -R "$USER_NAME:" "$dir"
  expect_eq hello "$(as_user timeout 180 podman --runtime "$(rtbin "$rt")" run --rm --network none --rootfs "$dir" echo hello)" "run --rm"
  as_user timeout 180 podman --runtime "$(rtbin "$rt")" --cgroup-manager systemd run -d --name "$name" \
    --network none --pids-limit 42 --rootfs "$dir" sleep 100
  expect_eq 0 "$(as_user timeout 60 podman exec "$name" id -u)" "uid inside"
  expect_eq 42 "$(as_user timeout 60 podman exec "$name" cat /sys/fs/cgroup/pids.max)" "pids.max inside"
  as_user timeout 60 podman stop -t 1 "$name"
  as_user timeout 60 podman rm "$name"
}

# Removes what a failed test left: its runtime's containers, and podman's, containerd's
# and systemd's leftovers only after the tests that use them (each command here takes
# seconds in the emulated guest). $t is run_suite's current test (bash's dynamic scope).
after_each() {
  local name=${t#t_} rt id
  rt=${name##*__}
  [[ " ${RTS[*]} " == *" $rt "* ]] || return 0
  for id in $(R "$rt" list -q 2>/dev/null); do
    RS "$rt" delete --force "$id" || R "$rt" delete --force "$id"
  done
  case $name in
    podman_rootless*) as_user podman rm -af -t 0 ;;
    podman_sdnotify*) systemctl stop "k3sdn-$rt.service"; podman rm -af -t 0 ;;
    podman*) podman rm -af -t 0 ;;
    containerd*) ctr_clean "k3c-$rt" ;;
    k3*) k3 rm -f $(k3 ps -aq) ; restore_super ;;
  esac
  case $name in
    systemd*|containerd*) systemctl stop 'k3test-*.scope' 'k3ctr-*.scope' ;;
  esac
  true
}

# one test per check and runtime: t_CHECK__RUNTIME
for c in $(declare -F | awk '{print $3}' | grep '^c_'); do
  for rt in "${RTS[@]}"; do eval "t_${c#c_}__$rt() { $c $rt; }"; done
done

for rt in "${RTS[@]}"; do echo "$rt: $("$(rtbin "$rt")" --version 2>&1 | head -n 1)"; done
echo "podman: $(podman --version), containerd: $(containerd --version | awk '{print $3}'), systemd: $(systemctl --version | head -n 1), kernel: $(uname -r)"
echo "cgroup: $(stat -fc %T $CG), root subtree_control: $(cat $CG/cgroup.subtree_control)"
run_suite
rc=$?
[[ -s $STATE/registry.pid ]] && kill "$(cat "$STATE/registry.pid")" 2>/dev/null
rm -f "$STATE/registry.pid" "$STATE"/podman-view-* "$STATE"/sdv-view-*

# the table: a row per check, a column per runtime
printf '\n%-22s' check; printf ' %-6s' "${RTS[@]}"; echo
for c in $(declare -F | awk '{print $3}' | grep '^c_'); do
  printf '%-22s' "${c#c_}"
  for rt in "${RTS[@]}"; do
    t=${c#c_}__$rt
    if [[ -n ${ONLY:-} && $t != *"$ONLY"* ]]; then r=-
    elif [[ " ${FAILED[*]} " == *" $t "* ]]; then r=FAIL
    else r=ok; fi
    printf ' %-6s' "$r"
  done
  echo
done
exit $rc
