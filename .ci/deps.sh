#!/usr/bin/env bash
# Installs the Debian packages the build, the sample bundle and the k3rt tests need
# (plus any given as arguments: the engine suites pass theirs),
# only those missing. Idempotent; run as root (CI is).
set -euo pipefail
pkgs=(busybox-static jq file gcc libc6-dev make pkg-config libseccomp-dev runc crun time strace iproute2 bc
  podman conmon containerd containernetworking-plugins netavark iptables umoci curl bsdutils util-linux python3 criu)
pkgs+=("$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]})) || exit 0
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
