#!/usr/bin/env bash
# Installs what integration/suite_daemon.sh needs beyond deps-engine.sh
# (idempotent): chromium (the dashboard is opened headless, screenshot and
# DOM dump), python3 (the webhook receiver), curl (HTTP over the unix socket
# and TCP), fonts-dejavu-core (text in the screenshot).
set -euo pipefail
"$(dirname "$0")/../.ci/deps.sh" chromium python3 curl fonts-dejavu-core
echo "deps-daemon: ok"
