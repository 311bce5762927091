//! A minimal HTTP/1.1 client over the daemon's unix socket, for the CLI
//! (`k3 ps`, `k3 run`, `k3 rm`, `k3 attach` use the daemon when its socket
//! answers); [`hijack`] takes an attach stream over.

/// Called with each piece of a streamed body.
type OnChunk<'a> = &'a mut dyn FnMut(&[u8]);

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// A failed call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket could not be reached or the exchange broke.
    #[error("daemon socket `{path}`")]
    Io {
        /// The socket path connected to.
        path: PathBuf,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// The answer is not HTTP.
    #[error("malformed answer from the daemon: `{0}`")]
    Malformed(String),
}

/// A response.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// The response body, as sent.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (`null` if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

/// Whether a daemon answers on `socket`.
pub fn available(socket: &Path) -> bool {
    UnixStream::connect(socket).is_ok()
}

/// Sends one request and reads the whole answer; `on_chunk` sees streamed
/// body chunks as they arrive (then they are not kept).
pub fn call(
    socket: &Path,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
    on_chunk: Option<OnChunk<'_>>,
) -> Result<Answer, ClientError> {
    let io = |source| ClientError::Io {
        path: socket.to_path_buf(),
        source,
    };
    let mut s = UnixStream::connect(socket).map_err(io)?;
    let b = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: k3\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
        b.len()
    );
    s.write_all(req.as_bytes()).map_err(io)?;
    let mut r = BufReader::new(s);
    read_answer(&mut r, on_chunk).map_err(|e| match e {
        ReadError::Io(source) => io(source),
        ReadError::Malformed(m) => ClientError::Malformed(m),
    })
}

/// A hijacked connection, or the answer that refused it.
#[derive(Debug)]
pub enum Hijack {
    /// `101 UPGRADED` (or `200`): the connection is the container's stream.
    Stream {
        /// The connection, both ways.
        conn: UnixStream,
        /// Stream bytes read together with the answer's head.
        early: Vec<u8>,
    },
    /// Any other answer, read whole.
    Refused(Answer),
}

/// Sends `POST path` asking for the upgrade (docker's attach); on `101` or
/// `200` the connection is handed back as the stream.
pub fn hijack(socket: &Path, path: &str) -> Result<Hijack, ClientError> {
    let io = |source| ClientError::Io {
        path: socket.to_path_buf(),
        source,
    };
    let mut s = UnixStream::connect(socket).map_err(io)?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: k3\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"
    );
    s.write_all(req.as_bytes()).map_err(io)?;
    let mut r = BufReader::new(s.try_clone().map_err(io)?);
    let mut line = String::new();
    r.read_line(&mut line).map_err(io)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ClientError::Malformed(line.trim().to_string()))?;
    if status != 101 && status != 200 {
        let mut whole = std::io::Cursor::new(line.into_bytes()).chain(r);
        let mut rest = BufReader::new(&mut whole);
        return read_answer(&mut rest, None)
            .map(Hijack::Refused)
            .map_err(|e| match e {
                ReadError::Io(source) => io(source),
                ReadError::Malformed(m) => ClientError::Malformed(m),
            });
    }
    loop {
        line.clear();
        if r.read_line(&mut line).map_err(io)? == 0 || line.trim().is_empty() {
            break;
        }
    }
    Ok(Hijack::Stream {
        conn: s,
        early: r.buffer().to_vec(),
    })
}

enum ReadError {
    Io(std::io::Error),
    Malformed(String),
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        ReadError::Io(e)
    }
}

fn read_answer(
    r: &mut dyn BufRead,
    mut on_chunk: Option<OnChunk<'_>>,
) -> Result<Answer, ReadError> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ReadError::Malformed(line.trim().to_string()))?;
    let (mut chunked, mut length) = (false, None);
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').unwrap_or((&line, ""));
        match k.trim().to_ascii_lowercase().as_str() {
            "transfer-encoding" => chunked = v.trim().eq_ignore_ascii_case("chunked"),
            "content-length" => length = v.trim().parse::<u64>().ok(),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let n = usize::from_str_radix(line.trim(), 16)
                .map_err(|_| ReadError::Malformed(line.clone()))?;
            if n == 0 {
                break;
            }
            let mut buf = vec![0; n + 2];
            r.read_exact(&mut buf)?;
            buf.truncate(n);
            match on_chunk.as_mut() {
                Some(f) => f(&buf),
                None => body.extend_from_slice(&buf),
            }
        }
    } else if let Some(n) = length {
        r.take(n).read_to_end(&mut body)?;
    } else {
        r.read_to_end(&mut body)?;
    }
    Ok(Answer { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Answer {
        let mut r = std::io::Cursor::new(text.as_bytes().to_vec());
        match read_answer(&mut r, None) {
            Ok(a) => a,
            Err(_) => panic!("parse failed"),
        }
    }

    #[test]
    fn reads_length_and_chunked_bodies() {
        let a = parse("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}extra");
        assert_eq!((a.status, a.body.as_slice()), (201, b"{}".as_slice()));
        let c = parse(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        );
        assert_eq!(c.body, b"abcde");
    }
}
