#!/usr/bin/env bash
# Regenerates fixtures/cri-*.json: the config.json containerd's CRI plugin hands its
# runtime for the kubelet-style containers of integration/suite_cri.sh's security
# context test (drop ALL + add one, read-only root, no_new_privs, RuntimeDefault
# seccomp, the kubelet's masked/read-only paths; run_as_user; drop ALL alone) and for
# the pod's sandbox. The suite runs with BinaryName set to a wrapper that copies each
# bundle's config.json (named after the CRI container name) and execs k3rt.
# usage: integration/diff/capture_cri.sh   (root; rewrites fixtures/cri-*.json)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
k3rt=${K3RT:-$top/target/x86_64-unknown-linux-gnu/release/k3rt}
tmp=$(mktemp -d /tmp/k3diff-cri.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/cap"
cat > "$tmp/wrap" <<W
#!/bin/sh
b=""; prev=""; verb=""
for a in "\$@"; do
  case "\$a" in create) [ -z "\$verb" ] && verb=create ;; esac
  [ "\$prev" = "--bundle" ] && b=\$a; prev=\$a
done
if [ "\$verb" = create ] && [ -n "\$b" ]; then
  n=\$(jq -r '.annotations["io.kubernetes.cri.container-name"] // "sandbox"' "\$b/config.json")
  cp "\$b/config.json" "$tmp/cap/\$n.json"
fi
exec "$k3rt" "\$@"
W
chmod +x "$tmp/wrap"
CRI_BINARY=$tmp/wrap ONLY=security_context bash "$top/integration/suite_cri.sh" >/dev/null
for f in "$tmp"/cap/*.json; do
  name=$(basename "$f" .json)
  jq -S . "$f" | sed -E 's#/tmp/k3-cri\.[A-Za-z0-9]+#/TMP#g' > "$here/fixtures/cri-$name.json"
  echo "captured cri-$name"
done
