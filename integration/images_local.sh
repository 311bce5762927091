# Builds a local OCI image layout from the sample busybox rootfs (with the probe) for
# engines that need an image: `oci_busybox DIR` makes DIR (an OCI layout, tag latest).
oci_busybox() {
  local out=$1 tmp
  tmp=$(mktemp -d)
  "$TOP/bundles/mkbundle.sh" "$K3RT" "$tmp/src" >/dev/null
  umoci init --layout "$out" >/dev/null
  umoci new --image "$out:latest" >/dev/null
  umoci unpack --image "$out:latest" "$tmp/bundle" >/dev/null
  cp -a "$tmp/src/rootfs/." "$tmp/bundle/rootfs/"
  umoci repack --image "$out:latest" "$tmp/bundle" >/dev/null
  umoci config --image "$out:latest" --config.cmd sh >/dev/null
  rm -rf "$tmp"
}
