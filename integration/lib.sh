# Shared helpers for integration suites: counters, one subshell per test, cleanup.
# A suite defines functions named t_* and calls `run_suite`. Each test runs with
# `set -euo pipefail`; any failing command fails it, and its output is shown.

set -uo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
K3RT=${K3RT:-$TOP/target/x86_64-unknown-linux-gnu/release/k3rt}
PASS=0
FAIL=0
FAILED=()

need_root() {
  [[ $(id -u) -eq 0 ]] || { echo "integration tests need root" >&2; exit 2; }
}

# need CMD...: a missing tool fails the suite loudly (never a silent skip).
need() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null || { echo "FAIL missing tool: $c (run .ci/deps.sh)"; echo "0 passed, 1 failed"; exit 1; }
  done
}

# In a pipe, tests write `cmd | grep >/dev/null PAT`, never `cmd | grep -q PAT`: under
# pipefail, grep -q exits at the first match and cmd, still writing, dies of SIGPIPE
# (status 141), so a match could fail the test depending on timing.

# fail MSG: abort the current test with a message.
fail() { echo "assertion failed: $*" >&2; return 1; }

# expect_eq WANT GOT [WHAT]
expect_eq() { [[ $1 == "$2" ]] || fail "${3:-value}: want \`$1\`, got \`$2\`"; }

# expect_contains HAYSTACK NEEDLE [WHAT]
expect_contains() { [[ $1 == *"$2"* ]] || fail "${3:-output} does not contain \`$2\`: $1"; }

run_suite() {
  local t out
  for t in $(declare -F | awk '{print $3}' | grep '^t_'); do
    if [[ -n ${ONLY:-} && $t != *"$ONLY"* ]]; then continue; fi
    # Not inside `if`: bash ignores `set -e` in a condition, also in its subshells,
    # so a test run there would only fail when its last command fails. The output goes
    # to a file, not a pipe: a container a failed test left running may hold it open.
    local log rc
    log=$(mktemp)
    (set -euo pipefail; "$t") >"$log" 2>&1
    rc=$?
    # after_each (if the suite defines it) removes what a test that stopped early left.
    if declare -F after_each >/dev/null; then after_each >/dev/null 2>&1; fi
    out=$(cat "$log"); rm -f "$log"
    if [[ $rc -eq 0 ]]; then
      PASS=$((PASS + 1)); echo "ok   ${t#t_}"
    else
      FAIL=$((FAIL + 1)); FAILED+=("${t#t_}"); echo "FAIL ${t#t_}"; echo "$out" | sed 's/^/     | /' | tail -25
    fi
  done
  echo "$PASS passed, $FAIL failed"
  [[ $FAIL -eq 0 ]]
}
