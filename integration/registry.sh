# Shared by the engine suites (source it): a private docker-registry on
# 127.0.0.1 and busybox-based stand-in images built with umoci and pushed
# with skopeo. Needs $T (a scratch dir the suite removes) and PIDS (array).
#
#   registry_start            sets REG=127.0.0.1:PORT
#   image_build NAME TAG DIR [umoci config flags...]
#       rootfs = busybox (+ the static probe) + the files under DIR, pushed
#       as $REG/NAME:TAG

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo >"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

registry_start() {
    local port
    port=$(free_port)
    REG=127.0.0.1:$port
    cat >"$T/registry.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $T/registry
http:
  addr: $REG
YML
    /usr/bin/docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 &
    PIDS+=($!)
    wait_port "$port" || { echo "registry did not start: $(tail -5 "$T/registry.log")" >&2; return 1; }
}

image_build() {
    local name=$1 tag=$2 extra=$3; shift 3
    local lay=$T/oci-$name-$tag bundle=$T/ub-$name-$tag
    rm -rf "$lay" "$bundle"
    umoci init --layout "$lay" >/dev/null
    umoci new --image "$lay:$tag" >/dev/null
    umoci unpack --image "$lay:$tag" "$bundle" >/dev/null
    local r=$bundle/rootfs
    mkdir -p "$r"/{bin,sbin,etc,tmp,root,usr/bin,var,proc,sys,dev}
    cp /bin/busybox "$r/bin/busybox"
    for a in $(/bin/busybox --list); do [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"; done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$r/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
    chmod 1777 "$r/tmp"
    if [ -n "$extra" ] && [ -d "$extra" ]; then cp -a "$extra/." "$r/"; fi
    umoci repack --image "$lay:$tag" "$bundle" >/dev/null
    if [ $# -gt 0 ]; then umoci config --image "$lay:$tag" "$@" >/dev/null; fi
    skopeo copy --quiet --dest-tls-verify=false "oci:$lay:$tag" "docker://$REG/$name:$tag"
}
