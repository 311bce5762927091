#!/usr/bin/env python3
"""Differential harness: runs the same bundle under runc, crun and k3rt and compares what
the container observes (bundles/probe `json`) and what each runtime answers (exit codes,
refusals, state, hooks, leftovers after delete).

Configs: the fixtures in fixtures/ (what real engines and runtimes generate) and configs
generated from them, deterministically from a seed, by mutating along the runtime-spec.

A difference between k3rt and runc is accepted only when crun agrees with k3rt (runc and
crun disagree: either answer is acceptable) or when a row of docs/compat.md covers it;
every other difference fails the run.

usage: diff.py [--count N] [--seed S] [--jobs J] [--fixtures-only] [--only IDX] [--show IDX]
"""
import argparse
import copy
import fnmatch
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
K3RT = os.environ.get("K3RT", os.path.join(TOP, "target/x86_64-unknown-linux-gnu/release/k3rt"))
RUNTIMES = {"runc": os.environ.get("RUNC", "runc"), "crun": os.environ.get("CRUN", "crun"), "k3rt": K3RT}
ORDER = ["runc", "crun", "k3rt"]
COMPAT = os.path.join(TOP, "docs", "compat.md")
HOOK_KINDS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
DEFAULT_PATHS = ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sys", "/proc/sysrq-trigger",
                 "/proc/acpi", "/sys/firmware", "/proc/bus", "/proc/irq", "/etc/hostname", "/etc/passwd",
                 "/mnt", "/data", "/tmp"]
CGROUP_ROOT = "/sys/fs/cgroup"


# ---------------------------------------------------------------- compat table
def load_compat():
    """Rows of the table in docs/compat.md between the markers: key | tags | match | reason."""
    rows = []
    inside = False
    for line in open(COMPAT):
        if "<!-- diff:begin -->" in line:
            inside = True
            continue
        if "<!-- diff:end -->" in line:
            break
        if not inside or not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        cells = [c[1:-1] if len(c) > 1 and c[0] == c[-1] == "`" else c for c in cells]
        if len(cells) < 4 or cells[0] in ("key", "") or set(cells[0]) <= set("-: "):
            continue
        rows.append({"key": cells[0], "tags": cells[1].split(), "match": cells[2], "reason": cells[3]})
    return rows


def items(rv, kv):
    """What differs, as strings a compat row's `match` glob is tested against: for lists,
    `-X` (only runc has X) and `+X` (only k3rt has X); else `runc=R k3rt=K` (JSON)."""
    if isinstance(rv, list) and isinstance(kv, list):
        return ["-" + str(x) for x in rv if x not in kv] + ["+" + str(x) for x in kv if x not in rv]
    return [f"runc={json.dumps(rv)} k3rt={json.dumps(kv)}"]


def allowed(compat, key, tags, rv, kv):
    """The reason when rows cover every item of the difference, else None. A row applies
    when its key glob matches and every one of its tag globs matches some tag."""
    rows = [r for r in compat if fnmatch.fnmatchcase(key, r["key"])
            and all(any(fnmatch.fnmatchcase(t, g) for t in tags + ["*"]) for g in r["tags"])]
    if not rows:
        return None
    reasons = []
    # lists with the same members in another order have no item: the order is the item
    for it in items(rv, kv) or ["(order)"]:
        r = next((r for r in rows if fnmatch.fnmatchcase(it, r["match"])), None)
        if r is None:
            return None
        reasons.append(r["reason"])
    return "; ".join(sorted(set(reasons)))


# ---------------------------------------------------------------- configs
def load_fixtures():
    out = {}
    for f in sorted(os.listdir(os.path.join(HERE, "fixtures"))):
        if f.endswith(".json"):
            out[f[:-5]] = json.load(open(os.path.join(HERE, "fixtures", f)))
    return out


def normalise_fixture(cfg):
    """Rewrites a fixture to run the probe bundle: root, args, terminal, version."""
    c = copy.deepcopy(cfg)
    c["ociVersion"] = "1.0.2"  # crun 1.8 knows runtime-spec up to 1.0.x
    c["root"] = {"path": "ROOTFS", "readonly": bool(c.get("root", {}).get("readonly", False))}
    p = c.setdefault("process", {})
    p["terminal"] = False
    p.pop("consoleSize", None)
    p["args"] = ["/bin/probe", "json"]
    p.setdefault("cwd", "/")
    lin = c.setdefault("linux", {})
    # podman's own bits that point into its storage: volumes are rebound to our volume dir,
    # /etc files it generated are dropped (the probe rootfs has its own).
    mounts = []
    for m in c.get("mounts", []):
        src = m.get("source", "")
        if src.startswith("/TMP/vol"):
            m["source"] = "VOLUME"
        elif src.startswith("/TMP") or "/containers/" in src or "/userdata/" in src:
            continue
        mounts.append(m)
    c["mounts"] = mounts
    for k in ("cgroupsPath", "seccomp"):
        pass
    lin.pop("cgroupsPath", None)
    # namespaces an engine made or joined for the captured container (k3's netns, a
    # pod's sandbox namespaces, a CNI netns) are new ones here
    for ns in lin.get("namespaces", []):
        if ns.get("path", "").startswith(("/TMP", "/proc/", "/var/run/netns/", "/run/netns/")):
            ns.pop("path")
    for h in list(c.get("hooks", {})):
        c["hooks"].pop(h)
    ann = c.get("annotations") or {}
    c["annotations"] = {k: v for k, v in ann.items() if not k.startswith("io.podman") and not k.startswith("org.opencontainers.image")}
    return c


CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE",
        "CAP_SETFCAP", "CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_RESOURCE"]
CAPSETS = ["bounding", "effective", "inheritable", "permitted", "ambient"]


def m_caps(c, r, tags):
    p = c["process"]
    k = r.choice(["absent", "empty", "partial", "random", "ambient", "unknown"])
    tags.append("caps." + k)
    if k == "absent":
        p.pop("capabilities", None)
    elif k == "empty":
        p["capabilities"] = {}
    elif k == "partial":
        sets = r.sample(CAPSETS, r.randint(1, 3))
        p["capabilities"] = {s: r.sample(CAPS, r.randint(0, 5)) for s in sets}
        tags.append("caps.partial." + ",".join(sorted(sets)))
    elif k == "random":
        p["capabilities"] = {s: r.sample(CAPS, r.randint(0, 8)) for s in CAPSETS}
    elif k == "ambient":
        base = r.sample(CAPS, 4)
        p["capabilities"] = {"bounding": base, "permitted": base, "effective": base,
                             "inheritable": base[: r.randint(0, 4)], "ambient": base[: r.randint(1, 4)]}
    else:
        p["capabilities"] = {s: ["CAP_CHOWN", "CAP_NOT_A_CAP"] for s in CAPSETS}


def m_user(c, r, tags):
    u = c["process"].setdefault("user", {})
    u["uid"] = r.choice([0, 1000, 65534])
    u["gid"] = r.choice([0, 1000, 65534])
    k = r.choice(["none", "empty", "some"])
    if k == "none":
        u.pop("additionalGids", None)
    elif k == "empty":
        u["additionalGids"] = []
    else:
        u["additionalGids"] = r.sample([0, 10, 100, 1000, 65534], r.randint(1, 3))
    if r.random() < 0.5:
        u["umask"] = r.choice([0, 0o22, 0o77, 0o777])
        tags.append("user.umask")
    tags.append("user." + ("root" if u["uid"] == 0 else "nonroot"))


RLIMITS = ["RLIMIT_NOFILE", "RLIMIT_CORE", "RLIMIT_NPROC", "RLIMIT_STACK", "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE"]


def m_rlimits(c, r, tags):
    p = c["process"]
    k = r.choice(["absent", "empty", "some", "some", "bad-name", "soft-gt-hard", "dup"])
    tags.append("rlimits." + k)
    if k == "absent":
        p.pop("rlimits", None)
    elif k == "empty":
        p["rlimits"] = []
    else:
        rl = []
        for n in r.sample(RLIMITS, r.randint(1, 3)):
            hard = r.choice([0, 64, 1024, 4096, 1048576])
            soft = r.choice([0, hard // 2, hard])
            rl.append({"type": n, "hard": hard, "soft": soft})
            if n == "RLIMIT_NOFILE" and soft < 16:
                tags.append("rlimits.nofile-tiny")
        if k == "bad-name":
            rl.append({"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1})
        elif k == "soft-gt-hard":
            rl.append({"type": "RLIMIT_NOFILE", "hard": 100, "soft": 200})
        elif k == "dup":
            rl.append(dict(rl[0]))
        p["rlimits"] = rl


def m_paths(c, r, tags):
    lin = c["linux"]
    cand = ["/proc/kcore", "/etc/hostname", "/etc/passwd", "/tmp", "/nonexistent", "/proc/sys", "/sys/firmware", "/mnt"]
    for key in ("maskedPaths", "readonlyPaths"):
        k = r.choice(["keep", "absent", "empty", "add"])
        tags.append(key + "." + k)
        if k == "absent":
            lin.pop(key, None)
        elif k == "empty":
            lin[key] = []
        elif k == "add":
            lin.setdefault(key, [])
            lin[key] = lin[key] + r.sample(cand, r.randint(1, 3))


PROP = ["private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable"]


def m_mounts(c, r, tags):
    k = r.choice(["tmpfs", "bind", "bind", "rootprop", "bad-type"])
    tags.append("mounts." + k)
    if k == "tmpfs":
        opts = r.sample(["nosuid", "nodev", "noexec", "ro", "mode=700", "size=1m"] + PROP, r.randint(0, 4))
        c["mounts"].append({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": opts})
    elif k == "bind":
        opts = [r.choice(["bind", "rbind"])] + r.sample(["ro", "nosuid", "nodev", "noexec"] + PROP, r.randint(0, 3))
        c["mounts"].append({"destination": "/data", "type": "bind", "source": "VOLUME", "options": opts})
        tags.extend("mounts.opt." + o for o in opts)
    elif k == "rootprop":
        c["linux"]["rootfsPropagation"] = r.choice(PROP[:6])
        tags.append("rootprop." + c["linux"]["rootfsPropagation"])
    else:
        c["mounts"].append({"destination": "/mnt", "type": "nosuchfs", "source": "none", "options": []})


def m_hooks(c, r, tags):
    kinds = r.sample(HOOK_KINDS, r.randint(1, 4))
    fail = r.choice(kinds + [None, None])
    hooks = {}
    for kind in HOOK_KINDS:
        if kind not in kinds:
            continue
        n = r.randint(1, 2)
        lst = []
        for i in range(n):
            lst.append({"path": "/bin/sh", "args": ["sh", "-c", 'printf "%s %s\\n" "$1" "$(tr -d " \\n" | sed -n "s/.*\\"status\\":\\"\\([a-z]*\\)\\".*/\\1/p")" >> HOOKLOG; exit $2', "sh",
                                                    f"{kind}{i}", "1" if (kind == fail and i == n - 1) else "0"]})
        hooks[kind] = lst
    c["hooks"] = hooks
    tags.append("hooks")
    if fail:
        tags.append("hooks.fail." + fail)


NS = ["pid", "network", "ipc", "uts", "mount", "cgroup"]


def m_ns(c, r, tags):
    lin = c["linux"]
    k = r.choice(["drop", "drop", "add", "dup", "bad", "user", "join"])
    tags.append("ns." + k)
    cur = [n["type"] for n in lin.get("namespaces", [])]
    if k == "user":
        # a user namespace with no mappings, the host's range shifted, or the identity
        m = r.choice(["none", "shifted", "identity"])
        tags.append("ns.user." + m)
        lin["namespaces"] = [n for n in lin.get("namespaces", []) if n["type"] != "user"] + [{"type": "user"}]
        maps = {"none": None, "shifted": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                "identity": [{"containerID": 0, "hostID": 0, "size": 4294967295}]}[m]
        for key in ("uidMappings", "gidMappings"):
            if maps is None:
                lin.pop(key, None)
            else:
                lin[key] = maps
        return
    if k == "join":
        # joined by path: the host's own namespace, through pid 1
        j = r.choice(["ipc", "uts", "network"])
        tags.append("ns.join." + j)
        proc = {"network": "net"}.get(j, j)
        lin["namespaces"] = [n for n in lin.get("namespaces", []) if n["type"] != j] + [{"type": j, "path": "/proc/1/ns/" + proc}]
        return
    if k == "drop" and cur:
        d = r.choice([n for n in cur if n != "mount"] or cur)
        lin["namespaces"] = [n for n in lin["namespaces"] if n["type"] != d]
        tags.append("ns.drop." + d)
    elif k == "add":
        miss = [n for n in NS if n not in cur]
        if miss:
            a = r.choice(miss)
            lin.setdefault("namespaces", []).append({"type": a})
            tags.append("ns.add." + a)
    elif k == "dup" and cur:
        lin["namespaces"].append({"type": cur[0]})
    elif k == "bad":
        lin.setdefault("namespaces", []).append({"type": "nosuchns"})


def m_sysctl(c, r, tags):
    choices = {"kernel.shm_rmid_forced": "1", "net.ipv4.ip_forward": "1", "kernel.domainname": "k3diff.test",
               "net.core.somaxconn": "1000", "fs.mqueue.queues_max": "100", "kernel.msgmax": "4096", "vm.swappiness": "10"}
    keys = r.sample(sorted(choices), r.randint(1, 3))
    c["linux"]["sysctl"] = {k: choices[k] for k in keys}
    tags.extend("sysctl." + k for k in keys)


def m_nnp(c, r, tags):
    v = r.choice([True, False, None])
    if v is None:
        c["process"].pop("noNewPrivileges", None)
    else:
        c["process"]["noNewPrivileges"] = v
    tags.append("nnp.%s" % v)


def m_env(c, r, tags):
    p = c["process"]
    k = r.choice(["absent", "empty", "nopath", "dup", "noeq", "extra"])
    tags.append("env." + k)
    if k == "absent":
        p.pop("env", None)
    elif k == "empty":
        p["env"] = []
    elif k == "nopath":
        p["env"] = [e for e in p.get("env", []) if not e.startswith("PATH=")] + ["FOO=1"]
    elif k == "dup":
        p["env"] = p.get("env", []) + ["FOO=1", "FOO=2"]
    elif k == "noeq":
        p["env"] = p.get("env", []) + ["FOO"]
    else:
        p["env"] = p.get("env", []) + ["HOME=/tmp", "EMPTY=", "SP=a b"]


def m_cwd(c, r, tags):
    v = r.choice(["/", "/tmp", "/nonexistent/dir", "tmp", "/etc/passwd", "/proc"])
    c["process"]["cwd"] = v
    tags.append("cwd." + v)


def m_host(c, r, tags):
    k = r.choice(["hostname", "domainname", "both", "absent"])
    tags.append("uts." + k)
    if k in ("hostname", "both"):
        c["hostname"] = "k3diff"
    if k in ("domainname", "both"):
        c["domainname"] = "example.test"
    if k == "absent":
        c.pop("hostname", None)
        c.pop("domainname", None)


def m_misc(c, r, tags):
    k = r.choice(["oom", "oom-bad", "root-ro", "exit", "noexec", "missing-bin", "annotations", "pids"])
    tags.append("misc." + k)
    p = c["process"]
    if k == "oom":
        p["oomScoreAdj"] = r.choice([-1000, -5, 0, 100, 1000])
    elif k == "oom-bad":
        p["oomScoreAdj"] = 5000
    elif k == "root-ro":
        c["root"]["readonly"] = not c["root"]["readonly"]
    elif k == "exit":
        p["args"] = ["/bin/probe", "exit", str(r.choice([0, 1, 3, 126, 127, 255]))]
    elif k == "noexec":
        p["args"] = ["/etc/passwd"]
    elif k == "missing-bin":
        p["args"] = [r.choice(["/bin/nope", "nope"])]
    elif k == "annotations":
        c["annotations"] = {"org.k3.test": "1", "a.b": ""}
    elif k == "pids":
        c["linux"].setdefault("resources", {})["pids"] = {"limit": r.choice([10, 100])}


MUTATORS = [m_caps, m_user, m_rlimits, m_paths, m_mounts, m_hooks, m_ns, m_sysctl, m_nnp, m_env, m_cwd, m_host, m_misc]


def generate(fixtures, seed, count):
    """Fixture configs first, then COUNT-len(fixtures) mutants; same seed, same list."""
    names = sorted(fixtures)
    out = [(f"fixture:{n}", ["fixture", "fixture." + n], normalise_fixture(fixtures[n])) for n in names]
    r = random.Random(seed)
    while len(out) < count:
        base = r.choice(names)
        c = normalise_fixture(fixtures[base])
        tags = ["base." + base]
        for m in r.sample(MUTATORS, r.randint(1, 3)):
            m(c, r, tags)
        out.append((f"gen:{seed}:{len(out)}:{base}", tags, c))
    return out[:count] if count >= len(names) else out


# ---------------------------------------------------------------- running
def sh(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=kw.pop("timeout", 20), **kw)


def cgroup_dirs(path):
    """The directories a cgroupsPath maps to on this host (v1 controllers and the v2 root)."""
    out = []
    for d in sorted(os.listdir(CGROUP_ROOT)):
        full = os.path.join(CGROUP_ROOT, d)
        if os.path.isdir(full) and not os.path.islink(full):
            out.append(os.path.join(full, path.lstrip("/")))
    return out


def run_one(rt, cfg, work, cid, mode):
    """Runs CFG under runtime RT in WORK; returns what is observed."""
    os.makedirs(work)
    root = os.path.join(work, "root")
    bundle = os.path.join(work, "bundle")
    os.makedirs(bundle)
    hooklog = os.path.join(work, "hooks.log")
    cg = f"/k3diff/{cid}"
    text = json.dumps(cfg).replace("HOOKLOG", hooklog)
    c = json.loads(text)
    c["linux"]["cgroupsPath"] = cg
    json.dump(c, open(os.path.join(bundle, "config.json"), "w"))
    base = [RUNTIMES[rt], "--root", root]
    obs = {}
    out = os.path.join(work, "out")
    errf = os.path.join(work, "err")
    try:
        if mode == "run":
            # files, not pipes: the container inherits them and may outlive the runtime
            with open(out, "w") as f, open(errf, "w+") as e:
                p = subprocess.run(base + ["run", "--bundle", bundle, cid], stdin=subprocess.DEVNULL, stdout=f,
                                   stderr=e, timeout=20)
            obs["run.rc"] = p.returncode
            err = open(errf, errors="replace").read()
        else:
            with open(out, "w") as f, open(errf, "w+") as e:
                p = subprocess.run(base + ["create", "--bundle", bundle, cid], stdin=subprocess.DEVNULL, stdout=f,
                                   stderr=e, timeout=20)
            obs["create.ok"] = p.returncode == 0
            err = open(errf, errors="replace").read()
            if p.returncode == 0:
                obs["state.created"] = norm_state(sh(base + ["state", cid]), cid, bundle)
                p = sh(base + ["start", cid])
                obs["start.ok"] = p.returncode == 0
                err += p.stderr.decode(errors="replace")
                st = None
                for _ in range(200):
                    st = norm_state(sh(base + ["state", cid]), cid, bundle)
                    if st.get("status") != "running":
                        break
                    time.sleep(0.01)
                obs["state.after"] = st
                p = sh(base + ["delete", cid])
                obs["delete.ok"] = p.returncode == 0
    except subprocess.TimeoutExpired:
        obs["timeout"] = True
        err = ""
    finally:
        sh(base + ["delete", "-f", cid])
    raw = open(out, errors="replace").read() if os.path.exists(out) else ""
    obs["stderr"] = err[-400:]
    probe = None
    if raw.startswith("{"):
        try:
            probe = json.loads(raw)
        except ValueError:
            probe = None
    obs["probe"] = probe
    if probe is None:
        obs["stdout"] = raw[:400]
    obs["hooks"] = open(hooklog).read().split("\n")[:-1] if os.path.exists(hooklog) else []
    left = []
    if os.path.isdir(root):
        left += ["state:" + e for e in sorted(os.listdir(root))]
    left += ["cgroup:" + d.replace(cg, "CG") for d in cgroup_dirs(cg) if os.path.isdir(d)]
    with open("/proc/self/mountinfo") as f:
        left += ["mount:" + line.split()[4].replace(work, "WORK") for line in f if work in line]
    obs["leftovers"] = left
    for d in cgroup_dirs(cg):  # leave the host clean whatever the runtime did
        if os.path.isdir(d):
            try:
                os.rmdir(d)
            except OSError:
                pass
    return obs


def norm_state(p, cid, bundle):
    if p.returncode != 0:
        return {"error": True}
    try:
        s = json.loads(p.stdout)
    except ValueError:
        return {"error": "json"}
    return {"status": s.get("status"), "id": s.get("id") == cid, "bundle": s.get("bundle") == bundle,
            "pid": (s.get("pid") or 0) > 0 if s.get("status") in ("created", "running") else None,
            "annotations": s.get("annotations") or {}}


def norm_mountinfo(text, rootfs, volume, cid):
    out = []
    for line in text.splitlines():
        pre, _, post = line.partition(" - ")
        f = pre.split()
        opt = [re.sub(r":\d+$", "", o) for o in f[6:]]
        fstype, source, sopts = (post.split() + ["", "", ""])[:3]
        root = f[3].replace(rootfs, "ROOTFS").replace(volume, "VOLUME").replace(cid, "CID")
        sopts = re.sub(r"(size|nr_inodes|inode64|ptmxmode|gid|uid)=?[^,]*,?", "", sopts).rstrip(",") if fstype in ("tmpfs", "devpts", "mqueue") else sopts
        out.append(f"{f[4]} root={root} {f[5]} [{' '.join(opt)}] {fstype} {sopts}")
    return out


def flatten(prefix, v, out):
    if isinstance(v, dict):
        for k, x in v.items():
            flatten(f"{prefix}.{k}" if prefix else k, x, out)
    else:
        out[prefix] = v
    return out


def observe(obs, host_ns, rootfs, volume, cid):
    """The comparable facts: a flat dict key -> value."""
    o = {k: v for k, v in obs.items() if k not in ("probe", "stderr", "stdout")}
    p = obs.get("probe")
    o["probe.ran"] = p is not None
    hooks = o.pop("hooks", [])
    o["hooks.order"] = [h.split()[0] for h in hooks]
    for h in hooks:  # the state each hook was given, one key per hook
        f = h.split()
        o["hooks.status." + f[0]] = f[1] if len(f) > 1 else ""
    if p:
        q = dict(p)
        q["ns"] = {k: ("host" if v == host_ns.get(k) else "new") if v else "none" for k, v in p["ns"].items()}
        # one key per mount point (a second mount on the same point gets #2, ...), so that
        # each mount is compared, and accepted, on its own
        q.pop("mountinfo", None)
        q["mount"] = {}
        for line in norm_mountinfo(p.get("mountinfo") or "", rootfs, volume, cid):
            point, rest = line.split(" ", 1)
            k, n = point, 1
            while k in q["mount"]:
                n += 1
                k = f"{point}#{n}"
            m = re.match(r"(root=\S* \S*) \[(.*?)\] (.*)$", rest)
            # mount options, propagation, filesystem: each compared (and accepted) apart
            q["mount"][k] = {"opts": m.group(1), "prop": m.group(2), "fs": m.group(3)} if m else {"raw": rest}
        q["mounts.order"] = list(q["mount"])
        q["dev"] = sorted(p["dev"])
        q["env"] = list(p["env"])
        for k in ("Uid", "Gid", "Groups"):
            q["status"].pop(k, None)
        o["probe"] = q
    return flatten("", o, {})


def describe_diff(a, b):
    if isinstance(a, list) and isinstance(b, list):
        return {"only_runc": [x for x in a if x not in b], "only_k3rt": [x for x in b if x not in a]}
    return {"runc": a, "k3rt": b}


OUTCOME = ("timeout", "run.rc", "create.ok", "start.ok", "delete.ok", "probe.ran")


def compare(name, tags, views, compat):
    """Differences k3rt has from runc that crun does not share and compat.md does not list.
    When the outcome (refused, exit code, probe ran) differs, only that is reported."""
    r, c, k = views["runc"], views["crun"], views["k3rt"]
    bad, accepted, rc_disagree = [], [], []
    keys = sorted(set(r) | set(k) | set(c))
    for key in keys:
        rv, cv, kv = r.get(key), c.get(key), k.get(key)
        if rv != cv:
            rc_disagree.append(key)
        if kv == rv:
            continue
        if kv == cv and rv != cv:
            accepted.append((key, "runc and crun disagree; k3rt answers as crun"))
            continue
        runc_refused = r.get("create.ok") is False or not r.get("probe.ran")
        k3rt_ran = k.get("create.ok") is True or k.get("probe.ran")
        if key not in OUTCOME and runc_refused and k3rt_ran:
            # runc refused what k3rt ran: what the container saw and the states it went
            # through have no runc answer to compare with; the outcome itself
            # (`probe.ran`, `create.ok`, ...) is judged
            accepted.append((key, "runc did not run the probe; k3rt did (outcome judged apart)"))
            continue
        why = allowed(compat, key, tags, rv, kv)
        if why:
            accepted.append((key, why))
            continue
        bad.append((key, describe_diff(rv, kv), cv))
    if any(b[0] in OUTCOME for b in bad):
        bad = [b for b in bad if b[0] in OUTCOME]
    return bad, accepted, rc_disagree


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--fixtures-only", action="store_true")
    ap.add_argument("--only", type=int, default=None, help="run config number IDX only")
    ap.add_argument("--show", type=int, default=None, help="print config IDX and exit")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("--report", default=None, help="write all differences (also accepted ones) as JSON here")
    a = ap.parse_args()

    fixtures = load_fixtures()
    configs = generate(fixtures, a.seed, len(fixtures) if a.fixtures_only else a.count)
    if a.show is not None:
        print(json.dumps({"name": configs[a.show][0], "tags": configs[a.show][1], "config": configs[a.show][2]}, indent=1))
        return 0
    compat = load_compat()
    # a SIGTERM (timeout, Ctrl-C of make) still runs the cleanup in `finally`
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if os.geteuid() != 0:
        print("diff: needs root", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="k3diff.", dir="/tmp")
    seen_ids = []
    try:
        bundle = os.path.join(tmp, "probe")
        p = sh([os.path.join(TOP, "bundles/mkbundle.sh"), K3RT, bundle], timeout=120)
        if p.returncode != 0:
            print("FAIL mkbundle: " + p.stderr.decode(), flush=True)
            print("0 passed, 1 failed")
            return 1
        rootfs = os.path.join(bundle, "rootfs")
        for d in ("mnt", "data"):
            os.makedirs(os.path.join(rootfs, d), exist_ok=True)
        open(os.path.join(rootfs, "etc/hostname"), "w").write("probe\n")
        volume = os.path.join(tmp, "vol")
        os.makedirs(volume)
        open(os.path.join(volume, "file"), "w").write("x")
        host_ns = {n: os.readlink(f"/proc/self/ns/{n}") for n in os.listdir("/proc/self/ns") if not n.endswith("_for_children")}

        def one(i):
            name, tags, cfg = configs[i]
            cfg = json.loads(json.dumps(cfg).replace('"ROOTFS"', json.dumps(rootfs)).replace('"VOLUME"', json.dumps(volume)))
            paths = sorted(set(DEFAULT_PATHS + cfg.get("linux", {}).get("maskedPaths", []) + cfg.get("linux", {}).get("readonlyPaths", [])))
            if cfg["process"]["args"][:2] == ["/bin/probe", "json"]:
                cfg["process"]["args"] = ["/bin/probe", "json"] + paths
            mode = "lifecycle" if (i % 3 == 0 or "hooks" in tags) else "run"
            views, raw = {}, {}
            for rt in ORDER:
                cid = f"k3d{a.seed}-{i}-{rt}"
                seen_ids.append((rt, os.path.join(tmp, f"c{i}", rt, "root"), cid))
                obs = run_one(rt, cfg, os.path.join(tmp, f"c{i}", rt), cid, mode)
                raw[rt] = obs
                views[rt] = observe(obs, host_ns, rootfs, volume, cid)
            bad, accepted, rcd = compare(name, tags, views, compat)
            if not a.keep:
                shutil.rmtree(os.path.join(tmp, f"c{i}"), ignore_errors=True)
            return i, name, tags, bad, accepted, rcd, {rt: raw[rt].get("stderr", "") for rt in ORDER}

        idx = [a.only] if a.only is not None else list(range(len(configs)))
        passed = failed = 0
        report = []
        acc_count = {}
        t0 = time.time()
        with ThreadPoolExecutor(max_workers=a.jobs) as ex:
            for i, name, tags, bad, accepted, rcd, errs in ex.map(one, idx):
                report.append({"i": i, "name": name, "tags": tags, "bad": bad, "accepted": accepted, "runc_crun": rcd})
                for _, why in accepted:
                    acc_count[why] = acc_count.get(why, 0) + 1
                if bad:
                    failed += 1
                    print(f"FAIL {i} {name} tags={','.join(tags)}")
                    for key, d, cv in bad[:8]:
                        print(f"     | {key}: {json.dumps(d)[:300]} (crun: {json.dumps(cv)[:120]})")
                    for rt in ORDER:
                        if errs[rt].strip():
                            print(f"     | {rt} stderr: {errs[rt].strip()[-200:]}")
                else:
                    passed += 1
        dt = time.time() - t0
        print(f"diff: {len(idx)} configs (seed {a.seed}) in {dt:.0f}s; accepted differences: "
              + "; ".join(f"{n}x {w[:60]}" for w, n in sorted(acc_count.items(), key=lambda x: -x[1])[:12]))
        if a.report:
            json.dump(report, open(a.report, "w"), indent=1)
        print(f"{passed} passed, {failed} failed")
        return 0 if failed == 0 else 1
    finally:
        for rt, root, cid in seen_ids:
            if os.path.isdir(root):
                sh([RUNTIMES[rt], "--root", root, "delete", "-f", cid])
        for d in cgroup_dirs("/k3diff"):  # the parent the runtimes made (empty by now)
            if os.path.isdir(d):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
        if not a.keep:
            sh(["umount", "-R", tmp])
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
