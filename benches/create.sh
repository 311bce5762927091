#!/usr/bin/env bash
# create -> running latency of `k3 run -d` (seed 000's 15 steps, the
# monitor, the runtime's create and start; returns once the container's
# process has been exec'd), with and without networking:
#   none  a namespace with loopback only
#   kb0   the bridge: IP lease, netns, veth, eth0 configured, nft port map
# Prints the median and mean over N runs (default 20) of each, in ms.
# Root; uses a private registry with a busybox image, like the tests.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-20}
need() { command -v "$1" >/dev/null || { echo "missing tool: $1" >&2; exit 1; }; }
need_root() { [ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 2; }; }
fail() { echo "$*" >&2; return 1; }
source "$TOP/integration/engine_lib.sh"
need_root
for t in "$K3" umoci skopeo /usr/bin/docker-registry python3 nft; do need "$t"; done
registry_start >/dev/null
image_build alpine latest "" --config.cmd /bin/sh >/dev/null 2>&1 || { echo "image build failed" >&2; exit 1; }
export K3_DEFAULT_REGISTRY=$REG
"$K3" pull -q alpine >/dev/null
"$K3" run --rm --name warm alpine true >/dev/null   # makes kb0 and the nft table

ms() { python3 -c "import sys; print(round((float(sys.argv[2]) - float(sys.argv[1])) * 1000, 1))" "$1" "$2"; }
stats() { python3 -c "import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print(f'median {statistics.median(v):7.1f} ms   mean {statistics.mean(v):7.1f} ms   (n={len(v)})')" "$@"; }

measure() { # network extra-args...
    local net=$1 i t0 t1 times=(); shift
    for i in $(seq "$N"); do
        t0=$(date +%s.%N)
        "$K3" run -d --name "b-$net-$i" --network "$net" "$@" alpine sleep 1000 >/dev/null || { echo "run failed" >&2; exit 1; }
        t1=$(date +%s.%N)
        [ "$("$K3" inspect "b-$net-$i" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["status"])')" = RUNNING ] || { echo "not running" >&2; exit 1; }
        times+=("$(ms "$t0" "$t1")")
        "$K3" rm -f "b-$net-$i" >/dev/null
    done
    printf '%-28s %s\n' "$net${*:+ $*}" "$(stats "${times[@]}")"
}

echo "k3 run -d (create -> RUNNING), runtime $(basename "$(dirname "$K3")")/k3rt, $N runs each:"
measure none
measure kb0
measure kb0 -p "$(free_port):80"
