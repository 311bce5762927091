#!/usr/bin/env bash
# Benchmarks k3rt against runc and crun in the same run, as ratios:
#   1. 100 sequential `run` of /bin/true (wall time, median of 3 rounds)
#   2. a create/start/delete cycle (median over 50 cycles)
#   3. peak RSS of one `run` (/usr/bin/time -v)
# crun refuses a cgroup v1 hybrid host without a v1 hugetlb hierarchy; the bench
# mounts one (harmless) so that crun can be measured here.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
k3rt=$top/target/x86_64-unknown-linux-gnu/release/k3rt
N=${N:-100}
work=$(mktemp -d /tmp/k3-bench.XXXXXX)
chmod 755 "$work"
trap 'for r in k3rt runc crun; do for id in $(ls /run/bench-$r 2>/dev/null); do $r --root /run/bench-$r delete -f $id >/dev/null 2>&1; done; done; rm -rf "$work"' EXIT

if grep -q ' - cgroup ' /proc/self/mountinfo && [[ ! -d /sys/fs/cgroup/hugetlb ]]; then
  mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb || true
fi

"$top/bundles/mkbundle.sh" "$k3rt" "$work/b" /bin/true >/dev/null
# the crun in Debian bookworm (1.8) knows runtime-spec up to 1.0.x
jq '.ociVersion = "1.0.2"' "$work/b/config.json" > "$work/b/c.json" && mv "$work/b/c.json" "$work/b/config.json"
runtimes=(k3rt runc crun)
bin() { case $1 in k3rt) echo "$k3rt";; *) command -v "$1";; esac; }

median() { sort -n | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }

seq_run() { # runtime -> seconds for N sequential runs
  local r=$1 b; b=$(bin "$r")
  local t0; t0=$(now)
  for i in $(seq "$N"); do "$b" --root "/run/bench-$r" run -b "$work/b" "b$i" >/dev/null; done
  echo "$(now) - $t0" | bc -l
}

cycle() { # runtime -> median ms of create/start/delete
  local r=$1 b; b=$(bin "$r")
  for i in $(seq 50); do
    local t0; t0=$(now)
    "$b" --root "/run/bench-$r" create -b "$work/b" "c$i" >/dev/null
    "$b" --root "/run/bench-$r" start "c$i"
    while [[ $("$b" --root "/run/bench-$r" state "c$i" | jq -r .status) != stopped ]]; do :; done
    "$b" --root "/run/bench-$r" delete "c$i"
    echo "($(now) - $t0) * 1000" | bc -l
  done | median
}

rss() { /usr/bin/time -v "$(bin "$1")" --root "/run/bench-$1" run -b "$work/b" rss 2>&1 >/dev/null | awk '/Maximum resident/{print $6}'; }

declare -A T C R
for r in "${runtimes[@]}"; do
  if ! "$(bin "$r")" --root "/run/bench-$r" run -b "$work/b" probe >/dev/null 2>&1; then
    echo "$r cannot run containers on this host; skipped"; continue
  fi
  T[$r]=$(for round in 1 2 3; do seq_run "$r"; done | median)
  C[$r]=$(cycle "$r")
  R[$r]=$(rss "$r")
done

printf '%-6s %14s %12s %18s %10s\n' runtime "${N}x run (s)" "per run ms" "create/start/del ms" "peak RSS KB"
for r in "${!T[@]}"; do
  printf '%-6s %14.3f %12.2f %18.2f %10s\n' "$r" "${T[$r]}" "$(echo "${T[$r]} * 1000 / $N" | bc -l)" "${C[$r]}" "${R[$r]}"
done | sort
for base in crun runc; do
  [[ -n ${T[$base]:-} ]] || continue
  printf 'k3rt/%s: run time %.2f, cycle %.2f, peak RSS %.2f\n' "$base" \
    "$(echo "${T[k3rt]} / ${T[$base]}" | bc -l)" "$(echo "${C[k3rt]} / ${C[$base]}" | bc -l)" "$(echo "${R[k3rt]} / ${R[$base]}" | bc -l)"
done
