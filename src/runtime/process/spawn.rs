//! Creating the container init: one raw clone with the namespace flags, or — when
//! namespaces are joined by path or a time namespace is asked for — an intermediate
//! process that joins/unshares first, clones the init and reports its pid.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};

use oci_spec::runtime::Spec;

use crate::error::{Call, ProcessError, Protocol};
use crate::namespaces::{self, NsPlan};
use crate::process::channel::{Channel, Msg};
use crate::{Error, Result};

/// The processes made.
#[derive(Debug, Clone, Copy)]
pub struct Spawned {
    /// The container init, in the caller's pid namespace.
    pub pid: i32,
    /// The intermediate, already exiting; reap it.
    pub intermediate: Option<i32>,
    /// The init was born in the cgroup it was cloned into ([`clone_into_cgroup`]).
    pub in_cgroup: bool,
}

/// fork(2) with namespace flags; 0 in the child.
pub fn clone_raw(flags: libc::c_int) -> Result<i32> {
    // the flags' bits, not their sign
    let f = libc::c_ulong::from(u32::from_ne_bytes((flags | libc::SIGCHLD).to_ne_bytes()));
    // SAFETY: clone without CLONE_VM and without a new stack behaves like fork: the
    // child gets a copy-on-write copy of this single-threaded process.
    let r = unsafe { libc::syscall(libc::SYS_clone, f, 0usize, 0usize, 0usize, 0usize) };
    if r < 0 {
        return Err(ProcessError::last(Call::Clone(f)).into());
    }
    // a pid always fits
    Ok(i32::try_from(r).unwrap_or(i32::MAX))
}

/// `clone3`'s arguments, the fields up to `cgroup` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Linux 5.7's CLONE_INTO_CGROUP (not in libc for every target).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// fork(2) with namespace flags straight into the v2 cgroup open at `cgroup`
/// (`clone3` with CLONE_INTO_CGROUP): the child is never anywhere else, and k3rt
/// writes no `cgroup.procs`, which takes the kernel's global threadgroup lock. `None`
/// where the kernel (or a seccomp filter around k3rt) has no such clone, or refuses
/// this cgroup: the caller clones as before and moves the child.
pub fn clone_into_cgroup(flags: libc::c_int, cgroup: &OwnedFd) -> Option<i32> {
    let args = CloneArgs {
        flags: u64::from(u32::from_ne_bytes(flags.to_ne_bytes())) | CLONE_INTO_CGROUP,
        exit_signal: u64::from(u32::from_ne_bytes(libc::SIGCHLD.to_ne_bytes())),
        // descriptors are never negative
        cgroup: u64::try_from(cgroup.as_raw_fd()).unwrap_or(u64::MAX),
        ..CloneArgs::default()
    };
    // SAFETY: clone3 without CLONE_VM and without a stack behaves like fork (as
    // clone_raw); args lives across the call and its size is passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            size_of::<CloneArgs>(),
        )
    };
    // a pid always fits
    (r >= 0).then(|| i32::try_from(r).unwrap_or(i32::MAX))
}

/// Leaves the child immediately, without running destructors or atexit handlers.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and is async-signal-safe.
    unsafe { libc::_exit(code) }
}

/// In a child: closes its copy of k3rt's end of the channel, so that the init reads
/// end-of-file (and exits) when k3rt dies before sending Go, instead of waiting on a
/// socket it holds both ends of.
fn drop_parent_end(parent_end: &Channel) {
    // SAFETY: the fd is this (forked) process's copy; nothing in the child uses
    // parent_end, and the child leaves by _exit or exec, never dropping it.
    unsafe { libc::close(parent_end.0.as_raw_fd()) };
}

/// In a child of k3rt: SIGKILL when k3rt dies, so that a killed `create` leaves no
/// init (or intermediate) behind that goes on setting up after `delete --force` ran.
/// The init clears it just before it reports `Ready` ([`outlive_parent`]): after a
/// successful create it must outlive k3rt. `parent` is k3rt's pid, taken before the
/// clone: a k3rt that died before the prctl is seen by the parent pid, or in a new
/// pid namespace by the end-of-file where the init waits for `Go`.
fn die_with_parent(parent: i32) {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    // k3rt died before the prctl: we were re-parented already (in a new pid namespace
    // the parent reads as 0 either way; there the end-of-file before `Go` tells)
    let ppid = nix::unistd::getppid().as_raw();
    if ppid != 0 && ppid != parent {
        exit_now(1);
    }
}

/// In the init, before it reports `Ready`: stop dying with k3rt (see
/// [`die_with_parent`]). A k3rt that dies in between makes the `Ready` fail instead.
pub fn outlive_parent() {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, 0, 0, 0, 0) };
}

/// Starts `init` in new namespaces; `child_end` is the init's end of the channel,
/// `parent_end` ours. With `cgroup` (a v2 directory) the init is cloned into it where
/// the kernel can ([`Spawned::in_cgroup`] says whether it was).
pub fn spawn(
    spec: &Spec,
    ns: &NsPlan,
    parent_end: &Channel,
    child_end: &Channel,
    cgroup: Option<&OwnedFd>,
    init: impl FnOnce() -> i32,
) -> Result<Spawned> {
    let parent = nix::unistd::getpid().as_raw();
    if !ns.needs_intermediate() {
        let into = cgroup.and_then(|fd| clone_into_cgroup(ns.clone_flags(), fd));
        let pid = match into {
            Some(pid) => pid,
            None => clone_raw(ns.clone_flags())?,
        };
        if pid == 0 {
            drop_parent_end(parent_end);
            die_with_parent(parent);
            exit_now(init());
        }
        return Ok(Spawned {
            pid,
            intermediate: None,
            in_cgroup: into.is_some(),
        });
    }
    let mid = clone_raw(0)?;
    if mid == 0 {
        drop_parent_end(parent_end);
        die_with_parent(parent);
        let code = match intermediate(spec, ns, child_end, init) {
            Ok(()) => 0,
            Err(e) => {
                let _ = child_end.send(&Msg::Error(e.to_string()));
                1
            }
        };
        exit_now(code);
    }
    match parent_end.recv()? {
        Some(Msg::Pid(pid)) => Ok(Spawned {
            pid,
            intermediate: Some(mid),
            in_cgroup: false,
        }),
        Some(Msg::Error(e)) => {
            reap(mid);
            Err(ProcessError::Reported(e).into())
        }
        other => {
            reap(mid);
            Err(Protocol::NoPidFromIntermediate(format!("{other:?}")).into())
        }
    }
}

fn intermediate(
    spec: &Spec,
    ns: &NsPlan,
    chan: &Channel,
    init: impl FnOnce() -> i32,
) -> Result<()> {
    for (t, path) in &ns.joins {
        namespaces::join(*t, path)?;
    }
    if ns.is_new(oci_spec::runtime::LinuxNamespaceType::Time) {
        namespaces::unshare(
            namespaces::flag(oci_spec::runtime::LinuxNamespaceType::Time),
            "time",
        )?;
        write_time_offsets(spec)?;
    }
    let pid = clone_raw(ns.clone_flags())?;
    if pid == 0 {
        exit_now(init());
    }
    chan.send(&Msg::Pid(pid))
}

fn write_time_offsets(spec: &Spec) -> Result<()> {
    let Some(offsets) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref())
    else {
        return Ok(());
    };
    let mut text = String::new();
    for (clock, o) in offsets {
        if !matches!(clock.as_str(), "monotonic" | "boottime") {
            return Err(Error::invalid(
                "linux.timeOffsets",
                clock,
                "only `monotonic` and `boottime` can be offset",
            ));
        }
        text.push_str(&format!(
            "{clock} {} {}\n",
            o.secs().unwrap_or(0),
            o.nanosecs().unwrap_or(0)
        ));
    }
    let p = "/proc/self/timens_offsets";
    std::fs::OpenOptions::new()
        .write(true)
        .open(p)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| Error::io("write time offsets", p, e))
}

/// Waits for a child of ours to finish, ignoring errors.
pub fn reap(pid: i32) {
    let mut status = 0;
    // SAFETY: waitpid on our own child with a valid out-pointer.
    unsafe { libc::waitpid(pid, &mut status, 0) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::channel;

    /// A create killed between the clone and Go: the init must see end-of-file and
    /// exit, not wait forever on a socket whose other end it holds itself.
    #[test]
    fn init_reads_eof_when_k3rt_is_gone_before_go() {
        let (parent_end, child_end) = channel::pair().unwrap();
        let s = spawn(
            &Spec::default(),
            &NsPlan::default(),
            &parent_end,
            &child_end,
            None,
            || match child_end.recv() {
                Ok(None) => 0,
                _ => 1,
            },
        )
        .unwrap();
        drop(parent_end);
        drop(child_end);
        let mut status = 0;
        for _ in 0..5000 {
            // SAFETY: waitpid on our own child with a valid out-pointer.
            if unsafe { libc::waitpid(s.pid, &mut status, libc::WNOHANG) } == s.pid {
                assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        // SAFETY: killing our own child.
        unsafe { libc::kill(s.pid, libc::SIGKILL) };
        reap(s.pid);
        panic!("the init still waits for Go after k3rt is gone");
    }

    /// State letter of `pid` in /proc (None when gone).
    fn state(pid: i32) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit(')').next()?.trim_start().chars().next()
    }

    /// Runs `create` as a child that spawns an init, reports its pid and dies; returns
    /// the init's pid.
    fn init_of_a_dead_create(init: impl FnOnce(&Channel) -> i32) -> i32 {
        let (test_end, create_end) = channel::pair().unwrap();
        let create = clone_raw(0).unwrap();
        if create == 0 {
            let (parent_end, child_end) = channel::pair().unwrap();
            let s = spawn(
                &Spec::default(),
                &NsPlan::default(),
                &parent_end,
                &child_end,
                None,
                || init(&child_end),
            );
            // the init runs its body (past the prctl) once it says so
            let armed = parent_end.recv();
            assert!(matches!(armed, Ok(Some(Msg::Ready))), "{armed:?}");
            let _ = create_end.send(&Msg::Pid(s.map(|s| s.pid).unwrap_or(-1)));
            // hold the channel open: only the parent-death signal may end the init
            std::mem::forget((parent_end, child_end));
            exit_now(0);
        }
        drop(create_end);
        let got = test_end.recv().unwrap();
        reap(create);
        match got {
            Some(Msg::Pid(p)) if p > 0 => p,
            other => panic!("no init pid: {other:?}"),
        }
    }

    fn gone_within(pid: i32, ms: u64) -> bool {
        for _ in 0..ms {
            if matches!(state(pid), None | Some('Z') | Some('X')) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        false
    }

    /// A create killed while its init sets up takes the init with it; once the init
    /// cleared that (just before `Ready`), it outlives create.
    #[test]
    fn the_init_dies_with_create_until_it_is_ready() {
        let setting_up = init_of_a_dead_create(|chan| {
            let _ = chan.send(&Msg::Ready);
            std::thread::sleep(std::time::Duration::from_secs(20));
            0
        });
        let died = gone_within(setting_up, 5000);
        let st = state(setting_up);
        if !died {
            // SAFETY: killing the stray init of this test.
            unsafe { libc::kill(setting_up, libc::SIGKILL) };
        }
        assert!(died, "the init {setting_up} outlived its create: {st:?}");
        let ready = init_of_a_dead_create(|chan| {
            outlive_parent();
            let _ = chan.send(&Msg::Ready);
            std::thread::sleep(std::time::Duration::from_secs(2));
            0
        });
        let died = gone_within(ready, 500);
        // SAFETY: killing the init of this test.
        unsafe { libc::kill(ready, libc::SIGKILL) };
        assert!(!died, "the ready init {ready} died with its create");
    }
}
