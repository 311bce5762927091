//! `kill`: a signal to the init, or with `--all` to every process in the cgroup.

use std::time::Duration;

use crate::container::GlobalFlags;
use crate::error::{Call, ProcessError, Undying};
use crate::statedir::pid_alive;
use crate::{signal, Result};
use k3_cgroups as cgroups;
use k3_oci::state::{ContainerState, Status};

/// `k3rt kill ID [SIGNAL] [--all]`.
pub fn kill(ctx: &GlobalFlags, id: &str, sig: &str, all: bool) -> Result<()> {
    let sig = signal::parse(sig)?;
    if all {
        // as runc: `kill --all` of a stopped container is not an error (containerd's
        // shim sends it after every exit); what is left in its cgroup gets the signal,
        // never the dead init's pid, which may belong to someone else by now
        let dir = ctx.container(id)?;
        let st = dir.load()?;
        if dir.status(&st) == Status::Stopped {
            for pid in cgroups::procs(&st.cgroup_paths) {
                let _ = send(pid, sig);
            }
            return Ok(());
        }
    }
    let (_, st, _) = ctx.live(id)?;
    if all || !st.own_pid_ns {
        signal_all(&st, sig);
        return Ok(());
    }
    send(st.pid, sig)
}

fn send(pid: i32, sig: i32) -> Result<()> {
    // SAFETY: kill with integer arguments.
    if unsafe { libc::kill(pid, sig) } < 0 {
        let e = std::io::Error::last_os_error();
        let gone = e.raw_os_error() == Some(libc::ESRCH);
        return Err(ProcessError::Call {
            call: Call::Signal { sig, pid, gone },
            source: e,
        }
        .into());
    }
    Ok(())
}

/// Sends `sig` to the init and every process of the cgroup (thawing a frozen one for SIGKILL).
pub fn signal_all(st: &ContainerState, sig: i32) {
    let _ = send(st.pid, sig);
    for pid in cgroups::procs(&st.cgroup_paths) {
        let _ = send(pid, sig);
    }
    if sig == libc::SIGKILL {
        for p in &st.cgroup_paths {
            let _ = std::fs::write(p.join("freezer.state"), "THAWED");
            let _ = std::fs::write(p.join("cgroup.freeze"), "0");
        }
    }
}

/// Kills the container's processes and waits (up to 10 s) for the init to be gone.
pub fn kill_and_wait(st: &ContainerState) -> Result<()> {
    signal_all(st, libc::SIGKILL);
    for _ in 0..10_000 {
        if !pid_alive(st.pid, st.pid_start_time) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Err(Undying::Pid(st.pid).into())
}
