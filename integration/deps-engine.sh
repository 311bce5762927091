#!/usr/bin/env bash
# Installs what the engine suites (suite_create.sh, suite_network.sh) and
# benches/create.sh need beyond deps-images.sh (idempotent): nftables (k3's
# port maps run `nft`), iproute2 (tests inspect links), sqlite3 (tests read
# the database), crun and runc (cross-checks), gcc (a static UDP test server).
set -euo pipefail
"$(dirname "$0")/../.ci/deps.sh" nftables iproute2 sqlite3 crun runc curl gcc libc6-dev python3
echo "deps-engine: ok"
