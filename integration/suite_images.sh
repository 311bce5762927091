#!/usr/bin/env bash
# End-to-end tests of `k3` images (root): a private docker-registry on
# loopback, images built with umoci/skopeo and integration/imagetool.py,
# token/basic auth through integration/authproxy.py, malicious layers,
# overlay snapshots and the diskLimit. Ends with `N passed, M failed`.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
K3=${K3:-$REPO/target/x86_64-unknown-linux-gnu/release/k3}
T=$(mktemp -d /tmp/k3-images-it.XXXXXX)
ROOT=$T/k3root
PIDS=()
PASS=0
FAIL=0

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    for m in $(awk -v t="$T" '$2 ~ "^"t {print $2}' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null; done
    for b in /sys/block/loop*/loop/backing_file; do
        [ -f "$b" ] && grep -q "^$T" "$b" 2>/dev/null && losetup -d "/dev/$(basename "$(dirname "$(dirname "$b")")")" 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

ok() { PASS=$((PASS + 1)); echo "ok $1"; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL $1${2:+: $2}"; }
check() { local name=$1; shift; if "$@" >>"$T/log" 2>&1; then ok "$name"; else fail "$name"; fi; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
k3() { "$K3" --root "$ROOT" "$@"; }
blob_count() { find "$ROOT/blobs" -type f | wc -l; }
tmp_count() { find "$ROOT/tmp" -mindepth 1 | wc -l; }
has_record() { local all; all=$(k3 images --format json) && grep -q "\"name\": \"$1\"" <<<"$all"; }
blob_gets() { grep -c 'GET /v2/[^ ]*/blobs/' "$T/registry.log" || true; }

# --- tools: a missing one is a failure, not a skip --------------------------
for tool in /usr/bin/docker-registry umoci skopeo busybox mkfs.ext4 zstd python3 curl "$K3"; do
    if command -v "$tool" >/dev/null 2>&1; then ok "tool $(basename "$tool")"; else fail "tool $(basename "$tool")" "missing (run integration/deps-images.sh / cargo build)"; fi
done
if [ "$(id -u)" != 0 ]; then fail "running as root"; fi

# --- registry -----------------------------------------------------------------
PORT=$(free_port)
REG=127.0.0.1:$PORT
cat >"$T/registry.yml" <<YML
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $T/registry
  delete:
    enabled: true
http:
  addr: $REG
YML
/usr/bin/docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 &
PIDS+=($!)
if wait_port "$PORT"; then ok "registry starts on $REG"; else fail "registry starts" "$(tail -5 "$T/registry.log")"; fi

# --- images: busybox via umoci + skopeo (gzip, and a zstd variant) -------------
# (The zstd variant differs in content: skopeo would otherwise reuse the gzip
# blob it already pushed instead of recompressing.)
build_busybox() {
    umoci init --layout "$T/oci" &&
        umoci new --image "$T/oci:busybox" &&
        umoci unpack --image "$T/oci:busybox" "$T/bundle" &&
        mkdir -p "$T/bundle/rootfs/bin" "$T/bundle/rootfs/etc" &&
        cp /bin/busybox "$T/bundle/rootfs/bin/busybox" &&
        for a in sh ls cat echo; do ln -s busybox "$T/bundle/rootfs/bin/$a"; done &&
        echo "root:x:0:0:root:/root:/bin/sh" >"$T/bundle/rootfs/etc/passwd" &&
        umoci repack --image "$T/oci:busybox" "$T/bundle" &&
        umoci config --image "$T/oci:busybox" --config.cmd /bin/sh &&
        skopeo copy --quiet --dest-tls-verify=false "oci:$T/oci:busybox" "docker://$REG/busybox:latest" &&
        echo zstd >"$T/bundle/rootfs/etc/variant" &&
        umoci repack --image "$T/oci:busybox-z" "$T/bundle" &&
        skopeo copy --quiet --dest-tls-verify=false --dest-compress --dest-compress-format zstd \
            "oci:$T/oci:busybox-z" "docker://$REG/busybox:zstd"
}
check "build busybox with umoci, push gzip and zstd with skopeo" build_busybox
push() { python3 "$HERE/imagetool.py" push "$REG" "$1" "$2" "$3"; }
export K3_EVIL_TARGET=$T/outside/evil-marker
mkdir -p "$T/outside"
for kind in multilayer zstd index plain evil-traversal evil-symlink evil-hardlink evil-hardlink-via-symlink; do
    if push "$kind" v1 "$kind" >"$T/facts-$kind.json" 2>>"$T/log"; then ok "push $kind image"; else fail "push $kind image"; fi
done

# --- pulls ----------------------------------------------------------------------
if out=$(k3 pull "$REG/busybox" 2>&1); then ok "pull busybox (umoci/skopeo, gzip)"; else fail "pull busybox" "$out"; fi
check "busybox unpacked into a layer snapshot" bash -c "ls $ROOT/snapshots/sha256/*/bin/busybox"
check "busybox record listed" has_record "$REG/busybox"
before=$(blob_gets)
out=$(k3 pull "$REG/busybox:latest" 2>&1)
after=$(blob_gets)
if [ "$before" = "$after" ] && grep -q "Up to date" <<<"$out"; then ok "repeated pull downloads nothing"; else fail "repeated pull downloads nothing" "blob GETs $before -> $after: $out"; fi
if out=$(k3 pull --quiet "$REG/busybox:zstd" 2>&1); then ok "pull skopeo zstd image"; else fail "pull skopeo zstd image" "$out"; fi
check "skopeo zstd image has zstd layers" bash -c "$K3 --root $ROOT image inspect $REG/busybox:zstd | grep >/dev/null 'tar+zstd'"
if out=$(k3 pull "$REG/zstd:v1" 2>&1); then ok "pull zstd layers"; else fail "pull zstd layers" "$out"; fi
if out=$(k3 pull "$REG/plain:v1" 2>&1); then ok "pull uncompressed layers"; else fail "pull uncompressed layers" "$out"; fi
if out=$(k3 pull "$REG/multilayer:v1" 2>&1); then ok "pull multi-layer image with whiteouts"; else fail "pull multi-layer image" "$out"; fi

layer_of() { python3 -c "import json,sys; print(json.load(open('$T/facts-$1.json'))['layers'][$2].split(':')[1])"; }
L1=$ROOT/snapshots/sha256/$(layer_of multilayer 1)
L2=$ROOT/snapshots/sha256/$(layer_of multilayer 2)
check "whiteout is a 0/0 char device" bash -c "[ -c $L2/etc/gone ] && [ \"\$(stat -c %t:%T $L2/etc/gone)\" = 0:0 ] && [ ! -e $L2/etc/.wh.gone ]"
check "opaque dir has trusted.overlay.opaque=y" python3 -c "import os,sys; sys.exit(os.getxattr('$L2/opq','trusted.overlay.opaque')!=b'y')"
check "hard link preserved" bash -c "[ \$(stat -c %h $L1/data/hl) = 2 ] && [ \$(stat -c %i $L1/data/hl) = \$(stat -c %i $L1/data/a) ]"
check "mtime preserved" bash -c "[ \$(stat -c %Y $L1/etc/keep) = 1600000000 ]"

if out=$(k3 pull "$REG/index:v1" 2>&1); then ok "pull index with two platforms"; else fail "pull index" "$out"; fi
want=$(python3 -c "import json; print(json.load(open('$T/facts-index.json'))['amd64'])")
check "index resolved to linux/amd64" bash -c "$K3 --root $ROOT image inspect $REG/index:v1 | grep >/dev/null '\"manifest_digest\": \"$want\"'"

# --- failures leave nothing behind ---------------------------------------------
expect_fail() { # name ref pattern
    local name=$1 ref=$2 pat=$3 blobs out rc
    blobs=$(blob_count)
    out=$(k3 pull --json "$ref" 2>/dev/null); rc=$?
    if [ $rc -eq 0 ]; then fail "$name" "pull succeeded"; return; fi
    if ! grep -q '"type":"GENERIC_ERROR"' <<<"$out" || ! grep -q '"statusCode":500' <<<"$out"; then fail "$name" "json: $out"; return; fi
    if ! grep -qi -- "$pat" <<<"$out"; then fail "$name" "message lacks '$pat': $out"; return; fi
    if k3 image inspect "$ref" >/dev/null 2>&1; then fail "$name" "image record left"; return; fi
    if [ "$(blob_count)" != "$blobs" ]; then fail "$name" "blobs $blobs -> $(blob_count)"; return; fi
    if [ "$(tmp_count)" != 0 ]; then fail "$name" "tmp not empty"; return; fi
    ok "$name"
}
for kind in evil-traversal evil-symlink evil-hardlink evil-hardlink-via-symlink; do
    expect_fail "malicious layer rejected: $kind" "$REG/$kind:v1" "layer rejected\|points outside"
done
check "nothing written outside the snapshot" bash -c "[ ! -e $K3_EVIL_TARGET ] && [ -z \"\$(ls -A $T/outside)\" ]"
expect_fail "missing tag" "$REG/busybox:nope" "not found"

# Corrupt one layer blob in the registry's storage (same size, one byte off).
corrupt_digest=$(layer_of plain 1)
data=$T/registry/docker/registry/v2/blobs/sha256/${corrupt_digest:0:2}/$corrupt_digest/data
if [ -f "$data" ]; then
    printf 'Z' | dd of="$data" bs=1 seek=2000 conv=notrunc status=none
    k3 rmi "$REG/plain:v1" >/dev/null 2>&1
    k3 prune >/dev/null 2>&1
    expect_fail "corrupt blob (digest mismatch)" "$REG/plain:v1" "digest mismatch"
else
    fail "corrupt blob (digest mismatch)" "blob file $data not found"
fi

# --- auth -----------------------------------------------------------------------
APORT=$(free_port)
python3 "$HERE/authproxy.py" "$APORT" "http://$REG" bearer alice:s3cret >"$T/auth.log" 2>&1 &
PIDS+=($!)
BPORT=$(free_port)
python3 "$HERE/authproxy.py" "$BPORT" "http://$REG" basic bob:pw >"$T/basic.log" 2>&1 &
PIDS+=($!)
FPORT=$(free_port)
python3 "$HERE/authproxy.py" "$FPORT" "http://$REG" none --flaky 3 >"$T/flaky.log" 2>&1 &
PIDS+=($!)
wait_port "$APORT" && wait_port "$BPORT" && wait_port "$FPORT"
expect_fail "token auth without credentials is denied" "127.0.0.1:$APORT/multilayer:v1" "denied"
b64() { printf %s "$1" | base64 -w0; }
cat >"$T/auth.json" <<JSON
{"auths": {"127.0.0.1:$APORT": {"auth": "$(b64 alice:s3cret)"}, "127.0.0.1:$BPORT": {"auth": "$(b64 bob:pw)"}}}
JSON
if out=$(k3 --auth-file "$T/auth.json" pull "127.0.0.1:$APORT/multilayer:v1" 2>&1); then ok "bearer token auth pull"; else fail "bearer token auth pull" "$out"; fi
check "token endpoint was used" grep -q "GET /token" "$T/auth.log"
if out=$(k3 --auth-file "$T/auth.json" pull "127.0.0.1:$BPORT/zstd:v1" 2>&1); then ok "basic auth pull"; else fail "basic auth pull" "$out"; fi
k3 rmi "$REG/busybox:latest" >/dev/null 2>&1; k3 rmi "$REG/busybox:zstd" >/dev/null 2>&1; k3 prune >/dev/null 2>&1
if out=$(k3 pull "127.0.0.1:$FPORT/busybox:latest" 2>&1); then ok "pull survives dropped connections"; else fail "pull survives dropped connections" "$out"; fi
check "dropped blob streams resumed with Range" grep -q "blobs/.*range=bytes=65536-" "$T/flaky.log"

# --- snapshots ------------------------------------------------------------------
if rootfs=$(k3 snapshot prepare c1 "$REG/multilayer:v1" 2>&1); then ok "snapshot prepare (overlay)"; else fail "snapshot prepare" "$rootfs"; fi
check "rootfs merges layers" bash -c "[ -x $rootfs/bin/busybox ] && [ -f $rootfs/etc/keep ] && [ -f $rootfs/etc/added ]"
check "whiteout hides lower file" bash -c "[ ! -e $rootfs/etc/gone ]"
check "opaque dir hides lower content" bash -c "[ ! -e $rootfs/opq/old ] && [ -f $rootfs/opq/new ]"
check "writes land in the private upper" bash -c "echo hi > $rootfs/newfile && [ -f $ROOT/overlays/c1/upper/newfile ] && [ ! -e $L2/newfile ]"
out=$(k3 rmi "$REG/multilayer:v1" 2>&1)
if [ $? -ne 0 ] && grep -q "in use" <<<"$out"; then ok "rmi refuses an image in use"; else fail "rmi refuses an image in use" "$out"; fi
check "snapshot rm" k3 snapshot rm c1
check "snapshot unmounted and deleted" bash -c "! grep -q $ROOT/overlays/c1 /proc/mounts && [ ! -e $ROOT/overlays/c1 ]"

if rootfs=$(k3 snapshot prepare c2 "$REG/multilayer:v1" --disk-limit 16 2>&1); then ok "snapshot prepare with diskLimit 16 MB"; else fail "snapshot prepare with diskLimit" "$rootfs"; fi
check "small write under diskLimit works" dd if=/dev/zero of="$rootfs/small" bs=1M count=4 status=none
out=$(dd if=/dev/zero of="$rootfs/big" bs=1M count=32 2>&1)
if [ $? -ne 0 ] && grep -q "No space left on device" <<<"$out"; then ok "write past diskLimit gives ENOSPC"; else fail "write past diskLimit gives ENOSPC" "$out"; fi
loopdev=$(awk -v m="$ROOT/overlays/c2/rw" '$2 == m {print $1}' /proc/mounts)
check "snapshot rm with diskLimit" k3 snapshot rm c2
check "loop device detached" bash -c "[ -n '$loopdev' ] && sleep 0.5 && [ ! -s /sys/block/$(basename "${loopdev:-none}")/loop/backing_file ] 2>/dev/null; ! grep -q $ROOT /proc/mounts"
check "bad container id refused" bash -c "! $K3 --root $ROOT snapshot prepare ../x $REG/multilayer:v1"

# --- images / inspect / rmi / prune ----------------------------------------------
check "images table" bash -c "$K3 --root $ROOT images | grep >/dev/null '^REPOSITORY' && $K3 --root $ROOT images | grep >/dev/null multilayer"
check "images --format json" bash -c "$K3 --root $ROOT images --format json | python3 -c 'import json,sys; assert len(json.load(sys.stdin)) >= 3'"
check "image inspect" bash -c "$K3 --root $ROOT image inspect $REG/multilayer:v1 | grep >/dev/null config_digest"
check "image inspect of unknown image fails" bash -c "! $K3 --root $ROOT image inspect $REG/none:v1"
check "rmi" k3 rmi "$REG/multilayer:v1"
check "rmi removed the record" bash -c "! $K3 --root $ROOT image inspect $REG/multilayer:v1"
mkdir -p "$ROOT/tmp/leftover"
check "prune" k3 prune
check "prune emptied tmp" bash -c "[ -z \"\$(ls -A $ROOT/tmp)\" ]"
check "blobs left are all referenced" bash -c "[ \$($K3 --root $ROOT prune | grep -o 'Deleted [0-9]* blobs') = 'Deleted 0 blobs' ] 2>/dev/null || $K3 --root $ROOT prune | grep >/dev/null 'Deleted 0 blobs'"

# --- a moved tag does not pull layers from under a snapshot ----------------------------
if rootfs=$(k3 snapshot prepare c3 "$REG/zstd:v1" 2>&1); then ok "snapshot prepare c3 (zstd image)"; else fail "snapshot prepare c3" "$rootfs"; fi
old_layer=$ROOT/snapshots/sha256/$(layer_of zstd 1)
push zstd v1 multilayer >/dev/null 2>>"$T/log"
check "re-pull of a moved tag" k3 pull --quiet "$REG/zstd:v1"
check "prune keeps layers a snapshot uses" bash -c "$K3 --root $ROOT prune && [ -d $old_layer ] && [ \"\$(cat $rootfs/z)\" = zstd ]"
check "snapshot rm c3" k3 snapshot rm c3
check "prune then removes them" bash -c "$K3 --root $ROOT rmi 127.0.0.1:$BPORT/zstd:v1 && $K3 --root $ROOT prune && [ ! -e $old_layer ]"

# --- registry down --------------------------------------------------------------------
kill "${PIDS[0]}" 2>/dev/null; wait "${PIDS[0]}" 2>/dev/null
expect_fail "registry down" "$REG/busybox:other" "cannot reach registry"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
