#!/usr/bin/env bash
# Regenerates fixtures/k3-*.json: the config.json k3 itself hands its OCI runtime for
# common flags. k3 runs with a private root under a temp dir, a local registry with the
# stand-in image (integration/registry.sh), and --runtime pointing at a wrapper that
# copies the bundle's config.json and then execs runc.
# usage: integration/diff/capture_k3.sh   (root; rewrites fixtures/k3-*.json)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
source "$top/integration/lib.sh"
source "$top/integration/engine_lib.sh"
registry_start >/dev/null
image_build alpine latest "" --config.cmd /bin/sh >/dev/null 2>&1
export K3_DEFAULT_REGISTRY=$REG
cat > "$T/wrap" <<W
#!/bin/sh
b=""; prev=""
for a in "\$@"; do [ "\$prev" = "--bundle" ] || [ "\$prev" = "-b" ] && b=\$a; prev=\$a; done
for a in "\$@"; do if [ "\$a" = create ] && [ -n "\$b" ]; then cp "\$b/config.json" "$T/last.json"; fi; done
exec runc "\$@"
W
chmod +x "$T/wrap"
k3 pull -q alpine >/dev/null
capture() { # NAME K3-CREATE-ARGS...
    local name=$1; shift
    rm -f "$T/last.json"
    k3 --runtime "$T/wrap" create --name "cap-$name" --network none "$@" alpine /bin/probe exit 0 >/dev/null 2>"$T/err" || true
    k3 --runtime "$T/wrap" rm -f "cap-$name" >/dev/null 2>&1 || true
    if [[ -s $T/last.json ]]; then
        jq -S . "$T/last.json" | sed "s#$T#/TMP#g" > "$here/fixtures/k3-$name.json"; echo "captured k3-$name"
    else echo "capture k3-$name failed: $(cat "$T/err")" >&2; fi
}
capture default
capture privileged --privileged
capture cap-drop-all --cap-drop ALL
capture cap-drop-all-add --cap-drop ALL --cap-add CHOWN --cap-add NET_BIND_SERVICE
capture cap-add --cap-add SYS_ADMIN
capture limits --memory 64m --cpus 0.5 --pids-limit 50
capture cgroupns-private --cgroupns private
capture env-hostname -e FOO=bar --hostname k3host
