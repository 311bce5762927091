#!/usr/bin/env bash
# Installs what the engine suites (suite_create.sh, suite_network.sh) and
# benches/create.sh need beyond deps-images.sh (idempotent): nftables (k3's
# port maps run `nft`), iproute2 (tests inspect links), sqlite3 (tests read
# the database), crun and runc (cross-checks), gcc (a static UDP test server).
set -euo pipefail
pkgs=(nftables iproute2 sqlite3 crun runc curl gcc libc6-dev python3)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "deps-engine: ok"
