#!/usr/bin/env bash
# Builds a busybox bundle: DIR/rootfs from Debian's busybox-static plus the static
# probe, and DIR/config.json from `k3rt spec` running ARGS (default: sh).
# usage: bundles/mkbundle.sh K3RT DIR [ARGS...]
set -euo pipefail
k3rt=$(realpath "$1") dir=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
busybox=${BUSYBOX:-/bin/busybox}
[[ -x $busybox ]] || { echo "mkbundle: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || ldd "$busybox" 2>&1 | grep -q 'not a dynamic' \
  || { echo "mkbundle: $busybox is not static" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir/rootfs"/{bin,sbin,etc,tmp,root,proc,sys,dev,usr/bin,var}
cp "$busybox" "$dir/rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [[ -e $dir/rootfs/bin/$applet ]] || ln -s busybox "$dir/rootfs/bin/$applet"
done
make -s -C "$here/probe" >/dev/null
cp "$here/probe/probe" "$dir/rootfs/bin/probe"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$dir/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$dir/rootfs/etc/group"
chmod 1777 "$dir/rootfs/tmp"
(cd "$dir" && "$k3rt" spec)
args=$(printf '%s\n' "${@:-sh}" | jq -R . | jq -s -c .)
jq --argjson a "$args" '.process.terminal = false | .process.args = $a' "$dir/config.json" > "$dir/config.json.new"
mv "$dir/config.json.new" "$dir/config.json"
