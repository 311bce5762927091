//! The host's side of networking: namespaces, bridges, veths, addresses,
//! routes and nftables rules. [`Network`] is the seam between the engine's
//! network logic (plans, leases, ports, undo) and the kernel: [`Linux`]
//! does it through netlink and `nft`; `fake::FakeNetwork` records the calls.

use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use super::error::{sys, NetworkError};
use super::ipam::Subnet;
use super::names::veth_name;
use super::netlink::{self, Netlink};
use super::{dns, netns, nft};
use crate::db::networks::NetworkRecord;

/// What the engine asks of the host's network. Every call is idempotent
/// where its doc says so; the undo of a create calls the `remove`/`delete`
/// ones.
pub trait Network: Send + Sync {
    /// A pinned network namespace at `path` with `lo` up (nothing left
    /// behind when it fails).
    fn create_netns(&self, path: &Path) -> Result<(), NetworkError>;

    /// Removes the pinned namespace at `path`; a missing one is no error.
    fn remove_netns(&self, path: &Path) -> io::Result<()>;

    /// The bridge device of `net` with its gateway address, up,
    /// `route_localnet` on, forwarding on, and the network's masquerade and
    /// isolation rules (idempotent; missing rules are added again).
    fn ensure_bridge(
        &self,
        net: &NetworkRecord,
        subnet: &Subnet,
        gw: Ipv4Addr,
    ) -> Result<(), NetworkError>;

    /// The veth pair `host` / `eth0` (MAC `mac`), `eth0` made directly in the
    /// namespace at `ns`.
    fn add_veth(&self, host: &str, mac: [u8; 6], ns: &Path) -> Result<(), NetworkError>;

    /// `host` up on `bridge`; in the namespace at `ns`: `lo` up, `eth0` up
    /// with `ip/prefix`, the default route through `gw`.
    fn plug(&self, host: &str, bridge: &str, ns: &Path, addr: Addr) -> Result<(), NetworkError>;

    /// Deletes link `name`; a missing one is no error.
    fn delete_link(&self, name: &str) -> Result<(), String>;

    /// The host ends of container veths there are (`k3-` and 12 hex digits,
    /// not a bridge), of every k3 root: not a list of leftovers.
    fn container_veths(&self) -> Vec<String>;

    /// Applies an nftables script (rules of `nft::port_rule`).
    fn add_rules(&self, script: &str) -> Result<(), NetworkError>;

    /// Deletes the rules of `chain` whose comment is `comment`.
    fn delete_rules(&self, chain: &str, comment: &str) -> Result<(), NetworkError>;

    /// The directory of the host-wide network lock and ledger, shared by
    /// every k3 root of the host.
    fn host_dir(&self) -> PathBuf;

    /// Names `entry` on the user network of `bridge` and starts the
    /// network's DNS responder on its gateway if none runs (`net`: the
    /// gateway and the subnet's prefix length).
    fn dns_join(
        &self,
        bridge: &str,
        net: (Ipv4Addr, u8),
        entry: dns::Entry,
    ) -> Result<(), NetworkError>;

    /// Drops container `hash`'s names from every network (a responder
    /// exits after its last container).
    fn dns_leave(&self, hash: &str) -> Result<(), String>;
}

/// [`Linux::host_dir`].
pub const HOST_DIR: &str = "/run/k3/network";

/// A container's address on its bridge network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addr {
    /// The container's IP.
    pub ip: Ipv4Addr,
    /// The subnet's prefix length.
    pub prefix: u8,
    /// The gateway (the bridge's address).
    pub gw: Ipv4Addr,
}

/// The network namespace of `hash` under `root`, made with `lo` up.
pub(super) fn make_netns(
    net: &dyn Network,
    root: &Path,
    hash: &str,
) -> Result<PathBuf, NetworkError> {
    let ns = netns::path(root, hash);
    net.create_netns(&ns)?;
    Ok(ns)
}

/// When a container stops: its names, netns and veth go (lease and ports
/// stay).
pub fn release_at(net: &dyn Network, root: &Path, hash: &str) {
    let _ = net.dns_leave(hash);
    let _ = net.delete_link(&veth_name(hash));
    let _ = net.remove_netns(&netns::path(root, hash));
}

/// The host's network through netlink, `/proc/sys` and `nft` (root).
#[derive(Debug, Clone, Copy, Default)]
pub struct Linux;

impl Network for Linux {
    fn create_netns(&self, ns: &Path) -> Result<(), NetworkError> {
        netns::create(ns).map_err(sys("create network namespace", ns.display()))?;
        let up = netns::open(ns).and_then(|f| {
            netlink::in_netns(&f, || {
                let lo = netlink::index("lo").ok_or_else(|| io::Error::other("no `lo`"))?;
                Netlink::open()?.set_up(lo, None)
            })
        });
        if let Err(e) = up {
            let _ = netns::remove(ns);
            return Err(sys("set `lo` up in", ns.display())(e));
        }
        Ok(())
    }

    fn remove_netns(&self, path: &Path) -> io::Result<()> {
        netns::remove(path)
    }

    fn ensure_bridge(
        &self,
        net: &NetworkRecord,
        subnet: &Subnet,
        gw: Ipv4Addr,
    ) -> Result<(), NetworkError> {
        nft::ensure_table()?;
        let nl = Netlink::open().map_err(sys("open", "netlink"))?;
        let fresh = netlink::index(&net.bridge).is_none();
        if fresh {
            nl.add_bridge(&net.bridge)
                .map_err(sys("create bridge", &net.bridge))?;
        }
        let idx = netlink::index(&net.bridge).ok_or_else(|| {
            sys("find bridge", &net.bridge)(io::Error::from_raw_os_error(libc::ENODEV))
        })?;
        nl.add_addr(idx, gw, subnet.prefix)
            .map_err(sys("address bridge", &net.bridge))?;
        nl.set_up(idx, None).map_err(sys("set up", &net.bridge))?;
        let rl = format!("/proc/sys/net/ipv4/conf/{}/route_localnet", net.bridge);
        fs::write(&rl, "1").map_err(sys("write", &rl))?;
        let _ = fs::write("/proc/sys/net/ipv4/ip_forward", "1");
        let tag = format!("net:{}", net.name);
        if nft::handles("postrouting", &tag)?.is_empty() {
            nft::apply(&nft::network_rules(
                &net.name,
                &net.bridge,
                &subnet.to_string(),
            ))?;
        }
        // restored when missing (a flushed chain, a table of an older k3)
        if nft::handles("forward", &tag)?.is_empty() || nft::handles("isolation", &tag)?.is_empty()
        {
            nft::delete_by_comment("forward", &tag)?;
            nft::delete_by_comment("isolation", &tag)?;
            nft::apply(&nft::isolation_rules(&net.name, &net.bridge))?;
        }
        Ok(())
    }

    fn add_veth(&self, host: &str, mac: [u8; 6], ns: &Path) -> Result<(), NetworkError> {
        let nsf = netns::open(ns).map_err(sys("open", ns.display()))?;
        let nl = Netlink::open().map_err(sys("open", "netlink"))?;
        nl.add_veth(host, "eth0", mac, &nsf)
            .map_err(sys("create veth pair", host))
    }

    fn plug(&self, host: &str, bridge: &str, ns: &Path, addr: Addr) -> Result<(), NetworkError> {
        let nsf = netns::open(ns).map_err(sys("open", ns.display()))?;
        let nl = Netlink::open().map_err(sys("open", "netlink"))?;
        let idx = netlink::index(host)
            .ok_or_else(|| sys("find", host)(io::Error::from_raw_os_error(libc::ENODEV)))?;
        let br =
            netlink::index(bridge).ok_or_else(|| NetworkError::NotFound(bridge.to_string()))?;
        nl.set_up(idx, Some(br))
            .map_err(sys("attach veth to bridge", host))?;
        // inside the namespace: `lo` up, `eth0` up with its address, default route
        netlink::in_netns(&nsf, move || {
            let nl = Netlink::open()?;
            let lo = netlink::index("lo").ok_or_else(|| io::Error::other("no `lo`"))?;
            nl.set_up(lo, None)?;
            let eth = netlink::index("eth0").ok_or_else(|| io::Error::other("no `eth0`"))?;
            nl.add_addr(eth, addr.ip, addr.prefix)?;
            nl.set_up(eth, None)?;
            nl.add_default_route(addr.gw)
        })
        .map_err(sys("configure `eth0` in", "the container namespace"))
    }

    fn delete_link(&self, name: &str) -> Result<(), String> {
        let Some(i) = netlink::index(name) else {
            return Ok(());
        };
        let nl = Netlink::open().map_err(|e| e.to_string())?;
        match nl.del_link(i) {
            Err(e) if e.raw_os_error() != Some(libc::ENODEV) => {
                Err(format!("delete `{name}`: {e}"))
            }
            _ => Ok(()),
        }
    }

    fn container_veths(&self) -> Vec<String> {
        fs::read_dir("/sys/class/net")
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| is_container_veth(n))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn add_rules(&self, script: &str) -> Result<(), NetworkError> {
        nft::apply(script)
    }

    fn delete_rules(&self, chain: &str, comment: &str) -> Result<(), NetworkError> {
        nft::delete_by_comment(chain, comment)
    }

    fn host_dir(&self) -> PathBuf {
        PathBuf::from(HOST_DIR)
    }

    fn dns_join(
        &self,
        bridge: &str,
        net: (Ipv4Addr, u8),
        entry: dns::Entry,
    ) -> Result<(), NetworkError> {
        let exe = std::env::current_exe().map_err(sys("find", "the k3 binary"))?;
        dns::join(&self.host_dir(), bridge, net, entry, &exe)
            .map_err(|e| sys("name the container on", bridge)(io::Error::other(e)))
    }

    fn dns_leave(&self, hash: &str) -> Result<(), String> {
        dns::leave(&self.host_dir(), hash)
    }
}

/// A container's host veth by its name (`k3-` and 12 hex digits), and not
/// a bridge (a network's bridge may have any name that fits).
fn is_container_veth(name: &str) -> bool {
    name.len() == 15
        && name.starts_with("k3-")
        && name[3..].bytes().all(|b| b.is_ascii_hexdigit())
        && !Path::new("/sys/class/net")
            .join(name)
            .join("bridge")
            .exists()
}
