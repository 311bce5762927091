# Shared by suite_create.sh and suite_network.sh (source after lib.sh): a
# private k3 root under $T, a registry with the stand-in images, residue
# snapshots, and a cleanup trap that removes every container, mount,
# namespace, veth, bridge and nft table the suite made.

source "$(dirname "${BASH_SOURCE[0]}")/registry.sh"

K3=${K3:-$TOP/target/x86_64-unknown-linux-gnu/release/k3}
T=$(mktemp -d /tmp/k3-engine-it.XXXXXX)
ROOT=$T/root
export K3_ROOT=$ROOT
PIDS=()
HAD_KB0=0; ip link show kb0 >/dev/null 2>&1 && HAD_KB0=1
HAD_NFT=0; nft list table ip k3 >/dev/null 2>&1 && HAD_NFT=1
EXTRA_BRIDGES=()

k3() { "$K3" "$@"; }

engine_cleanup() {
    local id
    if [ -x "$K3" ] && [ -d "$ROOT" ]; then
        for id in $("$K3" ps -aq 2>/dev/null); do "$K3" rm -f "$id" >/dev/null 2>&1; done
        for id in $("$K3" network ls -q 2>/dev/null); do [ "$id" = kb0 ] || "$K3" network rm "$id" >/dev/null 2>&1; done
    fi
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    for m in $(awk -v t="$T" '$2 ~ "^"t {print $2}' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null; done
    for b in /sys/block/loop*/loop/backing_file; do
        [ -f "$b" ] && grep -q "^$T" "$b" 2>/dev/null && losetup -d "/dev/$(basename "$(dirname "$(dirname "$b")")")" 2>/dev/null
    done
    for b in "${EXTRA_BRIDGES[@]}"; do ip link del "$b" 2>/dev/null; done
    if [ "$HAD_KB0" = 0 ]; then ip link del kb0 2>/dev/null; fi
    if [ "$HAD_NFT" = 0 ]; then nft delete table ip k3 2>/dev/null; fi
    rm -rf "$T"
}
trap engine_cleanup EXIT INT TERM

# json_get JSON PYEXPR: evaluates PYEXPR with `j` bound to the parsed JSON.
json_get() { python3 -c "import json,sys; j=json.loads(sys.argv[1]); print($2)" "$1"; }

# (`k3 inspect` prints docker's array, one element per name)
hash_of() { k3 inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Hash"])'; }
status_of() { k3 inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["status"])'; }

# cgroup_file ID CONTROLLER FILE: the value of a v1 cgroup file of the container.
cgroup_file() { cat "/sys/fs/cgroup/$2/k3/$(hash_of "$1")/$3"; }

# residue: everything a container can leave behind, one line each.
residue() {
    echo "containers: $(ls "$ROOT/containers" 2>/dev/null | tr '\n' ' ')"
    echo "overlays: $(ls "$ROOT/overlays" 2>/dev/null | tr '\n' ' ')"
    echo "netns: $(ls "$ROOT/netns" 2>/dev/null | tr '\n' ' ')"
    echo "runtime: $(ls "$ROOT"/run/*/ 2>/dev/null | tr '\n' ' ')"
    echo "mounts: $(grep -c " $ROOT/" /proc/mounts)"
    echo "veths: $(ip -br link | awk '$1 ~ /^k3-/ {print $1}' | tr '\n' ' ')"
    echo "cgroups: $(ls /sys/fs/cgroup/memory/k3/ 2>/dev/null | tr '\n' ' ')"
    echo "portmap: $(nft list chain ip k3 portmap 2>/dev/null | grep -c dnat)"
    echo "rows: $(sqlite3 "$ROOT/k3.db" 'select (select count(*) from containers), (select count(*) from container_state), (select count(*) from leases), (select count(*) from ports), (select count(*) from volumes), (select count(*) from snapshots)' 2>/dev/null)"
}

# expect_error WANT_TYPE WANT_STATUS NEEDLE -- k3 ARGS...: the command fails,
# prints seed 000's JSON object of that type/status mentioning NEEDLE, and
# leaves nothing behind.
expect_error() {
    local type=$1 status=$2 needle=$3; shift 4
    local before after out rc
    before=$(residue)
    out=$("$@" 2>"$T/stderr") && rc=0 || rc=$?
    [ "$rc" -ne 0 ] || fail "command succeeded: $*"
    local t s e
    t=$(json_get "$out" 'j["type"]') || fail "no JSON object: $out $(cat "$T/stderr")"
    s=$(json_get "$out" 'j["statusCode"]')
    e=$(json_get "$out" 'j["error"]')
    expect_eq "$type" "$t" "type ($out)"
    expect_eq "$status" "$s" "statusCode"
    expect_contains "$e" "$needle" "error message"
    grep -q "k3: error: " "$T/stderr" || fail "no human message on stderr"
    after=$(residue)
    [ "$before" = "$after" ] || fail "residue left: $(diff <(echo "$before") <(echo "$after"))"
    LAST_ERROR=$out
}

# The stand-in images (busybox based): alpine, nginx (busybox httpd), node,
# postgres, python, myapp.
build_engine_images() {
    local x=$T/img
    mkdir -p "$x"/nginx/www "$x"/node/usr/local/bin "$x"/node/app "$x"/node/etc "$x"/pg/usr/local/bin "$x"/py/usr/local/bin "$x"/py/app "$x"/app/usr/local/bin "$x"/app/www "$x"/app/etc
    echo "hello from k3" >"$x/nginx/www/index.html"
    cat >"$x/node/usr/local/bin/npm" <<'SH'
#!/bin/sh
echo "npm $*"; echo "cwd=$(pwd)"; echo "uid=$(id -u) gid=$(id -g)"; env | sort
SH
    printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n' >"$x/node/etc/passwd"
    printf 'root:x:0:\nnode:x:1000:\n' >"$x/node/etc/group"
    cat >"$x/pg/usr/local/bin/docker-entrypoint.sh" <<'SH'
#!/bin/sh
mkdir -p "$PGDATA"
if [ ! -f "$PGDATA/PG_VERSION" ]; then echo 15 >"$PGDATA/PG_VERSION"; echo "initdb: password set (${#POSTGRES_PASSWORD} chars)"; fi
echo start >>"$PGDATA/starts"
echo "database system is ready to accept connections"
exec sleep 100000
SH
    cat >"$x/py/usr/local/bin/python" <<'SH'
#!/bin/sh
echo "python $*"; [ -f "$1" ] && exec sh "$1"
SH
    printf 'echo "worker running as $(id -u) in $(pwd)"\nexec sleep 100000\n' >"$x/py/app/worker.py"
    cat >"$x/app/usr/local/bin/npm" <<'SH'
#!/bin/sh
echo "npm $* on $(hostname) NODE_ENV=$NODE_ENV LOG_LEVEL=$LOG_LEVEL"
exec httpd -f -p 3000 -h /www
SH
    echo "complete-app" >"$x/app/www/index.html"
    chmod +x "$x"/*/usr/local/bin/*
    image_build alpine latest "" --config.cmd /bin/sh &&
    image_build nginx latest "$x/nginx" --config.cmd httpd --config.cmd=-f --config.cmd=-p --config.cmd=80 --config.cmd=-h --config.cmd=/www --config.exposedports 80/tcp &&
    image_build node 18 "$x/node" --config.cmd node --config.env NODE_VERSION=18 --config.env NODE_ENV=development --config.workingdir /app --config.user node &&
    image_build postgres 15 "$x/pg" --config.entrypoint docker-entrypoint.sh --config.cmd postgres --config.env PGDATA=/var/lib/postgresql/data --config.volume /var/lib/postgresql/data --config.exposedports 5432/tcp &&
    image_build python 3.11 "$x/py" --config.cmd python3 --config.workingdir /app --config.env PYTHON_VERSION=3.11 &&
    image_build myapp 1.0.0 "$x/app" --config.cmd npm --config.cmd start --config.exposedports 3000/tcp
}

engine_setup() {
    need_root
    need "$K3" umoci skopeo /usr/bin/docker-registry busybox python3 nft ip sqlite3 curl crun runc
    registry_start || { echo "0 passed, 1 failed"; exit 1; }
    build_engine_images >"$T/build.log" 2>&1 || { echo "FAIL building images: $(tail -5 "$T/build.log")"; echo "0 passed, 1 failed"; exit 1; }
    export K3_DEFAULT_REGISTRY=$REG
}

# podman_conf FILE: the podman settings the engine suites compare under: cgroupfs, file
# events, no default ulimits (this VM's root lacks CAP_SYS_RESOURCE)
# podman_private: a podman with its own storage and settings under $T: $PW (its
# folder), $P (the command), p ARGS, CONTAINERS_CONF exported, and podman_cleanup, which
# removes what it made (containers, volumes, storage, mounts)
podman_private() {
  PW=$T/podman; mkdir -p "$PW"
  podman_conf "$PW/containers.conf"
  export CONTAINERS_CONF=$PW/containers.conf
  P="podman --root $PW/storage --runroot $PW/run"
  p() { $P "$@"; }
  podman_cleanup() { p rm -af -t 0 >/dev/null 2>&1; p volume rm -af >/dev/null 2>&1; p system reset --force >/dev/null 2>&1; umount -R "$PW/storage" 2>/dev/null; true; }
}

podman_conf() {
  cat >"$1" <<CONF
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
}

# hook_receiver_start: a webhook receiver on 127.0.0.1:$HOOK_PORT (a free port) that
# appends each POSTed body as one line to $T/hooks.jsonl; RECV_PID is its pid (the suite's
# cleanup kills it). It holds none of the suite's descriptors.
hook_receiver_start() {
    HOOK_PORT=$(free_port)
    cat >"$T/recv.py" <<'PY'
import http.server, sys
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "ab") as f:
            f.write(body + b"\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
    python3 "$T/recv.py" "$HOOK_PORT" "$T/hooks.jsonl" </dev/null >/dev/null 2>&1 &
    RECV_PID=$!
    wait_port "$HOOK_PORT"
}
