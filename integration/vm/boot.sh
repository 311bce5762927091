#!/usr/bin/env bash
# Boots the test guest (building its image first when there is none, unless VM_IMG names
# one) and waits for ssh.
#   qemu-system-x86_64, TCG (this machine's /dev/kvm is a nested-virt module stock kernels
#   die on), the guest's own kernel and initrd, the cached image behind a throwaway
#   snapshot (snapshot=on: the guest's writes go to an unlinked temporary file, so the
#   image stays pristine and nothing is left behind even by a kill -9), user-mode
#   networking with restrict=on and ssh forwarded from a free port on 127.0.0.1.
# State in RUN (target/vm/run, or VM_RUN): qemu.pid, port, key, serial.log, qemu.log.
# A guest that is not up within VM_BOOT_TIMEOUT seconds (default 300) is killed and the
# tail of its serial console printed; exit 1. With VM_OWNER_PID set, a watchdog kills the
# guest when that process is gone (the suite sets it: an interrupted run leaves no qemu).
# Stop it with integration/vm/stop.sh; integration/vm/ssh.sh logs in.
set -euo pipefail
source "$(dirname "$0")/common.sh"
BOOT_TIMEOUT=${VM_BOOT_TIMEOUT:-300}

# VM_IMG: an image folder build.sh just printed (so a CI run, which always rebuilds,
# builds once); else build.sh finds the cached one or builds it
img=${VM_IMG:-$("$VM_HERE/build.sh" | tail -n 1)}
[[ -s $img/disk.img ]] || { echo "vm: no image in $img" >&2; exit 1; }
if [[ -s $RUN/qemu.pid ]] && kill -0 "$(cat "$RUN/qemu.pid")" 2>/dev/null; then
  echo "vm: a guest is already running (pid $(cat "$RUN/qemu.pid"), $RUN); integration/vm/stop.sh stops it" >&2
  exit 1
fi
rm -rf "$RUN"
mkdir -p "$RUN"
echo "$img/ssh/id_ed25519" > "$RUN/key"

# closes every fd above 2, then runs the command: the guest must not hold the caller's
# pipes or files (a suite's output would never reach EOF while qemu lives)
detached() {
  local fd
  for fd in $(ls /proc/$BASHPID/fd); do
    ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
  done
  exec "$@"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_qemu() {
  local port=$1
  (cd / && detached setsid qemu-system-x86_64 -name k3vm \
    -accel tcg,thread=multi -cpu max,-la57 -smp 2 -m 4G \
    -kernel "$img/vmlinuz" -initrd "$img/initrd.img" \
    -append "root=/dev/vda rw console=ttyS0 systemd.unified_cgroup_hierarchy=1 net.ifnames=0 panic=-1" \
    -drive "file=$img/disk.img,format=raw,if=virtio,snapshot=on,cache=unsafe" \
    -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=n0 \
    -device virtio-rng-pci \
    -display none -monitor none -serial "file:$RUN/serial.log" -no-reboot \
    -pidfile "$RUN/qemu.pid" \
    </dev/null >"$RUN/qemu.log" 2>&1) &
  echo $! > "$RUN/qemu.pid.spawn"
}

t0=$SECONDS
for attempt in 1 2 3; do
  port=$(free_port)
  echo "$port" > "$RUN/port"
  start_qemu "$port"
  spawn=$(cat "$RUN/qemu.pid.spawn")
  sleep 1
  # the port may have been taken between free_port and qemu's bind: another one
  if ! kill -0 "$spawn" 2>/dev/null && grep -q 'host forwarding' "$RUN/qemu.log"; then
    echo "vm: port $port taken, retrying" >&2
    continue
  fi
  break
done
for _ in $(seq 50); do [[ -s $RUN/qemu.pid ]] && break; kill -0 "$spawn" 2>/dev/null || break; sleep 0.1; done
[[ -s $RUN/qemu.pid ]] || echo "$spawn" > "$RUN/qemu.pid"
pid=$(cat "$RUN/qemu.pid")

if [[ -n ${VM_OWNER_PID:-} ]]; then
  (detached setsid bash -c 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 2; done; kill "$2" 2>/dev/null; sleep 5; kill -9 "$2" 2>/dev/null; true' \
    watchdog "$VM_OWNER_PID" "$pid" </dev/null >/dev/null 2>&1) &
fi

boot_failed() {
  echo "FAIL vm: $1" >&2
  echo "---- qemu ----" >&2; tail -n 20 "$RUN/qemu.log" >&2 || true
  echo "---- serial console (last 60 lines of $RUN/serial.log) ----" >&2
  tail -n 60 "$RUN/serial.log" 2>/dev/null | tr -d '\r' >&2 || true
  "$VM_HERE/stop.sh" >/dev/null 2>&1 || true
  exit 1
}

echo "vm: booting (pid $pid, ssh on 127.0.0.1:$port)" >&2
while :; do
  kill -0 "$pid" 2>/dev/null || boot_failed "qemu exited during boot"
  ((SECONDS - t0 < BOOT_TIMEOUT)) || boot_failed "no ssh after ${BOOT_TIMEOUT}s"
  if vm_ssh -o ConnectTimeout=5 'timeout 120 systemctl is-system-running --wait >/dev/null 2>&1; true' </dev/null 2>/dev/null; then break; fi
  sleep 2
done
echo "vm: up in $((SECONDS - t0)) s; state: $(vm_ssh systemctl is-system-running </dev/null 2>/dev/null || true)" >&2
