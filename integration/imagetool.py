#!/usr/bin/env python3
"""Builds test images and pushes them to a registry over its HTTP API.

Used by integration/images.sh and benches/pull.sh; talks only to the
registry address given (a loopback one in the tests).

  imagetool.py push REGISTRY REPO TAG KIND   -> prints JSON facts about what was pushed
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import urllib.request

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_bytes(entries):
    """entries: list of (name, kind, payload) with kind in file/dir/sym/hard/char."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1_600_000_000
            info.mode = 0o755 if kind == "dir" else 0o644
            data = None
            if kind == "file":
                data = payload if isinstance(payload, bytes) else payload.encode()
                info.size = len(data)
                info.mode = 0o755 if name.endswith("busybox") else 0o644
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "sym":
                info.type = tarfile.SYMTYPE
                info.linkname = payload
            elif kind == "hard":
                info.type = tarfile.LNKTYPE
                info.linkname = payload
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def compress(raw, how):
    if how == "gzip":
        return gzip.compress(raw, compresslevel=1, mtime=0), LAYER + "+gzip"
    if how == "zstd":
        out = subprocess.run(["zstd", "-q", "-c", "-3"], input=raw, capture_output=True, check=True)
        return out.stdout, LAYER + "+zstd"
    return raw, LAYER


class Registry:
    def __init__(self, addr, repo):
        self.base = f"http://{addr}/v2/{repo}"

    def blob(self, data):
        digest = sha(data)
        req = urllib.request.Request(self.base + "/blobs/uploads/", method="POST", data=b"")
        with urllib.request.urlopen(req) as r:
            loc = r.headers["Location"]
        if loc.startswith("/"):
            loc = self.base.split("/v2/")[0] + loc
        sep = "&" if "?" in loc else "?"
        req = urllib.request.Request(f"{loc}{sep}digest={digest}", method="PUT", data=data,
                                     headers={"Content-Type": "application/octet-stream"})
        urllib.request.urlopen(req).close()
        return {"digest": digest, "size": len(data)}

    def manifest(self, ref, doc, media):
        data = json.dumps(doc).encode()
        req = urllib.request.Request(f"{self.base}/manifests/{ref}", method="PUT", data=data,
                                     headers={"Content-Type": media})
        urllib.request.urlopen(req).close()
        return sha(data)


def image(reg, layers, arch="amd64"):
    """layers: list of (raw_tar, compression). Returns (manifest digest, facts)."""
    descs, diff_ids = [], []
    for raw, how in layers:
        blob, media = compress(raw, how)
        d = reg.blob(blob)
        d["mediaType"] = media
        descs.append(d)
        diff_ids.append(sha(raw))
    config = {"architecture": arch, "os": "linux", "created": "2026-01-01T00:00:00Z",
              "config": {"Cmd": ["/bin/sh"]}, "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    cdata = json.dumps(config).encode()
    c = reg.blob(cdata)
    c["mediaType"] = OCI_CONFIG
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": c, "layers": descs}
    return doc, descs


def busybox_layer():
    bb = open("/bin/busybox", "rb").read()
    entries = [("bin", "dir", None), ("bin/busybox", "file", bb), ("bin/sh", "sym", "busybox"),
               ("bin/ls", "sym", "busybox"), ("bin/cat", "sym", "busybox"), ("etc", "dir", None),
               ("etc/passwd", "file", "root:x:0:0:root:/root:/bin/sh\n")]
    return tar_bytes(entries)


def push(addr, repo, tag, kind):
    reg = Registry(addr, repo)
    facts = {}
    if kind == "multilayer":
        l1 = tar_bytes([("etc", "dir", None), ("etc/gone", "file", "bye"), ("etc/keep", "file", "k"),
                        ("opq", "dir", None), ("opq/old", "file", "old"), ("data", "dir", None),
                        ("data/a", "file", "a"), ("data/hl", "hard", "data/a")])
        l2 = tar_bytes([("etc", "dir", None), ("etc/.wh.gone", "file", ""), ("opq", "dir", None),
                        ("opq/.wh..wh..opq", "file", ""), ("opq/new", "file", "new"),
                        ("etc/added", "file", "added")])
        doc, descs = image(reg, [(busybox_layer(), "gzip"), (l1, "gzip"), (l2, "none")])
    elif kind == "zstd":
        doc, descs = image(reg, [(busybox_layer(), "zstd"), (tar_bytes([("z", "file", "zstd")]), "zstd")])
    elif kind == "index":
        amd, _ = image(reg, [(tar_bytes([("arch", "file", "amd64")]), "gzip")], "amd64")
        arm, _ = image(reg, [(tar_bytes([("arch", "file", "arm64")]), "gzip")], "arm64")
        entries = []
        for doc_, arch in ((arm, "arm64"), (amd, "amd64")):
            d = reg.manifest(sha(json.dumps(doc_).encode()), doc_, OCI_MANIFEST)
            entries.append({"mediaType": OCI_MANIFEST, "digest": d, "size": len(json.dumps(doc_).encode()),
                            "platform": {"architecture": arch, "os": "linux"}})
            facts[arch] = d
        idx = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        facts["index"] = reg.manifest(tag, idx, OCI_INDEX)
        print(json.dumps(facts))
        return
    elif kind.startswith("evil-"):
        marker = os.environ.get("K3_EVIL_TARGET", "/tmp/k3-evil")
        evil = {
            "evil-traversal": [("ok", "file", "x"), ("../" * 20 + marker.lstrip("/"), "file", "pwned")],
            "evil-symlink": [("ok", "file", "x"), ("esc", "sym", os.path.dirname(marker)),
                             ("esc/" + os.path.basename(marker), "file", "pwned")],
            "evil-hardlink": [("ok", "file", "x"), ("hl", "hard", "../" * 20 + marker.lstrip("/"))],
            "evil-hardlink-via-symlink": [("esc", "sym", "/"), ("hl", "hard", "esc" + marker)],
        }[kind]
        doc, descs = image(reg, [(busybox_layer(), "gzip"), (tar_bytes(evil), "gzip")])
    elif kind == "plain":
        doc, descs = image(reg, [(busybox_layer(), "none"), (tar_bytes([("f", "file", "x" * 100000)]), "none")])
    elif kind == "big":
        rnd = lambda n, seed: hashlib.shake_256(seed).digest(n)
        layers = [(busybox_layer(), "gzip")]
        for i in range(3):
            data = rnd(32 << 20, b"k3-bench-%d" % i)
            layers.append((tar_bytes([(f"data{i}", "dir", None), (f"data{i}/blob", "file", data)]), "gzip"))
        doc, descs = image(reg, layers)
    else:
        raise SystemExit(f"unknown kind {kind}")
    facts["manifest"] = reg.manifest(tag, doc, OCI_MANIFEST)
    facts["layers"] = [d["digest"] for d in descs]
    facts["config"] = doc["config"]["digest"]
    print(json.dumps(facts))


if __name__ == "__main__":
    if len(sys.argv) != 6 or sys.argv[1] != "push":
        raise SystemExit(__doc__)
    push(*sys.argv[2:])
