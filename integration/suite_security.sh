#!/usr/bin/env bash
# k3rt process security from inside real containers: capabilities, seccomp (errno,
# kill, notify), masked and read-only paths, devices, sysctls, oom_score_adj,
# personality, and the runc CVE classes (host binary overwrite, fd leaks, symlink
# escapes of mount targets, /proc redirection).
source "$(dirname "$0")/lib.sh"
need_root
need jq busybox gcc python3 sha256sum
[[ -x $K3RT ]] || { echo "FAIL k3rt not built: $K3RT"; echo "0 passed, 1 failed"; exit 1; }
source "$(dirname "$0")/containers.sh"

t_seccomp_errno_with_chosen_errno() {
  local b; b=$(mkb sc1 '.linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]} | .process.args = ["sh","-c","mkdir /tmp/x 2>&1; grep Seccomp: /proc/self/status"]')
  local out; out=$(k run -b "$b" it-sc1 || true)
  expect_contains "$out" "Function not implemented" "mkdir under ERRNO(38)"
  expect_contains "$out" $'Seccomp:\t2'
}

t_seccomp_kill_action() {
  local b; b=$(mkb sc2 '.linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_KILL_PROCESS"}]} | .process.args = ["sh","-c","echo before; cat /proc/self/status >/dev/null; exec probe ids"]')
  # busybox sh calls getppid at startup: killed by SIGSYS
  local rc=0; k run -b "$b" it-sc2 >/dev/null 2>&1 || rc=$?
  expect_eq $((128 + 31)) "$rc" "exit code after SCMP_ACT_KILL_PROCESS"
}

t_seccomp_argument_condition() {
  # the filter refuses personality(8) only: the same syscall with another argument passes
  local filter='.linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["personality"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}'
  local b; b=$(mkb sc3 "$filter | .process.args = [\"probe\",\"set-personality\",\"8\"]")
  local err; err=$(k run -b "$b" it-sc3 2>&1) && fail "personality(8) was not refused: $err"
  expect_contains "$err" "probe: personality: Operation not permitted"
  b=$(mkb sc4 "$filter | .process.args = [\"probe\",\"set-personality\",\"0x0020000\"]")
  expect_eq 0x20000 "$(k run -b "$b" it-sc4)" "personality(ADDR_NO_RANDOMIZE) under the filter"
  b=$(mkb sc5 '.process.args = ["probe","set-personality","8"]')
  expect_eq 0x8 "$(k run -b "$b" it-sc5)" "personality(8) without the filter"
}

t_seccomp_notify_listener_receives_the_fd() {
  local sock=$WORK/listener.sock out=$WORK/listener.json
  python3 "$(dirname "$0")/seccomp_listener.py" "$sock" "$out" & local lp=$!
  for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.02; done
  local b; b=$(mkb sn ".linux.seccomp = {\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"$sock\",\"listenerMetadata\":\"meta-1\",\"syscalls\":[{\"names\":[\"sethostname\"],\"action\":\"SCMP_ACT_NOTIFY\"}]} | .process.args = [\"true\"]")
  k run -b "$b" it-sn
  wait $lp
  expect_eq 1 "$(jq -r .nfds "$out")" "fds received"
  expect_contains "$(jq -r .fd_target "$out")" "seccomp"
  expect_eq meta-1 "$(jq -r .state.metadata "$out")"
  expect_eq seccompFd "$(jq -r '.state.fds[0]' "$out")"
  expect_eq it-sn "$(jq -r .state.state.id "$out")"
}

t_unknown_syscall_names_are_skipped_with_a_warning() {
  local b; b=$(mkb sw '.linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["no_such_syscall_k3"],"action":"SCMP_ACT_ERRNO"}]} | .process.args = ["true"]')
  k run -b "$b" it-sw 2>"$WORK/err"
  expect_contains "$(cat "$WORK/err")" "no_such_syscall_k3"
}

t_masked_and_readonly_paths() {
  local b; b=$(mkb mp '.linux.maskedPaths = ["/proc/timer_list","/sys/kernel","/proc/nonexistent"] | .linux.readonlyPaths = ["/proc/sys"] | .process.args = ["sh","-c","cat /proc/timer_list | wc -c; ls /sys/kernel | wc -l; probe write /proc/sys/kernel/domainname"]')
  local out; out=$(k run -b "$b" it-mp || true)
  expect_eq "0" "$(sed -n 1p <<<"$out" | tr -d ' ')" "bytes read from masked /proc/timer_list"
  expect_eq "0" "$(sed -n 2p <<<"$out" | tr -d ' ')" "entries in masked /sys/kernel"
  expect_contains "$out" "write /proc/sys/kernel/domainname: Read-only file system"
}

t_devices_nodes_modes_and_owners() {
  local b; b=$(mkb dv '.linux.devices = [{"path":"/dev/k3fuse","type":"c","major":10,"minor":229,"fileMode":432,"uid":7,"gid":8}] | .process.args = ["sh","-c","stat -c \"%n %F %t:%T %a %u:%g\" /dev/null /dev/k3fuse; ls -l /dev/ptmx /dev/fd | sed \"s/.* \\/dev/\\/dev/\""]')
  local out; out=$(k run -b "$b" it-dv)
  expect_contains "$out" "/dev/null character special file 1:3 666 0:0"
  expect_contains "$out" "/dev/k3fuse character special file a:e5 660 7:8"
  expect_contains "$out" "/dev/ptmx -> pts/ptmx"
  expect_contains "$out" "/dev/fd -> /proc/self/fd"
}

t_sysctl_inside_and_refused_outside_namespaces() {
  local b; b=$(mkb sy '.linux.sysctl = {"net.ipv4.ip_forward":"1","kernel.shmmax":"12345678"} | .process.args = ["sh","-c","cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax"]')
  expect_eq $'1\n12345678' "$(k run -b "$b" it-sy)"
  local host; host=$(cat /proc/sys/kernel/shmmax)
  [[ $host != 12345678 ]] || fail "sysctl reached the host"
  b=$(mkb sy2 '.linux.sysctl = {"kernel.panic":"1"}')
  local err; err=$(k create -b "$b" it-sy2 2>&1) && fail "host sysctl accepted"
  expect_contains "$err" "kernel.panic"
  no_leftovers it-sy2
}

t_oom_score_adj() {
  local b; b=$(mkb oom '.process.oomScoreAdj = 523 | .process.args = ["cat","/proc/self/oom_score_adj"]')
  expect_eq 523 "$(k run -b "$b" it-oom)"
}

t_apparmor_refused_and_selinux_labels_ignored_without_the_lsm() {
  [[ ! -d /sys/fs/selinux ]] || fail "this test expects a host without SELinux"
  local b err
  b=$(mkb aa '.process.apparmorProfile = "k3-test"')
  err=$(k create -b "$b" it-aa 2>&1) && fail "apparmor profile accepted without AppArmor"
  expect_contains "$err" "apparmorProfile"
  no_leftovers it-aa
  b=$(mkb se '.linux.mountLabel = "system_u:object_r:container_file_t:s0" | .process.selinuxLabel = "system_u:system_r:container_t:s0" | .process.args = ["true"]')
  k run -b "$b" it-se 2>"$WORK/err"
  expect_contains "$(cat "$WORK/err")" "mountLabel"
}

t_seccomp_refusing_getcwd_does_not_break_setup() {
  local b; b=$(mkb gc '.process.noNewPrivileges = false | .linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_ERRNO"}]} | .process.args = ["sh","-c","probe cwd 2>&1 || true"]')
  expect_contains "$(k run -b "$b" it-gc)" "Operation not permitted"
}

t_cve_2019_5736_host_binary_is_unreachable() {
  local before; before=$(sha256sum "$K3RT" | cut -d' ' -f1)
  local b; b=$(mkpriv cve1 '.process.args = ["/evil"]')
  printf '#!/proc/self/exe\n' > "$b/rootfs/evil"; chmod +x "$b/rootfs/evil"
  k run -b "$b" it-cve1 >/dev/null 2>&1 || true
  b=$(mkpriv cve2 '.process.args = ["sh","-c","exec /proc/self/exe --version; echo"]')
  k run -b "$b" it-cve2 >/dev/null 2>&1 || true
  # from inside: the init's exe is not a writable path to any host file
  b=$(mkb cve3 '.process.args = ["sh","-c","sleep 0.2 & p=$!; probe write /proc/$p/exe; readlink /proc/1/exe"]')
  local out; out=$(k run -b "$b" it-cve3 2>&1 || true)
  [[ $out != *"write /proc/"*": ok"* ]] || fail "wrote through /proc/PID/exe: $out"
  expect_eq "$before" "$(sha256sum "$K3RT" | cut -d' ' -f1)" "k3rt binary checksum"
}

t_cve_2019_5736_through_the_pid_namespace_of_a_created_container() {
  # a created (not started) container's init waits inside k3rt's code; a second
  # container sharing its PID namespace must not reach the host k3rt through it
  local before; before=$(sha256sum "$K3RT" | cut -d' ' -f1)
  local b; b=$(mkb waiter '.process.args = ["true"]')
  k create -b "$b" it-waiter
  local pid; pid=$(k state it-waiter | jq .pid)
  expect_eq "" "$(readlink /proc/$pid/exe | grep -F "$K3RT" || true)" "the waiting init's exe is a sealed copy, not the host binary"
  b=$(mkb attacker ".process.args = [\"sh\",\"-c\",\"probe write /proc/1/exe; readlink /proc/1/exe || echo unreadable\"] | .linux.namespaces = [.linux.namespaces[] | if .type == \"pid\" then .path = \"/proc/$pid/ns/pid\" else . end]")
  local out; out=$(k run -b "$b" it-attacker 2>&1 || true)
  [[ $out != *"write /proc/1/exe: ok"* ]] || fail "wrote through the waiting init's /proc/1/exe: $out"
  expect_contains "$out" "unreadable" "the init is not dumpable: its exe link is closed to the container"
  k delete --force it-waiter
  expect_eq "$before" "$(sha256sum "$K3RT" | cut -d' ' -f1)" "k3rt binary checksum"
}

t_cve_2019_5736_a_waiting_inits_exe_stays_unwritable_after_k3rt_is_gone() {
  # the attack waits: hold the exe open now, reopen it for writing once no process
  # runs the binary (a running one is ETXTBSY). Opened here by the host's root, who
  # may open any process's exe; `>>` opens for writing without writing anything.
  local before; before=$(sha256sum "$K3RT" | cut -d' ' -f1)
  local b; b=$(mkb held '.process.args = ["true"]')
  k create -b "$b" it-held
  local pid; pid=$(k state it-held | jq .pid)
  local fd
  exec {fd}<"/proc/$pid/exe"
  k delete --force it-held
  local rc=0 err
  err=$( (exec 9>>"/dev/fd/$fd") 2>&1) || rc=$?
  exec {fd}<&-
  [[ $rc -ne 0 ]] || fail "the waiting init's exe could be reopened for writing once k3rt was gone"
  expect_contains "$err" "ead-only file system" "refused by the read-only overlay (a sealed memfd says Operation not permitted)"
  expect_eq "$before" "$(sha256sum "$K3RT" | cut -d' ' -f1)" "k3rt binary checksum"
}

t_cve_2019_5736_run_with_a_hook_inside_the_container_uses_the_copy() {
  # run skips the copy only for a PID namespace of its own without hooks that run
  # inside the container while the init waits: a startContainer hook sees the init
  # (with CAP_SYS_PTRACE it may read the non-dumpable init's exe link)
  local b; b=$(mkb hookexe ".process.capabilities |= with_entries(.value += [\"CAP_SYS_PTRACE\"]) | .hooks.startContainer = [{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"readlink /proc/1/exe > /hk/exe 2>&1 || echo unreadable > /hk/exe\"]}] | .mounts += [{\"destination\":\"/hk\",\"type\":\"bind\",\"source\":\"$WORK\",\"options\":[\"bind\"]}] | .process.args = [\"true\"]")
  k run -b "$b" it-hookexe
  [[ -s $WORK/exe ]] || fail "the startContainer hook did not run"
  expect_eq "" "$(grep -x unreadable "$WORK/exe" || true)" "the hook reads the init's exe link"
  expect_eq "" "$(grep -F "$K3RT" "$WORK/exe" || true)" "the init seen by a hook inside the container runs from the copy, not the host binary"
}

t_cgroups_path_never_leaves_cgroupfs() {
  # as runc's CleanPath: `..` stops at the hierarchy root
  local b; b=$(mkb cgesc '.linux.cgroupsPath = "../../../../k3rt-escape-it" | .process.args = ["cat","/proc/self/cgroup"]')
  expect_contains "$(k run -b "$b" it-cgesc)" ":pids:/k3rt-escape-it" "relative to our own pids cgroup, the root here"
  local left; left=$(ls -d /sys/fs/k3rt-escape-it /sys/k3rt-escape-it /k3rt-escape-it 2>/dev/null || true)
  expect_eq "" "$left" "directories made outside /sys/fs/cgroup"
  rmdir /sys/fs/cgroup/*/k3rt-escape-it 2>/dev/null || true
  local long; long=$(printf 'a%.0s' {1..5000})
  b=$(mkb cglong ".linux.cgroupsPath = \"/$long\"")
  local err; err=$(k run -b "$b" it-cglong 2>&1) && fail "a 5000-byte cgroupsPath was accepted"
  expect_contains "$err" "linux.cgroupsPath"
  no_leftovers it-cglong
}

t_cve_2024_21626_no_host_fds_and_cwd_inside() {
  local b; b=$(mkb fdl '.process.args = ["probe","fds"]')
  local out; out=$(k run -b "$b" it-fdl 5</etc/passwd 9</etc/hostname)
  [[ $out != *"/etc/"* ]] || fail "host file leaked: $out"
  [[ $out != *"/sys/fs/cgroup"* ]] || fail "cgroup dir leaked: $out"
  b=$(mkb cwd '.process.cwd = "/proc/self/fd/7" | .process.args = ["probe","cwd"]')
  k run -b "$b" it-cwd 7</ >/dev/null 2>&1 && fail "cwd through an inherited fd was accepted"
  return 0
}

t_cve_2021_30465_mount_target_symlink_stays_inside() {
  local b; b=$(mkpriv sym ".mounts += [{\"destination\":\"/data/escape\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"}] | .process.args = [\"true\"]")
  mkdir -p "$WORK/outside"
  ln -s "$WORK/outside" "$b/rootfs/data"
  k run -b "$b" it-sym >/dev/null 2>&1 || true
  [[ ! -e $WORK/outside/escape ]] || fail "mount target created outside the rootfs"
  ! grep -q "$WORK/outside" /proc/self/mountinfo || fail "mounted outside the rootfs"
}

t_proc_redirected_by_symlink_is_refused() {
  local b; b=$(mkpriv procsym '.process.args = ["true"]')
  rmdir "$b/rootfs/proc"; mkdir "$b/rootfs/fakeproc"; ln -s /fakeproc "$b/rootfs/proc"
  local err; err=$(k run -b "$b" it-procsym 2>&1) && fail "procfs mounted through a symlink"
  expect_contains "$err" "/proc"
  no_leftovers it-procsym
}

t_no_mount_namespace_chroots_only() {
  local b; b=$(mkpriv nomnt '.linux.namespaces = [{"type":"pid"}] | .mounts = [.mounts[] | select(.destination == "/proc" or .destination == "/dev")] | del(.hostname) | .process.args = ["sh","-c","probe cwd; ls /dev/null"]')
  k create -b "$b" it-nomnt
  grep -q " $b/rootfs/proc " /proc/self/mountinfo || fail "proc not mounted in the host namespace"
  k start it-nomnt
  for _ in $(seq 100); do [[ $(status_of it-nomnt) == stopped ]] && break; sleep 0.02; done
  k delete it-nomnt
  ! grep -q " $b/rootfs/" /proc/self/mountinfo || fail "mounts left under the rootfs: $(grep " $b/rootfs/" /proc/self/mountinfo)"
  b=$(mkb nomnt2 '.linux.namespaces = [{"type":"pid"}] | del(.hostname)')
  local err; err=$(k create -b "$b" it-nomnt2 2>&1) && fail "read-only root without a mount namespace accepted"
  expect_contains "$err" "root.readonly"
}

t_user_namespace_with_create_and_start() {
  local b; b=$(mkb unf '.linux.namespaces += [{"type":"user"}] | .linux.uidMappings = [{"containerID":0,"hostID":1000,"size":2000}] | .linux.gidMappings = [{"containerID":0,"hostID":1000,"size":3000}] | .process.args = ["sleep","100"]')
  k create -b "$b" it-unf
  k start it-unf
  expect_eq running "$(status_of it-unf)"
  local pid; pid=$(k state it-unf | jq -r .pid)
  expect_eq 1000 "$(awk '/^Uid:/{print $2}' /proc/$pid/status)" "host uid of the container's root"
  k delete --force it-unf
  no_leftovers it-unf
}

t_rootfs_propagation_unbindable() {
  local b; b=$(mkb unb '.linux.rootfsPropagation = "unbindable" | .process.args = ["probe","mounts"]')
  local out; out=$(k run -b "$b" it-unb)
  awk '$5=="/"' <<<"$out" | grep >/dev/null 'unbindable' || fail "/ is not unbindable: $(awk '$5=="/"' <<<"$out")"
}

run_suite
