//! The listeners: a unix socket (mode 0660) and, when asked, TCP with a
//! bearer token or a browser session ([`session`]). tiny_http accepts; every
//! request gets its own thread and its own database connection; streams are
//! written chunked and flushed line by line.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tiny_http::{Header, Request, Response, Server};

use crate::api::routes::{route, split_url, Miss};
use crate::api::session::{Gate, Seen, Sessions};
use crate::api::{auth, handle, ApiError, Reply, Req};
use crate::supervisor::Shared;

/// Largest request body read.
const MAX_BODY: u64 = 4 << 20;

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
    let s = Server::http_unix(path).map_err(|e| ServerError::Bind {
        addr: path.display().to_string(),
        msg: e.to_string(),
    })?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(io)?;
    Ok(s)
}

/// Binds TCP at `addr`.
pub fn bind_tcp(addr: &str) -> Result<Server, ServerError> {
    Server::http(addr).map_err(|e| ServerError::Bind {
        addr: addr.to_string(),
        msg: e.to_string(),
    })
}

/// Serves `server` until it is unblocked; with `sessions`, a request needs
/// the bearer token or a live session cookie.
pub fn serve(server: Arc<Server>, shared: Arc<Shared>, sessions: Option<Arc<Sessions>>) {
    for rq in server.incoming_requests() {
        let shared = Arc::clone(&shared);
        let sessions = sessions.clone();
        std::thread::spawn(move || one(rq, &shared, sessions.as_deref()));
    }
}

/// The `http://HOST:PORT` a browser opens for a TCP server (an unspecified
/// address becomes loopback).
pub fn base_url(server: &Server) -> Option<String> {
    let mut a = server.server_addr().to_ip()?;
    if a.ip().is_unspecified() {
        a.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Some(format!("http://{a}"))
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

fn header_of(rq: &Request, name: &'static str) -> Option<String> {
    rq.headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str().to_string())
}

/// The gate's answer to a request it does not pass.
fn gate_response(g: Gate, url: &str) -> Response<std::io::Cursor<Vec<u8>>> {
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
    let mut resp = Response::from_string(text).with_status_code(status);
    for (k, v) in [
        ("Content-Type", ct.to_string()),
        ("Cache-Control", "no-store".into()),
    ]
    .into_iter()
    .chain(extra)
    {
        if let Some(h) = header(k, &v) {
            resp.add_header(h);
        }
    }
    resp
}

fn one(mut rq: Request, shared: &Shared, sessions: Option<&Sessions>) {
    let url = rq.url().to_string();
    let method = rq.method().as_str().to_string();
    let (path, query) = split_url(&url);
    let mut body = Vec::new();
    if let Some(s) = sessions {
        // only a login form's body is read before the request is authorized
        if path == "/login" && method == "POST" {
            let _ = rq.as_reader().take(4096).read_to_end(&mut body);
        }
        let (authorization, cookie) = (header_of(&rq, "Authorization"), header_of(&rq, "Cookie"));
        let seen = Seen {
            method: &method,
            path,
            query,
            authorization: authorization.as_deref(),
            cookie: cookie.as_deref(),
            body: &body,
        };
        match s.gate(&seen, crate::db::now()) {
            Gate::Pass => {}
            g => {
                let _ = rq.respond(gate_response(g, &url));
                return;
            }
        }
    }
    let _ = rq.as_reader().take(MAX_BODY).read_to_end(&mut body);
    let reply = match route(&method, path) {
        Ok(r) => handle(shared, r, &Req { query, body: &body }),
        Err(Miss::NotFound) => Err(ApiError::NoRoute(path.to_string())),
        Err(Miss::Method) => Err(ApiError::Method {
            method,
            path: path.to_string(),
        }),
    };
    respond(rq, reply.unwrap_or_else(|e| error_reply(&e, &url)))
}

fn error_reply(e: &ApiError, url: &str) -> Reply {
    let o = e.object(serde_json::json!(url));
    Reply::Json(o.status_code, serde_json::to_value(&o).unwrap_or_default())
}

fn respond(rq: Request, reply: Reply) {
    let (status, ct, text) = match reply {
        Reply::Json(s, v) => (s, "application/json", format!("{v}\n")),
        Reply::Text(s, ct, t) => (s, ct, t),
        Reply::Stream(ct, f) => return stream(rq, ct, f),
    };
    let mut resp = Response::from_string(text).with_status_code(status);
    if let Some(h) = header("Content-Type", ct) {
        resp.add_header(h);
    }
    let _ = rq.respond(resp);
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

fn stream(rq: Request, ct: &str, f: super::StreamBody) {
    let mut w = rq.into_writer();
    let head =
        format!("HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nTransfer-Encoding: chunked\r\n\r\n");
    if w.write_all(head.as_bytes())
        .and_then(|_| w.flush())
        .is_err()
    {
        return;
    }
    f(&mut Chunked(&mut *w));
    let _ = w.write_all(b"0\r\n\r\n");
    let _ = w.flush();
}
