//! A minimal rtnetlink client on a raw `NETLINK_ROUTE` socket: bridges,
//! veth pairs (the peer created directly in another namespace), link
//! up/master/MAC, IPv4 addresses and the default route. Each request asks
//! for an ACK; a kernel error comes back as the `io::Error` of its errno.
//!
//! A socket works in the network namespace it was created in; [`in_netns`]
//! makes one inside another namespace (from a short-lived thread that
//! `setns`es, so the process itself never moves).

use std::fs::File;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const NLA_F_NESTED: u16 = 0x8000;

/// A netlink message under construction.
#[derive(Default)]
struct Msg {
    buf: Vec<u8>,
    nests: Vec<usize>,
    /// An attribute or the message outgrew its length field; `finish` refuses it.
    too_long: bool,
}

/// The address families as the header bytes carry them (all below 256).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
const AF_UNSPEC: u8 = libc::AF_UNSPEC as u8;
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
const AF_INET: u8 = libc::AF_INET as u8;
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
const AF_NETLINK: u16 = libc::AF_NETLINK as u16;

impl Msg {
    fn new(kind: u16, flags: u16) -> Msg {
        let mut m = Msg::default();
        m.buf.extend_from_slice(&[0; 4]); // length, patched at the end
        m.buf.extend_from_slice(&kind.to_ne_bytes());
        m.buf
            .extend_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        m.buf.extend_from_slice(&1u32.to_ne_bytes()); // seq
        m.buf.extend_from_slice(&0u32.to_ne_bytes()); // pid
        m
    }

    fn raw(&mut self, data: &[u8]) -> &mut Msg {
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    fn pad(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }

    /// `struct ifinfomsg`.
    fn ifinfo(&mut self, index: i32, flags: u32, change: u32) -> &mut Msg {
        let mut b = vec![AF_UNSPEC, 0, 0, 0];
        b.extend_from_slice(&index.to_ne_bytes());
        b.extend_from_slice(&flags.to_ne_bytes());
        b.extend_from_slice(&change.to_ne_bytes());
        self.raw(&b)
    }

    fn attr(&mut self, kind: u16, data: &[u8]) -> &mut Msg {
        let len = u16::try_from(4 + data.len()).unwrap_or_else(|_| {
            self.too_long = true;
            0
        });
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.raw(data)
    }

    fn attr_str(&mut self, kind: u16, s: &str) -> &mut Msg {
        let mut d = s.as_bytes().to_vec();
        d.push(0);
        self.attr(kind, &d)
    }

    fn begin(&mut self, kind: u16) -> &mut Msg {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&[0, 0]);
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        self
    }

    fn end(&mut self) -> &mut Msg {
        if let Some(start) = self.nests.pop() {
            let len = u16::try_from(self.buf.len() - start).unwrap_or_else(|_| {
                self.too_long = true;
                0
            });
            self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }

    fn finish(mut self) -> io::Result<Vec<u8>> {
        let len = u32::try_from(self.buf.len())
            .ok()
            .filter(|_| !self.too_long);
        let len = len.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "a netlink message or attribute over its length field",
            )
        })?;
        self.buf[..4].copy_from_slice(&len.to_ne_bytes());
        Ok(self.buf)
    }
}

/// `index` as the `ifi_index` of an ifinfomsg (a C int).
fn link_index(index: u32) -> io::Result<i32> {
    i32::try_from(index)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("link index `{index}`")))
}

/// An rtnetlink socket.
#[derive(Debug)]
pub struct Netlink {
    fd: OwnedFd,
}

impl Netlink {
    /// A socket in the calling thread's network namespace.
    pub fn open() -> io::Result<Netlink> {
        // SAFETY: plain socket(2); the fd is owned below.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh, valid descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: a zeroed sockaddr_nl is valid (pid 0: the kernel assigns).
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = AF_NETLINK;
        let addr_len = libc::socklen_t::try_from(size_of::<libc::sockaddr_nl>())
            .map_err(|_| io::Error::other("sockaddr_nl larger than a socklen_t"))?;
        // SAFETY: addr is a valid sockaddr_nl of the given size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_nl).cast::<libc::sockaddr>(),
                addr_len,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Netlink { fd })
    }

    fn send(&self, msg: Msg) -> io::Result<()> {
        let data = msg.finish()?;
        // SAFETY: data is a valid buffer of its length.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), data.as_ptr().cast(), data.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        self.ack()
    }

    fn ack(&self) -> io::Result<()> {
        let mut buf = [0u8; 8192];
        loop {
            // SAFETY: buf is a valid writable buffer of its length.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let n = n.unsigned_abs();
            let mut off = 0;
            while off + 16 <= n {
                let len =
                    u32::from_ne_bytes(buf[off..off + 4].try_into().unwrap_or_default()) as usize;
                let kind = u16::from_ne_bytes(buf[off + 4..off + 6].try_into().unwrap_or_default());
                if kind == NLMSG_ERROR && off + 20 <= n {
                    let err =
                        i32::from_ne_bytes(buf[off + 16..off + 20].try_into().unwrap_or_default());
                    return if err == 0 {
                        Ok(())
                    } else {
                        Err(io::Error::from_raw_os_error(-err))
                    };
                }
                if len == 0 {
                    break;
                }
                off += (len + 3) & !3;
            }
        }
    }

    /// Creates a bridge `name`.
    pub fn add_bridge(&self, name: &str) -> io::Result<()> {
        let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        m.ifinfo(0, 0, 0).attr_str(IFLA_IFNAME, name);
        m.begin(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "bridge")
            .end();
        self.send(m)
    }

    /// Creates a veth pair: `host` here, `peer` (with `mac`) directly in
    /// the namespace `peer_ns`.
    pub fn add_veth(&self, host: &str, peer: &str, mac: [u8; 6], peer_ns: &File) -> io::Result<()> {
        let fd = peer_ns.as_fd().as_raw_fd();
        let ns_fd = u32::try_from(fd).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("namespace fd `{fd}`"))
        })?;
        let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        m.ifinfo(0, 0, 0).attr_str(IFLA_IFNAME, host);
        m.begin(IFLA_LINKINFO).attr_str(IFLA_INFO_KIND, "veth");
        m.begin(IFLA_INFO_DATA).begin(VETH_INFO_PEER);
        m.ifinfo(0, 0, 0)
            .attr_str(IFLA_IFNAME, peer)
            .attr(IFLA_ADDRESS, &mac)
            .attr(IFLA_NET_NS_FD, &ns_fd.to_ne_bytes());
        m.end().end().end();
        self.send(m)
    }

    /// Sets link `index` up, and its master when given.
    pub fn set_up(&self, index: u32, master: Option<u32>) -> io::Result<()> {
        let up = libc::IFF_UP as u32;
        let mut m = Msg::new(RTM_NEWLINK, 0);
        m.ifinfo(link_index(index)?, up, up);
        if let Some(master) = master {
            m.attr(IFLA_MASTER, &master.to_ne_bytes());
        }
        self.send(m)
    }

    /// Deletes link `index`.
    pub fn del_link(&self, index: u32) -> io::Result<()> {
        let mut m = Msg::new(RTM_DELLINK, 0);
        m.ifinfo(link_index(index)?, 0, 0);
        self.send(m)
    }

    /// Adds `ip/prefix` to link `index` (an existing one is fine).
    pub fn add_addr(&self, index: u32, ip: Ipv4Addr, prefix: u8) -> io::Result<()> {
        let mut m = Msg::new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
        let mut hdr = vec![AF_INET, prefix, 0, 0];
        hdr.extend_from_slice(&index.to_ne_bytes());
        let bcast = u32::from(ip) | (u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0));
        m.raw(&hdr)
            .attr(IFA_LOCAL, &ip.octets())
            .attr(IFA_ADDRESS, &ip.octets())
            .attr(IFA_BROADCAST, &Ipv4Addr::from(bcast).octets());
        match self.send(m) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
            r => r,
        }
    }

    /// Adds the default route via `gw`.
    pub fn add_default_route(&self, gw: Ipv4Addr) -> io::Result<()> {
        let mut m = Msg::new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
        let hdr = [
            AF_INET,
            0,                       // dst_len
            0,                       // src_len
            0,                       // tos
            libc::RT_TABLE_MAIN,     // table
            libc::RTPROT_BOOT,       // protocol
            libc::RT_SCOPE_UNIVERSE, // scope
            libc::RTN_UNICAST,       // type
        ];
        m.raw(&hdr)
            .raw(&0u32.to_ne_bytes())
            .attr(RTA_GATEWAY, &gw.octets());
        self.send(m)
    }
}

/// The index of link `name` in the calling thread's namespace.
pub fn index(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: c is a valid C string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// Runs `f` on a thread inside the network namespace `ns` (the process
/// stays where it is); sockets made there stay bound to that namespace.
pub fn in_netns<T: Send + 'static>(
    ns: &File,
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let fd = ns.try_clone()?;
    std::thread::spawn(move || {
        nix::sched::setns(fd.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(io::Error::from)?;
        f()
    })
    .join()
    .map_err(|_| io::Error::other("netns thread panicked"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attribute_over_its_u16_length_is_refused() {
        let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE);
        m.attr(IFLA_IFNAME, &vec![b'x'; 70_000]);
        let e = m.finish().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE);
        m.begin(IFLA_LINKINFO);
        for _ in 0..20 {
            m.attr(IFLA_IFNAME, &[0; 4000]);
        }
        m.end();
        assert!(m.finish().is_err(), "a nest over 65535 bytes");
    }

    #[test]
    fn messages_are_aligned_and_sized() {
        let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE);
        m.ifinfo(0, 0, 0).attr_str(IFLA_IFNAME, "kb0");
        m.begin(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "bridge")
            .end();
        let b = m.finish().unwrap();
        assert_eq!(b.len() % 4, 0);
        assert_eq!(
            u32::from_ne_bytes(b[..4].try_into().unwrap()) as usize,
            b.len()
        );
        // header 16 + ifinfomsg 16 + ifname (4+4) + linkinfo (4 + kind 4+7 -> 12)
        assert_eq!(b.len(), 16 + 16 + 8 + 16);
        let nest = 16 + 16 + 8;
        assert_eq!(
            u16::from_ne_bytes(b[nest..nest + 2].try_into().unwrap()),
            16
        );
    }
}
