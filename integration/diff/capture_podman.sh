#!/usr/bin/env bash
# Regenerates fixtures/podman-*.json: the config.json podman 4 hands its OCI runtime for
# common flags. podman runs with its own storage under a temp dir and --runtime pointing
# at a wrapper that copies the bundle's config.json and then execs runc. The image is
# imported locally from the probe bundle's rootfs (no registry).
# usage: integration/diff/capture_podman.sh   (root; rewrites fixtures/podman-*.json)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
k3rt=${K3RT:-$top/target/x86_64-unknown-linux-gnu/release/k3rt}
tmp=$(mktemp -d /tmp/k3diff-podman.XXXXXX)
P=(podman --root "$tmp/storage" --runroot "$tmp/run" --cgroup-manager cgroupfs --events-backend none --runtime "$tmp/wrap")
cleanup() { "${P[@]}" rm -af >/dev/null 2>&1 || true; "${P[@]}" system reset -f >/dev/null 2>&1 || true; umount -R "$tmp/storage" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
cat > "$tmp/wrap" <<W
#!/bin/sh
b=""; prev=""
for a in "\$@"; do [ "\$prev" = "--bundle" ] && b=\$a; prev=\$a; done
[ "\$1" != create ] && [ -z "\${b}" ] || true
for a in "\$@"; do if [ "\$a" = create ] && [ -n "\$b" ]; then cp "\$b/config.json" "$tmp/last.json"; fi; done
exec runc "\$@"
W
chmod +x "$tmp/wrap"
"$top/bundles/mkbundle.sh" "$k3rt" "$tmp/bundle" >/dev/null
tar -C "$tmp/bundle/rootfs" -cf "$tmp/rootfs.tar" .
"${P[@]}" import "$tmp/rootfs.tar" localhost/k3diff-probe:latest >/dev/null
mkdir -p "$tmp/vol"
capture() { # NAME PODMAN-RUN-ARGS...
  local name=$1; shift
  rm -f "$tmp/last.json"
  local net=(--network none); [[ " $* " == *" --network "* ]] && net=()
  "${P[@]}" run --rm "${net[@]}" "$@" localhost/k3diff-probe:latest /bin/probe exit 0 >/dev/null 2>"$tmp/err" || true
  if [[ -s $tmp/last.json ]]; then
    jq -S . "$tmp/last.json" | sed "s#$tmp#/TMP#g" > "$here/fixtures/podman-$name.json"; echo "captured podman-$name"
  else echo "capture podman-$name failed: $(cat "$tmp/err")" >&2; fi
}
capture default
capture cap-drop-all --cap-drop ALL
capture cap-add --cap-add SYS_ADMIN --cap-add NET_ADMIN
capture cap-drop-all-add --cap-drop ALL --cap-add CHOWN --cap-add SETUID
capture privileged --privileged
capture user --user 1000:1000 --group-add 65534
capture read-only --read-only
capture tmpfs --tmpfs /mnt:rw,size=1m,mode=700 --tmpfs /data:ro,noexec
capture volume-rshared -v "$tmp/vol:/data:rshared"
capture volume-rslave -v "$tmp/vol:/data:rslave,ro"
capture volume-private -v "$tmp/vol:/data:private"
capture sysctl --sysctl kernel.shm_rmid_forced=1 --sysctl net.ipv4.ip_forward=1
capture ulimit --ulimit nofile=1024:2048 --ulimit core=0:0
capture no-new-privs --security-opt no-new-privileges
capture pid-host --pid host
capture hostname --hostname k3diff
capture workdir-env --workdir /tmp -e FOO=bar -e EMPTY=
capture network-host --network host
