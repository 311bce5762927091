#!/usr/bin/env bash
# runtime-spec 1.3 and runc's newer CLI against the real kernel: delete --force of a
# paused container, update --pids-limit 0, exec --ignore-paused / --cgroup,
# --pidfd-socket, kill through a pidfd, id-mapped mounts, netDevices, `features`.
# Where runc (1.1 here) and crun (1.8 here) have the feature, they run the same bundle
# and must agree; where they lack it, the test says so in a comment (their --help or
# behaviour is checked, so a newer one is noticed).
source "$(dirname "$0")/lib.sh"
need_root
need jq busybox python3 strace runc crun
[[ -x $K3RT ]] || { echo "FAIL k3rt not built: $K3RT"; echo "0 passed, 1 failed"; exit 1; }

source "$(dirname "$0")/containers.sh"
RECV=$TOP/integration/pidfd_recv.py
# the bundles run under runc and crun say ociVersion 1.0.2: crun 1.8 knows runtime-spec up to 1.0.x

# r RUNTIME ARGS...: k3rt, runc or crun with a private state root.
r() {
  case $1 in
    k3rt) shift; k "$@" ;;
    runc|crun) local rt=$1; shift; "$rt" --root "$WORK/$rt-root" "$@" ;;
  esac
}

# the oracles' containers too, after every test
after_each_k3rt() { :; }
eval "$(declare -f after_each | sed '1s/after_each/after_each_k3rt/')"
after_each() {
  after_each_k3rt
  local rt id
  for rt in runc crun; do
    for id in $("$rt" --root "$WORK/$rt-root" list -q 2>/dev/null); do
      "$rt" --root "$WORK/$rt-root" resume "$id" >/dev/null 2>&1
      "$rt" --root "$WORK/$rt-root" delete --force "$id" >/dev/null 2>&1
    done
  done
  find /sys/fs/cgroup/*/ -depth -type d -name 'k3sub*' -delete 2>/dev/null || true
  # the id-mapped mount tests' tmpfs submount (idsrc), the netDevices tests' veths and namespace
  umount "$WORK/idsrc/sub" 2>/dev/null || true
  umount "$WORK/idshared" 2>/dev/null || true
  ip link del k3t0 2>/dev/null || true
  ip netns del k3nd$$ 2>/dev/null || true
}

# cgdir PID CONTROLLER: the directory of PID's cgroup in that v1 hierarchy.
# (the empty controller: the hybrid layout's v2 hierarchy, mounted at unified/)
cgdir() { local m=${2#name=}; echo "/sys/fs/cgroup/${m:-unified}$(awk -F: -v c="$2" '$2 == c {print $3}' "/proc/$1/cgroup")"; }

# cgsubs PID ID: the container's directory in every hierarchy it has one in.
cgsubs() {
  local c
  awk -F: -v id="$2" '$3 ~ id {print $2}' "/proc/$1/cgroup" | while read -r c; do
    cgdir "$1" "$c"
  done
}

# gone PID: the process exits (or is a zombie, its parent not ours) within 2 s.
gone() {
  local i
  for i in $(seq 100); do
    [[ ! -e /proc/$1 || $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]] && return 0
    sleep 0.02
  done
  return 1
}

# state_of RUNTIME ID: its status.
state_of() { r "$1" state "$2" | jq -r .status; }

wait_status() {
  local i
  for i in $(seq 200); do [[ $(state_of "$1" "$2" 2>/dev/null) == "$3" ]] && return 0; sleep 0.02; done
  fail "$1 $2: status $(state_of "$1" "$2" 2>&1) after 4s, want $3"
}

t_delete_force_of_a_paused_container_all_runtimes() {
  local b; b=$(mkb dfp '.ociVersion = "1.0.2" | .process.args = ["sleep","100"]')
  local rt
  for rt in k3rt runc crun; do
    r $rt run -d -b "$b" it-dfp-$rt </dev/null
    local pid; pid=$(r $rt state it-dfp-$rt | jq -r .pid)
    r $rt pause it-dfp-$rt
    expect_eq paused "$(state_of $rt it-dfp-$rt)" "$rt status"
    r $rt delete it-dfp-$rt 2>"$WORK/err" && fail "$rt: delete of a paused container succeeded"
    r $rt delete --force it-dfp-$rt
    gone "$pid" || fail "$rt: init $pid survived delete --force of a paused container"
    r $rt state it-dfp-$rt >/dev/null 2>&1 && fail "$rt: container still listed"
  done
  no_leftovers it-dfp-k3rt
}

t_update_pids_limit_zero_is_a_limit_of_zero() {
  local b; b=$(mkb pz '.ociVersion = "1.0.2" | .process.args = ["sleep","100"] | .linux.resources.pids = {"limit": 50}')
  k run -d -b "$b" it-pz
  local pid; pid=$(k state it-pz | jq -r .pid)
  local f; f=$(cgdir "$pid" pids)/pids.max
  expect_eq 50 "$(cat "$f")" "pids.max as created"
  k update --pids-limit 0 it-pz
  expect_eq 0 "$(cat "$f")" "pids.max after --pids-limit 0"
  # a limit of 0: the container cannot fork
  k exec it-pz true 2>"$WORK/err" && fail "exec succeeded under pids.max 0"
  k update --pids-limit -1 it-pz
  expect_eq max "$(cat "$f")" "pids.max after --pids-limit -1"
  k exec it-pz true
  echo '{"pids":{"limit":0}}' > "$WORK/pz.json"
  k update --resources "$WORK/pz.json" it-pz
  expect_eq 0 "$(cat "$f")" "pids.max after --resources {pids:{limit:0}}"
  k delete --force it-pz
  no_leftovers it-pz
  # runc 1.1 (before 1.4) and crun 1.8 read 0 as "no limit": they write max
  local rt
  for rt in runc crun; do
    r $rt run -d -b "$b" it-pz-$rt </dev/null
    pid=$(r $rt state it-pz-$rt | jq -r .pid)
    r $rt update --pids-limit 0 it-pz-$rt 2>&1 || echo "$rt: update --pids-limit 0 failed"
    echo "$rt --pids-limit 0: pids.max $(cat "$(cgdir "$pid" pids)/pids.max")"
    r $rt delete --force it-pz-$rt
  done
}

t_exec_into_a_paused_container_needs_ignore_paused() {
  local b; b=$(mkpriv ip '.ociVersion = "1.0.2" | .process.args = ["sleep","100"]')
  # crun 1.8 has no --ignore-paused: only runc 1.1 is compared
  crun exec --help | grep -e --ignore-paused >/dev/null && fail "crun now has --ignore-paused: compare it here"
  local rt
  for rt in k3rt runc; do
    r $rt run -d -b "$b" it-ip-$rt </dev/null
    r $rt pause it-ip-$rt
    r $rt exec it-ip-$rt true 2>"$WORK/err" && fail "$rt: exec into a paused container succeeded"
    expect_contains "$(cat "$WORK/err")" "paused" "$rt error"
    # the process joins the frozen cgroup and runs once the container is resumed
    r $rt exec --ignore-paused it-ip-$rt sh -c "echo ran-$rt > /tmp/ip" &
    local ex=$!
    sleep 0.5
    [[ -e $b/rootfs/tmp/ip ]] && fail "$rt: the exec ran while the container was paused"
    r $rt resume it-ip-$rt
    wait $ex || fail "$rt: exec --ignore-paused failed"
    expect_eq "ran-$rt" "$(cat "$b/rootfs/tmp/ip")" "$rt exec output"
    rm -f "$b/rootfs/tmp/ip"
    r $rt delete --force it-ip-$rt
  done
  no_leftovers it-ip-k3rt
}

t_exec_cgroup_joins_a_sub_cgroup() {
  local b; b=$(mkb ec '.ociVersion = "1.0.2" | .process.args = ["sleep","100"]')
  local rt
  for rt in k3rt runc crun; do
    r $rt run -d -b "$b" it-ec-$rt </dev/null
    local pid; pid=$(r $rt state it-ec-$rt | jq -r .pid)
    local c d
    for d in $(cgsubs "$pid" it-ec-$rt); do
      mkdir "$d/k3sub"
      # a new v1 cpuset is empty until given cpus and mems
      if [[ -e $d/cpuset.cpus ]]; then cp "$d/cpuset.cpus" "$d/k3sub/"; cp "$d/cpuset.mems" "$d/k3sub/"; fi
    done
    # a bare path: every hierarchy
    r $rt exec -d --pid-file "$WORK/ec.pid" --cgroup k3sub it-ec-$rt sleep 50
    local epid; epid=$(cat "$WORK/ec.pid")
    for c in pids memory cpu; do
      expect_eq "$(cgdir "$pid" $c)/k3sub" "$(cgdir "$epid" $c)" "$rt: $c cgroup of the exec (bare path)"
    done
    kill -9 "$epid"
    if [[ $rt != crun ]]; then
      # CONTROLLER:PATH: that hierarchy only (crun 1.8 takes a v2 path only)
      r $rt exec -d --pid-file "$WORK/ec.pid" --cgroup pids:k3sub it-ec-$rt sleep 50
      epid=$(cat "$WORK/ec.pid")
      expect_eq "$(cgdir "$pid" pids)/k3sub" "$(cgdir "$epid" pids)" "$rt: pids cgroup (pids:k3sub)"
      expect_eq "$(cgdir "$pid" memory)" "$(cgdir "$epid" memory)" "$rt: memory cgroup (pids:k3sub)"
      kill -9 "$epid"
    fi
    # a sub-cgroup that does not exist is refused
    # k3rt and runc refuse a sub-cgroup that does not exist; crun 1.8 on cgroup v1 runs
    # the process in the container's own cgroup instead
    if r $rt exec --cgroup nope it-ec-$rt true 2>"$WORK/err"; then
      [[ $rt == crun ]] || fail "$rt: exec into a missing sub-cgroup succeeded"
    else
      [[ $rt != crun ]] || fail "crun now refuses a missing sub-cgroup: drop the exception"
    fi
    sleep 0.2
    for d in $(cgsubs "$pid" it-ec-$rt); do rmdir "$d/k3sub"; done
    r $rt delete --force it-ec-$rt
  done
  k run -d -b "$b" it-ec2
  k exec --cgroup ../escape it-ec2 true 2>"$WORK/err" && fail "--cgroup ../escape accepted"
  expect_contains "$(cat "$WORK/err")" "--cgroup"
  k exec --cgroup nope it-ec2 true 2>"$WORK/err" && fail "--cgroup nope accepted"
  expect_contains "$(cat "$WORK/err")" "no such sub-cgroup"
  k exec --cgroup rdma:x it-ec2 true 2>"$WORK/err" && fail "--cgroup rdma:x accepted"
  expect_contains "$(cat "$WORK/err")" "rdma:x"
  k delete --force it-ec2
  no_leftovers it-ec2
}

t_pidfd_socket_on_create_run_exec() {
  # runc 1.1 and crun 1.8 have no --pidfd-socket (runc has it from 1.2)
  runc create --help | grep -e --pidfd-socket >/dev/null && fail "runc now has --pidfd-socket: compare it here"
  crun create --help | grep -e --pidfd-socket >/dev/null && fail "crun now has --pidfd-socket: compare it here"
  local b; b=$(mkb pf '.process.args = ["sleep","100"]')
  python3 "$RECV" "$WORK/pf.sock" >"$WORK/pf.out" & local rcv=$!
  for _ in $(seq 100); do [[ -S $WORK/pf.sock ]] && break; sleep 0.02; done
  k create --pidfd-socket "$WORK/pf.sock" -b "$b" it-pf
  wait $rcv
  expect_eq "standard $(k state it-pf | jq -r .pid)" "$(cat "$WORK/pf.out")" "create's pidfd"
  k start it-pf
  rm -f "$WORK/pf.sock"
  # exec: the pidfd names the new process; the receiver kills it through the pidfd
  python3 "$RECV" "$WORK/pf.sock" kill >"$WORK/pf.out" & rcv=$!
  for _ in $(seq 100); do [[ -S $WORK/pf.sock ]] && break; sleep 0.02; done
  local rc=0
  k exec --pidfd-socket "$WORK/pf.sock" it-pf sleep 77 || rc=$?
  wait $rcv
  expect_eq 137 "$rc" "exit code of the exec killed through its pidfd"
  [[ $(cat "$WORK/pf.out") == "setns "* ]] || fail "exec's pidfd message: $(cat "$WORK/pf.out")"
  k delete --force it-pf
  rm -f "$WORK/pf.sock"
  # run
  python3 "$RECV" "$WORK/pf.sock" >"$WORK/pf.out" & rcv=$!
  for _ in $(seq 100); do [[ -S $WORK/pf.sock ]] && break; sleep 0.02; done
  k run -d --pidfd-socket "$WORK/pf.sock" -b "$b" it-pf2
  wait $rcv
  expect_eq "standard $(k state it-pf2 | jq -r .pid)" "$(cat "$WORK/pf.out")" "run's pidfd"
  k delete --force it-pf2
  # nobody listening: a clear error, nothing left
  k create --pidfd-socket "$WORK/none.sock" -b "$b" it-pf3 2>"$WORK/err" && fail "create with a dead --pidfd-socket succeeded"
  expect_contains "$(cat "$WORK/err")" "--pidfd-socket"
  no_leftovers it-pf3
  no_leftovers it-pf2
  no_leftovers it-pf
}

t_kill_signals_through_a_pidfd() {
  local b; b=$(mkb kp '.process.args = ["sleep","100"]')
  k run -d -b "$b" it-kp
  local pid; pid=$(k state it-kp | jq -r .pid)
  strace -f -qq -e trace=pidfd_open,pidfd_send_signal,kill -o "$WORK/kp.trace" "$K3RT" --root "$ROOT" kill it-kp KILL
  grep "pidfd_open($pid, 0)" "$WORK/kp.trace" >/dev/null || fail "no pidfd_open of the init: $(cat "$WORK/kp.trace")"
  grep 'pidfd_send_signal(.*SIGKILL' "$WORK/kp.trace" >/dev/null || fail "no pidfd_send_signal: $(cat "$WORK/kp.trace")"
  grep "kill($pid," "$WORK/kp.trace" >/dev/null && fail "the init was signalled by pid: $(cat "$WORK/kp.trace")"
  wait_status k3rt it-kp stopped
  k delete it-kp
  no_leftovers it-kp
}

t_oci_version_1_3_is_accepted() {
  local v
  for v in 1.3.0 1.3.1 1.3.0-rc.1; do
    local b; b=$(mkb v13 ".ociVersion = \"$v\" | .process.args = [\"true\"]")
    k run -b "$b" it-v13 || fail "ociVersion $v refused"
    no_leftovers it-v13
  done
  b=$(mkb v2 '.ociVersion = "2.0.0" | .process.args = ["true"]')
  k run -b "$b" it-v2 2>"$WORK/err" && fail "ociVersion 2.0.0 accepted"
  expect_contains "$(cat "$WORK/err")" "ociVersion"
  no_leftovers it-v2
  # runc 1.1 takes any version; crun 1.8 refuses 1.3.0 ("unknown version specified")
  b=$(mkb v13 '.ociVersion = "1.3.0" | .process.args = ["true"]')
  r runc run -b "$b" it-v13-runc </dev/null || fail "runc refused 1.3.0"
  r crun run -b "$b" it-v13-crun </dev/null 2>"$WORK/err" && fail "crun now takes 1.3.0: compare it"
  expect_contains "$(cat "$WORK/err")" "unknown version"
}

t_memory_policy_is_set_or_refused_by_name() {
  local sh='.process.args = ["sh","-c","head -1 /proc/self/numa_maps"]'
  local b; b=$(mkb mp "$sh | .linux.memoryPolicy = {\"mode\": \"MPOL_BIND\", \"nodes\": \"0\"}")
  expect_contains "$(k run -b "$b" it-mp)" " bind:0 " "numa_maps under MPOL_BIND"
  b=$(mkb mp "$sh | .linux.memoryPolicy = {\"mode\": \"MPOL_INTERLEAVE\", \"nodes\": \"0\", \"flags\": [\"MPOL_F_STATIC_NODES\"]}")
  expect_contains "$(k run -b "$b" it-mp)" " interleave=static:0 " "numa_maps under MPOL_INTERLEAVE static"
  # an exec'd process has the container's policy too
  b=$(mkb mp '.process.args = ["sleep","100"] | .linux.memoryPolicy = {"mode": "MPOL_PREFERRED", "nodes": "0"}')
  k run -d -b "$b" it-mp
  expect_contains "$(k exec it-mp head -1 /proc/self/numa_maps)" " prefer:0 " "numa_maps of an exec"
  k delete --force it-mp
  no_leftovers it-mp
  # the kernel refuses a node that is not online: the error names the field
  local off=$(( $(ls -d /sys/devices/system/node/node* | wc -l) + 7 ))
  b=$(mkb mp "$sh | .linux.memoryPolicy = {\"mode\": \"MPOL_BIND\", \"nodes\": \"$off\"}")
  k run -b "$b" it-mp 2>"$WORK/err" && fail "MPOL_BIND to offline node $off succeeded"
  expect_contains "$(cat "$WORK/err")" "linux.memoryPolicy"
  expect_contains "$(cat "$WORK/err")" "set_mempolicy"
  no_leftovers it-mp
  b=$(mkb mp "$sh | .linux.memoryPolicy = {\"mode\": \"MPOL_LOCAL\", \"nodes\": \"0\"}")
  k run -b "$b" it-mp 2>"$WORK/err" && fail "MPOL_LOCAL with nodes accepted"
  expect_contains "$(cat "$WORK/err")" "linux.memoryPolicy.nodes"
  no_leftovers it-mp
  # runc 1.1 and crun 1.8 ignore the field: the process keeps the default policy
  b=$(mkb mp "$sh | .ociVersion = \"1.0.2\" | .linux.memoryPolicy = {\"mode\": \"MPOL_BIND\", \"nodes\": \"0\"}")
  local rt
  for rt in runc crun; do
    expect_contains "$(r $rt run -b "$b" it-mp-$rt </dev/null)" " default " "$rt ignores memoryPolicy"
  done
}

t_features_memory_policy_modes_and_flags_all_run() {
  # every mode and flag `features` advertises runs on this kernel (nodes where needed)
  local f; f=$(k features)
  local modes flags m fl
  modes=$(jq -r '.linux.memoryPolicy.modes[]' <<<"$f")
  flags=$(jq -r '.linux.memoryPolicy.flags[]' <<<"$f")
  [[ $(wc -w <<<"$modes") -ge 7 ]] || fail "modes: $modes"
  for m in $modes; do
    local nodes=', "nodes": "0"'
    [[ $m == MPOL_DEFAULT || $m == MPOL_LOCAL ]] && nodes=
    local b; b=$(mkb fm ".process.args = [\"true\"] | .linux.memoryPolicy = {\"mode\": \"$m\"$nodes}")
    k run -b "$b" it-fm || fail "advertised mode $m does not run"
  done
  for fl in $flags; do
    # MPOL_F_NUMA_BALANCING goes with MPOL_BIND; the node flags with MPOL_INTERLEAVE
    m=MPOL_INTERLEAVE; [[ $fl == MPOL_F_NUMA_BALANCING ]] && m=MPOL_BIND
    b=$(mkb fm ".process.args = [\"true\"] | .linux.memoryPolicy = {\"mode\": \"$m\", \"nodes\": \"0\", \"flags\": [\"$fl\"]}")
    k run -b "$b" it-fm || fail "advertised flag $fl does not run"
  done
  no_leftovers it-fm
  # what is not implemented is not advertised (netDevices is, and runs in its own tests)
  expect_eq true "$(jq -r .linux.netDevices.enabled <<<"$f")" "netDevices.enabled"
  expect_eq false "$(jq -r .linux.intelRdt.enabled <<<"$f")" "intelRdt.enabled"
}

# idsrc: a source tree for id-mapped mounts: f owned 1000:1000, and sub/, a tmpfs
# submount, holding g owned 2000:2000. Prints its path.
idsrc() {
  local d=$WORK/idsrc
  if [[ ! -d $d ]]; then
    mkdir -p "$d/sub" && touch "$d/f" && chown 1000:1000 "$d/f"
  fi
  mountpoint -q "$d/sub" || { mount -t tmpfs k3idsub "$d/sub" && touch "$d/sub/g" && chown 2000:2000 "$d/sub/g"; }
  echo "$d"
}

# idb NAME MOUNT-JQ [USERNS]: a private bundle printing the owners of /mnt/f and
# /mnt/sub/g, with the mount MOUNT-JQ at /mnt; USERNS (default yes) maps 0 → 100000.
idb() {
  local userns='.linux.namespaces += [{"type":"user"}] | .linux.uidMappings = [{"containerID":0,"hostID":100000,"size":65536}] | .linux.gidMappings = [{"containerID":0,"hostID":100000,"size":65536}]'
  [[ ${3:-yes} == yes ]] || userns=.
  rm -rf "${WORK:?}/$1"
  local b; b=$(mkpriv "$1" ".ociVersion = \"1.0.2\" | $userns | .process.args = [\"sh\",\"-c\",\"stat -c %u:%g /mnt/f /mnt/sub/g 2>&1 | tr '\\\\n' ' '\"] | .mounts += [$2 | .destination = \"/mnt\"]")
  mkdir -p "$b/rootfs/mnt"
  [[ ${3:-yes} == yes ]] && chown -R 100000:100000 "$b/rootfs"
  echo "$b"
}


t_idmap_mounts_show_the_owners_crun_shows() {
  local src; src=$(idsrc)
  local own='"uidMappings":[{"containerID":1000,"hostID":100005,"size":1}],"gidMappings":[{"containerID":1000,"hostID":100007,"size":1}]'
  local abs='"uidMappings":[{"containerID":1000,"hostID":5,"size":1}],"gidMappings":[{"containerID":1000,"hostID":7,"size":1}]'
  local name m userns want rt got
  # name | mount | user namespace | what k3rt must show for /mnt/f
  while IFS='|' read -r name m userns want; do
    local b; b=$(idb "im-$name" "$m" "$userns")
    for rt in k3rt crun; do
      got=$(r $rt run -b "$b" "it-im-$name-$rt" </dev/null 2>&1) || fail "$rt $name: $got"
      got=${got%% *}
      expect_eq "$want" "$got" "$rt $name: owner of /mnt/f"
    done
  done <<EOF2
userns|{"type":"bind","source":"$src","options":["bind","idmap"]}|yes|1000:1000
own|{"type":"bind","source":"$src","options":["bind","idmap"],$own}|yes|5:7
nouserns|{"type":"bind","source":"$src","options":["bind","idmap"],$abs}|no|5:7
nooption|{"type":"bind","source":"$src","options":["bind"],$own}|yes|5:7
EOF2
  # the same tree without idmap: the host's 1000 and 2000 are not mapped in the container
  # (an rbind: a plain bind would reveal what the submount covers, which a user namespace may not)
  b=$(idb im-plain "{\"type\":\"bind\",\"source\":\"$src\",\"options\":[\"rbind\"]}")
  expect_eq "65534:65534 65534:65534 " "$(k run -b "$b" it-im-plain)" "owners without idmap"
  no_leftovers it-im-plain
}

t_tmpcopyup_in_a_user_namespace_keeps_owners_as_crun_does() {
  # the copies keep the mapped owners (0 and 1000 in the container), as crun's do; the
  # copy-up chowned the tmpfs's root through its magic link in /proc/self/fd, which a
  # user namespace refuses (EPERM)
  local rt b got
  for rt in k3rt crun; do
    b=$(idb "tcu-$rt" '{"type":"tmpfs","source":"tmpfs","options":["tmpcopyup"]}')
    mkdir -p "$b/rootfs/mnt/d" && echo hi > "$b/rootfs/mnt/d/f" && ln -s d/f "$b/rootfs/mnt/l"
    chown 100000:100000 "$b/rootfs/mnt/d" && chown -h 101000:101000 "$b/rootfs/mnt" "$b/rootfs/mnt/d/f" "$b/rootfs/mnt/l" && chmod 751 "$b/rootfs/mnt" && chmod 604 "$b/rootfs/mnt/d/f"
    jq '.process.args = ["sh","-c","stat -c \"%n %u:%g %a\" /mnt/d /mnt/d/f /mnt && stat -c \"%n %u:%g %N\" /mnt/l && cat /mnt/l && grep -c \" /mnt .* - tmpfs \" /proc/self/mountinfo"]' \
      "$b/config.json" > "$b/c" && mv "$b/c" "$b/config.json"
    got=$(r $rt run -b "$b" "it-tcu-$rt" </dev/null 2>&1) || fail "$rt: $got"
    # the tmpfs's root: k3rt takes the old directory's mode, not its owner, as runc
    # does; crun 1.8 takes neither (tmpfs's 1777)
    local top="0:0 751"
    [[ $rt == crun ]] && top="0:0 1777"
    expect_eq "/mnt/d 0:0 755
/mnt/d/f 1000:1000 604
/mnt $top
/mnt/l 1000:1000 '/mnt/l' -> 'd/f'
hi
1" "$got" "$rt: the copied tree"
  done
  no_leftovers it-tcu-k3rt
}

t_idmap_mount_of_a_shared_source_is_a_slave() {
  # a clone of a shared mount joins its peer group: the id-mapped mount must be a
  # slave, as a plain bind is, or what the container mounts there shows on the host
  local src=$WORK/idshared
  mkdir -p "$src" && mount --bind "$src" "$src" && mount --make-shared "$src"
  local b; b=$(idb ish "{\"type\":\"bind\",\"source\":\"$src\",\"options\":[\"bind\",\"idmap\"]}")
  jq '.process.args = ["sh","-c","grep \" /mnt \" /proc/self/mountinfo"]' "$b/config.json" > "$b/c" && mv "$b/c" "$b/config.json"
  local line; line=$(k run -b "$b" it-ish)
  expect_contains "$line" " master:" "the id-mapped mount's propagation"
  [[ $line != *" shared:"* ]] || fail "the id-mapped mount is shared with the host: $line"
  no_leftovers it-ish
}

t_recursive_mount_options_reach_the_submounts() {
  local src; src=$(idsrc)
  local b; b=$(idb rec "{\"type\":\"bind\",\"source\":\"$src\",\"options\":[\"rbind\",\"rro\",\"rnosuid\",\"rnodev\",\"rnoexec\",\"rnoatime\",\"rnosymfollow\"]}" no)
  jq '.process.args = ["sh","-c","grep \" /mnt/sub \" /proc/self/mountinfo"]' "$b/config.json" > "$b/c" && mv "$b/c" "$b/config.json"
  # the submount's per-mount options (mountinfo's 6th field), comma-framed
  local line o; line=$(k run -b "$b" it-rec)
  local opts=",$(awk '{print $6}' <<<"$line"),"
  for o in ro nosuid nodev noexec noatime nosymfollow; do
    [[ $opts == *",$o,"* ]] || fail "the submount lacks $o: $line"
  done
  # rrw undoes rro; rstrictatime replaces rnoatime (later options win)
  b=$(idb rec "{\"type\":\"bind\",\"source\":\"$src\",\"options\":[\"rbind\",\"rro\",\"rnoatime\",\"rrw\",\"rstrictatime\"]}" no)
  jq '.process.args = ["sh","-c","grep \" /mnt/sub \" /proc/self/mountinfo"]' "$b/config.json" > "$b/c" && mv "$b/c" "$b/config.json"
  line=$(k run -b "$b" it-rec)
  opts=",$(awk '{print $6}' <<<"$line"),"
  [[ $opts == *",rw,"* && $opts != *atime* ]] || fail "rrw, rstrictatime: $line"
  no_leftovers it-rec
  # runc 1.1 has rro alone, and agrees
  b=$(idb rec "{\"type\":\"bind\",\"source\":\"$src\",\"options\":[\"rbind\",\"rro\"]}" no)
  jq '.process.args = ["sh","-c","grep \" /mnt/sub \" /proc/self/mountinfo"]' "$b/config.json" > "$b/c" && mv "$b/c" "$b/config.json"
  for rt in k3rt runc; do
    line=$(r $rt run -b "$b" it-rec-$rt </dev/null)
    [[ ",$(awk '{print $6}' <<<"$line")," == *",ro,"* ]] || fail "$rt rro: the submount is not read-only: $line"
  done
}

t_ridmap_maps_the_submounts_of_an_rbind() {
  local src; src=$(idsrc)
  local b; b=$(idb rid "{\"type\":\"bind\",\"source\":\"$src\",\"options\":[\"rbind\",\"ridmap\"]}")
  expect_eq "1000:1000 2000:2000 " "$(k run -b "$b" it-rid)" "ridmap: f and the submount's g"
  # idmap maps the top mount only: the submount shows the host's 2000, unmapped here
  b=$(idb rid "{\"type\":\"bind\",\"source\":\"$src\",\"options\":[\"rbind\",\"idmap\"]}")
  expect_eq "1000:1000 65534:65534 " "$(k run -b "$b" it-rid)" "idmap on an rbind: f and g"
  no_leftovers it-rid
  # crun 1.8 does not know ridmap: no idmap at all, and not even the submount
  b=$(idb rid "{\"type\":\"bind\",\"source\":\"$src\",\"options\":[\"rbind\",\"ridmap\"]}")
  local got; got=$(r crun run -b "$b" it-rid-crun </dev/null 2>&1) || true
  echo "crun 1.8 with rbind,ridmap: $got"
  [[ $got != "1000:1000 2000:2000 " ]] || fail "crun now knows ridmap: compare it here"
}

t_idmap_refusals_name_the_field() {
  local src; src=$(idsrc)
  local name m userns field rt
  # name | mount | user namespace | what k3rt's error must name
  while IFS='|' read -r name m userns field; do
    local b; b=$(idb "ir-$name" "$m" "$userns")
    k run -b "$b" "it-ir-$name" 2>"$WORK/err" && fail "$name: k3rt ran it"
    expect_contains "$(cat "$WORK/err")" "$field" "$name: k3rt's error"
    no_leftovers "it-ir-$name"
    # crun refuses each too (with its own words)
    if r crun run -b "$b" "it-ir-$name-crun" </dev/null >/dev/null 2>&1; then fail "$name: crun ran it"; fi
  done <<EOF2
size0|{"type":"bind","source":"$src","options":["bind"],"uidMappings":[{"containerID":0,"hostID":1000,"size":0}],"gidMappings":[{"containerID":0,"hostID":1000,"size":1}]}|yes|mounts.uidMappings
onlyuid|{"type":"bind","source":"$src","options":["bind"],"uidMappings":[{"containerID":0,"hostID":1000,"size":1}]}|yes|mounts.gidMappings
overflow|{"type":"bind","source":"$src","options":["bind"],"uidMappings":[{"containerID":0,"hostID":4294967290,"size":100}],"gidMappings":[{"containerID":0,"hostID":1000,"size":1}]}|yes|the kernel refused the mapping
tmpfs|{"type":"tmpfs","source":"tmpfs","options":["idmap"]}|yes|only supported for bind mounts
nouserns|{"type":"bind","source":"$src","options":["bind","idmap"]}|no|mounts.options
procfs|{"type":"bind","source":"/proc/sys","options":["bind","idmap"]}|yes|does not support id-mapped mounts
EOF2
}

t_features_advertises_only_what_runs() {
  local f; f=$(k features)
  expect_eq 1.3.0 "$(jq -r .ociVersionMax <<<"$f")" "ociVersionMax"
  expect_eq true "$(jq -r .linux.mountExtensions.idmap.enabled <<<"$f")" "idmap.enabled (Linux $(uname -r))"
  local o
  for o in idmap ridmap; do
    jq -e --arg o "$o" '.mountOptions | index($o)' <<<"$f" >/dev/null || fail "mountOptions lacks $o"
  done
  # every mount option runs (each on a bind or a tmpfs, as it applies)
  local src; src=$(idsrc)
  for o in $(jq -r '.mountOptions[]' <<<"$f"); do
    local m
    local userns=no
    case $o in
      idmap|ridmap) userns=yes; m="{\"type\":\"bind\",\"source\":\"$src\",\"options\":[\"rbind\",\"$o\"]}" ;;
      bind|rbind|rro) m="{\"type\":\"bind\",\"source\":\"$src\",\"options\":[\"rbind\",\"$o\"]}" ;;
      remount) continue ;; # a remount of a mount that is not there yet: nothing to run
      *) m="{\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"$o\"]}" ;;
    esac
    local b; b=$(idb fo "$m" $userns)
    k run -b "$b" it-fo >/dev/null 2>"$WORK/err" || fail "advertised mount option $o does not run: $(cat "$WORK/err")"
  done
  no_leftovers it-fo
  # every seccomp flag and action advertised loads (an allow-all filter with one rule)
  local fl a
  for fl in $(jq -r '.linux.seccomp.supportedFlags[]' <<<"$f"); do
    local b; b=$(mkb fs ".process.args = [\"true\"] | .linux.seccomp = {\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"$fl\"]}")
    k run -b "$b" it-fs || fail "advertised seccomp flag $fl does not run"
  done
  for a in $(jq -r '.linux.seccomp.actions[]' <<<"$f"); do
    [[ $a == SCMP_ACT_NOTIFY ]] && continue # needs a listener: suite_security runs it
    local b; b=$(mkb fs ".process.args = [\"true\"] | .linux.seccomp = {\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"acct\"],\"action\":\"$a\"}]}")
    k run -b "$b" it-fs || fail "advertised seccomp action $a does not run"
  done
  for a in $(jq -r '.linux.seccomp.archs[]' <<<"$f"); do
    local b; b=$(mkb fs ".process.args = [\"true\"] | .linux.seccomp = {\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"$a\"]}")
    k run -b "$b" it-fs || fail "advertised seccomp arch $a does not run"
  done
  no_leftovers it-fs
  # crun 1.8 has no `features` command to compare the field set with; runc 1.1 has:
  # every field it reports, k3rt reports too (annotations are each runtime's own)
  if crun features >/dev/null 2>&1; then fail "crun now has features: compare the field sets"; fi
  local fields='[paths(type != "object" and type != "array") | map(select(type == "string")) | join(".")] | unique[] | select(startswith("annotations.") | not)'
  local missing; missing=$(comm -23 <(runc features | jq -r "$fields") <(jq -r "$fields" <<<"$f"))
  [[ -z $missing ]] || fail "fields runc 1.1 reports and k3rt does not: $missing"
  echo "k3rt only: $(comm -13 <(runc features | jq -r "$fields") <(jq -r "$fields" <<<"$f") | tr '\n' ' ')"
}

t_intel_rdt_without_resctrl_is_an_error() {
  [[ ! -e /sys/fs/resctrl/info ]] || fail "this host has resctrl: test the real thing here"
  local b; b=$(mkb rdt '.process.args = ["true"] | .linux.intelRdt = {"closID": "k3", "schemata": ["L3:0=f"], "enableMonitoring": true}')
  k run -b "$b" it-rdt 2>"$WORK/err" && fail "intelRdt without resctrl succeeded"
  expect_contains "$(cat "$WORK/err")" "linux.intelRdt"
  expect_contains "$(cat "$WORK/err")" "resctrl"
  no_leftovers it-rdt
  # runc 1.1 refuses too; crun 1.8 runs the container without RDT, saying nothing
  b=$(mkb rdt '.ociVersion = "1.0.2" | .process.args = ["true"] | .linux.intelRdt = {"closID": "k3", "l3CacheSchema": "L3:0=f"}')
  r runc run -b "$b" it-rdt-runc </dev/null 2>"$WORK/err" && fail "runc: intelRdt without resctrl succeeded"
  expect_contains "$(cat "$WORK/err")" "Intel RDT" "runc's error"
  r crun run -b "$b" it-rdt-crun </dev/null || fail "crun now refuses intelRdt without resctrl: compare it here"
}

# veth_pair: k3t0 (10.77.0.1/24, fd77::1/64, up) and its peer k3t1 on the host.
# (this kernel has no dummy driver: "Unknown device type")
veth_pair() {
  ip link add k3t0 type veth peer name k3t1
  ip addr add 10.77.0.1/24 dev k3t0
  ip -6 addr add fd77::1/64 dev k3t0 nodad
  ip link set k3t0 up
  ip link set k3t1 up
}

# on_host DEV: DEV is in the host's namespace, up, with its addresses; prints them.
on_host() {
  ip link show "$1" >/dev/null 2>&1 || fail "$1 is not back on the host"
  local a; a=$(ip -o addr show dev "$1" scope global | awk '{print $4}' | sort | tr '\n' ' ')
  echo "$1 on the host: $a"
}

t_net_devices_move_in_renamed_and_back_on_delete() {
  veth_pair
  local b; b=$(mkb nd '.process.args = ["sleep","100"] | .linux.netDevices = {"k3t0": {"name": "eth9"}}')
  k run -d -b "$b" it-nd </dev/null
  ip link show k3t0 >/dev/null 2>&1 && fail "k3t0 is still on the host"
  local st; st=$(k exec it-nd cat /sys/class/net/eth9/operstate /sys/class/net/eth9/flags)
  expect_contains "$st" "up" "eth9's state inside"
  local a; a=$(k exec it-nd ip -o addr show dev eth9 scope global)
  expect_contains "$a" "inet 10.77.0.1/24" "eth9's IPv4 address inside"
  expect_contains "$a" "inet6 fd77::1/64" "eth9's IPv6 address inside"
  # the init gone, the device stays with the stopped container (the kernel would
  # destroy a veth with the namespace): delete returns it
  k kill it-nd KILL
  wait_status k3rt it-nd stopped
  ip link show k3t0 >/dev/null 2>&1 && fail "k3t0 back before delete"
  k delete it-nd
  expect_eq "k3t0 on the host: 10.77.0.1/24 fd77::1/64 " "$(on_host k3t0)"
  expect_contains "$(ip -o link show k3t0)" ",UP" "k3t0 up again"
  no_leftovers it-nd
  # without a name it keeps its own; delete --force of a running one returns it too
  b=$(mkb nd '.process.args = ["sleep","100"] | .linux.netDevices = {"k3t0": {}}')
  k run -d -b "$b" it-nd </dev/null
  k exec it-nd cat /sys/class/net/k3t0/operstate >/dev/null
  k delete --force it-nd
  expect_eq "k3t0 on the host: 10.77.0.1/24 fd77::1/64 " "$(on_host k3t0)"
  no_leftovers it-nd
  # runc 1.1 and crun 1.8 ignore the field: the device stays on the host
  b=$(mkb nd '.ociVersion = "1.0.2" | .process.args = ["true"] | .linux.netDevices = {"k3t0": {"name": "eth9"}}')
  local rt
  for rt in runc crun; do
    r $rt run -b "$b" it-nd-$rt </dev/null
    ip link show k3t0 >/dev/null 2>&1 || fail "$rt now moves netDevices: compare it here"
  done
}

t_net_devices_refused_by_name_leave_the_host_as_it_was() {
  veth_pair
  local ns=k3nd$$
  ip netns add $ns
  ip -n $ns link add eth9 type veth peer name eth10
  local name dev why b
  # name # netDevices # namespaces filter # what the error must say
  while IFS='#' read -r name dev nsf why; do
    [[ -n $why ]] || fail "$name: no expected error (a bad table line)"
    b=$(mkb ndr ".process.args = [\"true\"] | .linux.netDevices = $dev | $nsf")
    k run -b "$b" "it-ndr-$name" 2>"$WORK/err" && fail "$name: k3rt ran it"
    expect_contains "$(cat "$WORK/err")" "$why" "$name: the error"
    expect_eq "k3t0 on the host: 10.77.0.1/24 fd77::1/64 " "$(on_host k3t0)" "$name: k3t0"
    ip link show k3t1 >/dev/null 2>&1 || fail "$name: k3t1 left the host"
    no_leftovers "it-ndr-$name"
  done <<EOF2
missing#{"k3none0": {}}#.#invalid \`linux.netDevices\` \`k3none0\`: no such network device on the host
twice#{"k3t0": {"name": "eth9"}, "k3t1": {"name": "eth9"}}#.#invalid \`linux.netDevices.name\` \`k3t1: eth9\`
badname#{"k3t0": {"name": "a/b"}}#.#invalid \`linux.netDevices.name\` \`k3t0: a/b\`
lo#{"k3t0": {"name": "lo"}}#.#has its own \`lo\`
nonetns#{"k3t0": {}}#.linux.namespaces |= map(select(.type != "network"))#needs a network namespace
taken#{"k3t0": {"name": "eth9"}}#.linux.namespaces |= map(if .type == "network" then .path = "/run/netns/$ns" else . end)#a device of that name is already in the container
second#{"k3t0": {"name": "a0"}, "k3t1": {"name": "eth9"}}#.linux.namespaces |= map(if .type == "network" then .path = "/run/netns/$ns" else . end)#\`k3t1: eth9\`
EOF2
  # the joined namespace keeps only its own devices
  expect_eq "eth10 eth9 lo " "$(ip -n $ns -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | sort | tr '\n' ' ')" "devices in $ns"
}

run_suite
