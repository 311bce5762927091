//! Which namespaces a container gets: new ones (made by clone/unshare) and existing
//! ones joined by path (setns), in the order the kernel needs (user first).

use std::path::{Path, PathBuf};

use std::os::fd::AsRawFd;

use nix::sched::{setns, CloneFlags};
use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::NamespaceError;
use crate::{Error, Result};

/// The namespace part of a spec, as data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NsPlan {
    /// Namespaces to create, in spec order.
    pub new: Vec<LinuxNamespaceType>,
    /// Namespaces to join, user namespace first.
    pub joins: Vec<(LinuxNamespaceType, PathBuf)>,
}

/// The clone/unshare flag of a namespace type.
pub fn flag(t: LinuxNamespaceType) -> libc::c_int {
    match t {
        LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
        LinuxNamespaceType::User => libc::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => libc::CLONE_NEWPID,
        LinuxNamespaceType::Network => libc::CLONE_NEWNET,
        LinuxNamespaceType::Time => 0x80, // CLONE_NEWTIME
    }
}

/// The name the trace uses (`Unsharing namespace: `network``).
pub fn trace_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mount",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "network",
        LinuxNamespaceType::Time => "time",
    }
}

/// The file under `/proc/PID/ns/` for a type.
pub fn proc_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Network => "net",
        other => trace_name(other),
    }
}

impl NsPlan {
    /// The namespaces of `linux.namespaces`.
    pub fn from_spec(spec: &Spec) -> NsPlan {
        let mut plan = NsPlan::default();
        let nss = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
        for ns in nss.into_iter().flatten() {
            match ns.path() {
                Some(p) if !p.as_os_str().is_empty() => plan.joins.push((ns.typ(), p.clone())),
                _ => plan.new.push(ns.typ()),
            }
        }
        plan.joins
            .sort_by_key(|(t, _)| *t != LinuxNamespaceType::User);
        plan
    }

    /// A namespace of type `t` is created (not joined).
    pub fn is_new(&self, t: LinuxNamespaceType) -> bool {
        self.new.contains(&t)
    }

    /// The container has a namespace of type `t`, new or joined.
    pub fn has(&self, t: LinuxNamespaceType) -> bool {
        self.is_new(t) || self.joins.iter().any(|(j, _)| *j == t)
    }

    /// Flags for the clone that makes the container init. The cgroup namespace is
    /// unshared later, once the init sits in its cgroup; time only via unshare.
    pub fn clone_flags(&self) -> libc::c_int {
        self.new
            .iter()
            .filter(|t| !matches!(t, LinuxNamespaceType::Cgroup | LinuxNamespaceType::Time))
            .fold(0, |acc, t| acc | flag(*t))
    }

    /// Joining namespaces or a new time namespace needs an intermediate process.
    pub fn needs_intermediate(&self) -> bool {
        !self.joins.is_empty() || self.is_new(LinuxNamespaceType::Time)
    }
}

/// Joins the namespace at `path` (setns checks its type).
pub fn join(t: LinuxNamespaceType, path: &Path) -> Result<()> {
    let f = std::fs::File::open(path).map_err(|e| Error::io("open namespace", path, e))?;
    setns(&f, CloneFlags::from_bits_retain(flag(t))).map_err(|e| NamespaceError::Join {
        ns: trace_name(t),
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    Ok(())
}

/// Unshares namespaces in the calling process.
pub fn unshare(flags: libc::c_int, what: &'static str) -> Result<()> {
    nix::sched::unshare(CloneFlags::from_bits_retain(flags)).map_err(|e| {
        NamespaceError::Unshare {
            ns: what,
            source: e.into(),
        }
    })?;
    Ok(())
}

/// `IFF_UP` in the type of `ifreq.ifr_flags` (the flag is bit 0).
#[allow(clippy::cast_possible_truncation, reason = "IFF_UP is 1")]
const IFF_UP: libc::c_short = libc::IFF_UP as libc::c_short;

/// Brings `lo` up in a new network namespace, as runc and crun do (a server bound to
/// 127.0.0.1 inside the container needs it).
pub fn loopback_up() -> Result<()> {
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| NamespaceError::LoopbackSocket(e.into()))?;
    let fd = sock.as_raw_fd();
    // SAFETY: zeroed ifreq is valid; the name fits.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo") {
        *dst = libc::c_char::from_ne_bytes([*src]);
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write an ifreq we own.
    let r = unsafe {
        if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) < 0 {
            -1
        } else {
            req.ifr_ifru.ifru_flags |= IFF_UP;
            libc::ioctl(fd, libc::SIOCSIFFLAGS, &req)
        }
    };
    k3_sys::linux::ok_or_errno(r).map_err(|e| NamespaceError::LoopbackUp(e).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(ns: &str) -> Spec {
        serde_json::from_str(&format!(
            r#"{{"ociVersion":"1.2.0","linux":{{"namespaces":{ns}}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn new_and_joined_namespaces() {
        let p = NsPlan::from_spec(&spec(
            r#"[{"type":"pid"},{"type":"network","path":"/proc/1/ns/net"},{"type":"mount"},
                {"type":"cgroup"},{"type":"user","path":"/proc/1/ns/user"}]"#,
        ));
        assert_eq!(
            p.new,
            [
                LinuxNamespaceType::Pid,
                LinuxNamespaceType::Mount,
                LinuxNamespaceType::Cgroup
            ]
        );
        assert_eq!(
            p.joins[0].0,
            LinuxNamespaceType::User,
            "user is joined first"
        );
        assert_eq!(p.clone_flags(), libc::CLONE_NEWPID | libc::CLONE_NEWNS);
        assert!(p.needs_intermediate());
        assert!(p.has(LinuxNamespaceType::Network) && !p.is_new(LinuxNamespaceType::Network));
    }

    #[test]
    fn plain_new_namespaces_need_one_clone() {
        let p = NsPlan::from_spec(&spec(r#"[{"type":"pid"},{"type":"ipc"},{"type":"uts"}]"#));
        assert!(!p.needs_intermediate());
        assert_eq!(
            p.clone_flags(),
            libc::CLONE_NEWPID | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS
        );
        let t = NsPlan::from_spec(&spec(r#"[{"type":"time"}]"#));
        assert!(t.needs_intermediate());
        assert_eq!(t.clone_flags(), 0);
    }

    #[test]
    fn names() {
        assert_eq!(trace_name(LinuxNamespaceType::Network), "network");
        assert_eq!(proc_name(LinuxNamespaceType::Network), "net");
        assert_eq!(proc_name(LinuxNamespaceType::Mount), "mnt");
    }
}
