#!/usr/bin/env bash
# Builds the test guest: Debian trixie (systemd, pure cgroup v2, podman, containerd, runc,
# crun) from Debian packages only, as target/vm/KEY/{disk.img,vmlinuz,initrd.img,ssh/}.
#   1. host packages: debootstrap and qemu-system-x86 (from bookworm-backports on a
#      bookworm host: its qemu-utils is the backports build, bookworm's qemu conflicts)
#   2. debootstrap --variant=minbase trixie into target/vm/KEY/rootfs, then the guest
#      packages installed in a chroot (no services started there)
#   3. root login by an ssh key made here, a serial console, a static network for
#      qemu's user-mode net, a non-root user with subuids for rootless podman
#   4. an ext4 image of the folder (mkfs.ext4 -d); the kernel and initrd copied beside it
# KEY is a hash of this script (the package list is in it): an image is built once per
# checkout and reused until this file changes. VM_REBUILD=1 (or CI set) builds it anew.
# Prints the image folder on its last line. Root; about 4 minutes and 1.5 GB of downloads.
set -euo pipefail
source "$(dirname "$0")/common.sh"

GUEST_PKGS=(systemd-sysv linux-image-amd64 openssh-server podman crun runc containerd busybox-static jq
  # what the suites need: rootless podman (subuids, the user's systemd and bus), the
  # system bus, podman's helpers, a notify listener, networking and debugging tools
  uidmap dbus dbus-user-session libpam-systemd conmon catatonit netavark passt
  iproute2 python3 procps kmod strace)
MIRROR=${VM_MIRROR:-http://deb.debian.org/debian}
DISK_SIZE=${VM_DISK_SIZE:-6G}
REBUILD=${VM_REBUILD:-${CI:+1}}

[[ $(id -u) -eq 0 ]] || { echo "build.sh: needs root (debootstrap, chroot)" >&2; exit 2; }

if [[ -s $IMG/disk.img && -s $IMG/vmlinuz && -s $IMG/initrd.img && -z $REBUILD ]]; then
  echo "vm: cached image $IMG (key of integration/vm/build.sh)" >&2
  echo "$IMG"
  exit 0
fi

# --- 1. host packages (idempotent: only what is missing) ---
host_deps() {
  local missing=() p
  for p in debootstrap qemu-system-x86 qemu-utils e2fsprogs openssh-client gcc libc6-dev busybox-static jq file; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "vm: installing host packages ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  local codename; codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  local target=()
  if [[ $codename == bookworm ]]; then
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      echo "deb http://deb.debian.org/debian bookworm-backports main" > /etc/apt/sources.list.d/k3-vm-backports.list
    fi
    target=(-t bookworm-backports)
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${target[@]}" "${missing[@]}" >/dev/null
}
host_deps

# --- 2. debootstrap + chroot installs, in a folder that a failure removes ---
mkdir -p "$VMDIR"
exec 8>"$VMDIR/build-$KEY.lock"
flock 8 # two builds of one key: the second waits, then finds the image
if [[ -s $IMG/disk.img && -s $IMG/vmlinuz && -s $IMG/initrd.img && -z $REBUILD ]]; then echo "$IMG"; exit 0; fi

WORK=$VMDIR/build-$KEY
ROOTFS=$WORK/rootfs
MOUNTS=()
cleanup() {
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTS[i]}" 2>/dev/null || true; done
  MOUNTS=()
  # never into a mount that is still there (the bind of /dev above all)
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
rm -rf --one-file-system "$WORK"
mkdir -p "$WORK"
t0=$SECONDS

echo "vm: debootstrap trixie into $ROOTFS" >&2
debootstrap --variant=minbase trixie "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
  || { tail -n 30 "$WORK/debootstrap.log" >&2; echo "vm: debootstrap failed" >&2; exit 1; }

mnt() { local target=$1; shift; mount "$@" "$target"; MOUNTS+=("$target"); } # mnt TARGET ARGS...
mnt "$ROOTFS/proc" -t proc proc
mnt "$ROOTFS/dev" --bind /dev
mnt "$ROOTFS/dev/pts" -t devpts -o newinstance,ptmxmode=0666 devpts
mnt "$ROOTFS/run" -t tmpfs tmpfs
in_root() { chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }

# no service starts inside the chroot
printf '#!/bin/sh\nexit 101\n' > "$ROOTFS/usr/sbin/policy-rc.d"
chmod 755 "$ROOTFS/usr/sbin/policy-rc.d"
echo "deb $MIRROR trixie main" > "$ROOTFS/etc/apt/sources.list"
echo "vm: installing ${GUEST_PKGS[*]}" >&2
{ in_root apt-get update -qq && in_root apt-get install -y -qq --no-install-recommends "${GUEST_PKGS[@]}"; } \
  >"$WORK/apt.log" 2>&1 || { tail -n 40 "$WORK/apt.log" >&2; echo "vm: guest package install failed" >&2; exit 1; }
in_root apt-get clean
rm -f "$ROOTFS/usr/sbin/policy-rc.d"
echo "vm: packages done ($((SECONDS - t0)) s)" >&2

# --- 3. configuration ---
mkdir -p "$WORK/ssh"
ssh-keygen -q -t ed25519 -N '' -C "k3-vm-$KEY" -f "$WORK/ssh/id_ed25519"
install -d -m 700 "$ROOTFS/root/.ssh"
install -m 600 "$WORK/ssh/id_ed25519.pub" "$ROOTFS/root/.ssh/authorized_keys"
# root has no password: the serial console logs in without one (ssh refuses empty ones)
in_root passwd -dq root
echo k3vm > "$ROOTFS/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 k3vm\n' > "$ROOTFS/etc/hosts"
echo '/dev/vda / ext4 rw,relatime 0 0' > "$ROOTFS/etc/fstab"
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$ROOTFS/etc/machine-id"; echo >> "$ROOTFS/etc/machine-id"
# qemu's user-mode network is fixed (10.0.2.15, gateway 10.0.2.2): no DHCP to wait for
cat > "$ROOTFS/etc/systemd/system/k3vm-net.service" <<'EOF'
[Unit]
Description=static address for qemu user-mode networking
Before=network.target ssh.service
Wants=network.target
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/ip link set lo up
ExecStart=/usr/sbin/ip link set eth0 up
ExecStart=/usr/sbin/ip addr add 10.0.2.15/24 dev eth0
ExecStart=/usr/sbin/ip route add default via 10.0.2.2
[Install]
WantedBy=multi-user.target
EOF
in_root systemctl enable k3vm-net.service >/dev/null 2>&1
in_root systemctl enable ssh.service containerd.service >/dev/null 2>&1
# nothing periodic during a test run
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
  man-db.timer dpkg-db-backup.timer systemd-tmpfiles-clean.timer; do
  in_root systemctl mask "$u" >/dev/null 2>&1 || true
done
cat > "$ROOTFS/etc/ssh/sshd_config.d/k3vm.conf" <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
MaxStartups 50
MaxSessions 50
EOF
# the non-root user of the rootless tests: subuids (useradd writes /etc/subuid), the same
# key, and lingering so its systemd instance (and user bus) run from boot
in_root useradd -m -s /bin/bash -u 1000 k3user
grep -q '^k3user:' "$ROOTFS/etc/subuid" || echo 'k3user:100000:65536' >> "$ROOTFS/etc/subuid"
grep -q '^k3user:' "$ROOTFS/etc/subgid" || echo 'k3user:100000:65536' >> "$ROOTFS/etc/subgid"
install -d -m 700 -o 1000 -g 1000 "$ROOTFS/home/k3user/.ssh"
install -m 600 -o 1000 -g 1000 "$WORK/ssh/id_ed25519.pub" "$ROOTFS/home/k3user/.ssh/authorized_keys"
mkdir -p "$ROOTFS/var/lib/systemd/linger"
touch "$ROOTFS/var/lib/systemd/linger/k3user"
# the cpu, io, memory and pids controllers (and cpuset) delegated to user@.service, as
# Fedora and recent Debian do, so rootless containers can have limits
mkdir -p "$ROOTFS/etc/systemd/system/user@.service.d"
printf '[Service]\nDelegate=cpu cpuset io memory pids\n' > "$ROOTFS/etc/systemd/system/user@.service.d/delegate.conf"
# where the test scripts and the k3 binaries go
mkdir -p "$ROOTFS/opt/k3"

kernel=$(ls "$ROOTFS"/boot/vmlinuz-* | sort -V | tail -n 1)
initrd=$(ls "$ROOTFS"/boot/initrd.img-* | sort -V | tail -n 1)
cp "$kernel" "$WORK/vmlinuz"
cp "$initrd" "$WORK/initrd.img"

for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount "${MOUNTS[i]}"; done
MOUNTS=()

# --- 4. the image ---
t1=$SECONDS
rm -f "$WORK/disk.img"
mkfs.ext4 -q -F -L k3vm -d "$ROOTFS" "$WORK/disk.img" "$DISK_SIZE" >/dev/null
echo "vm: image done ($((SECONDS - t1)) s)" >&2
rm -rf --one-file-system "$ROOTFS"

# images (and build locks) of older keys are stale (this script changed): drop them
for old in "$VMDIR"/*; do
  name=$(basename "$old")
  if [[ -d $old && $name =~ ^[0-9a-f]{16}$ && $old != "$IMG" ]]; then rm -rf --one-file-system "$old"; fi
  if [[ $name =~ ^build-[0-9a-f]{16}\.lock$ && $name != "build-$KEY.lock" ]]; then rm -f "$old"; fi
done
rm -rf "$IMG"
mkdir -p "$IMG"
mv "$WORK/disk.img" "$WORK/vmlinuz" "$WORK/initrd.img" "$WORK/ssh" "$IMG/"
echo "${GUEST_PKGS[*]}" > "$IMG/packages"
echo "vm: built $IMG in $((SECONDS - t0)) s" >&2
echo "$IMG"
