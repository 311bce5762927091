//! `process.terminal`: a pty made inside the container (its own devpts), the master
//! sent to `--console-socket` as one SCM_RIGHTS message whose data is the master's
//! name, the slave made the controlling terminal and stdio, and /dev/console bound to it.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

use crate::error::{Call, ProcessError, Protocol};
use crate::{Error, Result};
use k3_sys::{Kind, Sys};

/// Connects to the engine's console socket (before any namespace is entered).
pub fn connect(path: &Path) -> Result<OwnedFd> {
    let s =
        UnixStream::connect(path).map_err(|e| Error::io("connect to console socket", path, e))?;
    Ok(OwnedFd::from(s))
}

fn ioctl_check(r: libc::c_int, what: &'static str) -> Result<libc::c_int> {
    if r < 0 {
        return Err(ProcessError::last(Call::Pty(what)).into());
    }
    Ok(r)
}

/// Makes the pty, hands the master over, and turns the slave into stdio.
pub fn setup(
    sys: &dyn Sys,
    socket: &OwnedFd,
    size: Option<(u16, u16)>,
    bind_console: bool,
) -> Result<()> {
    // SAFETY: static path; new descriptor checked below.
    let master = unsafe {
        libc::open(
            c"/dev/ptmx".as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    ioctl_check(master, "open `/dev/ptmx`")?;
    // SAFETY: new descriptor owned by nobody else.
    let master = unsafe { OwnedFd::from_raw_fd(master) };
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads an int.
    let r = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) };
    ioctl_check(r, "unlock pty")?;
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes an unsigned int.
    let r = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut n) };
    ioctl_check(r, "get pty number")?;
    // SAFETY: TIOCGPTPEER opens the peer of our master.
    let slave = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY,
        )
    };
    let slave = ioctl_check(slave, "open pty peer")?;
    // SAFETY: new descriptor owned by nobody else.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    if let Some((h, w)) = size {
        let ws = libc::winsize {
            ws_row: h,
            ws_col: w,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize.
        let r = unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        ioctl_check(r, "set console size")?;
    }
    if bind_console {
        let pts = std::path::PathBuf::from(format!("/dev/pts/{n}"));
        let t = sys
            .resolve_in_root(Path::new("/"), Path::new("/dev/console"), Some(Kind::File))
            .map_err(|e| Error::io("create", "/dev/console", e))?;
        sys.mount(Some(&pts), &t.path, Some("bind"), libc::MS_BIND, None)
            .map_err(|e| Error::io("bind console", pts, e))?;
    }
    send_fd(socket.as_raw_fd(), master.as_raw_fd(), b"/dev/ptmx")?;
    drop(master);
    // SAFETY: TIOCSCTTY on our own slave; we are a session leader.
    let r = unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) };
    ioctl_check(r, "set controlling terminal")?;
    for target in 0..3 {
        // SAFETY: dup2 onto stdio.
        if unsafe { libc::dup2(slave.as_raw_fd(), target) } < 0 {
            return Err(ProcessError::last(Call::DupPty).into());
        }
    }
    Ok(())
}

/// Sends one descriptor with `name` as the message data.
pub fn send_fd(socket: RawFd, fd: RawFd, name: &[u8]) -> Result<()> {
    let iov = [IoSlice::new(name)];
    let fds = [fd];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(socket, &iov, &cmsg, MsgFlags::empty(), None).map_err(|e| {
        ProcessError::Call {
            call: Call::SendPty,
            source: e.into(),
        }
    })?;
    Ok(())
}

/// Receives one descriptor sent with SCM_RIGHTS.
pub fn recv_fd(socket: RawFd) -> Result<OwnedFd> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned};
    let mut buf = [0u8; 256];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg =
        recvmsg::<()>(socket, &mut iov, Some(&mut space), MsgFlags::empty()).map_err(|e| {
            ProcessError::Call {
                call: Call::ReceivePty,
                source: e.into(),
            }
        })?;
    for c in msg.cmsgs().map_err(|e| ProcessError::Call {
        call: Call::ReceivePty,
        source: e.into(),
    })? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(fd) = fds.first() {
                // SAFETY: the kernel just gave us this descriptor.
                return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
            }
        }
    }
    Err(Protocol::NoPtyMaster.into())
}

/// A `consoleSize` dimension as the kernel's `u16` (larger values are clamped).
pub fn dimension(v: u64) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

/// Our terminal in raw mode while the container owns it; restored on drop.
pub struct RawMode {
    fd: RawFd,
    saved: Option<libc::termios>,
}

impl std::fmt::Debug for RawMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawMode")
            .field("fd", &self.fd)
            .field("saved", &self.saved.is_some())
            .finish()
    }
}

impl RawMode {
    /// Puts `fd` in raw mode until the value is dropped.
    pub fn enter(fd: RawFd) -> RawMode {
        // SAFETY: zeroed termios is a valid out-parameter.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: tcgetattr on a descriptor with a valid out-pointer.
        if unsafe { libc::tcgetattr(fd, &mut t) } < 0 {
            return RawMode { fd, saved: None };
        }
        let saved = t;
        // SAFETY: cfmakeraw edits our copy; tcsetattr applies it.
        unsafe {
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(fd, libc::TCSANOW, &t);
        }
        RawMode {
            fd,
            saved: Some(saved),
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            // SAFETY: restoring the settings we read.
            unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, t) };
        }
    }
}

/// Copies the window size of `from` (our terminal) to `to` (the pty master).
pub fn copy_winsize(from: RawFd, to: RawFd) {
    // SAFETY: zeroed winsize is a valid out-parameter; both ioctls take a winsize.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(from, libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(to, libc::TIOCSWINSZ, &ws);
        }
    }
}
