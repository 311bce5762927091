//! `start`: open the exec fifo, which releases the init; return once the user's
//! program has been exec'd (the fifo's write side closes on exec), then run the
//! poststart hooks.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

use crate::container::GlobalFlags;
use crate::error::{Call, ProcessError, Protocol, StateError};
use crate::statedir::{pid_alive, ContainerDir};
use crate::{hooks, Error, Result};
use k3_oci::spec;
use k3_oci::state::{ContainerState, Status};

/// `k3rt start ID`.
pub fn start(ctx: &GlobalFlags, id: &str) -> Result<()> {
    let dir = ctx.container(id)?;
    let st = dir.load()?;
    let status = dir.status(&st);
    if !status.can_start() {
        return Err(StateError::BadState {
            op: "start",
            id: id.to_string(),
            status,
            hint: ": only a created container can be started",
        }
        .into());
    }
    let mut fifo = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(dir.fifo())
        .map_err(|e| Error::io("open exec fifo", dir.fifo(), e))?;
    wait_fd(&fifo, libc::POLLIN, &st)?;
    let mut b = [0u8; 1];
    let n = fifo
        .read(&mut b)
        .map_err(|e| Error::io("read exec fifo", dir.fifo(), e))?;
    if n != 1 {
        return Err(Protocol::FifoClosed.into());
    }
    let _ = std::fs::remove_file(dir.fifo());
    // the init holds the write side until its exec succeeds (or it dies)
    wait_fd(&fifo, libc::POLLHUP, &st)?;
    // nothing is written after the exec: the status is derived from the process and
    // the fifo (gone now), and a program that exits at once may be deleted by its
    // engine (`run --rm`) while this returns; a state write would race that delete
    poststart(ctx, &dir, &st);
    Ok(())
}

/// Polls `fd` for `events`, giving up if the init dies meanwhile.
fn wait_fd(fd: &std::fs::File, events: libc::c_short, st: &ContainerState) -> Result<()> {
    loop {
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, 100) };
        if r < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return Err(ProcessError::last(Call::PollFifo).into());
        }
        if r > 0 && p.revents & (events | libc::POLLHUP) != 0 {
            return Ok(());
        }
        if !pid_alive(st.pid, st.pid_start_time) {
            if events == libc::POLLHUP {
                return Ok(());
            }
            return Err(StateError::NotRunning {
                id: st.id.clone(),
                status: Status::Stopped,
            }
            .into());
        }
    }
}

/// poststart hooks: a failure is only a warning (runtime-spec).
pub fn poststart(ctx: &GlobalFlags, dir: &ContainerDir, st: &ContainerState) {
    let Ok(raw) = std::fs::read(dir.config()) else {
        return;
    };
    let Ok(spec) = spec::parse(&raw) else {
        return;
    };
    if let Some(h) = spec.hooks().as_ref().and_then(|h| h.poststart().as_deref()) {
        let json = serde_json::to_string(&st.oci(Status::Running)).unwrap_or_default();
        hooks::run_each("poststart", h, &json, |e| ctx.log.warn(e.to_string()));
    }
}
