//! The ledger: what each k3 root on this host holds of the host's network —
//! its bridge networks, IP leases and published ports, a copy of its
//! `networks`, `leases` and `ports` rows — in one file,
//! `/run/k3/network/ledger.json`, read and written under the network lock.
//!
//! Bridges, addresses on them, host ports and nftables rules belong to the
//! host, not to a root: two roots that each kept their own view handed out
//! the same IP on `kb0` and removed each other's veths and rules. So a root
//! checks the others' part ([`others`]) before it takes a bridge, an address
//! or a port, and rewrites its own part ([`publish`]) after each change. The
//! copy is refreshed from the root's database at each of its network changes,
//! so a crash between the database and the ledger heals at the next one; the
//! part of a root whose directory is gone is dropped. The file lives in
//! `/run` as the bridges, veths and rules it describes do: all go at a reboot.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{sys, NetworkError};
use super::ipam::Subnet;
use crate::context::Engine;
use crate::db::networks::{self, Lease, NetworkRecord, PortRecord};

const FILE: &str = "ledger.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Ledger {
    /// Each root's part, by the root's canonical path.
    roots: BTreeMap<String, Share>,
}

/// One root's part of the host's network.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(super) struct Share {
    networks: Vec<NetworkRecord>,
    leases: Vec<Lease>,
    ports: Vec<PortRecord>,
}

/// The other roots' parts.
#[derive(Debug, Default)]
pub(super) struct Others(Vec<(String, Share)>);

/// The key of `ctx`'s root in the ledger.
fn key(ctx: &Engine) -> String {
    let root = ctx.store.root();
    fs::canonicalize(root)
        .unwrap_or_else(|_| root.to_path_buf())
        .display()
        .to_string()
}

fn read(dir: &Path) -> Result<Ledger, NetworkError> {
    let p = dir.join(FILE);
    match fs::read(&p) {
        // not guessed around: an empty ledger would hand out other roots' IPs
        Ok(b) => {
            serde_json::from_slice(&b).map_err(|e| sys("read", p.display())(io::Error::other(e)))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Ledger::default()),
        Err(e) => Err(sys("read", p.display())(e)),
    }
}

/// The parts of roots that still exist (a removed root's is dropped).
fn live(mut l: Ledger) -> Ledger {
    l.roots.retain(|root, _| Path::new(root).is_dir());
    l
}

/// The other roots' parts (the caller holds the network lock).
pub(super) fn others(ctx: &Engine) -> Result<Others, NetworkError> {
    let me = key(ctx);
    let l = live(read(&ctx.network.host_dir())?);
    Ok(Others(
        l.roots.into_iter().filter(|(r, _)| *r != me).collect(),
    ))
}

/// Rewrites this root's part from its database (the caller holds the
/// network lock).
pub(super) fn publish(ctx: &Engine) -> Result<(), NetworkError> {
    let dir = ctx.network.host_dir();
    let mut l = live(read(&dir)?);
    let conn = ctx.db.conn();
    let share = Share {
        networks: networks::list(conn)?,
        leases: networks::leases(conn, None)?,
        ports: networks::ports(conn)?,
    };
    l.roots.insert(key(ctx), share);
    let tmp: PathBuf = dir.join(format!("{FILE}.{}", std::process::id()));
    let body = serde_json::to_vec_pretty(&l).map_err(|e| sys("write", tmp.display())(e.into()))?;
    fs::write(&tmp, body).map_err(sys("write", tmp.display()))?;
    fs::rename(&tmp, dir.join(FILE)).map_err(sys("write", dir.join(FILE).display()))
}

impl Others {
    /// Refuses network `net` when another root has its bridge with another
    /// subnet or gateway, or a subnet overlapping it on another bridge. The
    /// same bridge, subnet and gateway is the same network, shared (as
    /// `kb0` is).
    pub(super) fn check_network(&self, net: &NetworkRecord) -> Result<(), NetworkError> {
        let mine = Subnet::parse(&net.subnet);
        for (root, n) in self.networks() {
            let reason = if n.bridge == net.bridge {
                if n.subnet == net.subnet && n.gateway == net.gateway {
                    continue;
                }
                format!(
                    "bridge `{}` is network `{}` (`{}`, gateway `{}`) of k3 root `{root}`",
                    n.bridge, n.name, n.subnet, n.gateway
                )
            } else if Subnet::parse(&n.subnet)
                .zip(mine)
                .is_some_and(|(a, b)| a.overlaps(&b))
            {
                format!(
                    "overlaps network `{}` (`{}`) of k3 root `{root}`",
                    n.name, n.subnet
                )
            } else {
                continue;
            };
            return Err(NetworkError::Invalid {
                what: "subnet",
                value: net.subnet.clone(),
                reason,
            });
        }
        Ok(())
    }

    /// Addresses other roots lease in `subnet`.
    pub(super) fn ips_in(&self, subnet: &Subnet) -> HashSet<Ipv4Addr> {
        self.0
            .iter()
            .flat_map(|(_, s)| &s.leases)
            .filter_map(|l| l.ip.parse().ok())
            .filter(|ip| subnet.contains(*ip))
            .collect()
    }

    /// The root and container publishing host port `port`/`proto`, if another root does.
    pub(super) fn port(&self, port: u16, proto: &str) -> Option<(&str, &str)> {
        self.0.iter().find_map(|(root, s)| {
            s.ports
                .iter()
                .find(|p| p.host_port == port && p.proto == proto)
                .map(|p| (root.as_str(), p.container_id.as_str()))
        })
    }

    /// Whether another root has a network on `bridge`.
    pub(super) fn uses_bridge(&self, bridge: &str) -> bool {
        self.networks().any(|(_, n)| n.bridge == bridge)
    }

    fn networks(&self) -> impl Iterator<Item = (&str, &NetworkRecord)> {
        self.0
            .iter()
            .flat_map(|(r, s)| s.networks.iter().map(move |n| (r.as_str(), n)))
    }
}
