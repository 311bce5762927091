#!/usr/bin/env bash
# Copies into the running guest: k3rt and k3 (to /usr/local/bin), and to /opt/k3 the
# guest suite (guest/suite.sh, guest/bench.sh, integration/lib.sh), a busybox bundle made
# by bundles/mkbundle.sh (rootfs/ and config.json) with a static sdnotify in it, and an
# image for the engines: `cgview:latest` (busybox and the probe, as the host suites build
# it) in a docker-registry's storage, with this host's docker-registry binary (it needs
# only libc) to serve it on the guest's loopback (the guest reaches nothing outside).
# The binaries come from K3RT_BIN / K3_BIN (default: the release build,
# target/x86_64-unknown-linux-gnu/release), copied to target/vm/stage first, so a
# rebuild running meanwhile cannot hand the guest half a file. Run it again after a
# rebuild: `cargo build --release && integration/vm/push.sh` replaces them in place.
set -euo pipefail
source "$(dirname "$0")/common.sh"
K3RT_BIN=${K3RT_BIN:-$K3_RELEASE/k3rt}
K3_BIN=${K3_BIN:-$K3_RELEASE/k3}
[[ -s $RUN/port ]] || { echo "vm: no guest running (integration/vm/boot.sh)" >&2; exit 1; }
for f in "$K3RT_BIN" "$K3_BIN"; do [[ -x $f ]] || { echo "vm: $f not built (cargo build --release)" >&2; exit 1; }; done

# push_image STAGE: STAGE/registry (the storage of a docker-registry holding
# cgview:latest) and STAGE/bin/docker-registry, built with registry.sh's helpers
push_image() (
  local stage=$1 REG
  T=$stage/image-work PIDS=()
  trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT
  source "$TOP/integration/registry.sh"
  for c in umoci skopeo /usr/bin/docker-registry; do
    command -v "$c" >/dev/null || { echo "vm: $c missing (integration/deps-images.sh)" >&2; return 1; }
  done
  mkdir -p "$T/extra/bin"
  make -s -C "$TOP/bundles/probe" >/dev/null
  cp "$TOP/bundles/probe/probe" "$T/extra/bin/probe"
  registry_start
  image_build cgview latest "$T/extra" --config.cmd sh
  mv "$T/registry" "$stage/registry"
  cp /usr/bin/docker-registry "$stage/bin/docker-registry"
)

stage=$VMDIR/stage
rm -rf "$stage"
mkdir -p "$stage/bin"
cp "$K3RT_BIN" "$stage/bin/k3rt"
cp "$K3_BIN" "$stage/bin/k3"
"$TOP/bundles/mkbundle.sh" "$stage/bin/k3rt" "$stage/bundle" sh >/dev/null
gcc -static -O2 -Wall -Wextra -o "$stage/bundle/rootfs/bin/sdnotify" "$VM_HERE/guest/sdnotify.c"
mv "$stage/bundle/rootfs" "$stage/bundle/config.json" "$stage/"
rmdir "$stage/bundle"
cp "$TOP/integration/lib.sh" "$VM_HERE/guest/suite.sh" "$VM_HERE/guest/bench.sh" "$stage/"
push_image "$stage"
tar -C "$stage" -c . | vm_ssh 'set -e; rm -rf /opt/k3; mkdir -p /opt/k3; tar -C /opt/k3 -x --no-same-owner
  install -m 0755 /opt/k3/bin/k3rt /opt/k3/bin/k3 /usr/local/bin/'
echo "vm: pushed $(cd "$stage" && sha256sum bin/k3rt | cut -c1-12) k3rt, k3, the bundle and the suite to the guest" >&2
