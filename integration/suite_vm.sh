#!/usr/bin/env bash
# k3rt, crun and runc side by side on a host like the ones users run: a Debian trixie
# guest (systemd 257, pure cgroup v2, podman, containerd) under qemu, built by
# integration/vm/build.sh from Debian packages (cached under target/vm/ by a hash of that
# script; VM_REBUILD=1 or CI set builds it anew), booted by integration/vm/boot.sh, with
# this checkout's k3rt and k3 copied in. The checks run in the guest
# (integration/vm/guest/suite.sh): lifecycle, cgroup v2 limits read back, relative
# cgroupsPath, OOM, pids, pause, update, the systemd driver (scope, update, controllers
# left behind), features, sd_notify, podman (root, rootless, --sdnotify=container),
# containerd with SystemdCgroup. A guest that does not build, boot or answer fails here.
# ONLY=PATTERN and RUNTIMES="k3rt crun" pass through; VM_SUITE_TIMEOUT (s, default 1200).
source "$(dirname "$0")/lib.sh"
need_root
VM=$TOP/integration/vm
[[ -x $K3RT ]] || { echo "FAIL k3rt not built: $K3RT"; echo "0 passed, 1 failed"; exit 1; }
K3_BIN=${K3_BIN:-$(dirname "$K3RT")/k3}
[[ -x $K3_BIN ]] || { echo "FAIL k3 not built: $K3_BIN"; echo "0 passed, 1 failed"; exit 1; }
source "$VM/common.sh"

host_fail() { echo "FAIL $1"; echo "0 passed, 1 failed"; exit 1; }

# one guest at a time per checkout (TCG takes every core it gets)
mkdir -p "$VMDIR"
exec 9>"$VMDIR/guest.lock"
flock -n 9 || { echo "vm: waiting for the guest another run holds ($VMDIR/guest.lock)"; flock 9; }
trap '"$VM/stop.sh"' EXIT

t0=$SECONDS
img=$("$VM/build.sh" | tail -n 1) || host_fail "vm: the guest image did not build (integration/vm/build.sh)"
t_build=$((SECONDS - t0))
t1=$SECONDS
VM_IMG=$img VM_OWNER_PID=$$ "$VM/boot.sh" || host_fail "vm: the guest did not boot (serial log above)"
t_boot=$((SECONDS - t1))
K3RT_BIN=$K3RT K3_BIN=$K3_BIN "$VM/push.sh" || host_fail "vm: copying k3rt and the suite into the guest failed"

# The suite runs detached in the guest, its output in a file that tail follows: a
# container left running cannot hold the ssh session open.
t2=$SECONDS
out=$(mktemp)
env_line="ONLY=$(printf %q "${ONLY:-}") RUNTIMES=$(printf %q "${RUNTIMES:-runc crun k3rt}")"
timeout "${VM_SUITE_TIMEOUT:-1200}" "$VM/ssh.sh" "
  rm -f /var/log/k3suite.rc
  : >/var/log/k3suite.log # made before tail looks: the background job may not have opened it yet
  (cd /opt/k3 && $env_line bash suite.sh </dev/null >/var/log/k3suite.log 2>&1; echo \$? >/var/log/k3suite.rc) >/dev/null 2>&1 &
  p=\$!
  tail --pid=\$p -n +1 -f /var/log/k3suite.log
  wait \$p
  exit \$(cat /var/log/k3suite.rc)" </dev/null | tee "$out"
rc=${PIPESTATUS[0]}
t_suite=$((SECONDS - t2))
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
rm -f "$out"
echo "vm: image ${t_build}s (cached when under a few seconds), boot ${t_boot}s, guest suite ${t_suite}s"
if [[ -z $line ]]; then
  [[ $rc -eq 124 ]] && host_fail "vm: the guest suite ran past ${VM_SUITE_TIMEOUT:-1200}s"
  host_fail "vm: the guest suite printed no result line (exit $rc)"
fi
echo "$line"
[[ $rc -eq 0 ]]
