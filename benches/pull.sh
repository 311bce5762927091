#!/usr/bin/env bash
# Pull + unpack benchmark: `k3 pull` vs `podman pull` of the same ~100 MB
# image (busybox + 3 layers of 32 MiB incompressible data, gzip) from a
# private docker-registry on loopback. Each puller starts from empty private
# storage every round; prints each time, the medians and the ratio k3/podman.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
ROUNDS=${ROUNDS:-3}
T=$(mktemp -d /tmp/k3-bench.XXXXXX)
REGPID=

cleanup() {
    # (the registry ends by the TERM: its status 143 must not become the script's under set -e)
    if [ -n "$REGPID" ] && kill "$REGPID" 2>/dev/null; then wait "$REGPID" 2>/dev/null || true; fi
    for m in $(awk -v t="$T" '$2 ~ "^"t {print $2}' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

if [ ! -x "$REPO/target/x86_64-unknown-linux-gnu/release/k3" ]; then
    (cd "$REPO" && cargo build --release -p k3)
fi
K3=$REPO/target/x86_64-unknown-linux-gnu/release/k3
for tool in /usr/bin/docker-registry podman python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool: run integration/deps-images.sh" >&2; exit 1; }
done

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REG=127.0.0.1:$PORT
cat >"$T/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $T/registry
http:
  addr: $REG
YML
/usr/bin/docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 &
REGPID=$!
for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
python3 "$REPO/integration/imagetool.py" push "$REG" bench v1 big >/dev/null
IMAGE=$REG/bench:v1
echo "image: $IMAGE ($(du -sh "$T/registry" | cut -f1) in the registry)"

now() { date +%s.%N; }
k3_round() {
    rm -rf "$T/k3"
    sync
    local s e
    s=$(now)
    "$K3" --root "$T/k3" pull --quiet "$IMAGE"
    e=$(now)
    echo "$e - $s" | bc
}
podman_round() {
    for m in $(awk -v t="$T/podman" '$2 ~ "^"t {print $2}' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
    rm -rf "$T/podman"
    sync
    local s e
    s=$(now)
    podman --root "$T/podman/root" --runroot "$T/podman/run" --storage-driver overlay \
        pull --quiet --tls-verify=false "$IMAGE" >/dev/null
    e=$(now)
    echo "$e - $s" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

k3_times=() podman_times=()
for i in $(seq "$ROUNDS"); do
    k=$(k3_round)
    p=$(podman_round)
    k3_times+=("$k") podman_times+=("$p")
    printf 'round %d: k3 %.3fs  podman %.3fs\n' "$i" "$k" "$p"
done
K=$(printf '%s\n' "${k3_times[@]}" | median)
P=$(printf '%s\n' "${podman_times[@]}" | median)
printf 'k3 median:     %.3fs\n' "$K"
printf 'podman median: %.3fs\n' "$P"
printf 'ratio k3/podman: %.2f (target <= 0.50)\n' "$(echo "$K / $P" | bc -l)"
