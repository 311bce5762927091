#!/usr/bin/env bash
# k3rt vs crun (and runc) inside the guest, on its cgroup v2: `run` of `true`, and
# create+start+delete, N rounds (default 20). Prints ratios to crun only (TCG makes
# absolute times meaningless). Uses the running guest if there is one (after pushing
# the current binaries), else boots one and stops it afterwards. Root.
set -euo pipefail
source "$(dirname "$0")/common.sh"
mkdir -p "$VMDIR"
own=
if ! [[ -s $RUN/port ]] || ! "$VM_HERE/ssh.sh" true 2>/dev/null; then
  exec 9>"$VMDIR/guest.lock"
  flock -n 9 || { echo "vm: waiting for the guest another run holds" >&2; flock 9; }
  trap '"$VM_HERE/stop.sh"' EXIT
  VM_OWNER_PID=$$ "$VM_HERE/boot.sh"
  own=1
fi
"$VM_HERE/push.sh"
"$VM_HERE/ssh.sh" "N=${N:-20} MEMORY=${MEMORY:-67108864} RUNTIMES='${RUNTIMES:-crun runc k3rt}' bash /opt/k3/bench.sh" </dev/null
[[ -n $own ]] || echo "vm: the guest keeps running (integration/vm/stop.sh)" >&2
