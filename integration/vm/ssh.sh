#!/usr/bin/env bash
# A shell (or a command) in the running guest as root: integration/vm/ssh.sh [CMD...].
# `-t` first for a terminal; `--user` first logs in as k3user (the rootless tests' user).
set -euo pipefail
source "$(dirname "$0")/common.sh"
[[ -s $RUN/port ]] || { echo "vm: no guest running (integration/vm/boot.sh)" >&2; exit 1; }
user=root opts=()
while [[ ${1:-} == -t || ${1:-} == --user ]]; do
  [[ $1 == -t ]] && opts+=(-t)
  [[ $1 == --user ]] && user=k3user
  shift
done
exec ssh -i "$(cat "$RUN/key")" -p "$(cat "$RUN/port")" -o BatchMode=yes -o StrictHostKeyChecking=no \
  -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "${opts[@]}" "$user@127.0.0.1" "$@"
