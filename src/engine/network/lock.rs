//! The network lock: every network change of every k3 process on one k3
//! root runs under `ROOT/network.lock`.

use std::fs::File;
use std::io;
use std::path::Path;

use super::error::{sys, NetworkError};

/// The network lock (all k3 processes, one k3 root).
pub(super) struct Lock(#[allow(dead_code)] File);

pub(super) fn lock(root: &Path) -> Result<Lock, NetworkError> {
    let p = root.join("network.lock");
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
