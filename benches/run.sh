#!/usr/bin/env bash
# Benchmarks k3rt against runc and crun in the same run, as ratios. Runtimes are
# interleaved (k3rt, runc, crun, k3rt, ...) so background load hits all alike.
#   1. N sequential `run` of /bin/true (wall time per run: median and total)
#   2. create/start/delete cycles (median)
#   3. peak RSS of one `run` (/usr/bin/time -v, max of 5)
#   4. a container under a 512k memory limit starts (yes/no)
# crun refuses a cgroup v1 hybrid host without a v1 hugetlb hierarchy; the bench
# mounts one (harmless) so that crun can be measured here.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
k3rt=$top/target/x86_64-unknown-linux-gnu/release/k3rt
N=${N:-100}
work=$(mktemp -d /tmp/k3-bench.XXXXXX)
chmod 755 "$work"
runtimes=(k3rt runc crun)
bin() { case $1 in k3rt) echo "$k3rt";; *) command -v "$1";; esac; }
cleanup() {
  local r id
  for r in "${runtimes[@]}"; do
    for id in $(ls "/run/bench-$r" 2>/dev/null); do "$(bin "$r")" --root "/run/bench-$r" delete -f "$id" >/dev/null 2>&1 || true; done
    rmdir "/run/bench-$r" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

if grep -q ' - cgroup ' /proc/self/mountinfo && [[ ! -d /sys/fs/cgroup/hugetlb ]]; then
  mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb || true
fi

"$top/bundles/mkbundle.sh" "$k3rt" "$work/b" /bin/true >/dev/null
# the crun in Debian bookworm (1.8) knows runtime-spec up to 1.0.x
jq '.ociVersion = "1.0.2"' "$work/b/config.json" > "$work/b/c.json" && mv "$work/b/c.json" "$work/b/config.json"
mkdir -p "$work/small" "$work/sleep"
jq --arg r "$work/b/rootfs" '.root.path = $r | .linux.resources.memory = {"limit": 524288}' "$work/b/config.json" > "$work/small/config.json"
jq --arg r "$work/b/rootfs" '.root.path = $r | .process.args = ["sleep", "1000"]' "$work/b/config.json" > "$work/sleep/config.json"

median() { sort -n | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.3f\n", (b-a)*1000}'; }

ok=()
for r in "${runtimes[@]}"; do
  if "$(bin "$r")" --root "/run/bench-$r" run -b "$work/b" probe >/dev/null 2>&1; then ok+=("$r"); else echo "$r cannot run containers on this host; skipped"; fi
done

declare -A RUN CYC RSS SMALL
for r in "${ok[@]}"; do : > "$work/run.$r"; : > "$work/cyc.$r"; done
for i in $(seq "$N"); do
  for r in "${ok[@]}"; do
    b=$(bin "$r"); t0=$EPOCHREALTIME
    "$b" --root "/run/bench-$r" run -b "$work/b" "r$i" >/dev/null
    ms_since "$t0" >> "$work/run.$r"
  done
done
for i in $(seq 30); do
  for r in "${ok[@]}"; do
    b=$(bin "$r"); t0=$EPOCHREALTIME
    "$b" --root "/run/bench-$r" create -b "$work/sleep" "c$i" >/dev/null
    "$b" --root "/run/bench-$r" start "c$i"
    "$b" --root "/run/bench-$r" delete -f "c$i"
    ms_since "$t0" >> "$work/cyc.$r"
  done
done
for r in "${ok[@]}"; do
  RUN[$r]=$(median < "$work/run.$r")
  TOT=$(awk '{s+=$1} END{printf "%.3f", s/1000}' "$work/run.$r"); RUN[$r.total]=$TOT
  CYC[$r]=$(median < "$work/cyc.$r")
  RSS[$r]=$(for k in 1 2 3 4 5; do /usr/bin/time -v "$(bin "$r")" --root "/run/bench-$r" run -b "$work/b" "rss$k" 2>&1 >/dev/null | awk '/Maximum resident/{print $6}'; done | sort -n | tail -1)
  SMALL[$r]=$("$(bin "$r")" --root "/run/bench-$r" run -b "$work/small" small >/dev/null 2>&1 && echo yes || echo no)
done

printf '%-6s %12s %14s %16s %12s %10s\n' runtime "run ms (med)" "${N} runs (s)" "create/start/del" "peak RSS KB" "512k runs"
for r in "${ok[@]}"; do
  printf '%-6s %12.2f %14.3f %16.2f %12s %10s\n' "$r" "${RUN[$r]}" "${RUN[$r.total]}" "${CYC[$r]}" "${RSS[$r]}" "${SMALL[$r]}"
done
for base in crun runc; do
  [[ -n ${RUN[$base]:-} && -n ${RUN[k3rt]:-} ]] || continue
  awk -v a="${RUN[k3rt]}" -v b="${RUN[$base]}" -v c="${CYC[k3rt]}" -v d="${CYC[$base]}" -v e="${RSS[k3rt]}" -v f="${RSS[$base]}" -v n="$base" \
    'BEGIN{printf "k3rt/%s: run time %.2f, create/start/delete %.2f, peak RSS %.2f\n", n, a/b, c/d, e/f}'
done
