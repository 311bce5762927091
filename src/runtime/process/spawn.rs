//! Creating the container init: one raw clone with the namespace flags, or — when
//! namespaces are joined by path or a time namespace is asked for — an intermediate
//! process that joins/unshares first, clones the init and reports its pid.

use std::io::Write;
use std::os::fd::AsRawFd;

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

/// Starts `init` in new namespaces; `child_end` is the init's end of the channel,
/// `parent_end` ours.
pub fn spawn(
    spec: &Spec,
    ns: &NsPlan,
    parent_end: &Channel,
    child_end: &Channel,
    init: impl FnOnce() -> i32,
) -> Result<Spawned> {
    if !ns.needs_intermediate() {
        let pid = clone_raw(ns.clone_flags())?;
        if pid == 0 {
            drop_parent_end(parent_end);
            exit_now(init());
        }
        return Ok(Spawned {
            pid,
            intermediate: None,
        });
    }
    let mid = clone_raw(0)?;
    if mid == 0 {
        drop_parent_end(parent_end);
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
}
