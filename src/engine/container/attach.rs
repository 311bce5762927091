//! `attach`: a connection to a container's monitor (its attach socket). The
//! container's output comes as it is written, the caller's input goes to the
//! container's stdin (`-i`), the caller's window size to its pty (`-t`), and the
//! exit code comes the moment the monitor has recorded it.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use crate::console;
use crate::container::{load, ContainerError};
use crate::context::Engine;
use crate::db::container_state::Status;
use crate::detach::{Keys, Matcher};
use crate::options::Validated;
use crate::relay::Peer;

/// A connection to a container's monitor.
#[derive(Debug)]
pub struct Attached {
    sock: UnixStream,
    /// The container has a pty (`-t`).
    pub tty: bool,
    /// The container's stdin is open (`-i`).
    pub stdin: bool,
    /// Output read in a relay but not yet a whole frame.
    buf: Vec<u8>,
    /// The keys that detach a relay (with a pty); ctrl-p ctrl-q unless set.
    keys: Keys,
}

/// How a relay ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The container stopped with this code.
    Exited(i64),
    /// The caller typed the detach keys; the container runs on.
    Detached,
    /// The monitor went away without a code.
    Lost,
}

/// Connects to the monitor of `id` (created or running).
pub fn connect(ctx: &mut Engine, id: &str) -> Result<Attached, ContainerError> {
    let l = load(ctx, id)?;
    if !matches!(l.state.status, Status::Created | Status::Running) {
        return Err(ContainerError::State {
            id: id.to_string(),
            status: l.state.status.as_str(),
            hint: "cannot attach to a container that is not running",
        });
    }
    let v: Option<Validated> = serde_json::from_value(l.record.validated.clone()).ok();
    let path = console::attach_socket(Path::new(&l.record.bundle));
    let io = |source| ContainerError::Io {
        op: "connect",
        path: path.clone(),
        source,
    };
    let (_dir, short) = console::short_path(&path).map_err(io)?;
    let sock = UnixStream::connect(short).map_err(io)?;
    Ok(Attached {
        sock,
        tty: v.as_ref().is_some_and(|v| v.tty),
        stdin: v.as_ref().is_some_and(|v| v.interactive),
        buf: Vec::new(),
        keys: Keys::default(),
    })
}

/// How long [`Attached::resize`] waits for the monitor to confirm a size.
const RESIZE_ACK: std::time::Duration = std::time::Duration::from_secs(5);

fn resize_frame(rows: u16, cols: u16) -> Vec<u8> {
    let mut p = rows.to_be_bytes().to_vec();
    p.extend_from_slice(&cols.to_be_bytes());
    p
}

impl Attached {
    /// The keys that detach a relay of this connection (`--detach-keys`).
    pub fn set_detach_keys(&mut self, keys: Keys) {
        self.keys = keys;
    }

    /// Tells the pty the caller's window size (that of `term`, if a terminal).
    pub fn resize_from(&mut self, term: BorrowedFd<'_>) {
        if let Some((rows, cols)) = console::window_size(term.as_raw_fd()) {
            let _ =
                console::write_frame(&mut self.sock, console::RESIZE, &resize_frame(rows, cols));
        }
    }

    /// Sets the pty's size (nothing for a container without one) and returns
    /// once the monitor has set it, so input sent afterwards sees the new size.
    /// A monitor from before the confirmation existed is given [`RESIZE_ACK`].
    pub fn resize(&mut self, rows: u16, cols: u16) -> std::io::Result<()> {
        console::write_frame(&mut self.sock, console::RESIZE, &resize_frame(rows, cols))?;
        self.sock.set_read_timeout(Some(RESIZE_ACK))?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16384];
        loop {
            let n = match self.sock.read(&mut chunk) {
                Ok(0) => return Ok(()), // the container stopped meanwhile
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return Ok(()),
                Err(e) => return Err(e),
            };
            buf.extend_from_slice(&chunk[..n]);
            if console::take_frames(&mut buf)
                .iter()
                .any(|(k, _)| matches!(*k, console::RESIZED | console::EXIT))
            {
                return Ok(());
            }
        }
    }

    /// The connection to the monitor, for a relay of the caller's own (the API's
    /// attach): frames as [`console`] describes them.
    pub fn into_socket(self) -> UnixStream {
        self.sock
    }
}

/// The monitor's side of a relay: frames both ways. [`Peer::relay`] relays
/// until the container stops (or the detach keys, with a pty).
impl Peer for Attached {
    type End = Ended;

    fn detach_keys(&self) -> Option<Matcher> {
        self.keys.matcher().filter(|_| self.tty)
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }

    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.sock.read(buf)
    }

    fn output(&mut self, data: &[u8], out: &mut dyn Write, err: &mut dyn Write) -> Option<Ended> {
        self.buf.extend_from_slice(data);
        for (kind, data) in console::take_frames(&mut self.buf) {
            match kind {
                console::STDOUT => {
                    let _ = out.write_all(&data);
                    let _ = out.flush();
                }
                console::STDERR => {
                    let _ = err.write_all(&data);
                    let _ = err.flush();
                }
                console::EXIT if data.len() == 4 => {
                    let code = i32::from_be_bytes([data[0], data[1], data[2], data[3]]);
                    return Some(Ended::Exited(i64::from(code)));
                }
                _ => {}
            }
        }
        None
    }

    /// A failed write is not the end: the monitor's code may still come.
    fn send(&mut self, data: &[u8]) -> std::io::Result<()> {
        let _ = console::write_frame(&mut self.sock, console::STDIN, data);
        Ok(())
    }

    fn input_ended(&mut self) {
        let _ = console::write_frame(&mut self.sock, console::STDIN_EOF, &[]);
    }

    fn resize(&mut self, term: BorrowedFd<'_>) {
        self.resize_from(term);
    }

    fn closed(&mut self) -> Ended {
        Ended::Lost
    }

    fn detached(&mut self) -> Ended {
        Ended::Detached
    }
}
