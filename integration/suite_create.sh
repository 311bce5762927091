#!/usr/bin/env bash
# End-to-end tests of seed 000's createContainer (`k3 create`/`k3 run`) and
# the container verbs, as root: the seed's eight examples against stand-in
# images in a private registry (checking what the container really got),
# every typed error from real bad input (JSON shape, nothing left behind),
# the lifecycle, exec/logs/stats, concurrency, and cross-checks with crun
# and runc. Ends with `N passed, M failed`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/engine_lib.sh"
engine_setup

# CapEff of a container's shell as a number.
capeff() { k3 exec "$1" sh -c 'grep CapEff /proc/self/status' | awk '{print $2}'; }
has_cap() { (( (16#$1 >> $2) & 1 )); }

t_example1_simple_alpine() {
    out=$(k3 create --json --options-json '{"containerId":"simple-app","image":"alpine","tag":"latest"}')
    expect_eq simple-app "$(json_get "$out" 'j["containerId"]')"
    expect_eq CREATED "$(status_of simple-app)"
    k3 ps -a --format json | python3 -c 'import json,sys; assert any(c["name"]=="simple-app" and c["status"]=="CREATED" for c in json.load(sys.stdin))'
    [ -f "$ROOT/containers/$(hash_of simple-app)/config.json" ] || fail "no config.json"
    expect_eq 1.0.2 "$(python3 -c "import json; print(json.load(open('$ROOT/containers/$(hash_of simple-app)/config.json'))['ociVersion'])")"
    sqlite3 "$ROOT/k3.db" "select kind from events where container_id='simple-app'" | grep -x >/dev/null create || fail "no create event"
    sqlite3 "$ROOT/k3.db" "select count(*) from webhook_queue" | grep -v >/dev/null '^0$' || fail "no webhook queued"
    k3 rm simple-app >/dev/null
}

t_example2_web_server_limits() {
    k3 create --options-json '{"containerId":"web-server","image":"nginx","tag":"latest","memory":"512MB","cpus":2,"diskLimit":1024}' >/dev/null
    k3 start web-server >/dev/null
    expect_eq 536870912 "$(cgroup_file web-server memory memory.limit_in_bytes)" "memory limit"
    expect_eq 200000 "$(cgroup_file web-server cpu cpu.cfs_quota_us)" "cpu quota"
    expect_eq 100000 "$(cgroup_file web-server cpu cpu.cfs_period_us)" "cpu period"
    size=$(k3 exec web-server df -m / | awk 'NR==2 {print $2}')
    (( size > 900 && size <= 1024 )) || fail "rootfs size ${size} MB, want about 1024"
    out=$(k3 exec web-server wget -qO- http://127.0.0.1:80/)
    expect_eq "hello from k3" "$out" "httpd answer"
    expect_eq 80/tcp "$(json_get "$(k3 inspect web-server)" 'j[0]["Config"]["annotations"]["io.k3.exposed-ports"]')" "image ExposedPorts recorded"
    k3 rm -f web-server >/dev/null
}

t_example3_node_env() {
    out=$(k3 run --options-json '{"containerId":"app-prod","image":"node","tag":"18","env":["NODE_ENV=production","DATABASE_URL=postgresql://localhost/mydb","API_PORT=3000"],"args":"npm start"}')
    expect_contains "$out" "npm start"
    expect_contains "$out" "NODE_ENV=production"
    expect_contains "$out" "DATABASE_URL=postgresql://localhost/mydb"
    expect_contains "$out" "API_PORT=3000"
    expect_contains "$out" "NODE_VERSION=18" "image env kept"
    expect_contains "$out" "cwd=/app" "image WorkingDir"
    expect_contains "$out" "uid=1000 gid=1000" "image User resolved from /etc/passwd"
    [[ $out != *"NODE_ENV=development"* ]] || fail "image env not overridden"
    expect_eq STOPPED "$(status_of app-prod)"
    k3 rm app-prod >/dev/null
}

t_example4_network_settings() {
    hp1=$(free_port); hp2=$(free_port)
    k3 run -d --options-json "{\"containerId\":\"api-service\",\"image\":\"nginx\",\"tag\":\"latest\",\"network\":\"kb0\",\"ip\":\"192.168.100.50\",\"mac\":\"AA:BB:CC:DD:EE:FF\",\"publish\":[\"$hp1:80\",\"$hp2:443\"]}" >/dev/null
    addr=$(k3 exec api-service ip addr show eth0)
    expect_contains "$addr" "inet 192.168.100.50/24"
    expect_contains "$addr" "link/ether aa:bb:cc:dd:ee:ff"
    wait_port "$hp1" || true
    expect_eq "hello from k3" "$(curl -s -m 5 "http://127.0.0.1:$hp1/")" "published port"
    k3 rm -f api-service >/dev/null
    nft list chain ip k3 portmap | grep >/dev/null "dport $hp1" && fail "port rule left"
    return 0
}

t_example5_postgres_volumes() {
    opts='{"containerId":"database","image":"postgres","tag":"15","volume":["db-data:/var/lib/postgresql/data","db-backup:/backup"],"env":["POSTGRES_PASSWORD=securepass"]}'
    k3 run -d --options-json "$opts" >/dev/null
    for _ in $(seq 50); do k3 logs database | grep >/dev/null "ready to accept" && break; sleep 0.1; done
    expect_contains "$(k3 logs database)" "initdb: password set (10 chars)"
    k3 exec database sh -c 'echo backup-1 > /backup/b1'
    k3 rm -f database >/dev/null
    [ -f "$ROOT/volumes/db-data/_data/PG_VERSION" ] || fail "volume data gone after rm"
    k3 run -d --options-json "$opts" >/dev/null
    for _ in $(seq 50); do k3 logs database | grep >/dev/null "ready to accept" && break; sleep 0.1; done
    logs=$(k3 logs database)
    [[ $logs != *initdb* ]] || fail "data did not survive rm + re-create: $logs"
    expect_eq 2 "$(k3 exec database sh -c 'wc -l < $PGDATA/starts')" "starts recorded in the volume"
    expect_eq backup-1 "$(k3 exec database cat /backup/b1)"
    k3 volume ls | grep >/dev/null '"db-backup"' || fail "volume not listed"
    out=$(k3 volume rm db-data 2>&1) && fail "volume in use removed: $out"
    k3 rm -f database >/dev/null
    k3 volume rm db-data >/dev/null && k3 volume rm db-backup >/dev/null
    [ ! -e "$ROOT/volumes/db-data" ] || fail "volume dir left after volume rm"
}

t_example6_python_restart_policy() {
    k3 run -d --options-json '{"containerId":"worker","image":"python","tag":"3.11","args":"python worker.py","restart":"on-failure","restartDelay":5,"maxAttempts":10,"network":"none"}' >/dev/null
    for _ in $(seq 50); do k3 logs worker | grep >/dev/null "worker running" && break; sleep 0.1; done
    expect_contains "$(k3 logs worker)" "worker running as 0 in /app"
    v=$(k3 inspect worker)
    expect_eq on-failure "$(json_get "$v" 'j[0]["Validated"]["restart"]')"
    expect_eq 5 "$(json_get "$v" 'j[0]["Validated"]["restart_delay"]')"
    expect_eq 10 "$(json_get "$v" 'j[0]["Validated"]["max_attempts"]')"
    expect_eq 10 "$(json_get "$v" 'j[0]["Options"]["maxAttempts"]')" "options stored as given"
    k3 rm -f worker >/dev/null
}

t_example7_privileged_caps() {
    k3 run -d --options-json '{"containerId":"privileged-app","image":"alpine","tag":"latest","privileged":true,"capAdd":["NET_ADMIN","SYS_TIME"],"capDrop":["NET_RAW"],"args":"sleep 1000"}' >/dev/null
    c=$(capeff privileged-app)
    has_cap "$c" 12 || fail "NET_ADMIN missing: $c"
    has_cap "$c" 25 || fail "SYS_TIME missing: $c"
    has_cap "$c" 21 || fail "SYS_ADMIN missing (privileged): $c"
    has_cap "$c" 13 && fail "NET_RAW not dropped: $c"
    k3 exec privileged-app sh -c 'ls /dev' | grep >/dev/null '^loop-control$\|^kmsg$' || fail "host devices missing"
    k3 exec privileged-app sh -c 'grep -q "^Seccomp:[[:space:]]*0" /proc/self/status' || fail "seccomp on"
    k3 rm -f privileged-app >/dev/null
    k3 run -d --name plain --network none alpine sleep 1000 >/dev/null
    c=$(capeff plain)
    has_cap "$c" 21 && fail "SYS_ADMIN in a default container: $c"
    has_cap "$c" 13 || fail "NET_RAW missing by default: $c"
    k3 exec plain sh -c 'grep -q "^Seccomp:[[:space:]]*2" /proc/self/status' || fail "no seccomp filter"
    k3 rm -f plain >/dev/null
}

t_example8_complete_app_debug() {
    hp=$(free_port)
    out=$(k3 run -d --options-json "{\"containerId\":\"complete-app\",\"image\":\"myapp\",\"tag\":\"1.0.0\",\"hostname\":\"app-server\",\"memory\":\"1GB\",\"cpus\":4,\"diskLimit\":5120,\"env\":[\"NODE_ENV=production\",\"LOG_LEVEL=info\"],\"args\":\"npm start\",\"network\":\"kb0\",\"ip\":\"192.168.100.100\",\"publish\":[\"$hp:3000\"],\"volume\":[\"app-data:/data\",\"app-logs:/var/log/app\"],\"capAdd\":[\"NET_BIND_SERVICE\"],\"restart\":\"unless-stopped\",\"restartDelay\":10,\"debug\":true}")
    expect_contains "$out" "Using debug verbosity"
    expect_contains "$out" 'Unsharing namespace: `pid`'
    expect_contains "$out" 'Set rlimit: soft = `1024`, hard = `1024`'
    expect_contains "$out" "Running container PID after fork"
    expect_eq complete-app "$(tail -1 <<<"$out")"
    expect_eq app-server "$(k3 exec complete-app hostname)"
    expect_eq 1073741824 "$(cgroup_file complete-app memory memory.limit_in_bytes)"
    expect_eq 400000 "$(cgroup_file complete-app cpu cpu.cfs_quota_us)"
    wait_port "$hp" || true
    expect_eq complete-app "$(curl -s -m 5 "http://127.0.0.1:$hp/")"
    expect_contains "$(k3 logs complete-app)" "npm start on app-server NODE_ENV=production LOG_LEVEL=info"
    expect_contains "$(k3 exec complete-app cat /etc/hosts)" "192.168.100.100	app-server"
    k3 exec complete-app sh -c 'touch /data/x /var/log/app/y'
    k3 rm -f complete-app >/dev/null
    [ -e "$ROOT/volumes/app-data/_data/x" ] || fail "volume app-data lost"
}

t_error_already_exists() {
    k3 create --name dup --network none alpine >/dev/null
    expect_error VALIDATION_ERROR 422 "already exists" -- k3 create --json --name dup --network none alpine
    expect_eq dup "$(json_get "$LAST_ERROR" 'j["containerId"]')"
    k3 rm dup >/dev/null
}

t_error_validation_names_option_and_value() {
    expect_error VALIDATION_ERROR 422 '`memory` value `12q`' -- k3 create --json --name v1 --memory 12q alpine
    # `-e KEY` alone takes the caller's value (docker); a key must still be a name
    expect_error VALIDATION_ERROR 422 '`env` value `1BAD`' -- k3 create --json --name v1 -e 1BAD alpine
    expect_error VALIDATION_ERROR 422 '`capAdd` value `CAP_TEST`' -- k3 create --json --name v1 --cap-add CAP_TEST alpine
    expect_error VALIDATION_ERROR 422 '`restart` value `sometimes`' -- k3 create --json --name v1 --restart sometimes alpine
    expect_error VALIDATION_ERROR 422 '`containerId` value `bad_id!`' -- k3 create --json --name 'bad_id!' alpine
    expect_error VALIDATION_ERROR 422 '`mac` value `01:00:5e:00:00:01`' -- k3 create --json --name v1 --mac-address 01:00:5e:00:00:01 alpine
    expect_error VALIDATION_ERROR 422 '`publish` value `99999:80`' -- k3 create --json --name v1 -p 99999:80 alpine
    expect_error VALIDATION_ERROR 422 '`cpus` value `0`' -- k3 create --json --name v1 --cpus 0 alpine
    expect_error VALIDATION_ERROR 422 '`mount` value `/nonexistent-k3:/x`' -- k3 create --json --name v1 --mount /nonexistent-k3:/x alpine
    expect_eq '12q' "$(json_get "$(k3 create --json --name v1 --memory 12q alpine 2>/dev/null)" 'j["input"]["memory"]')" "input echoed"
}

t_error_image_pull_generic() {
    expect_error GENERIC_ERROR 500 "pull" -- k3 create --json --name noimg --network none non-existent-image
    [ ! -d "$ROOT/overlays/noimg" ] || fail "snapshot left"
}

t_error_network() {
    expect_error NETWORK_ERROR 500 'network `nonexistent-network` not found' -- k3 create --json --name net1 --network nonexistent-network --ip 10.0.0.100 alpine
    expect_error NETWORK_ERROR 500 'IP `10.0.0.100` is not in the subnet' -- k3 create --json --name net1 --ip 10.0.0.100 alpine
}

t_error_runtime_create_failure() {
    expect_error CONTAINER_SERVICE_ERROR 500 "\`/no/such/binary\`: exec: no such file or directory" -- k3 create --json --name rt1 --network none alpine /no/such/binary
    expect_contains "$LAST_ERROR" "k3rt create" "runtime named"
    expect_error CONTAINER_SERVICE_ERROR 500 "runc create" -- k3 --runtime runc create --json --name rt1 --network none alpine /no/such/binary
}

t_error_pid_not_found() {
    # A runtime whose container's process is gone right after `create`.
    real=$(dirname "$K3")/k3rt
    cat >"$T/dying-rt" <<SH
#!/bin/sh
"$real" "\$@"; rc=\$?
pidf=""; prev=""
for a in "\$@"; do [ "\$prev" = --pid-file ] && pidf=\$a; prev=\$a; done
[ -n "\$pidf" ] && kill -9 "\$(cat "\$pidf")" && sleep 0.2
exit \$rc
SH
    chmod +x "$T/dying-rt"
    expect_error NOT_FOUND 404 "no process found" -- k3 --runtime "$T/dying-rt" create --json --name gone --network none alpine
    pid=$(json_get "$LAST_ERROR" 'j["pid"]')
    (( pid > 0 )) || fail "no pid in $LAST_ERROR"
}

t_error_state_db_failure() {
    sqlite3 "$ROOT/k3.db" "CREATE TRIGGER k3_test_fail BEFORE INSERT ON container_state BEGIN SELECT RAISE(FAIL, 'disk quota exceeded'); END;"
    expect_error DB_ERROR 500 "cannot store the state" -- k3 create --json --name dbfail alpine
    sqlite3 "$ROOT/k3.db" "DROP TRIGGER k3_test_fail"
}

t_lifecycle_create_start_stop_start_rm() {
    k3 create --name life --network none alpine sh -c 'echo out-$$; echo err >&2; sleep 1000' >/dev/null
    expect_eq CREATED "$(status_of life)"
    k3 start life >/dev/null
    expect_eq RUNNING "$(status_of life)"
    k3 stop -t 1 life >/dev/null
    expect_eq STOPPED "$(status_of life)"
    expect_eq 137 "$(k3 wait life)" "killed after the grace period"
    k3 start life >/dev/null
    expect_eq RUNNING "$(status_of life)"
    [ "$(k3 logs life 2>/dev/null | grep -c '^out-')" = 2 ] || fail "two runs in the log: $(k3 logs life)"
    expect_eq err "$(k3 logs life 2>&1 >/dev/null | head -1)" "stderr kept apart"
    out=$(k3 rm life 2>&1) && fail "rm of a running container without -f"
    expect_contains "$out" "rm -f"
    k3 kill -s TERM life >/dev/null
    k3 kill -s KILL life >/dev/null
    expect_eq 137 "$(k3 wait life)"
    k3 restart -t 1 life >/dev/null
    expect_eq RUNNING "$(status_of life)"
    expect_eq 1 "$(json_get "$(k3 inspect life)" 'j[0]["State"]["restart_count"]')"
    k3 rm -f life >/dev/null
    out=$(k3 inspect life 2>&1) && fail "record left"
    sqlite3 "$ROOT/k3.db" "select kind from events where container_id='life'" | grep -x >/dev/null destroy || fail "no destroy event"
}

t_exit_codes_as_docker() {
    # 127 program not found, 126 not executable, 125 engine failure, else the program's
    local rc before; k3 ps -a >/dev/null; before=$(residue)
    k3 run --rm --network none alpine /nonexistent 2>/dev/null && rc=0 || rc=$?
    expect_eq 127 "$rc" "run of a missing program"
    expect_eq "$before" "$(residue)" "what a failed run --rm leaves"
    k3 run --rm --network none alpine nosuchprogram 2>/dev/null && rc=0 || rc=$?
    expect_eq 127 "$rc" "run of a program not on PATH"
    k3 run --rm --network none alpine /etc/passwd 2>/dev/null && rc=0 || rc=$?
    expect_eq 126 "$rc" "run of a file that is not executable"
    k3 run --rm --network none no-such-image-k3 true 2>/dev/null && rc=0 || rc=$?
    expect_eq 125 "$rc" "engine failure (unknown image)"
    k3 run --rm --network none alpine sh -c 'exit 1' && rc=0 || rc=$?
    expect_eq 1 "$rc" "the program's own 1"
    k3 run -d --name xc --network none alpine sleep 1000 >/dev/null
    k3 exec xc /nonexistent 2>/dev/null && rc=0 || rc=$?
    expect_eq 127 "$rc" "exec of a missing program"
    k3 exec xc sh -c 'exit 3' && rc=0 || rc=$?
    expect_eq 3 "$rc" "exec: the program's code"
    k3 rm -f xc >/dev/null
}

t_default_seccomp_is_an_allow_list() {
    # everyday work runs; namespaces and mounts need CAP_SYS_ADMIN, as under docker/podman
    expect_eq "ok 3" "$(k3 run --rm --network none alpine sh -c 'echo ok $(echo a b c | wc -w); sleep 0.01')"
    local out
    out=$(k3 run --rm --network none alpine sh -c 'unshare -U true 2>&1 && echo made-userns || echo refused')
    expect_contains "$out" "refused" "unshare(CLONE_NEWUSER) under the default profile"
    out=$(k3 run --rm --network none alpine sh -c 'unshare -m true 2>&1 && echo made-mntns || echo refused')
    expect_contains "$out" "refused" "unshare(CLONE_NEWNS)"
    out=$(k3 run --rm --network none alpine sh -c 'grep "^Seccomp:" /proc/self/status; dd if=/dev/zero bs=1k count=1 2>/dev/null | wc -c')
    expect_contains "$out" "1024"
    # a container given CAP_SYS_ADMIN may make namespaces
    out=$(k3 run --rm --network none --cap-add SYS_ADMIN alpine sh -c 'unshare -m true && echo made-mntns')
    expect_eq "made-mntns" "$out" "with CAP_SYS_ADMIN"
}

t_run_foreground_exit_code_and_rm() {
    out=$(k3 run --rm --name fg --network none alpine sh -c 'echo hi; exit 7') && rc=0 || rc=$?
    expect_eq 7 "$rc" "exit code"
    expect_eq hi "$out"
    k3 inspect fg >/dev/null 2>&1 && fail "--rm left the container"
    return 0
}

t_run_foreground_forwards_signals() {
    "$K3" run --name sig --network none alpine sh -c 'trap "echo got-term; exit 9" TERM; echo ready; sleep 1000 & wait' >"$T/sig.out" 2>&1 &
    local runner=$!
    for _ in $(seq 50); do grep -q ready "$T/sig.out" && break; sleep 0.1; done
    kill -TERM "$runner"
    wait "$runner" && rc=0 || rc=$?
    expect_eq 9 "$rc" "exit code of the trapped TERM"
    expect_contains "$(cat "$T/sig.out")" got-term
    k3 rm sig >/dev/null
}

t_same_id_created_concurrently_once() {
    local i ok=0 before
    before=$(residue | sed -n 1p)
    for i in 1 2 3 4; do k3 create --json --name race --network none alpine >"$T/race$i.out" 2>/dev/null & done
    wait
    for i in 1 2 3 4; do
        if grep -q '"type"' "$T/race$i.out"; then
            expect_contains "$(cat "$T/race$i.out")" '"type":"VALIDATION_ERROR"' "loser $i"
            expect_contains "$(cat "$T/race$i.out")" "already exists"
        else
            ok=$((ok + 1))
        fi
    done
    expect_eq 1 "$ok" "exactly one create wins"
    k3 rm race >/dev/null
    expect_eq "$before" "$(residue | sed -n 1p)" "no bundle left by the losers"
}

t_exec_through_the_runtime() {
    k3 run -d --name ex --network none -e FOO=bar --hostname exhost alpine sleep 1000 >/dev/null
    expect_eq "exhost bar" "$(k3 exec ex sh -c 'echo $(hostname) $FOO')"
    k3 exec ex sh -c 'exit 6' && rc=0 || rc=$?
    expect_eq 6 "$rc" "runtime exec exit code"
    expect_eq "sleep1000" "$(k3 exec ex sh -c 'tr -d "\\0" </proc/1/cmdline')" "sees the container's pid namespace"
    # k3 has no entry path of its own any more (it let a container reach the host k3)
    k3 exec --setns ex true 2>/dev/null && rc=0 || rc=$?
    expect_eq 2 "$rc" "--setns is gone"
    # the caller's descriptors do not reach the exec'd process
    expect_eq "" "$(k3 exec ex sh -c 'ls /proc/self/fd | grep -vx "[0-3]"' 7</dev/null 8</dev/null)" "no descriptor of the caller above 2 (3 is ls's own)"
    k3 rm -f ex >/dev/null
}

t_stats_from_cgroup() {
    # The shell must outlive its `sleep` to keep $x: busybox sh execs the last
    # command of `-c`, so `sleep` must not be last.
    k3 run -d --name st --network none --memory 64m --cpus 0.5 alpine sh -c 'x=$(head -c 4000000 /dev/zero | tr "\0" a); sleep 1000; echo ${#x}' >/dev/null
    sleep 0.5
    s=$(k3 stats --format json st)
    expect_eq 67108864 "$(json_get "$s" 'j[0]["memory_limit"]')"
    expect_eq 0.5 "$(json_get "$s" 'j[0]["cpu_limit"]')"
    (( $(json_get "$s" 'j[0]["memory_usage"]') > 1000000 )) || fail "memory usage: $s"
    k3 rm -f st >/dev/null
}

t_no_shared_pins_a_cpu() {
    k3 run -d --name ns1 --network none --no-shared alpine sleep 1000 >/dev/null
    cpus=$(cgroup_file ns1 cpuset cpuset.cpus)
    [[ $cpus =~ ^[0-9]+$ ]] || fail "cpuset.cpus \`$cpus\` is not a single CPU"
    k3 exec ns1 grep Cpus_allowed_list /proc/self/status | grep >/dev/null "[[:space:]]$cpus$" || fail "not pinned"
    k3 rm -f ns1 >/dev/null
}

t_bind_mount_readonly() {
    mkdir -p "$T/share" && echo shared >"$T/share/f"
    out=$(k3 run --rm --name bm --network none --mount "$T/share:/mnt/s:ro" alpine sh -c 'cat /mnt/s/f; touch /mnt/s/g 2>&1 || echo readonly')
    expect_contains "$out" shared
    expect_contains "$out" readonly
}

t_runtime_flags_no_pivot_no_new_keyring() {
    real=$(dirname "$K3")/k3rt
    printf '#!/bin/sh\necho "$@" >>%s\nexec %s "$@"\n' "$T/rt-args" "$real" >"$T/logging-rt"
    chmod +x "$T/logging-rt"
    out=$(k3 --runtime "$T/logging-rt" run --rm --name fl --network none --no-pivot --no-new-keyring alpine echo ok)
    expect_eq ok "$out"
    grep -q -- "create --no-pivot --no-new-keyring --bundle" "$T/rt-args" || fail "flags not passed: $(cat "$T/rt-args")"
}

t_concurrent_creates_never_lock() {
    local i
    for i in 1 2 3 4 5 6; do k3 run -d --name cc$i alpine sleep 1000 >"$T/cc$i.out" 2>&1 & done
    wait
    for i in 1 2 3 4 5 6; do grep -qx "cc$i" "$T/cc$i.out" || fail "cc$i: $(cat "$T/cc$i.out")"; done
    grep -l "locked" "$T"/cc*.out && fail "database is locked"
    ips=$(k3 ps --format json | python3 -c 'import json,sys; print(" ".join(sorted(c["ip"] for c in json.load(sys.stdin) if c["id"].startswith("cc"))))')
    expect_eq 6 "$(tr ' ' '\n' <<<"$ips" | sort -u | wc -l)" "distinct IPs: $ips"
    for i in 1 2 3 4 5 6; do k3 rm -f cc$i >/dev/null & done
    wait
    expect_eq 0 "$(sqlite3 "$ROOT/k3.db" 'select count(*) from leases')" "leases released"
}

t_concurrent_first_open_migrates_once() {
    local d=$T/fresh i
    mkdir -p "$d"
    for i in $(seq 8); do "$K3" --root "$d" ps -a >"$d/out$i" 2>&1 & done
    wait
    cat "$d"/out* | grep -v "^CONTAINER ID" && fail "errors on a fresh database"
    k3 ps -a >/dev/null
    expect_eq "$(sqlite3 "$ROOT/k3.db" 'pragma user_version')" "$(sqlite3 "$d/k3.db" 'pragma user_version')" "schema version"
}

t_crun_cross_check() {
    mountpoint -q /sys/fs/cgroup/hugetlb || { mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb; }
    k3 --runtime crun run -d --name cr --hostname crhost -e X=1 --memory 96m alpine sleep 1000 >/dev/null
    expect_eq "crhost 1" "$(k3 exec cr sh -c 'echo $(hostname) $X')"
    expect_eq 100663296 "$(cgroup_file cr memory memory.limit_in_bytes)"
    ls "$ROOT/run/crun/$(hash_of cr)" >/dev/null || fail "crun state dir"
    k3 stop -t 1 cr >/dev/null
    expect_eq STOPPED "$(status_of cr)"
    k3 rm cr >/dev/null
    k3 --runtime crun create --name crd --network none alpine /no/such/binary 2>/dev/null && fail "crun created a missing binary"
    expect_error CONTAINER_SERVICE_ERROR 500 "crun create" -- k3 --runtime crun create --json --name crd --network none alpine /no/such/binary
}

t_runc_cross_check() {
    out=$(k3 --runtime runc run --rm --name rc --hostname rchost --cpus 1.5 --network none alpine sh -c 'hostname; grep CapEff /proc/self/status')
    expect_contains "$out" rchost
    expect_contains "$out" "00000000a80425fb" "docker default capabilities"
}

run_suite
