//! Process file descriptors: a handle on one process that never points at another
//! one after the pid is reused. `kill` signals through one, and `--pidfd-socket`
//! hands one to a manager (containerd) over a unix socket with SCM_RIGHTS.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use crate::error::{Call, ProcessError};
use crate::statedir::pid_alive;
use crate::{Error, Result};

/// `pidfd_open(pid)`; `None` where the kernel has no pidfd_open (before 5.3).
pub fn open(pid: i32) -> Result<Option<OwnedFd>> {
    // SAFETY: pidfd_open with integer arguments; a new descriptor is checked below.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENOSYS) => Ok(None),
            _ => Err(ProcessError::Call {
                call: Call::PidfdOpen(pid),
                source: e,
            }
            .into()),
        };
    }
    let fd = i32::try_from(fd).map_err(|_| ProcessError::Call {
        call: Call::PidfdOpen(pid),
        source: std::io::Error::from_raw_os_error(libc::EBADF),
    })?;
    // SAFETY: the kernel just gave us this descriptor.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// A pidfd for `pid` if it is still the process that started at `start_time`:
/// the pidfd is opened first and the start time checked after, so the handle
/// can only name that process. `None` where the kernel has no pidfd_open.
pub fn open_checked(pid: i32, start_time: u64) -> Result<Option<OwnedFd>> {
    let fd = open(pid)?;
    if !pid_alive(pid, start_time) {
        return Err(ProcessError::Call {
            call: Call::PidfdOpen(pid),
            source: std::io::Error::from_raw_os_error(libc::ESRCH),
        }
        .into());
    }
    Ok(fd)
}

/// `pidfd_send_signal(fd, sig)`.
pub fn send_signal(fd: &OwnedFd, sig: i32) -> std::io::Result<()> {
    // SAFETY: pidfd_send_signal on a descriptor we own, no siginfo, no flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A connection to the `--pidfd-socket` path, made before anything is created so
/// that a bad path fails with nothing left behind.
pub fn connect(path: &Path) -> Result<OwnedFd> {
    let s = std::os::unix::net::UnixStream::connect(path)
        .map_err(|e| Error::io("connect to --pidfd-socket", path, e))?;
    Ok(OwnedFd::from(s))
}

/// Sends a pidfd of `pid` on `socket`. The message's data is `tag`: `standard`
/// for a container's init, `setns` for an exec'd process (runc's names).
pub fn send(socket: &OwnedFd, pid: i32, tag: &str) -> Result<()> {
    let fd = open(pid)?.ok_or_else(|| {
        Error::invalid(
            "--pidfd-socket",
            pid,
            "this kernel has no pidfd_open (Linux 5.3 or later)",
        )
    })?;
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let iov = [std::io::IoSlice::new(tag.as_bytes())];
    let fds = [fd.as_raw_fd()];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(|e| ProcessError::Call {
        call: Call::SendPidfd,
        source: e.into(),
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::tty;

    #[test]
    fn a_pidfd_signals_its_process_and_is_handed_over() {
        let mut child = std::process::Command::new("sleep")
            .arg("100")
            .spawn()
            .unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        let start = crate::statedir::proc_stat(pid).unwrap().0;
        assert!(open_checked(pid, start + 1).is_err(), "wrong start time");
        let fd = open_checked(pid, start).unwrap().expect("pidfd_open");
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        send(&OwnedFd::from(a), pid, "standard").unwrap();
        let got = tty::recv_fd(b.as_raw_fd()).unwrap();
        send_signal(&got, libc::SIGKILL).unwrap();
        let st = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&st),
            Some(libc::SIGKILL)
        );
        // the process is gone (reaped): the handle does not reach a reused pid
        let e = send_signal(&fd, libc::SIGKILL).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ESRCH));
    }
}
