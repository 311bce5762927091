#!/usr/bin/env bash
# Installs what the engine suites (suite_create.sh, suite_network.sh) and
# benches/create.sh need beyond deps-images.sh (idempotent): nftables (k3's
# port maps run `nft`), iproute2 (tests inspect links), sqlite3 (tests read
# the database), crun and runc (cross-checks), gcc (a static UDP test server),
# catatonit (podman's --init, which suite_flags.sh compares k3's with),
# aardvark-dns (podman's resolver on user networks, which suite_netdns.sh compares
# k3's with).
set -euo pipefail
"$(dirname "$0")/../.ci/deps.sh" nftables iproute2 sqlite3 crun runc curl gcc libc6-dev python3 catatonit aardvark-dns
echo "deps-engine: ok"
