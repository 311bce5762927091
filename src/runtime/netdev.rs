//! `linux.netDevices` (runtime-spec 1.3): host network interfaces moved into the
//! container's network namespace at create (renamed when `name` is set, with their
//! permanent global addresses and up), and back to the host on delete.
//!
//! The container's network namespace is pinned (a bind mount of its nsfs file in the
//! state dir) while it holds host devices: when the init exits the namespace would go,
//! and the kernel destroys virtual devices (veth, dummy) with it instead of returning
//! them. What was moved is written to `netdevs.json` in the state dir before each move,
//! so that a delete, or the undo of a create that failed or died, moves it back.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};
use serde::{Deserialize, Serialize};

use crate::statedir::{ContainerDir, Made};
use crate::{Error, Result};

const FIELD: &str = "linux.netDevices";
/// The pinned namespace, in the state dir.
const PIN: &str = "netns";
/// The devices moved, in the state dir.
const RECORD: &str = "netdevs.json";
/// `IFNAMSIZ - 1`.
const MAX_NAME: usize = 15;

/// One device as the config asks for it: its host name and its name inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The name on the host.
    pub host: String,
    /// The name in the container.
    pub inside: String,
}

/// A device that was moved, with what its return needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Moved {
    /// The name on the host.
    pub host: String,
    /// The name in the container.
    pub inside: String,
    /// It was up on the host.
    pub was_up: bool,
    /// Its permanent global addresses.
    pub addrs: Vec<Addr>,
}

/// An interface address as netlink carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Addr {
    /// `AF_INET` or `AF_INET6`.
    pub family: u8,
    /// The prefix length.
    pub prefix_len: u8,
    /// `IFA_ADDRESS`.
    pub address: Option<Vec<u8>>,
    /// `IFA_LOCAL`.
    pub local: Option<Vec<u8>>,
}

/// A name the kernel takes for an interface: 1 to 15 bytes, no `/`, `:` or space,
/// not `.` or `..`.
pub fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= MAX_NAME
        && n != "."
        && n != ".."
        && !n
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0)
}

/// The devices of `spec`, checked against the config and the host before anything is
/// made: names valid, no two with the same name inside, none named `lo` inside a new
/// namespace, a network namespace of the container's own, each device on the host.
pub fn plan(spec: &Spec) -> Result<Vec<Wanted>> {
    let Some(devs) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.net_devices().as_ref())
        .filter(|d| !d.is_empty())
    else {
        return Ok(Vec::new());
    };
    let netns = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
        .find(|n| n.typ() == LinuxNamespaceType::Network);
    let sorted: BTreeMap<&String, _> = devs.iter().collect();
    let names = sorted
        .keys()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let Some(netns) = netns else {
        return Err(Error::invalid(
            FIELD,
            names,
            "moving devices needs a network namespace of the container's own (linux.namespaces has none: it would move them to the host itself)",
        ));
    };
    let mut out: Vec<Wanted> = Vec::new();
    for (host, d) in sorted {
        let inside = d
            .name()
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| host.clone());
        if !valid_name(host) {
            return Err(Error::invalid(
                FIELD,
                host,
                "not a network interface name (1 to 15 bytes, no `/`, `:` or spaces)",
            ));
        }
        if !valid_name(&inside) {
            return Err(Error::invalid(
                "linux.netDevices.name",
                format!("{host}: {inside}"),
                "not a network interface name (1 to 15 bytes, no `/`, `:` or spaces)",
            ));
        }
        if let Some(other) = out.iter().find(|w| w.inside == inside) {
            return Err(Error::invalid(
                "linux.netDevices.name",
                format!("{host}: {inside}"),
                format!("`{}` has that name in the container too", other.host),
            ));
        }
        if inside == "lo" && netns.path().is_none() {
            return Err(Error::invalid(
                "linux.netDevices.name",
                format!("{host}: {inside}"),
                "the container's new network namespace has its own `lo`",
            ));
        }
        if index_of(host).is_none() {
            return Err(Error::invalid(
                FIELD,
                host,
                "no such network device on the host",
            ));
        }
        out.push(Wanted {
            host: host.clone(),
            inside,
        });
    }
    Ok(out)
}

/// Moves the devices into the network namespace of the init `pid`, recording each in
/// the state dir first. On an error, what was moved is in the record: [`move_back`]
/// returns it.
pub fn move_in(wanted: &[Wanted], pid: i32, dir: &ContainerDir) -> Result<()> {
    if wanted.is_empty() {
        return Ok(());
    }
    dir.record(&Made::NetDevices {})?;
    let ns_path = format!("/proc/{pid}/ns/net");
    pin(Path::new(&ns_path), &dir.path.join(PIN))?;
    let ns = open_ns(&dir.path.join(PIN))?;
    let nl = Netlink::open().map_err(|e| Error::io("open netlink socket", "NETLINK_ROUTE", e))?;
    let mut moved: Vec<Moved> = Vec::new();
    for w in wanted {
        let fail = |what: &str, e: io::Error| {
            Error::invalid(FIELD, &w.host, format!("cannot {what}: {e}"))
        };
        let index = index_of(&w.host).ok_or_else(|| {
            fail(
                "find it on the host",
                io::Error::from_raw_os_error(libc::ENODEV),
            )
        })?;
        let m = Moved {
            host: w.host.clone(),
            inside: w.inside.clone(),
            was_up: is_up(&nl, index).map_err(|e| fail("read its state", e))?,
            addrs: nl.addrs(index).map_err(|e| fail("read its addresses", e))?,
        };
        let taken = in_netns(&ns, || Ok(index_of(&w.inside).is_some()))
            .map_err(|e| fail("look into the container's network namespace", e))?;
        if taken {
            return Err(Error::invalid(
                "linux.netDevices.name",
                format!("{}: {}", w.host, w.inside),
                "a device of that name is already in the container's network namespace",
            ));
        }
        moved.push(m.clone());
        save(dir, &moved)?;
        nl.set_up(index, false)
            .map_err(|e| fail("set it down", e))?;
        if let Err(e) = nl.move_to(index, &w.inside, &ns) {
            if index_of(&w.host).is_some() {
                // still here: nothing to return but its state
                moved.pop();
                save(dir, &moved)?;
                let _ = nl.set_up(index, m.was_up);
            }
            // else the kernel moved it but did not rename it: the record returns it
            return Err(match e.raw_os_error() {
                Some(libc::EEXIST) | Some(libc::ENFILE) => Error::invalid(
                    "linux.netDevices.name",
                    format!("{}: {}", w.host, w.inside),
                    "a device of that name is already in the container's network namespace",
                ),
                _ => fail("move it into the container's network namespace", e),
            });
        }
        in_netns(&ns, || {
            let nl = Netlink::open()?;
            let index =
                index_of(&w.inside).ok_or_else(|| io::Error::from_raw_os_error(libc::ENODEV))?;
            for a in &m.addrs {
                nl.add_addr(index, a)?;
            }
            nl.set_up(index, true)
        })
        .map_err(|e| fail(&format!("set up `{}` in the container", w.inside), e))?;
    }
    Ok(())
}

/// Returns what [`move_in`] moved to the host (renamed back, its addresses and state
/// restored), then unpins the namespace. Best effort: every device is tried; the
/// first error is returned.
pub fn move_back(dir: &Path) -> Result<()> {
    let pin_path = dir.join(PIN);
    let record = dir.join(RECORD);
    if !record.exists() && !pin_path.exists() {
        return Ok(());
    }
    let moved: Vec<Moved> = std::fs::read(&record)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut first: Option<Error> = None;
    if !moved.is_empty() {
        match (open_ns(&pin_path), open_ns(Path::new("/proc/self/ns/net"))) {
            (Ok(ns), Ok(host)) => {
                for m in &moved {
                    if let Err(e) = return_one(m, &ns, &host) {
                        first.get_or_insert(e);
                    }
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                first.get_or_insert(e);
            }
        }
    }
    let _ = std::fs::remove_file(&record);
    if let Ok(c) = k3_sys::linux::cstr(pin_path.as_os_str()) {
        // SAFETY: umount2 of a path we own, with a C string that outlives the call.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
    let _ = std::fs::remove_file(&pin_path);
    first.map_or(Ok(()), Err)
}

fn return_one(m: &Moved, ns: &OwnedFd, host: &OwnedFd) -> Result<()> {
    let fail =
        |what: &str, e: io::Error| Error::invalid(FIELD, &m.host, format!("cannot {what}: {e}"));
    in_netns(ns, || {
        let nl = Netlink::open()?;
        let index =
            index_of(&m.inside).ok_or_else(|| io::Error::from_raw_os_error(libc::ENODEV))?;
        nl.set_up(index, false)?;
        nl.move_to(index, &m.host, host)
    })
    .map_err(|e| fail(&format!("move `{}` back to the host", m.inside), e))?;
    let nl = Netlink::open().map_err(|e| fail("open netlink", e))?;
    let index = index_of(&m.host).ok_or_else(|| {
        fail(
            "find it back on the host",
            io::Error::from_raw_os_error(libc::ENODEV),
        )
    })?;
    for a in &m.addrs {
        nl.add_addr(index, a)
            .map_err(|e| fail("restore its address", e))?;
    }
    if m.was_up {
        nl.set_up(index, true).map_err(|e| fail("set it up", e))?;
    }
    Ok(())
}

fn save(dir: &ContainerDir, moved: &[Moved]) -> Result<()> {
    let p = dir.path.join(RECORD);
    let bytes = serde_json::to_vec(moved).unwrap_or_default();
    std::fs::write(&p, bytes).map_err(|e| Error::io("write", p, e))
}

/// Bind-mounts the namespace file `ns` on `at` (created), which keeps it alive.
fn pin(ns: &Path, at: &PathBuf) -> Result<()> {
    std::fs::write(at, b"").map_err(|e| Error::io("create", at.clone(), e))?;
    let src = k3_sys::linux::cstr(ns.as_os_str()).map_err(|e| Error::io("pin", ns, e))?;
    let dst = k3_sys::linux::cstr(at.as_os_str()).map_err(|e| Error::io("pin", at.clone(), e))?;
    // SAFETY: both C strings outlive the call; no data.
    let r = unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    k3_sys::linux::ok_or_errno(r).map_err(|e| Error::io("pin network namespace on", at.clone(), e))
}

fn open_ns(p: &Path) -> Result<OwnedFd> {
    k3_sys::linux::open_path(p, libc::O_RDONLY)
        .map_err(|e| Error::io("open network namespace", p, e))
}

/// Runs `f` on a thread that joined the network namespace `ns` (the rest of k3rt
/// stays where it is); a netlink socket `f` opens talks to that namespace.
fn in_netns<T: Send>(ns: &OwnedFd, f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
    let fd = ns.as_raw_fd();
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: setns of this thread only, to a descriptor that outlives it.
            k3_sys::linux::ok_or_errno(unsafe { libc::setns(fd, libc::CLONE_NEWNET) })?;
            f()
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("netlink thread panicked")))
    })
}

/// The index of interface `name` in the calling thread's network namespace.
fn index_of(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: c outlives the call.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

fn is_up(nl: &Netlink, index: u32) -> io::Result<bool> {
    Ok(nl.link_flags(index)? & libc::IFF_UP as u32 != 0)
}

// rtnetlink, by hand: the few requests above.
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_REPLACE: u16 = 0x100;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_DUMP: u16 = 0x300;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;
const IFA_F_PERMANENT: u32 = 0x80;
const RT_SCOPE_UNIVERSE: u8 = 0;
const HDR: usize = 16;

/// A NETLINK_ROUTE socket in the network namespace of the thread that opened it.
struct Netlink(OwnedFd);

fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// One request: header, fixed body, attributes.
fn message(ty: u16, flags: u16, body: &[u8], attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut m = vec![0u8; HDR];
    m.extend_from_slice(body);
    m.resize(align(m.len()), 0);
    for (t, v) in attrs {
        let len = 4 + v.len();
        m.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_ne_bytes());
        m.extend_from_slice(&t.to_ne_bytes());
        m.extend_from_slice(v);
        m.resize(align(m.len()), 0);
    }
    let total = u32::try_from(m.len()).unwrap_or(u32::MAX);
    m[0..4].copy_from_slice(&total.to_ne_bytes());
    m[4..6].copy_from_slice(&ty.to_ne_bytes());
    m[6..8].copy_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
    m[8..12].copy_from_slice(&1u32.to_ne_bytes());
    m
}

/// `struct ifinfomsg` for `index`, with `flags` under `change`.
fn ifinfo(index: u32, flags: u32, change: u32) -> Vec<u8> {
    let mut b = vec![0u8; 16];
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b[8..12].copy_from_slice(&flags.to_ne_bytes());
    b[12..16].copy_from_slice(&change.to_ne_bytes());
    b
}

/// The attributes of one message after its fixed body of `body` bytes.
fn attrs(msg: &[u8], body: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut i = align(HDR + body);
    while i + 4 <= msg.len() {
        let len = usize::from(u16::from_ne_bytes([msg[i], msg[i + 1]]));
        let ty = u16::from_ne_bytes([msg[i + 2], msg[i + 3]]);
        if len < 4 || i + len > msg.len() {
            break;
        }
        out.push((ty & 0x3fff, &msg[i + 4..i + len]));
        i += align(len);
    }
    out
}

impl Netlink {
    fn open() -> io::Result<Netlink> {
        // SAFETY: socket(2) with constant arguments.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        let fd = k3_sys::linux::or_errno(fd)?;
        // SAFETY: a new descriptor nothing else owns.
        Ok(Netlink(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    fn send(&self, m: &[u8]) -> io::Result<()> {
        // SAFETY: m outlives the call.
        let r = unsafe { libc::send(self.0.as_raw_fd(), m.as_ptr().cast(), m.len(), 0) };
        k3_sys::linux::or_errno(r as i64).map(|_| ())
    }

    /// The messages of the replies until an ack, an error or the end of a dump.
    fn replies(&self) -> io::Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            // SAFETY: buf outlives the call and is as long as given.
            let n =
                unsafe { libc::recv(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            let n = usize::try_from(k3_sys::linux::or_errno(n as i64)?).unwrap_or(0);
            let mut i = 0;
            while i + HDR <= n {
                let len = u32::from_ne_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]) as usize;
                let ty = u16::from_ne_bytes([buf[i + 4], buf[i + 5]]);
                if len < HDR || i + len > n {
                    return Err(io::Error::from_raw_os_error(libc::EBADMSG));
                }
                let msg = &buf[i..i + len];
                match ty {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => {
                        let code = i32::from_ne_bytes([msg[16], msg[17], msg[18], msg[19]]);
                        return if code == 0 {
                            Ok(out)
                        } else {
                            Err(io::Error::from_raw_os_error(-code))
                        };
                    }
                    _ => out.push(msg.to_vec()),
                }
                i += align(len);
            }
        }
    }

    fn request(&self, m: &[u8]) -> io::Result<Vec<Vec<u8>>> {
        self.send(m)?;
        self.replies()
    }

    fn link_flags(&self, index: u32) -> io::Result<u32> {
        let r = self.request(&message(RTM_GETLINK, NLM_F_ACK, &ifinfo(index, 0, 0), &[]))?;
        let m = r
            .first()
            .filter(|m| m.len() >= HDR + 16)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENODEV))?;
        Ok(u32::from_ne_bytes([
            m[HDR + 8],
            m[HDR + 9],
            m[HDR + 10],
            m[HDR + 11],
        ]))
    }

    fn set_up(&self, index: u32, up: bool) -> io::Result<()> {
        let iff_up = libc::IFF_UP as u32;
        let flags = if up { iff_up } else { 0 };
        self.request(&message(
            RTM_NEWLINK,
            NLM_F_ACK,
            &ifinfo(index, flags, iff_up),
            &[],
        ))
        .map(|_| ())
    }

    /// Moves (and renames, in the same request) a link into the namespace `ns`.
    fn move_to(&self, index: u32, name: &str, ns: &OwnedFd) -> io::Result<()> {
        let mut n = name.as_bytes().to_vec();
        n.push(0);
        let fd = u32::try_from(ns.as_raw_fd())
            .unwrap_or(u32::MAX)
            .to_ne_bytes();
        let m = message(
            RTM_NEWLINK,
            NLM_F_ACK,
            &ifinfo(index, 0, 0),
            &[(IFLA_IFNAME, &n), (IFLA_NET_NS_FD, &fd)],
        );
        self.request(&m).map(|_| ())
    }

    /// The permanent addresses of global scope of a link.
    fn addrs(&self, index: u32) -> io::Result<Vec<Addr>> {
        let body = [0u8; 8]; // ifaddrmsg, AF_UNSPEC: every family
        let mut out = Vec::new();
        for m in self.request(&message(RTM_GETADDR, NLM_F_DUMP, &body, &[]))? {
            if m.len() < HDR + 8 {
                continue;
            }
            let (family, prefix_len, flags, scope) = (m[HDR], m[HDR + 1], m[HDR + 2], m[HDR + 3]);
            let ifindex = u32::from_ne_bytes([m[HDR + 4], m[HDR + 5], m[HDR + 6], m[HDR + 7]]);
            if ifindex != index || scope != RT_SCOPE_UNIVERSE {
                continue;
            }
            let a = attrs(&m, 8);
            let all_flags = a
                .iter()
                .find(|(t, v)| *t == IFA_FLAGS && v.len() == 4)
                .map_or(u32::from(flags), |(_, v)| {
                    u32::from_ne_bytes([v[0], v[1], v[2], v[3]])
                });
            if all_flags & IFA_F_PERMANENT == 0 {
                continue;
            }
            let get = |ty: u16| a.iter().find(|(t, _)| *t == ty).map(|(_, v)| v.to_vec());
            out.push(Addr {
                family,
                prefix_len,
                address: get(IFA_ADDRESS),
                local: get(IFA_LOCAL),
            });
        }
        Ok(out)
    }

    fn add_addr(&self, index: u32, a: &Addr) -> io::Result<()> {
        let mut body = vec![a.family, a.prefix_len, 0, RT_SCOPE_UNIVERSE];
        body.extend_from_slice(&index.to_ne_bytes());
        let mut at: Vec<(u16, &[u8])> = Vec::new();
        if let Some(v) = &a.address {
            at.push((IFA_ADDRESS, v));
        }
        if let Some(v) = &a.local {
            at.push((IFA_LOCAL, v));
        }
        let m = message(
            RTM_NEWADDR,
            NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
            &body,
            &at,
        );
        self.request(&m).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: &str) -> Spec {
        serde_json::from_str(&format!(
            r#"{{"ociVersion":"1.3.0","root":{{"path":"rootfs"}},"linux":{{{extra}}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn interface_names_follow_the_kernel() {
        for ok in ["eth0", "k3t0", "a", "abcdefghijklmno"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a:1", "a b", "abcdefghijklmnop"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn refusals_name_the_field() {
        let e = plan(&spec(r#""netDevices":{"lo":{"name":"x"}}"#))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("linux.netDevices") && e.contains("network namespace"),
            "{e}"
        );
        let e = plan(&spec(
            r#""namespaces":[{"type":"network"}],"netDevices":{"k3-none-such0":{}}"#,
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`k3-none-such0`") && e.contains("no such network device"),
            "{e}"
        );
        let e = plan(&spec(
            r#""namespaces":[{"type":"network"}],"netDevices":{"lo":{"name":"a/b"}}"#,
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("linux.netDevices.name") && e.contains("`lo: a/b`"),
            "{e}"
        );
        let e = plan(&spec(
            r#""namespaces":[{"type":"network"}],"netDevices":{"lo":{}}"#,
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("its own `lo`"), "{e}");
        assert!(plan(&spec(r#""namespaces":[{"type":"network"}]"#))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn two_devices_may_not_share_a_name_inside() {
        // `lo` (sorted first) is checked, then `lo2` collides before it is looked up
        let e = plan(&spec(
            r#""namespaces":[{"type":"network","path":"/proc/1/ns/net"}],"netDevices":{"lo":{"name":"x0"},"lo2":{"name":"x0"}}"#,
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`lo2: x0`") && e.contains("`lo` has that name"),
            "{e}"
        );
    }

    #[test]
    fn messages_are_aligned_and_attributes_read_back() {
        let m = message(
            RTM_NEWLINK,
            NLM_F_ACK,
            &ifinfo(7, 1, 1),
            &[
                (IFLA_IFNAME, b"eth9\0"),
                (IFLA_NET_NS_FD, &5u32.to_ne_bytes()),
            ],
        );
        assert_eq!(m.len() % 4, 0);
        assert_eq!(
            u32::from_ne_bytes(m[0..4].try_into().unwrap()) as usize,
            m.len()
        );
        let a = attrs(&m, 16);
        assert_eq!(a[0], (IFLA_IFNAME, &b"eth9\0"[..]));
        assert_eq!(a[1].0, IFLA_NET_NS_FD);
    }
}
