//! The listeners: a unix socket (mode 0660) and, when asked, TCP with a
//! bearer token or a browser session ([`session`]). Every connection gets its
//! own thread and its own database connection, carries one request ([`super::http`] reads it) and closes after
//! the answer; streams are written chunked and flushed line by line; a hijacked
//! request (attach) keeps the connection as the container's raw stream.

use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpListener};
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::api::http::{self, Conn, Head, WireError};
use crate::api::routes::{route, split_url, Miss};
use crate::api::session::{Gate, Seen, Sessions};
use crate::api::{auth, handle, ApiError, Hijacked, Reply, Req};
use crate::supervisor::Shared;

/// Largest request body read.
const MAX_BODY: u64 = 4 << 20;
/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Another daemon answers on the socket.
    #[error("a daemon already listens on `{0}`")]
    Running(PathBuf),
    /// Binding failed.
    #[error("cannot listen on `{addr}`: {msg}")]
    Bind {
        /// The address that could not be bound.
        addr: String,
        /// Why binding failed.
        msg: String,
    },
    /// Socket file handling failed.
    #[error("cannot prepare socket `{path}`")]
    Io {
        /// The path of the socket or file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug)]
enum Listener {
    Unix(UnixListener),
    Tcp(TcpListener),
}

/// A bound listener, served by [`serve`] until [`Server::unblock`].
#[derive(Debug)]
pub struct Server {
    listener: Listener,
    stop: AtomicBool,
}

impl Server {
    fn new(listener: Listener) -> Server {
        Server {
            listener,
            stop: AtomicBool::new(false),
        }
    }

    /// Makes [`serve`] return (within its poll interval); requests under way finish.
    pub fn unblock(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    fn accept(&self) -> std::io::Result<Conn> {
        match &self.listener {
            Listener::Unix(l) => l.accept().map(|(s, _)| Conn::Unix(s)),
            Listener::Tcp(l) => l.accept().map(|(s, _)| Conn::Tcp(s)),
        }
    }
}

/// Binds the unix socket at `path` (a stale file is replaced), mode 0660.
pub fn bind_unix(path: &Path) -> Result<Server, ServerError> {
    if UnixStream::connect(path).is_ok() {
        return Err(ServerError::Running(path.to_path_buf()));
    }
    let io = |source| ServerError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let l = UnixListener::bind(path).map_err(|e| ServerError::Bind {
        addr: path.display().to_string(),
        msg: e.to_string(),
    })?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(io)?;
    Ok(Server::new(Listener::Unix(l)))
}

/// Binds TCP at `addr`.
pub fn bind_tcp(addr: &str) -> Result<Server, ServerError> {
    let l = TcpListener::bind(addr).map_err(|e| ServerError::Bind {
        addr: addr.to_string(),
        msg: e.to_string(),
    })?;
    Ok(Server::new(Listener::Tcp(l)))
}

/// Serves `server` until it is unblocked; with `sessions`, a request needs
/// the bearer token or a live session cookie.
pub fn serve(server: Arc<Server>, shared: Arc<Shared>, sessions: Option<Arc<Sessions>>) {
    while !server.stop.load(Ordering::SeqCst) {
        let ready = {
            let fd = match &server.listener {
                Listener::Unix(l) => l.as_fd(),
                Listener::Tcp(l) => l.as_fd(),
            };
            let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
            poll(&mut fds, PollTimeout::from(200u16)).is_ok_and(|n| n > 0)
        };
        if !ready {
            continue;
        }
        let Ok(conn) = server.accept() else { continue };
        let shared = Arc::clone(&shared);
        let sessions = sessions.clone();
        std::thread::spawn(move || one(conn, &shared, sessions.as_deref()));
    }
}

/// The `http://HOST:PORT` a browser opens for a TCP server (an unspecified
/// address becomes loopback).
pub fn base_url(server: &Server) -> Option<String> {
    let Listener::Tcp(l) = &server.listener else {
        return None;
    };
    let mut a = l.local_addr().ok()?;
    if a.ip().is_unspecified() {
        a.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Some(format!("http://{a}"))
}

/// The gate's answer to a request it does not pass.
fn gate_answer(mut conn: Conn, g: Gate, url: &str) {
    let (status, ct, text, extra) = match g {
        Gate::Pass | Gate::Unauthorized => {
            let o = ApiError::Unauthorized.object(serde_json::json!(url));
            let v = serde_json::to_value(&o).unwrap_or_default();
            (401, "application/json", format!("{v}\n"), Vec::new())
        }
        Gate::Login(status, note) => (
            status,
            "text/html; charset=utf-8",
            auth::login_page(note),
            Vec::new(),
        ),
        Gate::Redirect { location, cookie } => (
            303,
            "text/plain",
            String::new(),
            vec![("Location", location), ("Set-Cookie", cookie)],
        ),
    };
    let mut extra_headers = vec![("Cache-Control", "no-store".to_string())];
    extra_headers.extend(extra);
    let _ = http::write_response_with(&mut conn, status, ct, &extra_headers, text.as_bytes());
    let _ = conn.shutdown(Shutdown::Write);
}

fn one(mut conn: Conn, shared: &Shared, sessions: Option<&Sessions>) {
    let _ = conn.set_read_timeout(Some(REQUEST_TIMEOUT));
    let Ok(read_half) = conn.try_clone() else {
        return;
    };
    let mut r = BufReader::new(read_half);
    let head = match http::read_head(&mut r) {
        Ok(h) => h,
        Err(WireError::Io(_)) => return,
        Err(e) => return answer(conn, error_reply(&ApiError::BadRequest(e.to_string()), "")),
    };
    let url = head.url.clone();
    let (path, query) = split_url(&url);
    if head
        .header("Expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        let _ = conn
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .and_then(|_| conn.flush());
    }
    let mut login_body = None;
    if let Some(s) = sessions {
        // only a login form's body is read before the request is authorized
        if path == "/login" && head.method == "POST" {
            login_body = Some(http::read_body(&mut r, &head, 4096).unwrap_or_default());
        }
        let seen = Seen {
            method: &head.method,
            path,
            query,
            authorization: head.header("Authorization"),
            cookie: head.header("Cookie"),
            body: login_body.as_deref().unwrap_or_default(),
        };
        match s.gate(&seen, crate::db::now()) {
            Gate::Pass => {}
            g => return gate_answer(conn, g, &url),
        }
    }
    let body = match login_body {
        Some(b) => b,
        None => match http::read_body(&mut r, &head, MAX_BODY) {
            Ok(b) => b,
            Err(e) => {
                return answer(
                    conn,
                    error_reply(&ApiError::BadRequest(e.to_string()), &url),
                )
            }
        },
    };
    let reply = match route(&head.method, path) {
        Ok(r) => handle(shared, r, &Req { query, body: &body }),
        Err(Miss::NotFound) => Err(ApiError::NoRoute(path.to_string())),
        Err(Miss::Method) => Err(ApiError::Method {
            method: head.method.clone(),
            path: path.to_string(),
        }),
    };
    let reply = reply.unwrap_or_else(|e| error_reply(&e, &url));
    match reply {
        Reply::Hijack(ct, f) => hijack(conn, r, &head, ct, f),
        other => answer(conn, other),
    }
}

fn error_reply(e: &ApiError, url: &str) -> Reply {
    let o = e.object(serde_json::json!(url));
    Reply::Json(o.status_code, serde_json::to_value(&o).unwrap_or_default())
}

fn answer(mut conn: Conn, reply: Reply) {
    let (status, ct, text) = match reply {
        Reply::Json(s, v) => (s, "application/json", format!("{v}\n")),
        Reply::Text(s, ct, t) => (s, ct, t),
        Reply::Stream(ct, f) => return stream(conn, ct, f),
        // only an attach route hijacks, and it is answered in `one`
        Reply::Hijack(..) => (500, "text/plain", "cannot hijack here\n".to_string()),
    };
    let _ = http::write_response(&mut conn, status, ct, text.as_bytes());
    let _ = conn.shutdown(Shutdown::Write);
}

/// The connection as the container's stream: the hijack head, then the handler
/// has the connection (with what the client sent after its request) until it
/// returns; then it is closed.
fn hijack(mut conn: Conn, r: BufReader<Conn>, head: &Head, ct: &str, f: super::HijackBody) {
    let h = http::hijack_head(head.wants_upgrade(), ct);
    if conn
        .write_all(h.as_bytes())
        .and_then(|_| conn.flush())
        .is_err()
    {
        return;
    }
    let _ = conn.set_read_timeout(None);
    let early = r.buffer().to_vec();
    drop(r);
    f(Hijacked { early, conn });
}

/// Chunked transfer encoding, one chunk per write, flushed at once.
struct Chunked<'a>(&'a mut (dyn Write + Send));

impl Write for Chunked<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        write!(self.0, "{:x}\r\n", buf.len())?;
        self.0.write_all(buf)?;
        self.0.write_all(b"\r\n")?;
        self.0.flush()?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

fn stream(mut conn: Conn, ct: &str, f: super::StreamBody) {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    if conn
        .write_all(head.as_bytes())
        .and_then(|_| conn.flush())
        .is_err()
    {
        return;
    }
    f(&mut Chunked(&mut conn));
    let _ = conn.write_all(b"0\r\n\r\n");
    let _ = conn.flush();
    let _ = conn.shutdown(Shutdown::Write);
}
