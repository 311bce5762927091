# Shared by the k3rt suites: a private state root, a work dir, the base busybox
# bundle, helpers to derive bundles from it, and cleanup of everything they made.

ROOT=/run/k3rt-it-$$
WORK=$(mktemp -d /tmp/k3rt-it.XXXXXX)
chmod 755 "$WORK" # the mapped root of a user namespace must reach the rootfs
k() { "$K3RT" --root "$ROOT" "$@"; }

cleanup() {
  after_each
  rmdir /sys/fs/cgroup/*/k3rt/it-* 2>/dev/null || true
  rm -rf "$WORK"
  rmdir "$ROOT" 2>/dev/null || true
}
trap cleanup EXIT

# after_each: run by run_suite after every test, so one that failed midway leaves
# nothing running into the next.
after_each() {
  local id
  for id in $(ls "$ROOT" 2>/dev/null); do k delete --force "$id" >/dev/null 2>&1 || rm -rf "${ROOT:?}/$id"; done
}

"$TOP/bundles/mkbundle.sh" "$K3RT" "$WORK/base" probe ids >/dev/null || { echo "FAIL bundle"; echo "0 passed, 1 failed"; exit 1; }

# mkb NAME [JQ-FILTER]: a bundle sharing the base rootfs, with the config edited.
mkb() {
  local d=$WORK/$1
  mkdir -p "$d"
  jq --arg r "$WORK/base/rootfs" ".root.path = \$r | ${2:-.}" "$WORK/base/config.json" > "$d/config.json"
  echo "$d"
}

args() { printf '%s\n' "$@" | jq -R . | jq -s -c .; }

# leftovers ID: nothing of the container remains (state dir, cgroups).
no_leftovers() {
  [[ ! -e $ROOT/$1 ]] || fail "state dir $ROOT/$1 left behind"
  local left
  left=$(ls -d /sys/fs/cgroup/*/k3rt/"$1" 2>/dev/null || true)
  [[ -z $left ]] || fail "cgroup left behind: $left"
}

status_of() { k state "$1" | jq -r .status; }

# mkpriv NAME [JQ-FILTER]: a bundle with a private, writable copy of the rootfs.
mkpriv() {
  local d=$WORK/$1
  mkdir -p "$d"
  cp -a "$WORK/base/rootfs" "$d/rootfs"
  jq ".root.path = \"rootfs\" | .root.readonly = false | ${2:-.}" "$WORK/base/config.json" > "$d/config.json"
  echo "$d"
}

# loop_device_read NAME [allow]: a container makes a node for the loop device 7:0 and
# reads one byte from it; prints READ or denied. Only the device policy decides (the
# node is the container's own, CAP_MKNOD given); `allow` adds a rule for it.
loop_device_read() {
  local caps='.process.capabilities.bounding += ["CAP_MKNOD"] | .process.capabilities.effective += ["CAP_MKNOD"] | .process.capabilities.permitted += ["CAP_MKNOD"] | .root.readonly = false'
  local rule=
  [[ ${2:-} == allow ]] && rule=' | .linux.resources.devices += [{"allow":true,"type":"b","major":7,"minor":0,"access":"rm"}]'
  local cmd="mknod /dev/k3loop b 7 0 2>/dev/null; head -c 1 /dev/k3loop >/dev/null 2>&1 && echo READ || echo denied"
  local b; b=$(mkpriv "$1" "$caps$rule | .process.args = [\"sh\",\"-c\",\"$cmd\"]")
  k run -b "$b" "it-$1"
}
