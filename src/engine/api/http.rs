//! The HTTP/1.1 wire of the daemon: a connection (unix or TCP), a request's
//! head and body, a response's head. Pure reading and writing, so the parsing
//! is unit-tested; [`super::server`] decides what to answer. Every answer
//! closes its connection (`Connection: close`), except a hijacked one
//! (attach), which becomes the container's raw stream.

use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// Longest request line or header line read.
const MAX_LINE: u64 = 16 << 10;
/// Most header lines read.
const MAX_HEADERS: usize = 100;

/// One accepted connection.
#[derive(Debug)]
pub enum Conn {
    /// On the unix socket.
    Unix(UnixStream),
    /// On the TCP listener.
    Tcp(TcpStream),
}

impl Conn {
    /// A second handle on the same connection.
    pub fn try_clone(&self) -> io::Result<Conn> {
        Ok(match self {
            Conn::Unix(s) => Conn::Unix(s.try_clone()?),
            Conn::Tcp(s) => Conn::Tcp(s.try_clone()?),
        })
    }

    /// Shuts one or both directions down (for every handle).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.shutdown(how),
            Conn::Tcp(s) => s.shutdown(how),
        }
    }

    /// A read timeout (`None`: reads block).
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.set_read_timeout(t),
            Conn::Tcp(s) => s.set_read_timeout(t),
        }
    }
}

impl AsFd for Conn {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Conn::Unix(s) => s.as_fd(),
            Conn::Tcp(s) => s.as_fd(),
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.read(buf),
            Conn::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.write(buf),
            Conn::Tcp(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.flush(),
            Conn::Tcp(s) => s.flush(),
        }
    }
}

/// A request's first line and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// `GET`, `POST` ...
    pub method: String,
    /// The target as sent (path and query).
    pub url: String,
    /// The headers in order, names as sent.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the client asks for a protocol upgrade (`Connection: Upgrade`).
    pub fn wants_upgrade(&self) -> bool {
        self.header("Connection").is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
        })
    }
}

/// Why a request could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The connection failed or closed early.
    #[error("reading the request: {0}")]
    Io(#[from] io::Error),
    /// The request is not HTTP/1.x as read here.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The body is larger than allowed.
    #[error("request body over {0} bytes")]
    TooLarge(u64),
}

fn line(r: &mut dyn BufRead) -> Result<String, WireError> {
    let mut buf = Vec::new();
    r.take(MAX_LINE).read_until(b'\n', &mut buf)?;
    if buf.last() != Some(&b'\n') {
        return Err(if buf.is_empty() {
            WireError::Io(io::ErrorKind::UnexpectedEof.into())
        } else {
            WireError::Malformed("a line without its end (or over 16 KiB)".into())
        });
    }
    let s = String::from_utf8(buf).map_err(|_| WireError::Malformed("not UTF-8".into()))?;
    Ok(s.trim_end_matches(['\r', '\n']).to_string())
}

/// Reads the request line and headers (up to the empty line).
pub fn read_head(r: &mut dyn BufRead) -> Result<Head, WireError> {
    let first = line(r)?;
    let mut parts = first.split(' ');
    let (Some(method), Some(url), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(WireError::Malformed(format!("request line `{first}`")));
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || !url.starts_with('/') {
        return Err(WireError::Malformed(format!("request line `{first}`")));
    }
    let mut headers = Vec::new();
    loop {
        let l = line(r)?;
        if l.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADERS {
            return Err(WireError::Malformed(format!("over {MAX_HEADERS} headers")));
        }
        let (k, v) = l
            .split_once(':')
            .ok_or_else(|| WireError::Malformed(format!("header `{l}`")))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(Head {
        method: method.to_string(),
        url: url.to_string(),
        headers,
    })
}

/// Reads the body `head` announces (`Content-Length` or chunked; none otherwise),
/// `max` bytes at most.
pub fn read_body(r: &mut dyn BufRead, head: &Head, max: u64) -> Result<Vec<u8>, WireError> {
    let mut body = Vec::new();
    let chunked = head
        .header("Transfer-Encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        loop {
            let size = line(r)?;
            let hex = size.split(';').next().unwrap_or("").trim();
            let n = u64::from_str_radix(hex, 16)
                .map_err(|_| WireError::Malformed(format!("chunk size `{size}`")))?;
            if n == 0 {
                // trailers, up to the empty line
                while !line(r)?.is_empty() {}
                return Ok(body);
            }
            if body.len() as u64 + n > max {
                return Err(WireError::TooLarge(max));
            }
            r.take(n).read_to_end(&mut body)?;
            if !line(r)?.is_empty() {
                return Err(WireError::Malformed("chunk longer than its size".into()));
            }
        }
    }
    let Some(len) = head.header("Content-Length") else {
        return Ok(body);
    };
    let n: u64 = len
        .parse()
        .map_err(|_| WireError::Malformed(format!("Content-Length `{len}`")))?;
    if n > max {
        return Err(WireError::TooLarge(max));
    }
    r.take(n).read_to_end(&mut body)?;
    if (body.len() as u64) < n {
        return Err(WireError::Io(io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(body)
}

/// The reason phrase of `status`.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "UPGRADED",
        200 => "OK",
        201 => "Created",
        303 => "See Other",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// A complete answer: status, content type and body, then the connection closes.
pub fn write_response(w: &mut dyn Write, status: u16, ct: &str, body: &[u8]) -> io::Result<()> {
    write_response_with(w, status, ct, &[], body)
}

/// [`write_response`] with more headers (`Location`, `Set-Cookie` ...).
pub fn write_response_with(
    w: &mut dyn Write,
    status: u16,
    ct: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {ct}\r\n",
        reason(status)
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut all = head.into_bytes();
    all.extend_from_slice(body);
    w.write_all(&all)?;
    w.flush()
}

/// The head of a hijacked answer: docker's `101 UPGRADED` with `Upgrade: tcp` when
/// the client asked for the upgrade, else `200 OK`; the raw stream follows.
pub fn hijack_head(upgrade: bool, ct: &str) -> String {
    if upgrade {
        format!("HTTP/1.1 101 UPGRADED\r\nContent-Type: {ct}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
    } else {
        format!("HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\n\r\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Result<Head, WireError> {
        read_head(&mut io::Cursor::new(text.as_bytes().to_vec()))
    }

    #[test]
    fn reads_the_head_and_headers_case_insensitively() {
        let h = head("POST /containers/a/attach?stream=1 HTTP/1.1\r\nHost: k3\r\nconnection: Upgrade\r\nUpgrade: tcp\r\n\r\nrest").unwrap();
        assert_eq!(h.method, "POST");
        assert_eq!(h.url, "/containers/a/attach?stream=1");
        assert_eq!(h.header("CONNECTION"), Some("Upgrade"));
        assert!(h.wants_upgrade());
        let k = head("GET / HTTP/1.1\nConnection: keep-alive, close\n\n").unwrap();
        assert!(!k.wants_upgrade());
    }

    #[test]
    fn refuses_what_is_not_a_request() {
        assert!(matches!(
            head("hello\r\n\r\n"),
            Err(WireError::Malformed(_))
        ));
        assert!(matches!(
            head("GET x HTTP/1.1\r\n\r\n"),
            Err(WireError::Malformed(_))
        ));
        assert!(matches!(
            head("GET / SPDY\r\n\r\n"),
            Err(WireError::Malformed(_))
        ));
        assert!(matches!(
            head("GET / HTTP/1.1\r\nnocolon\r\n\r\n"),
            Err(WireError::Malformed(_))
        ));
        assert!(matches!(
            head("GET / HTTP/1.1\r\nHost: a"),
            Err(WireError::Malformed(_))
        ));
        assert!(matches!(head(""), Err(WireError::Io(_))));
    }

    fn body(text: &str, max: u64) -> Result<Vec<u8>, WireError> {
        let mut r = io::Cursor::new(text.as_bytes().to_vec());
        let h = read_head(&mut r).unwrap();
        read_body(&mut r, &h, max)
    }

    #[test]
    fn reads_length_and_chunked_bodies() {
        assert_eq!(
            body("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}xx", 10).unwrap(),
            b"{}"
        );
        assert_eq!(
            body("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=1\r\nde\r\n0\r\n\r\n", 10).unwrap(),
            b"abcde"
        );
        assert_eq!(body("GET / HTTP/1.1\r\n\r\n", 10).unwrap(), b"");
        assert!(matches!(
            body("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", 10),
            Err(WireError::TooLarge(10))
        ));
        assert!(matches!(
            body("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", 10),
            Err(WireError::Io(_))
        ));
        assert!(matches!(
            body("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 10),
            Err(WireError::Malformed(_))
        ));
        assert!(matches!(
            body(
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                10
            ),
            Err(WireError::Malformed(_))
        ));
    }

    #[test]
    fn response_heads() {
        let mut w = Vec::new();
        write_response(&mut w, 404, "application/json", b"{}").unwrap();
        assert_eq!(
            String::from_utf8(w).unwrap(),
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        );
        assert!(hijack_head(true, "x").starts_with("HTTP/1.1 101 UPGRADED\r\n"));
        assert!(hijack_head(true, "x").contains("\r\nUpgrade: tcp\r\n"));
        assert!(hijack_head(false, "x").starts_with("HTTP/1.1 200 OK\r\n"));
    }
}
