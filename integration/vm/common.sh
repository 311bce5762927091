# Shared by the guest scripts (sourced): where the image and a running guest live.
#   TOP      the checkout
#   VMDIR    target/vm: the images (one folder per cache key), the run folder, the locks
#   KEY      the cache key: a hash of build.sh (which holds the package list and every
#            step), so a change to either builds a new image and an old one is never reused
#   IMG      target/vm/KEY: disk.img, vmlinuz, initrd.img, ssh/id_ed25519
#   RUN      the running guest's folder (default target/vm/run): qemu.pid, port, serial.log
VM_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$VM_HERE/../.." && pwd)
VMDIR=${VMDIR:-$TOP/target/vm}
KEY=$(sha256sum "$VM_HERE/build.sh" | cut -c1-16)
IMG=$VMDIR/$KEY
RUN=${VM_RUN:-$VMDIR/run}
K3_RELEASE=${K3_RELEASE:-$TOP/target/x86_64-unknown-linux-gnu/release}

# vm_ssh [ssh args...] CMD: a command in the running guest as root (RUN/port, IMG's key).
vm_ssh() {
  local port; port=$(cat "$RUN/port")
  ssh -i "$(cat "$RUN/key")" -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 \
    -o ServerAliveInterval=15 -o ServerAliveCountMax=8 root@127.0.0.1 "$@"
}
