#!/usr/bin/env bash
# containerd's CRI plugin (a private instance: own config, root, state, socket, CNI
# config, k3rt state root) with k3rt as a runtime handler, driven the way the kubelet
# drives it: a pod sandbox (pause container, CNI bridge network, pod cgroup parent),
# containers joining its namespaces, exec, resources and their update, security
# context, stop, stats, teardown. The client is tests/examples/cri.rs (gRPC over curl).
source "$(dirname "$0")/lib.sh"
need_root
need containerd ctr runc umoci jq curl ip
CRI=${CRI:-$TOP/target/x86_64-unknown-linux-gnu/release/examples/cri}
for b in "$K3RT" "$CRI"; do
  [[ -x $b ]] || { echo "FAIL not built: $b (make build; cargo build --release -p k3-tests --example cri)"; echo "0 passed, 1 failed"; exit 1; }
done
source "$(dirname "$0")/images_local.sh"

WORK=$(mktemp -d /tmp/k3-cri.XXXXXX)
SOCK=$WORK/containerd.sock
RTROOT=$WORK/k3rt       # k3rt's --root, given to the runc shim as its Root option
BRIDGE=k3cri$$          # CNI bridge, removed on exit
CGPARENT=k3cri-$$       # parent of the pod cgroups, like the kubelet's kubepods
SUBNET=10.231.$(($$ % 200)).0/24
cat > "$WORK/config.toml" <<CONF
version = 2
root = "$WORK/root"
state = "$WORK/state"
[grpc]
  address = "$SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/k3/busybox:pause"
  # root has no CAP_SYS_RESOURCE on this kind of VM: a pod's negative oom_score_adj
  # is refused by the kernel for every runtime, so bound it by containerd's own.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.k3rt]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.k3rt.options]
        BinaryName = "${CRI_BINARY:-$K3RT}"
        Root = "$RTROOT"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$WORK/cni"
CONF
mkdir -p "$WORK/cni" "$WORK/logs"
cat > "$WORK/cni/10-k3cri.conflist" <<CONF
{"cniVersion":"0.4.0","name":"k3cri$$","plugins":[
 {"type":"bridge","bridge":"$BRIDGE","isGateway":true,"ipMasq":false,
  "ipam":{"type":"host-local","dataDir":"$WORK/ipam","ranges":[[{"subnet":"$SUBNET"}]]}},
 {"type":"loopback"}]}
CONF
containerd -c "$WORK/config.toml" >"$WORK/containerd.log" 2>&1 &
CTD=$!
cri() { "$CRI" "$SOCK" "$@"; }

cleanup() {
  local p
  for p in $(cat "$WORK/pods" 2>/dev/null); do
    cri StopPodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>&1
    cri RemovePodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>&1
  done
  kill "$CTD" 2>/dev/null; wait "$CTD" 2>/dev/null
  for p in $("$K3RT" --root "$RTROOT/k8s.io" list -q 2>/dev/null); do "$K3RT" --root "$RTROOT/k8s.io" delete -f "$p" >/dev/null 2>&1; done
  grep -F " $WORK/" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  for p in $(cat "$WORK/netns" 2>/dev/null); do
    [[ -e $p ]] && { umount "$p" 2>/dev/null; rm -f "$p"; }
  done
  ip link delete "$BRIDGE" 2>/dev/null
  find /sys/fs/cgroup/*/"$CGPARENT" /sys/fs/cgroup/"$CGPARENT" -depth -type d -exec rmdir {} + 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

for _ in $(seq 100); do [[ -S $SOCK ]] && break; sleep 0.05; done
[[ -S $SOCK ]] || { echo "FAIL containerd did not start: $(tail -3 "$WORK/containerd.log")"; echo "0 passed, 1 failed"; exit 1; }
# The images: busybox (cmd sh) and a pause image made from it (sleeps until TERM).
if ! { oci_busybox "$WORK/oci" &&
  umoci config --image "$WORK/oci:latest" --tag pause --config.cmd '' --config.entrypoint sh \
    --config.entrypoint -c --config.entrypoint 'trap "exit 0" TERM INT; while :; do sleep 1000 & wait; done' &&
  tar -C "$WORK/oci" -cf "$WORK/img.tar" . &&
  ctr -a "$SOCK" -n k8s.io images import --base-name docker.io/k3/busybox "$WORK/img.tar" >/dev/null; }; then
  echo "FAIL image import"; echo "0 passed, 1 failed"; exit 1
fi
IMG=docker.io/k3/busybox:latest

# sandbox_config NAME: the pod config the kubelet would send.
sandbox_config() {
  jq -nc --arg n "$1" --arg logs "$WORK/logs/$1" --arg cg "/$CGPARENT/pod-$1" \
    '{metadata:{name:$n,uid:("uid-"+$n),namespace:"k3test",attempt:0},hostname:$n,log_directory:$logs,
      labels:{"io.kubernetes.pod.name":$n},linux:{cgroup_parent:$cg,security_context:{namespace_options:{network:"POD",pid:"CONTAINER",ipc:"POD"}}}}'
}

# run_pod NAME: RunPodSandbox with the k3rt handler; prints the sandbox id.
run_pod() {
  mkdir -p "$WORK/logs/$1"
  local id
  id=$(cri RunPodSandbox "{\"config\":$(sandbox_config "$1"),\"runtime_handler\":\"k3rt\"}" | jq -r .pod_sandbox_id)
  echo "$id" >>"$WORK/pods"
  # the network namespace containerd made for the pod (removed on exit if still there)
  jq -r '.linux.namespaces[] | select(.type == "network") | .path' "$(k3rt_state "$id" | jq -r .bundle)/config.json" >>"$WORK/netns"
  echo "$id"
}

# start_ctr POD PODNAME NAME CONFIG-JSON: CreateContainer (image, log path and name
# filled in) + StartContainer in the sandbox POD that run_pod PODNAME made.
start_ctr() {
  local pod=$1 podname=$2 name=$3 cfg=$4 id
  # (the kubelet's default: own pid namespace, the pod's network and ipc)
  cfg=$(jq -c --arg n "$name" --arg img "$IMG" '. + {metadata:{name:$n},image:{image:$img},log_path:($n+".log")}
    | .linux.security_context.namespace_options //= {pid:"CONTAINER"}' <<<"$cfg")
  id=$(cri CreateContainer "{\"pod_sandbox_id\":\"$pod\",\"config\":$cfg,\"sandbox_config\":$(sandbox_config "$podname")}" | jq -r .container_id)
  cri StartContainer "{\"container_id\":\"$id\"}" >/dev/null
  echo "$id"
}

status() { cri ContainerStatus "{\"container_id\":\"$1\"}" | jq -c .status; }

wait_exited() {
  for _ in $(seq 200); do [[ $(status "$1" | jq -r .state) == CONTAINER_EXITED ]] && return 0; sleep 0.05; done
  fail "container $1 did not exit: $(status "$1")"
}

exec_sync() { # ID CMD... → prints stdout; exit code in $WORK/exec.rc
  local id=$1; shift
  local cmd; cmd=$(printf '%s\n' "$@" | jq -R . | jq -sc .) # (jq would take a `-c` after --args)
  local out; out=$(cri ExecSync "$(jq -nc --arg id "$id" --argjson cmd "$cmd" '{container_id:$id,cmd:$cmd,timeout:20}')")
  jq -r .exit_code <<<"$out" >"$WORK/exec.rc"
  jq -j .stdout <<<"$out"
}

# The runc shim runs k3rt with --root ROOT/NAMESPACE.
k3rt_state() { "$K3RT" --root "$RTROOT/k8s.io" state "$1"; }

# cgroup FILE-v1 CONTROLLER FILE-v2 PID: reads a cgroup file of PID on v1 or v2.
cgroup_read() {
  local v1=$1 ctl=$2 v2=$3 pid=$4 cg
  cg=$(awk -F: -v c="$ctl" '$2==c{print $3}' "/proc/$pid/cgroup")
  if [[ -n $cg ]]; then cat "/sys/fs/cgroup/$ctl$cg/$v1"; else cat "/sys/fs/cgroup$(awk -F: '$1=="0"{print $3}' "/proc/$pid/cgroup")/$v2"; fi
}

POD=$(run_pod web) || { echo "FAIL RunPodSandbox: $(tail -3 "$WORK/containerd.log")"; echo "0 passed, 1 failed"; exit 1; }

t_version() {
  local v; v=$(cri Version)
  expect_eq containerd "$(jq -r .runtime_name <<<"$v")"
  expect_eq v1 "$(jq -r .runtime_api_version <<<"$v")"
}

t_pod_sandbox_runs_under_k3rt() {
  local st; st=$(cri PodSandboxStatus "{\"pod_sandbox_id\":\"$POD\"}" | jq -c .status)
  expect_eq SANDBOX_READY "$(jq -r .state <<<"$st")"
  expect_eq k3rt "$(jq -r .runtime_handler <<<"$st")"
  local ip; ip=$(jq -r .network.ip <<<"$st")
  expect_eq "${SUBNET%.0/24}" "${ip%.*}" "pod IP $ip in $SUBNET"
  # The pause container is k3rt's: its state lives in k3rt's root and k3rt reports it.
  local ks; ks=$(k3rt_state "$POD")
  expect_eq running "$(jq -r .status <<<"$ks")"
  local pid; pid=$(jq -r .pid <<<"$ks")
  expect_contains "$(cat /proc/$pid/cgroup)" "/$CGPARENT/pod-web/$POD" "pause cgroup"
  expect_eq web "$(nsenter -t "$pid" -u hostname)"
}

t_pod_network_reaches_a_server_in_the_pod() {
  local id; id=$(start_ctr "$POD" web c-httpd '{"command":["sh","-c","mkdir -p /www; echo k3-cri-web > /www/index.html; exec httpd -f -p 8080 -h /www"]}')
  local ip; ip=$(cri PodSandboxStatus "{\"pod_sandbox_id\":\"$POD\"}" | jq -r .status.network.ip)
  local out=""
  for _ in $(seq 50); do out=$(curl -s --max-time 2 "http://$ip:8080/") && break; sleep 0.1; done
  expect_eq k3-cri-web "$out" "HTTP from the pod IP"
  cri StopContainer "{\"container_id\":\"$id\",\"timeout\":0}" >/dev/null
  cri RemoveContainer "{\"container_id\":\"$id\"}" >/dev/null
}

t_container_joins_the_pod_and_logs() {
  local id; id=$(start_ctr "$POD" web c-log '{"command":["sh","-c","echo hello from cri; hostname; ip -4 -o addr show eth0 | awk \"{print \\$4}\"; exit 3"]}')
  wait_exited "$id"
  local st; st=$(status "$id")
  expect_eq 3 "$(jq -r .exit_code <<<"$st")" "exit code"
  expect_eq Error "$(jq -r .reason <<<"$st")"
  local log; log=$(cat "$WORK/logs/web/c-log.log")
  expect_contains "$log" "stdout F hello from cri" "CRI log"
  expect_contains "$log" "stdout F web" "pod hostname in the container"
  local ip; ip=$(cri PodSandboxStatus "{\"pod_sandbox_id\":\"$POD\"}" | jq -r .status.network.ip)
  expect_contains "$log" "stdout F $ip/" "pod network in the container"
  cri RemoveContainer "{\"container_id\":\"$id\"}" >/dev/null
  ! k3rt_state "$id" >/dev/null 2>&1 || fail "k3rt state of $id left after RemoveContainer"
}

t_exec_sync_output_and_exit_code() {
  local id; id=$(start_ctr "$POD" web c-exec '{"command":["sleep","1000"]}')
  expect_eq "exec ok web" "$(exec_sync "$id" sh -c 'echo exec ok $(hostname)')"
  expect_eq 0 "$(cat "$WORK/exec.rc")"
  exec_sync "$id" sh -c 'echo to-stderr >&2; exit 4' >/dev/null
  expect_eq 4 "$(cat "$WORK/exec.rc")" "exec exit code"
  # The exec joins the container's namespaces: same pid namespace as its sleep (pid 1).
  expect_eq "sleep 1000" "$(exec_sync "$id" cat /proc/1/cmdline | tr '\0' ' ' | sed 's/ $//')"
  cri StopContainer "{\"container_id\":\"$id\",\"timeout\":0}" >/dev/null
  cri RemoveContainer "{\"container_id\":\"$id\"}" >/dev/null
}

t_resources_and_update() {
  local id; id=$(start_ctr "$POD" web c-res '{"command":["sleep","1000"],"linux":{"resources":{"memory_limit_in_bytes":67108864,"cpu_period":100000,"cpu_quota":20000,"cpu_shares":512}}}')
  local pid; pid=$(k3rt_state "$id" | jq -r .pid)
  expect_eq 67108864 "$(cgroup_read memory.limit_in_bytes memory memory.max "$pid")"
  expect_eq 20000 "$(cgroup_read cpu.cfs_quota_us cpu cpu.max "$pid" | awk '{print $1}')"
  cri UpdateContainerResources "{\"container_id\":\"$id\",\"linux\":{\"memory_limit_in_bytes\":134217728,\"cpu_period\":100000,\"cpu_quota\":50000,\"cpu_shares\":512}}" >/dev/null
  expect_eq 134217728 "$(cgroup_read memory.limit_in_bytes memory memory.max "$pid")" "memory after update"
  expect_eq 50000 "$(cgroup_read cpu.cfs_quota_us cpu cpu.max "$pid" | awk '{print $1}')" "cpu quota after update"
  local stats; stats=$(cri ContainerStats "{\"container_id\":\"$id\"}")
  (($(jq -r '.stats.memory.working_set_bytes.value // 0' <<<"$stats") > 0)) || fail "no memory usage in $stats"
  cri StopContainer "{\"container_id\":\"$id\",\"timeout\":0}" >/dev/null
  cri RemoveContainer "{\"container_id\":\"$id\"}" >/dev/null
}

t_security_context() {
  # masked and read-only paths are sent by the kubelet (its defaults for procMount Default)
  local id; id=$(start_ctr "$POD" web c-sec '{"command":["sh","-c","grep -E \"^(CapEff|Seccomp|NoNewPrivs):\" /proc/self/status; touch /x 2>/dev/null || echo read-only; echo keys=$(wc -c </proc/keys); echo 1 2>/dev/null >/proc/sys/kernel/ns_last_pid || echo proc-sys-ro"],
    "linux":{"security_context":{"readonly_rootfs":true,"no_new_privs":true,"capabilities":{"drop_capabilities":["ALL"],"add_capabilities":["NET_BIND_SERVICE"]},"seccomp":{"profile_type":"RuntimeDefault"},
      "masked_paths":["/proc/acpi","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/proc/scsi","/sys/firmware"],
      "readonly_paths":["/proc/asound","/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]}}}')
  wait_exited "$id"
  local log; log=$(cat "$WORK/logs/web/c-sec.log")
  expect_contains "$log" "CapEff:	0000000000000400" "only CAP_NET_BIND_SERVICE"
  expect_contains "$log" "Seccomp:	2" "seccomp filter"
  expect_contains "$log" "NoNewPrivs:	1"
  expect_contains "$log" "read-only"
  expect_contains "$log" "stdout F keys=0" "/proc/keys masked"
  expect_contains "$log" "stdout F proc-sys-ro" "/proc/sys read-only"
  local uid; uid=$(start_ctr "$POD" web c-user '{"command":["id","-u"],"linux":{"security_context":{"run_as_user":{"value":1234}}}}')
  wait_exited "$uid"
  expect_contains "$(cat "$WORK/logs/web/c-user.log")" "stdout F 1234"
  # drop: [ALL] alone: containerd sends "capabilities": {} and every set must be empty
  local none; none=$(start_ctr "$POD" web c-none '{"command":["grep","^Cap","/proc/self/status"],"linux":{"security_context":{"capabilities":{"drop_capabilities":["ALL"]}}}}')
  wait_exited "$none"
  local caps; caps=$(cat "$WORK/logs/web/c-none.log")
  local set; for set in CapInh CapPrm CapEff CapBnd CapAmb; do
    expect_contains "$caps" "$set:	0000000000000000" "$set with drop ALL"
  done
  cri RemoveContainer "{\"container_id\":\"$id\"}" >/dev/null
  cri RemoveContainer "{\"container_id\":\"$uid\"}" >/dev/null
  cri RemoveContainer "{\"container_id\":\"$none\"}" >/dev/null
}

t_stop_container_sends_term_first() {
  local id; id=$(start_ctr "$POD" web c-stop '{"command":["sh","-c","trap \"echo got TERM; exit 0\" TERM; while :; do sleep 1 & wait; done"]}')
  sleep 0.3 # let the trap be installed
  cri StopContainer "{\"container_id\":\"$id\",\"timeout\":10}" >/dev/null
  local st; st=$(status "$id")
  expect_eq CONTAINER_EXITED "$(jq -r .state <<<"$st")"
  expect_eq 0 "$(jq -r .exit_code <<<"$st")" "exit code after TERM"
  expect_contains "$(cat "$WORK/logs/web/c-stop.log")" "got TERM"
  cri RemoveContainer "{\"container_id\":\"$id\"}" >/dev/null
}

t_unknown_capability_is_refused() {
  local id out rc=0
  id=$(cri CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"c-bad\"},\"image\":{\"image\":\"$IMG\"},\"command\":[\"true\"],\"log_path\":\"c-bad.log\",\"linux\":{\"security_context\":{\"capabilities\":{\"add_capabilities\":[\"TEST\"]}}}},\"sandbox_config\":$(sandbox_config web)}" | jq -r .container_id)
  out=$(cri StartContainer "{\"container_id\":\"$id\"}" 2>&1) || rc=$?
  expect_eq 1 "$rc" "StartContainer with CAP_TEST"
  expect_contains "$out" "CAP_TEST"
  expect_contains "$out" "process.capabilities"
  ! k3rt_state "$id" >/dev/null 2>&1 || fail "k3rt state of the refused container left behind"
  cri RemoveContainer "{\"container_id\":\"$id\"}" >/dev/null
}

t_pod_teardown_leaves_nothing() {
  local pod; pod=$(run_pod gone)
  local id; id=$(start_ctr "$pod" gone c1 '{"command":["sleep","1000"]}')
  local pid; pid=$(k3rt_state "$id" | jq -r .pid)
  local netns; netns=$(readlink "/proc/$pid/ns/net")
  [[ $netns != "$(readlink /proc/self/ns/net)" ]] || fail "container is in the host network namespace"
  cri StopPodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null
  expect_eq CONTAINER_EXITED "$(status "$id" | jq -r .state)"
  [[ ! -e /proc/$pid ]] || fail "container process $pid still alive after StopPodSandbox"
  cri RemovePodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null
  ! k3rt_state "$id" >/dev/null 2>&1 || fail "container state left in k3rt's root"
  ! k3rt_state "$pod" >/dev/null 2>&1 || fail "sandbox state left in k3rt's root"
  local left; left=$(find /sys/fs/cgroup/ -maxdepth 4 -path "*/$CGPARENT/pod-gone/*" -type d 2>/dev/null)
  expect_eq "" "$left" "container cgroups left"
}

run_suite
