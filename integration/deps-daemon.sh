#!/usr/bin/env bash
# Installs what integration/suite_daemon.sh needs beyond deps-engine.sh
# (idempotent): chromium (the dashboard is opened headless, screenshot and
# DOM dump), python3 (the webhook receiver), curl (HTTP over the unix socket
# and TCP), fonts-dejavu-core (text in the screenshot).
set -euo pipefail
pkgs=(chromium python3 curl fonts-dejavu-core)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "deps-daemon: ok"
