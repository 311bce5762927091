#!/usr/bin/env bash
# Runs every integration suite and prints the combined `N passed, M failed`.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
total_pass=0 total_fail=0
# the guest suite (suite_vm.sh: a qemu guest, minutes) runs last
mapfile -t suites < <(printf '%s\n' "$here"/suite_*.sh | grep -v '/suite_vm\.sh$')
for suite in "${suites[@]}" "$here/suite_vm.sh"; do
  echo "== $(basename "$suite")"
  out=$(mktemp)
  t0=$SECONDS
  bash "$suite" 2>&1 | tee "$out"
  echo "   ($(basename "$suite"): $((SECONDS - t0)) s)"
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
  if [[ -z $line ]]; then
    echo "FAIL $(basename "$suite") printed no result line"; total_fail=$((total_fail + 1))
  else
    total_pass=$((total_pass + $(awk '{print $1}' <<<"$line")))
    total_fail=$((total_fail + $(awk '{print $3}' <<<"$line")))
  fi
  rm -f "$out"
done
echo "integration took $SECONDS s"
echo "integration: $total_pass passed, $total_fail failed"
[[ $total_fail -eq 0 ]]
