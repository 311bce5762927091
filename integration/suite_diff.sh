#!/usr/bin/env bash
# The differential harness (integration/diff) on a fixed sample: the fixtures and 200
# configs generated from seed 12, each run under runc, crun and k3rt; any difference not
# in docs/compat.md fails. `make diff` runs 2000 from a new seed.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
need_root
need runc crun jq python3
exec python3 "$TOP/integration/diff/diff.py" --count "${DIFF_COUNT:-200}" --seed "${DIFF_SEED:-12}"
