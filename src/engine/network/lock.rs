//! The network lock: every network change of every k3 process, whatever its
//! k3 root, runs under one host-wide lock (`/run/k3/network/lock`, in
//! [`Network::host_dir`](super::Network::host_dir)); it also guards the
//! ledger next to it (`ledger`).

use std::fs::{self, File};
use std::io;

use super::error::{sys, NetworkError};
use crate::context::Engine;

/// The network lock (all k3 processes of the host).
pub(super) struct Lock(#[allow(dead_code)] File);

pub(super) fn lock(ctx: &Engine) -> Result<Lock, NetworkError> {
    let dir = ctx.network.host_dir();
    fs::create_dir_all(&dir).map_err(sys("create", dir.display()))?;
    let p = dir.join("lock");
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(sys("open", p.display()))?;
    // SAFETY: a valid fd; flock blocks until granted.
    if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&f), libc::LOCK_EX) } < 0 {
        return Err(sys("lock", p.display())(io::Error::last_os_error()));
    }
    Ok(Lock(f))
}
