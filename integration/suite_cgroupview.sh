#!/usr/bin/env bash
# The container's own cgroup at /sys/fs/cgroup, as docker and podman give it: k3
# (`--memory --cpus --pids-limit`, `--cgroupns private|host`, read-only unless
# `--privileged`) checked from inside against podman running the same command on the
# same flags (shell reads and the probe's JVM-like `cgroup` mode), k3rt's `cgroup`
# mount checked against runc and crun on one bundle, and the cgroup2 mount with a
# private cgroup namespace run for real through the host's v2 hierarchy (as
# suite_cgroup2.sh). Ends with `N passed, M failed`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/engine_lib.sh"
source "$(dirname "$0")/images_local.sh"
need podman conmon jq unshare nsenter
engine_setup

# --- podman, private storage under $T, no network (nothing touches iptables)
PW=/tmp/k3-cgview-$$-$RANDOM # lowercase: podman names images after the path
mkdir -p "$PW"
podman_conf "$PW/containers.conf"
p() { (cd "$PW" && CONTAINERS_CONF=$PW/containers.conf podman --root "$PW/storage" --runroot "$PW/run" "$@"); }

# --- k3rt, runc, crun on one bundle: their own state roots
RTW=$T/rt
mkdir -p "$RTW"
rt() { local r=$1; shift; "$r" --root "$RTW/state-$(basename "$r")" "$@"; }
HOLDER=

cleanup_all() {
    local r id
    for r in "$K3RT" runc crun; do
        for id in $(ls "$RTW/state-$(basename "$r")" 2>/dev/null); do rt "$r" delete --force "$id" >/dev/null 2>&1; done
    done
    rmdir /sys/fs/cgroup/*/k3cv/* /sys/fs/cgroup/*/k3cv 2>/dev/null
    if [[ -n $HOLDER ]]; then kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null; fi
    [[ -n ${CG2ROOT:-} ]] && rmdir "$CG2ROOT"/k3cv/* "$CG2ROOT"/k3cv 2>/dev/null
    p rm -af -t 0 >/dev/null 2>&1
    p system reset --force >/dev/null 2>&1
    umount -R "$PW/storage" 2>/dev/null
    rm -rf "$PW"
    engine_cleanup
}
trap cleanup_all EXIT INT TERM

after_each() {
    local id
    for id in $(k3 ps -aq 2>/dev/null); do k3 rm -f "$id" >/dev/null 2>&1; done
    p rm -af -t 0 >/dev/null 2>&1
}

# The image: busybox with the probe, for both engines.
mkdir -p "$T/img-cv/bin"
make -s -C "$TOP/bundles/probe" >/dev/null && cp "$TOP/bundles/probe/probe" "$T/img-cv/bin/probe" \
    && image_build cgview latest "$T/img-cv" --config.cmd sh >"$T/cv-build.log" 2>&1 \
    || { echo "FAIL building the image: $(tail -5 "$T/cv-build.log")"; echo "0 passed, 1 failed"; exit 1; }
oci_busybox "$PW/oci" && PIMG=$(p pull -q "oci:$PW/oci:latest") \
    || { echo "FAIL podman image"; echo "0 passed, 1 failed"; exit 1; }

# The v2 view: a process holding a private mount namespace whose /sys/fs/cgroup is the
# host's cgroup2 hierarchy (as suite_cgroup2.sh). Made here, in the suite's shell, so
# the EXIT trap ends it; nothing is mounted unless the namespace is really new.
CG2ROOT=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
[[ -n $CG2ROOT ]] || { echo "FAIL no cgroup2 hierarchy mounted on this host"; echo "0 passed, 1 failed"; exit 1; }
unshare -m --propagation private sleep infinity &
HOLDER=$!
for _ in $(seq 500); do [[ $(readlink /proc/$HOLDER/ns/mnt) != "$(readlink /proc/self/ns/mnt)" ]] && break; sleep 0.01; done
[[ $(readlink /proc/$HOLDER/ns/mnt) != "$(readlink /proc/self/ns/mnt)" ]] \
    && nsenter -t "$HOLDER" -m mount -t cgroup2 cgroup2 /sys/fs/cgroup \
    || { echo "FAIL cannot make the cgroup v2 view"; echo "0 passed, 1 failed"; exit 1; }
k3v2() { nsenter -t "$HOLDER" -m "$K3" "$@"; }

LIMITS=(--memory 64m --cpus 0.5 --pids-limit 50)
READ='for f in memory/memory.limit_in_bytes cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us pids/pids.max; do echo "$f=$(cat /sys/fs/cgroup/$f)"; done; probe cgroup'
WANT='memory/memory.limit_in_bytes=67108864
cpu/cpu.cfs_quota_us=50000
cpu/cpu.cfs_period_us=100000
pids/pids.max=50
layout=v1 memory=67108864 cpu_quota=50000 cpu_period=100000 pids=50'

# cgroup_mounts: the cgroup mounts of /proc/self/mountinfo as "mountpoint root opts
# fstype superopts", the container's cgroup path replaced by CG (given as $1).
cgroup_mounts() {
    awk -v cg="$1" '{ split($0, h, " - "); split(h[2], s, " ");
        if (s[1] != "cgroup" && s[1] != "cgroup2" && $5 != "/sys/fs/cgroup") next;
        root = $4; if (cg != "" && root == cg) root = "CG";
        print $5, root, $6, s[1], (s[1] == "tmpfs" ? "" : s[3]) }' | sort
}

t_v1_limits_from_inside_match_podman() {
    local k p_out
    k=$(k3 run --rm --network none "${LIMITS[@]}" cgview sh -c "$READ")
    expect_eq "$WANT" "$k" "k3"
    p_out=$(p run --rm --network none "${LIMITS[@]}" "$PIMG" sh -c "$READ")
    expect_eq "$WANT" "$p_out" "podman"
}

t_v1_host_cgroupns_view_like_podman() {
    # podman's default on v1 is the host's cgroup namespace: /proc/self/cgroup shows
    # the host path and every hierarchy is mounted with that path as its root, read-only
    local cmd='{ cat /proc/self/cgroup; echo ==; cat /proc/self/mountinfo; echo ==; echo 10 > /sys/fs/cgroup/pids/pids.max && echo WROTE; touch /sys/fs/cgroup/x && echo TOUCHED; readlink /proc/self/ns/cgroup; } 2>&1'
    local out kcg pcg pout
    out=$(k3 run --network none --name cv-host "${LIMITS[@]}" cgview sh -c "$cmd" 2>&1)
    kcg=/k3/$(hash_of cv-host)
    k3 rm cv-host >/dev/null
    expect_contains "$out" "pids:$kcg" "k3 /proc/self/cgroup"
    expect_eq "$(readlink /proc/self/ns/cgroup)" "$(tail -1 <<<"$out")" "k3's cgroup namespace is the host's"
    [[ $out != *WROTE* ]] || fail "k3's cgroup view is writable: $out"
    # k3rt also remounts the tmpfs under the hierarchies read-only; runc and crun leave
    # it writable (mode 755) for a root with CAP_DAC_OVERRIDE
    if [[ -z ${K3_RUNTIME:-} || ${K3_RUNTIME:-} == k3rt ]]; then
        [[ $out != *TOUCHED* ]] || fail "k3rt's /sys/fs/cgroup tmpfs is writable: $out"
    fi
    expect_contains "$out" "Read-only file system"
    local km; km=$(awk '/^==$/ {n++; next} n == 1' <<<"$out" | cgroup_mounts "$kcg")
    pout=$(p run --rm --network none "${LIMITS[@]}" "$PIMG" sh -c "$cmd" 2>&1)
    pcg=$(awk -F: '$2 == "pids" {print $3}' <<<"$pout")
    [[ $pcg == /libpod_parent/libpod-* ]] || fail "podman's cgroup: $pout"
    expect_eq "$(readlink /proc/self/ns/cgroup)" "$(tail -1 <<<"$pout")" "podman's cgroup namespace is the host's"
    [[ $pout != *WROTE* ]] || fail "podman's cgroup view is writable"
    local pm; pm=$(awk '/^==$/ {n++; next} n == 1' <<<"$pout" | cgroup_mounts "$pcg")
    # every controller hierarchy: mounted at the same place, rooted at the container's
    # cgroup, read-only, the same controllers (name=systemd: see the runc test)
    expect_eq "$(grep -v name=systemd <<<"$pm" | grep -v ' tmpfs ')" "$(grep -v name=systemd <<<"$km" | grep -v ' tmpfs ')" "controller mounts (podman vs k3)"
    grep ' tmpfs ' <<<"$km" | grep '^/sys/fs/cgroup ' >/dev/null || fail "no tmpfs at /sys/fs/cgroup: $km"
    grep -c ' cgroup rw,' <<<"$km" | grep -vx 0 >/dev/null || fail "no hierarchies: $km"
    ! grep ' cgroup ' <<<"$km" | grep -v ' ro,' || fail "a writable hierarchy: $km"
}

t_v1_private_cgroupns_like_podman() {
    local cmd='grep -E ":(pids|memory):" /proc/self/cgroup; grep " /sys/fs/cgroup/pids " /proc/self/mountinfo | cut -d" " -f4; readlink /proc/self/ns/cgroup; '"$READ"
    local out pout
    out=$(k3 run --rm --network none --cgroupns private "${LIMITS[@]}" cgview sh -c "$cmd")
    pout=$(p run --rm --network none --cgroupns private "${LIMITS[@]}" "$PIMG" sh -c "$cmd")
    [[ $(sed -n 4p <<<"$out") != "$(readlink /proc/self/ns/cgroup)" ]] || fail "k3: not a private cgroup namespace"
    [[ $(sed -n 4p <<<"$pout") != "$(readlink /proc/self/ns/cgroup)" ]] || fail "podman: not a private cgroup namespace"
    # the container's cgroup is the namespace's root, and so the mounts' root
    expect_eq "$(sed -n 1,3p <<<"$pout")" "$(sed -n 1,3p <<<"$out")" "cgroup paths and mount root (podman vs k3)"
    expect_eq "$(sed 1,4d <<<"$pout")" "$(sed 1,4d <<<"$out")" "limits (podman vs k3)"
    expect_eq "$WANT" "$(sed 1,4d <<<"$out")" "k3 limits"
    expect_eq / "$(sed -n 3p <<<"$out")" "mount root"
    expect_contains "$(sed -n 1,2p <<<"$out")" "pids:/"
}

t_privileged_view_is_writable_like_podman() {
    local cmd='echo 40 > /sys/fs/cgroup/pids/pids.max && cat /sys/fs/cgroup/pids/pids.max; grep " /sys/fs/cgroup/pids " /proc/self/mountinfo | cut -d" " -f6 | cut -d, -f1'
    local out pout
    out=$(k3 run --rm --network none --privileged --pids-limit 50 cgview sh -c "$cmd" 2>&1)
    pout=$(p run --rm --network none --privileged --pids-limit 50 "$PIMG" sh -c "$cmd" 2>&1)
    expect_eq "$(printf '40\nrw')" "$out" "k3 --privileged"
    expect_eq "$pout" "$out" "podman vs k3 --privileged"
}

t_bad_values_are_refused_and_leave_nothing() {
    k3 ps -a >/dev/null # the database exists before the residue snapshot
    expect_error VALIDATION_ERROR 422 '`cgroupns` value `bogus`' -- k3 create --json --name cvbad --cgroupns bogus cgview
    expect_error VALIDATION_ERROR 422 '`pidsLimit` value `-5`' -- k3 create --json --name cvbad --pids-limit -5 cgview
    expect_error VALIDATION_ERROR 422 '`cgroupConf` value `bogus`' -- k3 create --json --name cvbad --cgroup-conf bogus cgview
    expect_error VALIDATION_ERROR 422 '`cgroupConf` value `../x=1`' -- k3 create --json --name cvbad --cgroup-conf ../x=1 cgview
    local err rc
    err=$(k3 run --rm --name cvbad --cgroupns container:x cgview true 2>&1) && rc=0 || rc=$?
    [[ $rc -ne 0 ]] || fail "accepted --cgroupns container:x"
    expect_contains "$err" '`cgroupns` value `container:x`'
    err=$(k3 run --rm --name cvbad --pids-limit many cgview true 2>&1) && fail "accepted --pids-limit many"
    expect_contains "$err" "--pids-limit"
    expect_contains "$err" "many"
    [[ -z $(k3 ps -aq) ]] || fail "left a container: $(k3 ps -a)"
}

# --cgroup-conf writes cgroup v2 files: on this v1 host both engines refuse it
t_cgroup_conf_refused_on_v1_like_podman() {
    expect_error VALIDATION_ERROR 422 'without cgroup v2' -- k3 create --json --name cvconf --cgroup-conf memory.high=50000000 cgview
    expect_contains "$LAST_ERROR" '`cgroupConf` value `memory.high=50000000`'
    local pout
    pout=$(p run --rm --network none --cgroup-conf memory.high=50000000 "$PIMG" true 2>&1) && fail "podman accepted --cgroup-conf on v1"
    expect_contains "$pout" "cannot use --cgroup-conf without cgroup v2"
}

# k3rt's `cgroup` mount against runc and crun on the same bundle (the one k3 writes
# for --memory 64m --cpus 0.5 --pids-limit 50, read-only view, no network).
t_runtime_v1_mount_matches_runc_and_crun() {
    local b=$RTW/b r out want=
    k3 create --name cv-rt --network none "${LIMITS[@]}" cgview sh -c "cat /proc/self/mountinfo; echo ==; $READ" >/dev/null
    local h; h=$(hash_of cv-rt)
    mkdir -p "$b"
    # the same bundle, each runtime with its own cgroup
    for r in "$K3RT" runc crun; do
        local n; n=$(basename "$r")
        jq --arg cg "/k3cv/$n" '.linux.cgroupsPath = $cg' "$ROOT/containers/$h/config.json" >"$b/config.json"
        out=$(rt "$r" run -b "$b" "cv-$n" 2>&1) || fail "$n: $out"
        local lim; lim=$(awk '/^==$/ {n++; next} n == 1' <<<"$out")
        expect_eq "$WANT" "$lim" "$n limits"
        local mounts; mounts=$(awk '/^==$/ {exit} {print}' <<<"$out" | cgroup_mounts "/k3cv/$n" | grep -v ' tmpfs ')
        # name=systemd: runc and crun place the container in that hierarchy, k3rt does not
        mounts=$(grep -v name=systemd <<<"$mounts")
        [[ -n $mounts ]] || fail "$n: no cgroup mounts: $out"
        ! grep -v ' CG ro,' <<<"$mounts" || fail "$n: a hierarchy not rooted at the container's cgroup, read-only"
        if [[ -z $want ]]; then want=$mounts; else expect_eq "$want" "$mounts" "$n vs k3rt cgroup mounts"; fi
        rt "$r" delete --force "cv-$n" >/dev/null 2>&1 || true
    done
    k3 rm cv-rt >/dev/null
}

# The same with a private cgroup namespace (k3 --cgroupns private): every hierarchy,
# memory included, is rooted at the container's cgroup, as under runc and crun.
t_runtime_v1_private_cgroupns_matches_runc_and_crun() {
    local b=$RTW/bp r out want=
    k3 create --name cv-rtp --network none --cgroupns private "${LIMITS[@]}" cgview \
        sh -c "grep -v name=systemd /proc/self/cgroup | grep -v '^0::'; echo ==; grep ' /sys/fs/cgroup/' /proc/self/mountinfo | grep -v name=systemd | cut -d' ' -f4,5 | sort; echo ==; $READ" >/dev/null
    local h; h=$(hash_of cv-rtp)
    mkdir -p "$b"
    for r in "$K3RT" runc crun; do
        local n; n=$(basename "$r")
        jq --arg cg "/k3cv/p-$n" '.linux.cgroupsPath = $cg' "$ROOT/containers/$h/config.json" >"$b/config.json"
        out=$(rt "$r" run -b "$b" "cvp-$n" 2>&1) || fail "$n: $out"
        local cgs; cgs=$(awk '/^==$/ {exit} {print}' <<<"$out")
        [[ -n $cgs ]] || fail "$n: no /proc/self/cgroup: $out"
        ! grep -v ':/$' <<<"$cgs" || fail "$n: a cgroup outside the namespace's root"
        ! awk '/^==$/ {n++; next} n == 1' <<<"$out" | grep -v '^/ ' || fail "$n: a hierarchy not mounted at the namespace's root"
        expect_eq "$WANT" "$(awk '/^==$/ {n++; next} n == 2' <<<"$out")" "$n limits"
        if [[ -z $want ]]; then want=$out; else expect_eq "$want" "$out" "$n vs k3rt"; fi
        rt "$r" delete --force "cvp-$n" >/dev/null 2>&1 || true
    done
    k3 rm cv-rtp >/dev/null
}

# cgroup v2: k3rt in HOLDER's mount namespace, whose /sys/fs/cgroup is the host's
# cgroup2 hierarchy (no controllers there: no limits), the bundle's `cgroup` mount and
# a private cgroup namespace, compared with runc on the same bundle.
t_runtime_cgroup2_private_namespace() {
    local b=$RTW/b2 r out
    mkdir -p "$b"
    "$TOP/bundles/mkbundle.sh" "$K3RT" "$RTW/base2" >/dev/null
    local cmd='awk "\$5 == \"/sys/fs/cgroup\" {split(\$0, h, \" - \"); split(h[2], s, \" \"); print \$4, \$5, \$6, s[1]}" /proc/self/mountinfo; grep "^0::" /proc/self/cgroup; grep -x 1 /sys/fs/cgroup/cgroup.procs; test -e /sys/fs/cgroup/k3cv && echo PARENT-VISIBLE; (echo 1 > /sys/fs/cgroup/cgroup.freeze) 2>/dev/null && echo WROTE; probe cgroup'
    for r in "$K3RT" runc; do
        local n; n=$(basename "$r")
        jq --arg cg "/k3cv/$n" --arg rootfs "$RTW/base2/rootfs" --arg c "$cmd" \
            '.root.path = $rootfs | .ociVersion = "1.0.2" | .process.args = ["sh","-c",$c] | .linux.cgroupsPath = $cg
             | .linux.namespaces += [{"type":"cgroup"}]
             | .mounts = [.mounts[] | select(.destination != "/sys/fs/cgroup")] + [{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["rprivate","nosuid","noexec","nodev","relatime","ro"]}]' \
            "$RTW/base2/config.json" >"$b/config.json"
        out=$(nsenter -t "$HOLDER" -m "$r" --root "$RTW/state2-$n" run -b "$b" "cv2-$n" 2>&1) || fail "$n: $out"
        # from inside, /sys/fs/cgroup is cgroup2 rooted at the container's own cgroup
        expect_eq "/ /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime cgroup2" "$(sed -n 1p <<<"$out")" "$n mount"
        expect_eq "0::/" "$(sed -n 2p <<<"$out")" "$n /proc/self/cgroup"
        expect_eq 1 "$(sed -n 3p <<<"$out")" "$n: the container's init (pid 1) in the root's cgroup.procs"
        [[ $out != *PARENT-VISIBLE* && $out != *WROTE* ]] || fail "$n: $out"
        expect_eq "layout=v2 memory=? cpu_quota=? cpu_period=? pids=?" "$(tail -1 <<<"$out")" "$n probe (no controllers in this v2 hierarchy)"
        nsenter -t "$HOLDER" -m "$r" --root "$RTW/state2-$n" delete --force "cv2-$n" >/dev/null 2>&1 || true
    done
}

# k3 itself on the v2 view (HOLDER's mount namespace): the default is then a private
# cgroup namespace, as podman on v2, and the container finds cgroup2 rooted at its own
# cgroup. This v2 hierarchy has no
# controllers (bound to v1 here), so there are no limit files to read; a limit is
# refused by the runtime, naming the controller.
t_v2_layout_engine_defaults_to_private() {
    local cmd='awk "\$5 == \"/sys/fs/cgroup\" {split(\$0, h, \" - \"); split(h[2], s, \" \"); print \$4, \$6, s[1]}" /proc/self/mountinfo; grep "^0::" /proc/self/cgroup; readlink /proc/self/ns/cgroup; grep -x 1 /sys/fs/cgroup/cgroup.procs; probe cgroup'
    local out
    out=$(k3v2 run --rm --network none cgview sh -c "$cmd" 2>&1) || fail "k3 on v2: $out"
    expect_eq "/ ro,nosuid,nodev,noexec,relatime cgroup2" "$(sed -n 1p <<<"$out")" "mount"
    expect_eq "0::/" "$(sed -n 2p <<<"$out")" "/proc/self/cgroup"
    [[ $(sed -n 3p <<<"$out") != "$(readlink /proc/self/ns/cgroup)" ]] || fail "not a private cgroup namespace: $out"
    expect_eq 1 "$(sed -n 4p <<<"$out")" "the init in its own cgroup's cgroup.procs"
    expect_eq "layout=v2 memory=? cpu_quota=? cpu_period=? pids=?" "$(sed -n 5p <<<"$out")" "probe"
    out=$(k3v2 run --rm --network none --cgroupns host cgview sh -c 'grep "^0::" /proc/self/cgroup; readlink /proc/self/ns/cgroup' 2>&1) || fail "k3 on v2 --cgroupns host: $out"
    [[ $(sed -n 1p <<<"$out") == 0::/k3/* ]] || fail "--cgroupns host on v2: $out"
    expect_eq "$(readlink /proc/self/ns/cgroup)" "$(sed -n 2p <<<"$out")" "--cgroupns host on v2"
    # --cgroup-conf: a core v2 file (no controller needed) written and read back inside
    out=$(k3v2 run --rm --network none --cgroup-conf cgroup.max.descendants=5 cgview cat /sys/fs/cgroup/cgroup.max.descendants 2>&1) || fail "k3 on v2 --cgroup-conf: $out"
    expect_eq 5 "$out" "--cgroup-conf cgroup.max.descendants=5 read inside"
    out=$(k3v2 run --rm --network none --pids-limit 50 cgview true 2>&1) && fail "a pids limit without the v2 pids controller was accepted: $out"
    expect_contains "$out" "pids"
    if [[ -z ${K3_RUNTIME:-} || ${K3_RUNTIME:-} == k3rt ]]; then
        expect_contains "$out" "the \`pids\` controller is not available"
    fi
    local left; left=$(k3v2 ps -aq) || fail "k3 ps on v2"
    [[ -z $left ]] || fail "left a container: $(k3v2 ps -a)"
}

run_suite
