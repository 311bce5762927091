#!/usr/bin/env bash
# Foreground `run --rm IMG true` (create, start, the output streamed, the exit
# code, the removal) of k3 against podman in the same run, interleaved
# (k3, podman, k3, ...) so background load hits both alike; both on the
# network `none` and on the default bridge. Prints medians and the ratio.
# Root; a private registry with a busybox image, like the tests.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-20}
need() { command -v "$1" >/dev/null || { echo "missing tool: $1" >&2; exit 1; }; }
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 2; }
fail() { echo "$*" >&2; return 1; }
source "$TOP/integration/engine_lib.sh"
for t in "$K3" podman umoci skopeo /usr/bin/docker-registry python3 nft; do need "$t"; done
PW=$T/podman; mkdir -p "$PW"
printf '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' >"$PW/containers.conf"
export CONTAINERS_CONF=$PW/containers.conf
p() { podman --root "$PW/storage" --runroot "$PW/run" "$@"; }
trap 'p rm -af -t 0 >/dev/null 2>&1; p system reset --force >/dev/null 2>&1; umount -R "$PW/storage" 2>/dev/null; engine_cleanup' EXIT
registry_start >/dev/null
image_build alpine latest "" --config.cmd /bin/sh >/dev/null 2>&1 || { echo "image build failed" >&2; exit 1; }
export K3_DEFAULT_REGISTRY=$REG
"$K3" pull -q alpine >/dev/null
p pull -q --tls-verify=false "$REG/alpine:latest" >/dev/null || { echo "podman pull failed" >&2; exit 1; }
"$K3" run --rm alpine true >/dev/null   # makes kb0 and the nft table
p run --rm "$REG/alpine:latest" true >/dev/null

ms() { python3 -c "import sys; print(round((float(sys.argv[2]) - float(sys.argv[1])) * 1000, 1))" "$1" "$2"; }
median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

for net in none bridge; do
    k=() pm=()
    knet=$net; [ "$net" = bridge ] && knet=kb0
    for _ in $(seq "$N"); do
        t0=$(date +%s.%N); "$K3" run --rm --network "$knet" alpine true || { echo "k3 run failed" >&2; exit 1; }; t1=$(date +%s.%N)
        k+=("$(ms "$t0" "$t1")")
        t0=$(date +%s.%N); p run --rm --network "$net" "$REG/alpine:latest" true || { echo "podman run failed" >&2; exit 1; }; t1=$(date +%s.%N)
        pm+=("$(ms "$t0" "$t1")")
    done
    km=$(median "${k[@]}"); pmm=$(median "${pm[@]}")
    printf 'run --rm true, network %-6s k3 %7.1f ms   podman %7.1f ms   ratio %.2fx   (median of %s)\n' \
        "$net" "$km" "$pmm" "$(python3 -c "print($km/$pmm)")" "$N"
done
