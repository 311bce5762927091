//! The interactive half of the verbs run through the daemon: `k3 attach` and a
//! foreground `k3 run` take the container's attach stream over (`POST
//! /containers/{id}/attach`, docker's hijack) and relay the caller's terminal to
//! it as the standalone path relays it to the monitor: raw mode, ctrl-p ctrl-q
//! (with a pty), SIGWINCH as `POST /containers/{id}/resize`, the end of the
//! caller's input as the end of the container's (the write half shut), and the
//! exit code from `POST /containers/{id}/wait`.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use k3_engine::api::client::{self, Answer, ClientError, Hijack};
use k3_engine::api::stream::{self, Demux};
use k3_engine::console::{self, DetachKeys};

/// An attach stream taken over.
#[derive(Debug)]
pub struct Stream {
    conn: UnixStream,
    early: Vec<u8>,
    /// The container has a pty: its bytes come unframed.
    tty: bool,
}

/// How a relay ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The daemon closed the stream (the container stopped, or went away).
    Closed,
    /// The caller typed the detach keys; the container runs on.
    Detached,
}

/// Attaches to `id` (its stdout and stderr, and stdin when `stdin`); the
/// daemon's refusal as its answer.
pub fn open(
    socket: &Path,
    id: &str,
    tty: bool,
    stdin: bool,
) -> Result<Result<Stream, Answer>, ClientError> {
    let path = format!(
        "/containers/{id}/attach?stream=1&stdout=1&stderr=1&stdin={}",
        u8::from(stdin)
    );
    Ok(match client::hijack(socket, &path)? {
        Hijack::Stream { conn, early } => Ok(Stream { conn, early, tty }),
        Hijack::Refused(a) => Err(a),
    })
}

/// Sets the container's pty to the size of terminal `term` (when it is one).
pub fn resize(socket: &Path, id: &str, term: BorrowedFd<'_>) {
    if let Some((rows, cols)) = console::window_size(term.as_raw_fd()) {
        let _ = client::call(
            socket,
            "POST",
            &format!("/containers/{id}/resize?h={rows}&w={cols}"),
            None,
            None,
        );
    }
}

/// The container's exit code once it stopped (docker's `/wait`); `None` with
/// the daemon's error when it answers otherwise.
pub fn wait_code(socket: &Path, id: &str) -> Result<Result<i32, Answer>, ClientError> {
    let w = client::call(
        socket,
        "POST",
        &format!("/containers/{id}/wait"),
        None,
        None,
    )?;
    if w.status != 200 {
        return Ok(Err(w));
    }
    Ok(Ok(w.json()["exitCode"]
        .as_i64()
        .and_then(|c| i32::try_from(c).ok())
        .unwrap_or(255)))
}

/// Like docker's sig-proxy (and the standalone `k3 run`): SIGINT, SIGTERM,
/// SIGHUP, SIGQUIT, SIGUSR1/2 go to the container as `POST .../kill`, from a
/// thread that waits for them (blocked everywhere else; SIGWINCH too, for the
/// relay's signalfd).
pub fn forward_signals(socket: &Path, id: &str) {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
    ] {
        set.add(s);
    }
    if set.thread_block().is_err() {
        return;
    }
    console::block_winch();
    let (socket, id) = (socket.to_path_buf(), id.to_string());
    std::thread::spawn(move || {
        while let Ok(sig) = set.wait() {
            let _ = client::call(
                &socket,
                "POST",
                &format!("/containers/{id}/kill?signal={}", sig as i32),
                None,
                None,
            );
        }
    });
}

impl Stream {
    /// Relays until the daemon closes the stream (or the detach keys, with a
    /// pty): `input` (when given) to the container, its output to `out` and `err`,
    /// SIGWINCH (when `term` is given) as the size of `term`.
    pub fn relay(
        mut self,
        socket: &Path,
        id: &str,
        input: Option<BorrowedFd<'_>>,
        term: Option<BorrowedFd<'_>>,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Ended {
        let winch = term.and_then(|_| console::winch_fd());
        let mut input = input;
        let mut keys = self.tty.then(DetachKeys::default);
        let mut demux = Demux::default();
        let early = std::mem::take(&mut self.early);
        self.show(&early, &mut demux, out, err);
        loop {
            let mut fds = vec![PollFd::new(self.conn.as_fd(), PollFlags::POLLIN)];
            if let Some(i) = input {
                fds.push(PollFd::new(i, PollFlags::POLLIN));
            }
            if let Some(w) = &winch {
                fds.push(PollFd::new(w.as_fd(), PollFlags::POLLIN));
            }
            if poll(&mut fds, PollTimeout::NONE).is_err() {
                continue;
            }
            let ready: Vec<bool> = fds
                .iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect();
            drop(fds);
            if ready[0] {
                let mut chunk = [0u8; 16384];
                match self.conn.read(&mut chunk) {
                    Ok(0) | Err(_) => return Ended::Closed,
                    Ok(n) => self.show(&chunk[..n], &mut demux, out, err),
                }
            }
            // a resize before the typed input that came with it
            if let (Some(w), Some(t)) = (&winch, term) {
                if ready
                    .get(1 + usize::from(input.is_some()))
                    .copied()
                    .unwrap_or(false)
                {
                    let _ = w.read_signal();
                    resize(socket, id, t);
                }
            }
            if let (Some(i), true) = (input, ready.get(1).copied().unwrap_or(false)) {
                let mut chunk = [0u8; 16384];
                match console::read_some(i.as_raw_fd(), &mut chunk) {
                    Ok(0) | Err(_) => {
                        // the caller's input ended: so does the container's
                        let _ = self.conn.shutdown(Shutdown::Write);
                        input = None;
                    }
                    Ok(n) => {
                        let (data, detach) = match &mut keys {
                            Some(k) => k.feed(&chunk[..n]),
                            None => (chunk[..n].to_vec(), false),
                        };
                        if !data.is_empty() && self.conn.write_all(&data).is_err() {
                            return Ended::Closed;
                        }
                        if detach {
                            let _ = self.conn.shutdown(Shutdown::Both);
                            return Ended::Detached;
                        }
                    }
                }
            }
        }
    }

    /// Stream bytes to the caller: raw with a pty, demultiplexed otherwise.
    fn show(&self, data: &[u8], demux: &mut Demux, out: &mut dyn Write, err: &mut dyn Write) {
        if data.is_empty() {
            return;
        }
        if self.tty {
            let _ = out.write_all(data);
            let _ = out.flush();
            return;
        }
        for (s, payload) in demux.feed(data) {
            let w: &mut dyn Write = if s == stream::STDERR {
                &mut *err
            } else {
                &mut *out
            };
            let _ = w.write_all(&payload);
            let _ = w.flush();
        }
    }
}
