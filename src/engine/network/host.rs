//! The host's side of networking: namespaces, bridges, veths, addresses,
//! routes and nftables rules, through netlink and `nft`.

use std::fs::{self, File};
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use super::error::{sys, NetworkError};
use super::ipam::Subnet;
use super::names::veth_name;
use super::netlink::{self, Netlink};
use super::{netns, nft};
use crate::db::networks::NetworkRecord;

/// A pinned namespace for `hash` with `lo` up.
pub(super) fn make_netns(root: &Path, hash: &str) -> Result<PathBuf, NetworkError> {
    let ns = netns::path(root, hash);
    netns::create(&ns).map_err(sys("create network namespace", ns.display()))?;
    let up = netns::open(&ns).and_then(|f| {
        netlink::in_netns(&f, || {
            let lo = netlink::index("lo").ok_or_else(|| io::Error::other("no `lo`"))?;
            Netlink::open()?.set_up(lo, None)
        })
    });
    if let Err(e) = up {
        let _ = netns::remove(&ns);
        return Err(sys("set `lo` up in", ns.display())(e));
    }
    Ok(ns)
}

/// The bridge device with its gateway address, up, `route_localnet` on,
/// forwarding on, and the network's masquerade rules (all idempotent).
pub(super) fn ensure_bridge(
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
    if nft::handles("postrouting", &format!("net:{}", net.name))?.is_empty() {
        nft::apply(&nft::network_rules(
            &net.name,
            &net.bridge,
            &subnet.to_string(),
        ))?;
    }
    Ok(())
}

pub(super) fn delete_link(name: &str) -> Result<(), String> {
    let Some(i) = netlink::index(name) else {
        return Ok(());
    };
    let nl = Netlink::open().map_err(|e| e.to_string())?;
    match nl.del_link(i) {
        Err(e) if e.raw_os_error() != Some(libc::ENODEV) => Err(format!("delete `{name}`: {e}")),
        _ => Ok(()),
    }
}

/// Inside the namespace: `lo` up, `eth0` up with its address, default route.
pub(super) fn configure_inside(
    ns: &File,
    ip: Ipv4Addr,
    prefix: u8,
    gw: Ipv4Addr,
) -> Result<(), NetworkError> {
    netlink::in_netns(ns, move || {
        let nl = Netlink::open()?;
        let lo = netlink::index("lo").ok_or_else(|| io::Error::other("no `lo`"))?;
        nl.set_up(lo, None)?;
        let eth = netlink::index("eth0").ok_or_else(|| io::Error::other("no `eth0`"))?;
        nl.add_addr(eth, ip, prefix)?;
        nl.set_up(eth, None)?;
        nl.add_default_route(gw)
    })
    .map_err(sys("configure `eth0` in", "the container namespace"))
}

/// When a container stops: its netns and veth go (lease and ports stay).
pub fn release_at(root: &Path, hash: &str) {
    let _ = delete_link(&veth_name(hash));
    let _ = netns::remove(&netns::path(root, hash));
}

/// A container's host veth by its name (`k3-` and 12 hex digits), and not
/// a bridge (a network's bridge may have any name that fits).
pub(super) fn is_container_veth(name: &str) -> bool {
    name.len() == 15
        && name.starts_with("k3-")
        && name[3..].bytes().all(|b| b.is_ascii_hexdigit())
        && !Path::new("/sys/class/net")
            .join(name)
            .join("bridge")
            .exists()
}
