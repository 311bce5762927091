//! `POST /containers/{id}/attach` and `POST /containers/{id}/resize`, as
//! docker's and podman's compat API have them.
//!
//! Attach answers `101 UPGRADED` (`Upgrade: tcp`) when the client asked for the
//! upgrade (`200 OK` otherwise) and the connection becomes the container's
//! stream, relayed through its monitor: with a pty its bytes both ways; without,
//! the output as [`super::stream`]'s frames and the input raw. The client's end
//! of input (a shut write half, or a closed connection) closes the container's
//! stdin when it was made with `-i` and has no pty (podman's compat API does the
//! same); `stdin=1` for a container made without `-i` is accepted and the input
//! ignored, as podman does. The detach keys (`detachKeys`, docker's syntax, see
//! [`crate::detach`]; ctrl-p ctrl-q by default, `detachKeys=` none) in the input
//! of a pty detach: the connection closes. The connection closes when the
//! container stops. `logs=1` sends the output logged so far first.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::api::routes::{percent_decode, query_param};
use crate::api::{stream, ApiError, Hijacked, Reply, Req};
use crate::console;
use crate::container::attach::{self as cattach, Attached};
use crate::container::{logs as clogs, ContainerError};
use crate::detach::{Keys, Matcher};
use crate::supervisor::Shared;

/// What an attach request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachQuery {
    /// Output from now on (podman's default: on).
    pub stream: bool,
    /// The output logged so far, first.
    pub logs: bool,
    /// The client's input to the container's stdin.
    pub stdin: bool,
    /// The container's stdout.
    pub stdout: bool,
    /// The container's stderr.
    pub stderr: bool,
    /// The keys that detach (a pty only; none for `detachKeys=`).
    pub detach_keys: Keys,
}

/// A boolean query parameter: `None` when absent; a value that is not one is a 400.
fn flag(query: &str, key: &str) -> Result<Option<bool>, ApiError> {
    match query_param(query, key) {
        None => Ok(None),
        Some("" | "1" | "true" | "True" | "yes") => Ok(Some(true)),
        Some("0" | "false" | "False" | "no") => Ok(Some(false)),
        Some(v) => Err(ApiError::BadRequest(format!(
            "invalid `{key}` `{v}`: want 1/true or 0/false"
        ))),
    }
}

/// The `detachKeys` of a query (ctrl-p ctrl-q when absent); a list that does
/// not parse is a 400 naming it.
fn detach_keys(query: &str) -> Result<Keys, ApiError> {
    let Some(raw) = query_param(query, "detachKeys") else {
        return Ok(Keys::default());
    };
    let v = percent_decode(raw).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "invalid `detachKeys` value `{raw}`: broken %-escapes"
        ))
    })?;
    Keys::parse(&v).map_err(|e| ApiError::BadRequest(e.message("detachKeys")))
}

/// Parses an attach query.
pub fn attach_query(query: &str) -> Result<AttachQuery, ApiError> {
    let q = AttachQuery {
        stream: flag(query, "stream")?.unwrap_or(true),
        logs: flag(query, "logs")?.unwrap_or(false),
        stdin: flag(query, "stdin")?.unwrap_or(false),
        stdout: flag(query, "stdout")?.unwrap_or(false),
        stderr: flag(query, "stderr")?.unwrap_or(false),
        detach_keys: detach_keys(query)?,
    };
    if !q.stream && !q.logs {
        return Err(ApiError::BadRequest(
            "at least one of `stream` and `logs` must be set".into(),
        ));
    }
    if !(q.stdin || q.stdout || q.stderr) {
        return Err(ApiError::BadRequest(
            "no stream asked for: set `stdin`, `stdout` or `stderr`".into(),
        ));
    }
    Ok(q)
}

/// A window dimension of the resize query (1 to 65535).
fn dim(query: &str, key: &str, what: &str) -> Result<u16, ApiError> {
    let v = query_param(query, key).ok_or_else(|| {
        ApiError::BadRequest(format!("missing `{key}`: want the number of {what}"))
    })?;
    v.parse::<u16>().ok().filter(|n| *n > 0).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "invalid `{key}` `{v}`: want {what} from 1 to 65535"
        ))
    })
}

/// Parses a resize query: (rows, columns).
pub fn resize_query(query: &str) -> Result<(u16, u16), ApiError> {
    Ok((dim(query, "h", "rows")?, dim(query, "w", "columns")?))
}

/// The monitor of `id`: 404 for no such container, 409 when it is not running.
fn connect(shared: &Shared, id: &str) -> Result<Attached, ApiError> {
    let mut ctx = shared.cfg.ctx()?;
    cattach::connect(&mut ctx, id).map_err(|e| match e {
        ContainerError::State { status, .. } => ApiError::Conflict {
            id: id.to_string(),
            msg: format!("container `{id}` is `{status}`: it must be running to attach"),
        },
        e => ApiError::engine(e),
    })
}

/// `POST /containers/{id}/resize?h=ROWS&w=COLS`: answers once the pty has the size.
pub fn resize(shared: &Shared, id: &str, req: &Req<'_>) -> Result<Reply, ApiError> {
    let (rows, cols) = resize_query(req.query)?;
    let mut at = connect(shared, id)?;
    at.resize(rows, cols)
        .map_err(|e| ApiError::BadRequest(format!("resize of `{id}`: {e}")))?;
    Ok(Reply::Json(
        200,
        serde_json::json!({"containerId": id, "h": rows, "w": cols}),
    ))
}

/// `POST /containers/{id}/attach?stream&logs&stdin&stdout&stderr&detachKeys`.
pub fn attach(shared: &Shared, id: &str, req: &Req<'_>) -> Result<Reply, ApiError> {
    let q = attach_query(req.query)?;
    // the logs alone need no monitor: a stopped container has them too
    let (at, tty, stdin) = if q.stream {
        let at = connect(shared, id)?;
        let (t, i) = (at.tty, at.stdin);
        (Some(at), t, i)
    } else {
        let mut ctx = shared.cfg.ctx()?;
        let c = crate::container::load(&mut ctx, id)?;
        let v: Option<crate::options::Validated> =
            serde_json::from_value(c.record.validated.clone()).ok();
        (None, v.is_some_and(|v| v.tty), false)
    };
    let backlog = if q.logs {
        logged(shared, id, tty, &q)?
    } else {
        Vec::new()
    };
    let ct = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    let sock = at.map(Attached::into_socket);
    Ok(Reply::Hijack(
        ct,
        Box::new(move |h| {
            let mut r = Relay {
                input: q.stdin && stdin,
                keys: q.detach_keys.matcher().filter(|_| tty),
                q,
                tty,
            };
            r.run(sock, h, &backlog);
        }),
    ))
}

/// The output logged so far, as the stream carries it.
fn logged(shared: &Shared, id: &str, tty: bool, q: &AttachQuery) -> Result<Vec<u8>, ApiError> {
    let mut ctx = shared.cfg.ctx()?;
    let buf = RefCell::new(Vec::new());
    let (mut out, mut err) = (
        Framed {
            buf: &buf,
            stream: stream::STDOUT,
            on: q.stdout,
            tty,
        },
        Framed {
            buf: &buf,
            stream: stream::STDERR,
            on: q.stderr,
            tty,
        },
    );
    clogs::logs(
        &mut ctx,
        id,
        clogs::LogOptions::default(),
        &mut out,
        &mut err,
    )?;
    Ok(buf.into_inner())
}

/// Writes one stream into a shared buffer as the attach stream carries it.
struct Framed<'a> {
    buf: &'a RefCell<Vec<u8>>,
    stream: u8,
    on: bool,
    tty: bool,
}

impl Write for Framed<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.on {
            self.buf
                .borrow_mut()
                .extend(frame(self.tty, self.stream, b));
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Output bytes of `stream` as sent to the client: raw with a pty, framed otherwise.
fn frame(tty: bool, stream: u8, data: &[u8]) -> Vec<u8> {
    if tty {
        data.to_vec()
    } else {
        stream::encode(stream, data)
    }
}

/// One hijacked connection relayed to a monitor.
struct Relay {
    q: AttachQuery,
    tty: bool,
    /// The client's input goes to the container (asked for, and it has stdin).
    input: bool,
    keys: Option<Matcher>,
}

/// Whether the relay goes on.
#[derive(PartialEq)]
enum Go {
    On,
    Done,
}

impl Relay {
    fn run(&mut self, mon: Option<UnixStream>, h: Hijacked, backlog: &[u8]) {
        let Hijacked { early, mut conn } = h;
        if let (true, Some(mut mon)) = (
            conn.write_all(backlog).and_then(|_| conn.flush()).is_ok(),
            mon,
        ) {
            if early.is_empty() || self.input_bytes(&mut mon, &early) == Go::On {
                self.pump(&mut mon, &mut conn);
            }
        }
        // the client sees the end of the stream; input it sent meanwhile is
        // dropped, not left unread (that would reset the connection)
        let _ = conn.shutdown(Shutdown::Write);
        let mut chunk = [0u8; 16384];
        while nix::sys::socket::recv(
            conn.as_fd().as_raw_fd(),
            &mut chunk,
            nix::sys::socket::MsgFlags::MSG_DONTWAIT,
        )
        .is_ok_and(|n| n > 0)
        {}
    }

    /// Until the container stops, the client goes, or it detaches.
    fn pump(&mut self, mon: &mut UnixStream, conn: &mut crate::api::http::Conn) {
        let mut frames = Vec::new();
        let mut chunk = [0u8; 16384];
        // the client's write half is open: what it sends is read (and dropped
        // when it is not for the container: unread bytes at the close would
        // reset the connection before the client has read the output)
        let mut reading = true;
        loop {
            let want = if reading {
                PollFlags::POLLIN
            } else {
                PollFlags::empty()
            };
            let mut fds = [
                PollFd::new(mon.as_fd(), PollFlags::POLLIN),
                PollFd::new(conn.as_fd(), want),
            ];
            if poll(&mut fds, PollTimeout::NONE).is_err() {
                continue;
            }
            let ev = |f: &PollFd| f.revents().unwrap_or(PollFlags::empty());
            let (m, c) = (ev(&fds[0]), ev(&fds[1]));
            if !m.is_empty() {
                let n = match mon.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                frames.extend_from_slice(&chunk[..n]);
                if self.output(conn, &mut frames) == Go::Done {
                    return;
                }
            }
            if reading && c.contains(PollFlags::POLLIN) {
                match conn.read(&mut chunk) {
                    Ok(0) => {
                        // the client's stdin ended: the container's closes (no pty)
                        reading = false;
                        if self.input {
                            let _ = console::write_frame(mon, console::STDIN_EOF, &[]);
                        }
                    }
                    Ok(n) => {
                        if self.input_bytes(mon, &chunk[..n]) == Go::Done {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            } else if c.intersects(PollFlags::POLLHUP | PollFlags::POLLERR) {
                return; // the client went away
            }
        }
    }

    /// The monitor's frames to the client; `Done` at the exit or a failed write.
    fn output(&self, conn: &mut crate::api::http::Conn, frames: &mut Vec<u8>) -> Go {
        for (kind, data) in console::take_frames(frames) {
            let (stream, on) = match kind {
                console::STDOUT => (stream::STDOUT, self.q.stdout),
                console::STDERR => (stream::STDERR, self.q.stderr),
                console::EXIT => return Go::Done,
                _ => continue,
            };
            if on && conn.write_all(&frame(self.tty, stream, &data)).is_err() {
                return Go::Done;
            }
        }
        Go::On
    }

    /// The client's bytes to the container's stdin; `Done` at the detach keys.
    fn input_bytes(&mut self, mon: &mut UnixStream, data: &[u8]) -> Go {
        if !self.input {
            return Go::On;
        }
        let (data, detach) = match &mut self.keys {
            Some(k) => k.feed(data),
            None => (data.to_vec(), false),
        };
        if !data.is_empty() && console::write_frame(mon, console::STDIN, &data).is_err() {
            return Go::Done;
        }
        if detach {
            Go::Done
        } else {
            Go::On
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(r: Result<impl std::fmt::Debug, ApiError>) -> u16 {
        match r {
            Ok(v) => panic!("accepted: {v:?}"),
            Err(e) => e.object(serde_json::Value::Null).status_code,
        }
    }

    #[test]
    fn attach_queries() {
        let q = attach_query("stream=1&stdin=1&stdout=1&stderr=true").unwrap();
        assert_eq!(
            q,
            AttachQuery {
                stream: true,
                logs: false,
                stdin: true,
                stdout: true,
                stderr: true,
                detach_keys: Keys::default()
            }
        );
        // podman's default: streaming
        assert!(attach_query("stdout=1").unwrap().stream);
        assert!(attach_query("stdout=1&detachKeys=")
            .unwrap()
            .detach_keys
            .is_none());
        for v in ["ctrl-a,x", "ctrl-a%2Cx", "q", "ctrl-p%2cctrl-q"] {
            let k = attach_query(&format!("stdout=1&detachKeys={v}")).unwrap();
            let want = percent_decode(v).unwrap();
            assert_eq!(k.detach_keys, Keys::parse(&want).unwrap(), "{v}");
        }
        let l = attach_query("logs=1&stream=0&stderr=1").unwrap();
        assert!(l.logs && !l.stream && !l.stdout);
        assert_eq!(status(attach_query("stream=0&stdout=1")), 400);
        assert_eq!(status(attach_query("stream=1")), 400);
        let e = attach_query("stdout=maybe").unwrap_err().to_string();
        assert!(e.contains("`stdout` `maybe`"), "{e}");
        for v in ["ctrl-xx", "ctrl-", "ctrl-a%2C", "ab", "%C3%A9", "%zz"] {
            let e = attach_query(&format!("stdout=1&detachKeys={v}")).unwrap_err();
            assert_eq!(e.object(serde_json::Value::Null).status_code, 400, "{v}");
            assert!(e.to_string().contains("`detachKeys`"), "{v}: {e}");
        }
    }

    #[test]
    fn resize_queries() {
        assert_eq!(resize_query("h=20&w=70").unwrap(), (20, 70));
        assert_eq!(resize_query("w=1&h=65535").unwrap(), (65535, 1));
        for (q, needle) in [
            ("w=70", "missing `h`"),
            ("h=20", "missing `w`"),
            ("h=x&w=70", "`h` `x`"),
            ("h=-1&w=70", "`h` `-1`"),
            ("h=20&w=0", "`w` `0`"),
            ("h=20&w=65536", "`w` `65536`"),
        ] {
            let e = resize_query(q).unwrap_err();
            assert_eq!(e.object(serde_json::Value::Null).status_code, 400);
            assert!(e.to_string().contains(needle), "{q}: {e}");
        }
    }

    #[test]
    fn output_is_framed_without_a_pty_and_raw_with_one() {
        assert_eq!(frame(true, stream::STDERR, b"x"), b"x");
        assert_eq!(frame(false, stream::STDERR, b"x"), b"\x02\0\0\0\0\0\0\x01x");
    }
}
