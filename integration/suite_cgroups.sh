#!/usr/bin/env bash
# Cgroups on the running host's layout (v1, hybrid or v2): every resource written and
# read back, absolute and relative cgroupsPath, removal on delete, and the v2 device
# policy (an eBPF program) loaded and enforced by the kernel.
source "$(dirname "$0")/lib.sh"
need_root
need jq busybox gcc cargo
[[ -x $K3RT ]] || { echo "FAIL k3rt not built: $K3RT"; echo "0 passed, 1 failed"; exit 1; }
source "$(dirname "$0")/containers.sh"

V2=no; [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]] && V2=yes

# cgfile CONTROLLER FILE ID: the container's cgroup file on this host
cgfile() {
  if [[ $V2 == yes ]]; then echo "/sys/fs/cgroup/k3rt/$3/$2"; else echo "/sys/fs/cgroup/$1/k3rt/$3/$2"; fi
}

t_cpu_memory_pids_written() {
  local b; b=$(mkb r1 '.linux.resources = {"memory":{"limit":134217728,"reservation":67108864},"cpu":{"shares":512,"quota":25000,"period":100000,"cpus":"0","mems":"0"},"pids":{"limit":42}} | .process.args = ["sleep","100"]')
  k run -d -b "$b" it-r1
  if [[ $V2 == yes ]]; then
    expect_eq 134217728 "$(cat "$(cgfile memory memory.max it-r1)")"
    expect_eq 67108864 "$(cat "$(cgfile memory memory.low it-r1)")"
    expect_eq "25000 100000" "$(cat "$(cgfile cpu cpu.max it-r1)")"
    expect_eq 20 "$(cat "$(cgfile cpu cpu.weight it-r1)")"
  else
    expect_eq 134217728 "$(cat "$(cgfile memory memory.limit_in_bytes it-r1)")"
    expect_eq 67108864 "$(cat "$(cgfile memory memory.soft_limit_in_bytes it-r1)")"
    expect_eq 25000 "$(cat "$(cgfile cpu cpu.cfs_quota_us it-r1)")"
    expect_eq 512 "$(cat "$(cgfile cpu cpu.shares it-r1)")"
  fi
  expect_eq 0 "$(cat "$(cgfile cpuset cpuset.cpus it-r1)")"
  expect_eq 42 "$(cat "$(cgfile pids pids.max it-r1)")"
  k delete --force it-r1
  no_leftovers it-r1
}

t_relative_cgroups_path_is_under_our_own() {
  local b; b=$(mkb rel '.linux.cgroupsPath = "k3-rel-test/it-rel" | .process.args = ["sleep","100"]')
  k run -d -b "$b" it-rel
  local pid; pid=$(k state it-rel | jq -r .pid)
  grep -q "k3-rel-test/it-rel" /proc/$pid/cgroup || fail "not in the relative cgroup: $(cat /proc/$pid/cgroup)"
  k delete --force it-rel
  ! grep -rqs it-rel /proc/self/cgroup
  [[ -z $(find /sys/fs/cgroup -maxdepth 4 -name it-rel 2>/dev/null) ]] || fail "relative cgroup left behind"
  find /sys/fs/cgroup -maxdepth 3 -name k3-rel-test -type d -exec rmdir {} + 2>/dev/null || true
}

t_systemd_cgroup_paths() {
  # --systemd-cgroup asks systemd over D-Bus for a scope; this VM has no systemd, so it
  # must fail clearly and leave nothing (as runc does), never fall back to cgroupfs.
  # Without /run/systemd/system: "systemd is not running"; with a fake one (a mount
  # namespace) but no bus: the error names the bus socket it could not reach.
  local b; b=$(mkb sd '.linux.cgroupsPath = "k3test-pod1.slice:k3rt:it-sd" | .process.args = ["true"]')
  local err
  if [[ ! -d /run/systemd/system ]]; then
    err=$("$K3RT" --root "$ROOT" --systemd-cgroup run -b "$b" it-sd 2>&1) && fail "--systemd-cgroup ran without systemd"
    expect_contains "$err" "systemd is not running"
    expect_contains "$err" "/run/dbus/system_bus_socket"
    no_leftovers it-sd
  fi
  local sd=(unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /run/systemd 2>/dev/null || { mkdir -p /run/systemd && mount -t tmpfs tmpfs /run/systemd; }; mkdir -p /run/systemd/system; mount -t tmpfs tmpfs /run/dbus; exec "$@"' sh)
  err=$("${sd[@]}" "$K3RT" --root "$ROOT" --systemd-cgroup run -b "$b" it-sd 2>&1) && fail "--systemd-cgroup ran without a bus"
  expect_contains "$err" "\`/run/dbus/system_bus_socket\`"
  no_leftovers it-sd
  [[ -z $(find /sys/fs/cgroup -maxdepth 4 -name 'k3rt-it-sd.scope' 2>/dev/null) ]] || fail "scope cgroup left after a failed create"
  [[ -z $(find /sys/fs/cgroup -maxdepth 3 -name 'k3test*.slice' 2>/dev/null) ]] || fail "slice cgroup made by a failed create"
  b=$(mkb sd2 '.linux.cgroupsPath = "/not/systemd/form"')
  err=$("${sd[@]}" "$K3RT" --root "$ROOT" --systemd-cgroup create -b "$b" it-sd2 2>&1) && fail "a plain path was accepted with --systemd-cgroup"
  expect_contains "$err" "linux.cgroupsPath"
  expect_contains "$err" "/not/systemd/form"
  no_leftovers it-sd2
}

t_a_value_the_kernel_refuses_is_named() {
  local b; b=$(mkb bad '.linux.resources = {"cpu":{"cpus":"999"}} | .process.args = ["true"]')
  local err; err=$(k run -b "$b" it-bad 2>&1) && fail "cpuset 999 accepted"
  expect_contains "$err" "cpuset.cpus"
  expect_contains "$err" "999"
  no_leftovers it-bad
}

t_device_policy_denies_disks_unless_allowed() {
  # a loop device: this VM refuses raw reads of its disk whatever the policy
  expect_eq denied "$(loop_device_read dd)" "the loop device without a rule"
  expect_eq READ "$(loop_device_read da allow)" "the loop device once allowed"
}

t_v2_device_program_on_the_kernel() {
  # loads and attaches the eBPF device program to a cgroup2 directory of this host
  (cd "$TOP" && cargo test --release --quiet -p k3-tests --test device_bpf -- --ignored 2>&1) | tail -3 | grep >/dev/null "2 passed" \
    || fail "device eBPF test failed: $(cd "$TOP" && cargo test --release -p k3-tests --test device_bpf -- --ignored 2>&1 | tail -15)"
}

run_suite
