//! A typed message channel between k3rt and the container init over a
//! `SOCK_SEQPACKET` socketpair: one message per packet, EOF when the peer is gone.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};

use crate::error::{Call, ProcessError};
use crate::Result;

/// What the two sides tell each other during create and run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// parent → init: ids mapped and cgroup joined; go on.
    Go,
    /// init → parent: mounts are done, run prestart/createRuntime hooks now.
    NeedHooks,
    /// parent → init: those hooks succeeded.
    HooksDone,
    /// init → parent: everything is set up; waiting for start.
    Ready,
    /// parent → init (run): start now.
    Start,
    /// intermediate → parent: the init's pid.
    Pid(i32),
    /// init → parent: setup failed.
    Error(String),
}

impl Msg {
    /// The message as bytes on the socket.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Msg::Go => vec![1],
            Msg::NeedHooks => vec![2],
            Msg::HooksDone => vec![3],
            Msg::Ready => vec![4],
            Msg::Start => vec![5],
            Msg::Pid(p) => [&[6u8][..], &p.to_le_bytes()].concat(),
            Msg::Error(s) => [&[7u8][..], s.as_bytes()].concat(),
        }
    }

    /// The message of `b`; `None` for bytes that are not one.
    pub fn decode(b: &[u8]) -> Option<Msg> {
        Some(match *b.first()? {
            1 => Msg::Go,
            2 => Msg::NeedHooks,
            3 => Msg::HooksDone,
            4 => Msg::Ready,
            5 => Msg::Start,
            6 => Msg::Pid(i32::from_le_bytes(b.get(1..5)?.try_into().ok()?)),
            7 => Msg::Error(String::from_utf8_lossy(&b[1..]).into_owned()),
            _ => return None,
        })
    }
}

/// One end of the channel.
#[derive(Debug)]
pub struct Channel(pub OwnedFd);

/// A connected pair (close-on-exec).
pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| ProcessError::Call {
        call: Call::SyncSocketpair,
        source: e.into(),
    })?;
    Ok((Channel(a), Channel(b)))
}

impl Channel {
    /// Sends one message.
    pub fn send(&self, m: &Msg) -> Result<()> {
        let b = m.encode();
        send(self.0.as_raw_fd(), &b, MsgFlags::MSG_NOSIGNAL).map_err(|e| ProcessError::Call {
            call: Call::SyncSend,
            source: e.into(),
        })?;
        Ok(())
    }

    /// The next message, or `None` when the other side closed.
    pub fn recv(&self) -> Result<Option<Msg>> {
        let mut buf = [0u8; 4096];
        loop {
            let n = match recv(self.0.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Ok(n) => n,
                Err(Errno::EINTR) => continue,
                Err(e) => {
                    return Err(ProcessError::Call {
                        call: Call::SyncReceive,
                        source: e.into(),
                    }
                    .into())
                }
            };
            if n == 0 {
                return Ok(None);
            }
            return Ok(Msg::decode(&buf[..n]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_over_a_socketpair() {
        let (a, b) = pair().unwrap();
        for m in [
            Msg::Go,
            Msg::Ready,
            Msg::Pid(4242),
            Msg::Error("mount `x`: denied".into()),
        ] {
            a.send(&m).unwrap();
            assert_eq!(b.recv().unwrap(), Some(m));
        }
        drop(a);
        assert_eq!(b.recv().unwrap(), None);
    }

    #[test]
    fn garbage_does_not_decode() {
        assert_eq!(Msg::decode(&[]), None);
        assert_eq!(Msg::decode(&[99]), None);
        assert_eq!(Msg::decode(&[6, 1]), None);
    }
}
