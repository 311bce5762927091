//! Terminals and the attach protocol shared by the monitor and the `k3` that
//! talks to it.
//!
//! * The console socket: the runtime connects to it and sends the pty master
//!   (one SCM_RIGHTS message), as `--console-socket` has it for runc and crun.
//! * The attach socket (`attach.sock` in the bundle): frames of
//!   `[kind: u8][len: u32 BE][payload]`. From the client: [`STDIN`] bytes,
//!   [`STDIN_EOF`], [`RESIZE`] (rows, cols as u16 BE). From the monitor:
//!   [`STDOUT`], [`STDERR`] bytes, [`RESIZED`] to the client that sent a
//!   [`RESIZE`] once the pty has that size, and, once the container has stopped
//!   and its exit is recorded, [`EXIT`] (the code as i32 BE).
//! * The caller's terminal: raw mode (restored on drop) and its window size.

use std::fs::File;
use std::io::{self, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::sys::termios::{self, SetArg, Termios};

/// Frame kind: bytes for the container's stdin (client to monitor).
pub const STDIN: u8 = 0;
/// Frame kind: bytes the container wrote to stdout.
pub const STDOUT: u8 = 1;
/// Frame kind: bytes the container wrote to stderr.
pub const STDERR: u8 = 2;
/// Frame kind: the container's exit code (4 bytes, big-endian).
pub const EXIT: u8 = 3;
/// Frame kind: the client's stdin reached its end.
pub const STDIN_EOF: u8 = 4;
/// Frame kind: the client's terminal size (rows, columns as two big-endian u16).
pub const RESIZE: u8 = 5;
/// Frame kind: the monitor has applied the client's [`RESIZE`] (no payload).
pub const RESIZED: u8 = 6;

/// The attach socket of a bundle.
pub fn attach_socket(bundle: &Path) -> PathBuf {
    bundle.join("attach.sock")
}

/// A path for `path` short enough for `sun_path` (108 bytes): through an
/// `O_PATH` descriptor of its directory (kept open while the path is used).
pub fn short_path(path: &Path) -> io::Result<(File, PathBuf)> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("/"));
    let name = path.file_name().unwrap_or_default();
    let d = File::options()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(dir)?;
    let p = PathBuf::from(format!("/proc/self/fd/{}", d.as_raw_fd())).join(name);
    Ok((d, p))
}

/// One frame.
pub fn write_frame(w: &mut impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame over 4 GiB"))?;
    let mut buf = Vec::with_capacity(5 + payload.len());
    buf.push(kind);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(payload);
    w.write_all(&buf)
}

/// Takes the complete frames off the front of `buf`.
pub fn take_frames(buf: &mut Vec<u8>) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    let mut at = 0;
    while buf.len() - at >= 5 {
        let len = u32::from_be_bytes([buf[at + 1], buf[at + 2], buf[at + 3], buf[at + 4]]) as usize;
        if buf.len() - at - 5 < len {
            break;
        }
        frames.push((buf[at], buf[at + 5..at + 5 + len].to_vec()));
        at += 5 + len;
    }
    buf.drain(..at);
    frames
}

/// A console socket the runtime sends the pty master to.
#[derive(Debug)]
pub struct ConsoleSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl ConsoleSocket {
    /// Binds a fresh socket in the temporary directory (short path).
    pub fn bind(tag: &str) -> io::Result<ConsoleSocket> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "k3-console-{tag}-{}-{nanos}.sock",
            std::process::id()
        ));
        let listener = UnixListener::bind(&path)?;
        listener.set_nonblocking(true)?;
        Ok(ConsoleSocket { listener, path })
    }

    /// Where the socket is bound (what `--console-socket` names).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for the master; gives up when `alive` says the runtime is gone
    /// or after `timeout`.
    pub fn receive(
        &self,
        timeout: Duration,
        mut alive: impl FnMut() -> bool,
    ) -> io::Result<OwnedFd> {
        let end = Instant::now() + timeout;
        let stream = loop {
            match self.listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !alive() || Instant::now() > end {
                        return Err(io::Error::other("the runtime sent no pty master"));
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => return Err(e),
            }
        };
        // the name has served: gone even if this process is killed later
        let _ = std::fs::remove_file(&self.path);
        stream.set_nonblocking(false)?;
        stream.set_read_timeout(Some(timeout))?;
        recv_fd(stream.as_raw_fd())
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn recv_fd(sock: RawFd) -> io::Result<OwnedFd> {
    let mut data = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(sock, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
        .map_err(io::Error::from)?;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(fd) = fds.first() {
                // SAFETY: a descriptor the kernel just gave us.
                return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
            }
        }
    }
    Err(io::Error::other("no descriptor in the console message"))
}

/// The window size of terminal `fd` (rows, cols).
pub fn window_size(fd: RawFd) -> Option<(u16, u16)> {
    // SAFETY: TIOCGWINSZ writes a winsize.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let r = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_row > 0).then_some((ws.ws_row, ws.ws_col))
}

/// Sets the window size of terminal `fd`.
pub fn set_window_size(fd: RawFd, rows: u16, cols: u16) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize.
    unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
}

/// The caller's terminal in raw mode until dropped.
#[derive(Debug)]
pub struct RawMode {
    fd: RawFd,
    saved: Termios,
}

impl RawMode {
    /// Raw mode on `fd` when it is a terminal (`None` otherwise).
    pub fn enter(fd: RawFd) -> Option<RawMode> {
        // SAFETY: borrowed for the calls below only; the caller keeps `fd` open.
        let b = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        let saved = termios::tcgetattr(b).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(b, SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: as in `enter`.
        let b = unsafe { std::os::fd::BorrowedFd::borrow_raw(self.fd) };
        let _ = termios::tcsetattr(b, SetArg::TCSADRAIN, &self.saved);
    }
}

/// Whether `fd` is a terminal.
pub fn is_tty(fd: RawFd) -> bool {
    // SAFETY: plain query.
    unsafe { libc::isatty(fd) == 1 }
}

fn winch_set() -> nix::sys::signal::SigSet {
    let mut set = nix::sys::signal::SigSet::empty();
    set.add(nix::sys::signal::Signal::SIGWINCH);
    set
}

/// Blocks SIGWINCH in the calling thread and the threads it starts afterwards.
/// A process-directed signal goes to any thread that does not block it, so a
/// caller that starts threads before [`winch_fd`] blocks it first, or a resize
/// delivered to such a thread is dropped (SIGWINCH's default is to ignore).
pub fn block_winch() {
    let _ = winch_set().thread_block();
}

/// A descriptor that reports SIGWINCH (blocked in the calling thread, which
/// the threads it starts afterwards inherit; see [`block_winch`]).
pub fn winch_fd() -> Option<nix::sys::signalfd::SignalFd> {
    let set = winch_set();
    set.thread_block().ok()?;
    nix::sys::signalfd::SignalFd::with_flags(&set, nix::sys::signalfd::SfdFlags::SFD_CLOEXEC).ok()
}

/// Reads what is there (one read).
pub fn read_some(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: borrowed for one read.
    let mut f = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(fd) });
    f.read(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_and_join() {
        let mut wire = Vec::new();
        write_frame(&mut wire, STDOUT, b"hello").unwrap();
        write_frame(&mut wire, EXIT, &7i32.to_be_bytes()).unwrap();
        let mut partial = wire[..7].to_vec();
        assert_eq!(take_frames(&mut partial), vec![]);
        let mut buf = wire.clone();
        buf.extend_from_slice(&[STDIN, 0]);
        let f = take_frames(&mut buf);
        assert_eq!(f[0], (STDOUT, b"hello".to_vec()));
        assert_eq!(f[1], (EXIT, 7i32.to_be_bytes().to_vec()));
        assert_eq!(buf, vec![STDIN, 0]);
    }
}
