//! A typed message channel between k3rt and the container init over a
//! `SOCK_SEQPACKET` socketpair: one message per packet, EOF when the peer is gone.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::socket::{
    recvmsg, send, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned,
    MsgFlags, SockFlag, SockType,
};

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
    /// parent → init, before `Go`: the id-mapped mount for `mounts[N]`, a detached
    /// mount tree whose descriptor comes with the message.
    Tree(u32),
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
            Msg::Tree(i) => [&[8u8][..], &i.to_le_bytes()].concat(),
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
            8 => Msg::Tree(u32::from_le_bytes(b.get(1..5)?.try_into().ok()?)),
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

    /// Sends one message with a descriptor attached (SCM_RIGHTS).
    pub fn send_with_fd(&self, m: &Msg, fd: &OwnedFd) -> Result<()> {
        let b = m.encode();
        let iov = [std::io::IoSlice::new(&b)];
        let fds = [fd.as_raw_fd()];
        sendmsg::<()>(
            self.0.as_raw_fd(),
            &iov,
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .map_err(|e| ProcessError::Call {
            call: Call::SyncSend,
            source: e.into(),
        })?;
        Ok(())
    }

    /// The next message, or `None` when the other side closed.
    pub fn recv(&self) -> Result<Option<Msg>> {
        Ok(self.recv_with_fd()?.map(|(m, _)| m))
    }

    /// The next message with the descriptor that came with it, if any.
    pub fn recv_with_fd(&self) -> Result<Option<(Msg, Option<OwnedFd>)>> {
        let mut buf = [0u8; 4096];
        loop {
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            let mut space = nix::cmsg_space!([RawFd; 1]);
            let (n, fd) = match recvmsg::<()>(
                self.0.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(msg) => {
                    let mut fd = None;
                    for c in msg.cmsgs().into_iter().flatten() {
                        if let ControlMessageOwned::ScmRights(fds) = c {
                            for raw in fds {
                                // SAFETY: the kernel just gave us this descriptor.
                                let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                                fd.get_or_insert(owned);
                            }
                        }
                    }
                    (msg.bytes, fd)
                }
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
            return Ok(Msg::decode(&buf[..n]).map(|m| (m, fd)));
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
    fn a_tree_message_carries_its_descriptor() {
        let (a, b) = pair().unwrap();
        let f = OwnedFd::from(std::fs::File::open("/proc/self/status").unwrap());
        a.send_with_fd(&Msg::Tree(3), &f).unwrap();
        a.send(&Msg::Go).unwrap();
        let (m, fd) = b.recv_with_fd().unwrap().unwrap();
        assert_eq!(m, Msg::Tree(3));
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(fd.unwrap()), &mut text).unwrap();
        assert!(text.contains("Pid:"));
        let (m, fd) = b.recv_with_fd().unwrap().unwrap();
        assert!(m == Msg::Go && fd.is_none());
    }

    #[test]
    fn garbage_does_not_decode() {
        assert_eq!(Msg::decode(&[]), None);
        assert_eq!(Msg::decode(&[99]), None);
        assert_eq!(Msg::decode(&[6, 1]), None);
    }
}
