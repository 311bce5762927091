#!/usr/bin/env bash
# The guest half of integration/vm/bench.sh: k3rt, crun and runc on the guest's cgroup v2
# (each container in its own cgroup under /k3bench, so placement is part of the cost).
# Rounds interleave the runtimes (one of each per round) so a slow stretch of the
# emulated machine hits all alike. Prints ratios to crun only: under TCG absolute times
# mean nothing. N=rounds (default 20); MEMORY=the memory limit in bytes (default 64M;
# 524288 is the tiny-limit case); RUNTIMES="crun runc k3rt" (crun first, the base; any
# other name is a binary in /usr/local/bin, such as a second k3rt build to compare).
set -euo pipefail
N=${N:-20}
MEMORY=${MEMORY:-67108864}
read -r -a RTS <<<"${RUNTIMES:-crun runc k3rt}"
STATE=/run/k3bench
rm -rf "$STATE"; mkdir -p "$STATE/b"
rtbin() { case $1 in crun | runc) command -v "$1" ;; *) echo "/usr/local/bin/$1" ;; esac; }
jq --arg rootfs /opt/k3/rootfs --arg mem "$MEMORY" '.root.path = $rootfs | .root.readonly = true | .process.args = ["true"]
  | .linux.resources += {memory: {limit: ($mem | tonumber)}, pids: {limit: 100}}' /opt/k3/config.json >"$STATE/b/config.json"
now() { date +%s%N; }
declare -A run_ns csd_ns
for rt in "${RTS[@]}"; do run_ns[$rt]=0 csd_ns[$rt]=0; done
for ((i = 0; i <= N; i++)); do
  for rt in "${RTS[@]}"; do
    bin=$(rtbin "$rt") root=$STATE/$rt id=b$i-$rt
    mkdir -p "$STATE/$id"
    jq ".linux.cgroupsPath = \"/k3bench/$id\"" "$STATE/b/config.json" >"$STATE/$id/config.json"
    t0=$(now)
    "$bin" --root "$root" run --bundle "$STATE/$id" "$id" </dev/null >/dev/null
    t1=$(now)
    jq ".linux.cgroupsPath = \"/k3bench/$id-c\"" "$STATE/b/config.json" >"$STATE/$id/config.json"
    t2=$(now)
    "$bin" --root "$root" create --bundle "$STATE/$id" "$id-c" </dev/null >/dev/null
    "$bin" --root "$root" start "$id-c"
    "$bin" --root "$root" delete --force "$id-c"
    t3=$(now)
    if ((i > 0)); then # round 0 warms the caches
      run_ns[$rt]=$((run_ns[$rt] + t1 - t0))
      csd_ns[$rt]=$((csd_ns[$rt] + t3 - t2))
    fi
  done
done
rmdir /sys/fs/cgroup/k3bench 2>/dev/null || true
echo "bench ($N rounds, cgroup v2, memory limit $MEMORY, TCG guest; time relative to crun, lower is faster)"
printf '%-8s %8s %22s\n' runtime run create+start+delete
for rt in "${RTS[@]}"; do
  printf '%-8s %8s %22s\n' "$rt" \
    "$(awk -v a="${run_ns[$rt]}" -v b="${run_ns[crun]}" 'BEGIN {printf "%.2f", a / b}')" \
    "$(awk -v a="${csd_ns[$rt]}" -v b="${csd_ns[crun]}" 'BEGIN {printf "%.2f", a / b}')"
done
