#!/usr/bin/env bash
# Issue 16, "survive a kill at any instruction": `k3rt create` is stopped at every
# syscall position (strace --inject signal=KILL), or has that syscall fail (error=EIO),
# and `k3rt delete --force ID` must then leave nothing: no state dir, no cgroup dir in
# any hierarchy, no mount under the bundle or the state root, no process of the
# container, and nothing may panic. A failed create must exit non-zero with a message.
#
# Positions: every syscall of a normal create of the same bundle (the create process
# itself: strace without -f), numbered as strace counts them, per syscall name. By
# default every K3_CRASH_STRIDE-th position (4) so the suite stays under a minute per
# sweep (~0.7 s a position); K3_CRASH_FULL=1 sweeps all of them. K3_CRASH_ERRNO picks the injected error.
source "$(dirname "$0")/lib.sh"
need_root
need jq busybox strace
[[ -x $K3RT ]] || { echo "FAIL k3rt not built: $K3RT"; echo "0 passed, 1 failed"; exit 1; }

source "$(dirname "$0")/containers.sh"

STRIDE=${K3_CRASH_STRIDE:-4}
[[ -n ${K3_CRASH_FULL:-} ]] && STRIDE=1
ERRNO=${K3_CRASH_ERRNO:-EIO}
exec 3>&1 # each sweep's numbers are shown, also when it passes (run_suite drops a passing test's output)
# the pattern in a file: grep's own command line must not match itself
printf '%s\n' "$ROOT" >"$WORK/rootpat"

# positions TRACE: "name:k where" for each syscall of a straced run (the k-th call of
# that name), where = rt for the Rust/libc runtime's own start-up (from each exec of
# k3rt, which re-executes itself from a sealed memfd, up to main's first syscall, a
# geteuid) and main after.
positions() {
  awk 'BEGIN { rt = 1 }
       /^(\+\+\+|---)/ {next}
       { n = $0; sub(/\(.*/, "", n); if (n == "" || n ~ /[^a-z0-9_]/) next; c[n]++
         if (n == "execve" || n == "execveat") rt = 1
         else if (rt && n == "geteuid") rt = 0
         print n ":" c[n], (rt ? "rt" : "main") }' "$1"
}

# skip_fail NAME WHERE: positions where an injected error tests nothing of k3rt: the
# runtime's start-up (std aborts there by design: a failed fd check or alternate signal
# stack), brk (returns an address, never -errno: libc takes -EIO for a new break) and
# getrandom (std retries EINTR and falls back on ENOSYS/EPERM; nothing else can happen).
skip_fail() { [[ $2 == rt || $1 == brk || $1 == getrandom ]]; }

# residue ID BUNDLE: prints what is left of the container (nothing when clean).
residue() {
  local id=$1 b=$2 left
  [[ -e $ROOT/$id ]] && echo "state dir: $(ls -A "$ROOT/$id" | tr '\n' ' ')"
  left=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "$id" 2>/dev/null | tr '\n' ' ')
  [[ -n $left ]] && echo "cgroups: $left"
  left=$(awk -v b="$WORK" -v r="$ROOT" 'index($5, b) == 1 || index($5, r) == 1 {print $5}' /proc/self/mountinfo | tr '\n' ' ')
  [[ -n $left ]] && echo "mounts: $left"
  # the init is a clone of `k3rt create`: its cmdline names the private root; a
  # process whose root or cwd is the bundle's rootfs is the container's too
  local p pids=()
  for p in $(grep -l -F -f "$WORK/rootpat" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
    [[ $p == "$$" || $p == "$BASHPID" ]] || pids+=("$p")
  done
  for p in /proc/[0-9]*; do
    [[ $(readlink "$p/root" 2>/dev/null) == "$WORK"* || $(readlink "$p/cwd" 2>/dev/null) == "$WORK"* ]] && pids+=("${p#/proc/}")
  done
  [[ ${#pids[@]} -gt 0 ]] && echo "processes: ${pids[*]} ($(ps -o pid=,stat=,comm= -p "$(IFS=,; echo "${pids[*]}")" 2>/dev/null | tr '\n' ';'))"
  return 0
}

# scrub ID BUNDLE: removes by hand what the runtime left, so the next position starts clean.
scrub() {
  local id=$1 b=$2 p m
  for p in $(grep -l -F -f "$WORK/rootpat" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
    [[ $p == "$$" || $p == "$BASHPID" ]] || kill -9 "$p" 2>/dev/null
  done
  for m in $(awk -v b="$WORK" 'index($5, b) == 1 {print $5}' /proc/self/mountinfo | sort -r); do umount -l "$m" 2>/dev/null; done
  sleep 0.05
  find /sys/fs/cgroup -maxdepth 6 -depth -type d -name "$id" -exec rmdir {} + 2>/dev/null || true
  rm -rf "${ROOT:?}/$id"
}

# sweep MODE BUNDLE TAG: kill (signal=KILL) or fail (error=$ERRNO) at each position.
sweep() {
  local mode=$1 b=$2 tag=$3
  local trace=$WORK/$tag.trace
  strace -qq -o "$trace" "$K3RT" --root "$ROOT" create -b "$b" "$tag-count" >/dev/null 2>&1 </dev/null || fail "plain create failed"
  k delete --force "$tag-count"
  mapfile -t pos < <(positions "$trace")
  local n=${#pos[@]} i inj id out rc dout drc left bad=0 panics=0 tried=0 skipped=0 t0=$SECONDS
  local call where name
  for ((i = 0; i < n; i += STRIDE)); do
    id=$tag-$mode-$i
    read -r call where <<<"${pos[i]}"
    name=${call%%:*}
    if [[ $mode == kill ]]; then inj="$name:signal=KILL:when=${call##*:}"
    elif skip_fail "$name" "$where"; then skipped=$((skipped + 1)); continue
    else inj="$name:error=$ERRNO:when=${call##*:}"; fi
    # output to a file, not a pipe: a blocked init left behind would hold a pipe open
    # (under sh, which returns 137 without bash's "Killed" report for each position)
    rc=0; timeout 20 sh -c '"$@"' sh strace -qq -o /dev/null -e inject="$inj" "$K3RT" --root "$ROOT" create -b "$b" "$id" >"$WORK/out" 2>&1 </dev/null || rc=$?
    drc=0; timeout 20 "$K3RT" --root "$ROOT" delete --force "$id" >"$WORK/dout" 2>&1 </dev/null || drc=$?
    out=$(cat "$WORK/out"); dout=$(cat "$WORK/dout")
    tried=$((tried + 1))
    left=
    [[ $out$dout == *panicked* ]] && { panics=$((panics + 1)); left+="panic: $(grep -h panicked <<<"$out$dout" | head -1); "; }
    [[ $mode == fail && $rc -ne 0 && $rc -ne 137 && -z $out ]] && left+="create failed (rc $rc) without a message; "
    [[ $rc -eq 124 ]] && left+="create hung; "
    [[ $drc -ne 0 && $dout != *"does not exist"* ]] && left+="delete --force rc $drc: $dout; "
    left+=$(residue "$id" "$b" | tr '\n' ' ')
    # an init that k3rt died before recording exits by itself on its channel's EOF
    # (delete cannot know its pid): a process gone within a second was not left behind
    local tries=0
    while [[ $left == *"processes: "* && $tries -lt 20 ]]; do
      sleep 0.05; tries=$((tries + 1)); left=${left%%processes: *}$(residue "$id" "$b" | grep '^processes' | tr '\n' ' ')
    done
    if [[ -n $left ]]; then
      bad=$((bad + 1))
      echo "  $mode at #$i $call (create rc $rc): $left"
      scrub "$id" "$b"
    fi
  done
  local sum="     $tag $mode: $tried of $n positions (stride $STRIDE, $skipped skipped), $bad with residue or errors, $panics panics, $((SECONDS - t0)) s"
  # to fd 3 by redirection, not `tee /dev/fd/3`: that reopens a log file and truncates it
  echo "$sum"
  echo "$sum" >&3
  [[ $bad -eq 0 ]]
}

# the base bundle: new mount namespace, read-only root
t_kill_at_each_syscall() { sweep kill "$(mkb mnt)" mnt; }
t_fail_at_each_syscall() { sweep fail "$(mkb mnt)" mnt; }

# no mount namespace: the rootfs mounts are made on the host and must be undone
t_kill_at_each_syscall_host_mounts() {
  sweep kill "$(mkpriv host '.linux.namespaces |= map(select(.type != "mount"))')" host
}

run_suite
