//! The interactive half of the verbs run through the daemon: `k3 attach` and a
//! foreground `k3 run` take the container's attach stream over (`POST
//! /containers/{id}/attach`, docker's hijack) and relay the caller's terminal to
//! it as the standalone path relays it to the monitor: raw mode, the detach keys
//! (with a pty; passed to the daemon as `detachKeys` too), SIGWINCH as `POST /containers/{id}/resize`, the end of the
//! caller's input as the end of the container's (the write half shut), and the
//! exit code from `POST /containers/{id}/wait`.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use k3_engine::api::client::{self, Answer, ClientError, Hijack};
use k3_engine::api::routes::percent_encode;
use k3_engine::api::stream::{self, Demux};
use k3_engine::console;
use k3_engine::detach::{Keys, Matcher};
use k3_engine::relay::{self, Peer};

/// An attach stream taken over.
#[derive(Debug)]
pub struct Stream {
    conn: UnixStream,
    early: Vec<u8>,
    /// The container has a pty: its bytes come unframed.
    tty: bool,
    /// The output without a pty, split as it arrives.
    demux: Demux,
    /// The daemon's socket, for a resize.
    socket: PathBuf,
    /// The container, for a resize.
    id: String,
    /// The keys that detach (with a pty).
    keys: Keys,
}

/// How a relay ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The daemon closed the stream (the container stopped, or went away).
    Closed,
    /// The caller typed the detach keys; the container runs on.
    Detached,
}

/// Attaches to `id` (its stdout and stderr, and stdin when `stdin`) with the
/// detach keys `keys`; the daemon's refusal as its answer.
pub fn open(
    socket: &Path,
    id: &str,
    tty: bool,
    stdin: bool,
    keys: Keys,
) -> Result<Result<Stream, Answer>, ClientError> {
    let path = format!(
        "/containers/{id}/attach?stream=1&stdout=1&stderr=1&stdin={}&detachKeys={}",
        u8::from(stdin),
        percent_encode(&keys.spec())
    );
    Ok(match client::hijack(socket, &path)? {
        Hijack::Stream { conn, early } => Ok(Stream {
            conn,
            early,
            tty,
            demux: Demux::default(),
            socket: socket.to_path_buf(),
            id: id.to_string(),
            keys,
        }),
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

/// Like docker's sig-proxy (and the standalone `k3 run`): the signals of
/// [`relay::forward_signals`] go to the container as `POST .../kill`.
pub fn forward_signals(socket: &Path, id: &str) {
    let (socket, id) = (socket.to_path_buf(), id.to_string());
    relay::forward_signals(move |sig| {
        let _ = client::call(
            &socket,
            "POST",
            &format!("/containers/{id}/kill?signal={}", sig as i32),
            None,
            None,
        );
    });
}

impl Stream {
    /// Stream bytes to the caller: raw with a pty, demultiplexed otherwise.
    fn show(&mut self, data: &[u8], out: &mut dyn Write, err: &mut dyn Write) {
        if data.is_empty() {
            return;
        }
        if self.tty {
            let _ = out.write_all(data);
            let _ = out.flush();
            return;
        }
        for (s, payload) in self.demux.feed(data) {
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

/// The daemon's side of a relay: docker's stream both ways, a resize as `POST
/// .../resize`. [`Peer::relay`] relays until the daemon closes the stream (or
/// the detach keys, with a pty).
impl Peer for Stream {
    type End = Ended;

    fn detach_keys(&self) -> Option<Matcher> {
        self.keys.matcher().filter(|_| self.tty)
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.conn.as_fd()
    }

    fn begin(&mut self, out: &mut dyn Write, err: &mut dyn Write) {
        let early = std::mem::take(&mut self.early);
        self.show(&early, out, err);
    }

    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.conn.read(buf)
    }

    fn output(&mut self, data: &[u8], out: &mut dyn Write, err: &mut dyn Write) -> Option<Ended> {
        self.show(data, out, err);
        None
    }

    fn send(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.conn.write_all(data)
    }

    /// The write half shut: the daemon ends the container's stdin.
    fn input_ended(&mut self) {
        let _ = self.conn.shutdown(Shutdown::Write);
    }

    fn resize(&mut self, term: BorrowedFd<'_>) {
        resize(&self.socket, &self.id, term);
    }

    fn closed(&mut self) -> Ended {
        Ended::Closed
    }

    fn detached(&mut self) -> Ended {
        let _ = self.conn.shutdown(Shutdown::Both);
        Ended::Detached
    }
}
