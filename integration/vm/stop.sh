#!/usr/bin/env bash
# Stops the guest boot.sh started (RUN: target/vm/run, or VM_RUN): qemu is killed (TERM,
# then KILL), the run folder removed. The image is untouched (the guest ran on a
# snapshot). Safe to call when nothing runs.
set -uo pipefail
source "$(dirname "$0")/common.sh"
[[ -d $RUN ]] || exit 0
for f in "$RUN/qemu.pid" "$RUN/qemu.pid.spawn"; do
  [[ -s $f ]] || continue
  pid=$(cat "$f")
  # only a qemu (a stale pid file could name a reused pid)
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == qemu-system-x86* ]] || continue
  kill "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
done
rm -rf "$RUN"
