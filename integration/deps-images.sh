#!/usr/bin/env bash
# Installs what integration/suite_images.sh and benches/pull.sh need (idempotent).
set -euo pipefail
pkgs=(docker-registry umoci skopeo busybox-static e2fsprogs zstd curl python3 podman bc)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian's package starts a registry service on :5000; the tests run their own.
if command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
    systemctl stop docker-registry || true
fi
echo "deps-images: ok"
