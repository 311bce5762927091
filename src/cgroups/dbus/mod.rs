//! A small blocking D-Bus client: SASL `EXTERNAL` authentication on a unix socket,
//! method calls, replies, errors and signals, and marshalling of the types systemd's
//! manager interface needs (`y b u t s o g a ( ) v`). Little-endian messages only,
//! which is what the bus daemon sends on the hosts k3rt runs on.
//!
//! Chosen over `zbus` (an async runtime and ~1 MiB of code in a static binary) and
//! `dbus` (links libdbus, which has no static build on Debian): the systemd driver
//! needs four methods and one signal.

mod wire;

pub use wire::{Message, MsgType, Value};

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// The system bus socket.
pub const SYSTEM_BUS: &str = "/run/dbus/system_bus_socket";

/// A failure talking to the bus: `Io` for the socket, `Remote` for an error reply.
#[derive(Debug)]
pub enum DbusError {
    Io(String),
    Protocol(String),
    /// (error name, message) from the peer.
    Remote(String, String),
}

impl std::fmt::Display for DbusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbusError::Io(m) | DbusError::Protocol(m) => f.write_str(m),
            DbusError::Remote(name, msg) => write!(f, "{name}: {msg}"),
        }
    }
}

pub type DResult<T> = Result<T, DbusError>;

/// One connection to a bus, authenticated and registered (`Hello`).
pub struct Conn {
    sock: UnixStream,
    serial: u32,
    /// Signals read while waiting for a reply, for a later `wait_signal`.
    pending: VecDeque<Message>,
    path: String,
}

impl Conn {
    /// Connects to the bus socket at `path` as the calling user.
    pub fn connect(path: &str) -> DResult<Conn> {
        let mut c = Conn::open(path)?;
        c.call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "Hello",
            &[],
        )?;
        Ok(c)
    }

    /// Connects to a peer directly (systemd's /run/systemd/private): no bus, no
    /// `Hello`, and the peer's signals come without a match rule.
    pub fn connect_direct(path: &str) -> DResult<Conn> {
        Conn::open(path)
    }

    fn open(path: &str) -> DResult<Conn> {
        let sock = UnixStream::connect(path)
            .map_err(|e| DbusError::Io(format!("connect to the bus at `{path}`: {e}")))?;
        sock.set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| DbusError::Io(format!("socket timeout: {e}")))?;
        let mut c = Conn {
            sock,
            serial: 0,
            pending: VecDeque::new(),
            path: path.to_string(),
        };
        c.auth()?;
        Ok(c)
    }

    fn io(&self, what: &str, e: std::io::Error) -> DbusError {
        DbusError::Io(format!("{what} on the bus at `{}`: {e}", self.path))
    }

    fn auth(&mut self) -> DResult<()> {
        // the bus checks the socket's credentials as it sees them: in a user
        // namespace (rootless podman) that is the host uid our euid maps to
        // SAFETY: geteuid has no preconditions.
        let uid = host_uid(unsafe { libc::geteuid() });
        let line = format!("\0AUTH EXTERNAL {}\r\n", auth_hex(uid));
        self.sock
            .write_all(line.as_bytes())
            .map_err(|e| self.io("authenticate", e))?;
        // one byte at a time: nothing may be read past the line (messages follow BEGIN)
        let mut reply = Vec::new();
        let mut b = [0u8; 1];
        while !reply.ends_with(b"\r\n") {
            if reply.len() > 512 {
                return Err(DbusError::Protocol(
                    "an authentication reply over 512 bytes".into(),
                ));
            }
            match self.sock.read(&mut b) {
                Ok(0) => {
                    return Err(DbusError::Protocol(format!(
                        "the bus at `{}` closed during authentication",
                        self.path
                    )))
                }
                Ok(_) => reply.push(b[0]),
                Err(e) => return Err(self.io("authenticate", e)),
            }
        }
        if !reply.starts_with(b"OK ") {
            return Err(DbusError::Protocol(format!(
                "the bus at `{}` refused EXTERNAL authentication as uid `{uid}`: `{}`",
                self.path,
                String::from_utf8_lossy(&reply).trim()
            )));
        }
        self.sock
            .write_all(b"BEGIN\r\n")
            .map_err(|e| self.io("authenticate", e))
    }

    /// Calls a method and returns its reply's body; an error reply is `Remote`.
    pub fn call(
        &mut self,
        dest: &str,
        path: &str,
        iface: &str,
        member: &str,
        body: &[Value],
    ) -> DResult<Vec<Value>> {
        self.serial += 1;
        let serial = self.serial;
        let msg = Message::method_call(serial, dest, path, iface, member, body.to_vec());
        let bytes = msg.encode();
        self.sock
            .write_all(&bytes)
            .map_err(|e| self.io(&format!("send {iface}.{member}"), e))?;
        loop {
            let m = self.read_message()?;
            match m.typ {
                MsgType::Signal => self.pending.push_back(m),
                MsgType::Return if m.reply_serial == Some(serial) => return Ok(m.body),
                MsgType::Error if m.reply_serial == Some(serial) => {
                    let text = match m.body.first() {
                        Some(Value::Str(s)) => s.clone(),
                        _ => String::new(),
                    };
                    return Err(DbusError::Remote(m.error_name.unwrap_or_default(), text));
                }
                _ => {}
            }
        }
    }

    /// Waits up to `timeout` for a signal `keep` accepts (signals already read first).
    pub fn wait_signal(
        &mut self,
        timeout: Duration,
        mut keep: impl FnMut(&Message) -> bool,
    ) -> DResult<Message> {
        if let Some(i) = self.pending.iter().position(&mut keep) {
            return Ok(self.pending.remove(i).expect("index from position"));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(DbusError::Io(format!(
                    "no answer on the bus at `{}` within {}s",
                    self.path,
                    timeout.as_secs()
                )));
            }
            self.sock
                .set_read_timeout(Some(left))
                .map_err(|e| self.io("socket timeout", e))?;
            let m = self.read_message()?;
            if m.typ == MsgType::Signal && keep(&m) {
                return Ok(m);
            }
        }
    }

    fn read_message(&mut self) -> DResult<Message> {
        let mut head = [0u8; 16];
        self.read_exact(&mut head)?;
        let (fields_len, body_len) = wire::lengths(&head).map_err(DbusError::Protocol)?;
        let total = wire::padded(16 + fields_len, 8) + body_len;
        if total > 64 << 20 {
            return Err(DbusError::Protocol(format!("a message of {total} bytes")));
        }
        let mut buf = head.to_vec();
        buf.resize(total, 0);
        self.read_exact(&mut buf[16..])?;
        Message::decode(&buf).map_err(DbusError::Protocol)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> DResult<()> {
        self.sock.read_exact(buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                DbusError::Io(format!("timed out waiting on the bus at `{}`", self.path))
            }
            _ => DbusError::Io(format!("read from the bus at `{}`: {e}", self.path)),
        })
    }
}

/// The uid `uid` of this process's user namespace is on the host, from
/// `/proc/self/uid_map` (itself when the map cannot be read or does not cover it).
pub fn host_uid(uid: u32) -> u32 {
    std::fs::read_to_string("/proc/self/uid_map").map_or(uid, |m| map_uid(&m, uid))
}

/// `uid` through the `uid_map` text `map` (lines of inside, outside, count).
pub fn map_uid(map: &str, uid: u32) -> u32 {
    map.lines()
        .filter_map(|l| {
            let f: Vec<u64> = l
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            match f[..] {
                [inside, outside, count] => Some((inside, outside, count)),
                _ => None,
            }
        })
        .find(|&(inside, _, count)| (inside..inside + count).contains(&u64::from(uid)))
        .and_then(|(inside, outside, _)| u32::try_from(outside + (u64::from(uid) - inside)).ok())
        .unwrap_or(uid)
}

/// Whether this process runs in a user namespace other than the initial one.
pub fn in_user_namespace() -> bool {
    std::fs::read_to_string("/proc/self/uid_map")
        .is_ok_and(|m| m.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"])
}

/// The uid as SASL EXTERNAL sends it: its decimal digits, hex-encoded.
pub fn auth_hex(uid: u32) -> String {
    uid.to_string()
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_through_the_map() {
        let rootless = "         0       1000          1\n         1     100000      65536\n";
        assert_eq!(map_uid(rootless, 0), 1000);
        assert_eq!(map_uid(rootless, 5), 100004);
        assert_eq!(map_uid("         0          0 4294967295\n", 0), 0);
        assert_eq!(map_uid(rootless, 70000), 70000, "unmapped: itself");
    }

    #[test]
    fn auth_id_is_hex_of_decimal() {
        assert_eq!(auth_hex(0), "30");
        assert_eq!(auth_hex(1000), "31303030");
    }
}
