#!/usr/bin/env bash
# Installs what integration/suite_images.sh and benches/pull.sh need (idempotent).
set -euo pipefail
"$(dirname "$0")/../.ci/deps.sh" docker-registry umoci skopeo busybox-static e2fsprogs zstd curl python3 podman bc
# Debian's package starts a registry service on :5000; the tests run their own.
if command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
    systemctl stop docker-registry || true
fi
echo "deps-images: ok"
