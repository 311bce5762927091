//! The network verbs: `k3 network create`, `rm`, `inspect`.

use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use serde::Serialize;

use super::error::NetworkError;
use super::ipam::Subnet;
use super::ledger;
use super::lock::lock;
use super::names::{bridge_name, parse_subnet};
use super::{netns, nft};
use crate::context::Engine;
use crate::db;
use crate::db::networks::{self, Lease, NetworkRecord};
use crate::options::name_ok;

/// `k3 network create`.
pub fn create(
    ctx: &mut Engine,
    name: &str,
    subnet: &str,
    gateway: Option<&str>,
) -> Result<NetworkRecord, NetworkError> {
    if !name_ok(name) || ["host", "none"].contains(&name) {
        return Err(NetworkError::Invalid {
            what: "name",
            value: name.to_string(),
            reason: "use up to 64 letters, digits, `_.-` (not `host` or `none`)".into(),
        });
    }
    let bridge = bridge_name(name);
    let s = parse_subnet(subnet)?;
    let gw = match gateway {
        None => s.first_host(),
        Some(g) => {
            let ip: Ipv4Addr = g.parse().map_err(|_| NetworkError::Invalid {
                what: "gateway",
                value: g.to_string(),
                reason: "not an IPv4 address".into(),
            })?;
            if !s.is_host(ip) {
                return Err(NetworkError::Invalid {
                    what: "gateway",
                    value: g.to_string(),
                    reason: format!("not a host address of `{s}`"),
                });
            }
            ip
        }
    };
    let _l = lock(ctx)?;
    let all = networks::list(ctx.db.conn())?;
    if all.iter().any(|n| n.name == name) {
        return Err(NetworkError::Exists(name.to_string()));
    }
    if let Some(o) = all.iter().find(|n| n.bridge == bridge) {
        return Err(NetworkError::Invalid {
            what: "name",
            value: name.to_string(),
            reason: format!(
                "its bridge `{bridge}` is the bridge of network `{}`",
                o.name
            ),
        });
    }
    if let Some(o) = all
        .iter()
        .find(|n| Subnet::parse(&n.subnet).is_some_and(|x| x.overlaps(&s)))
    {
        return Err(NetworkError::Invalid {
            what: "subnet",
            value: subnet.to_string(),
            reason: format!("overlaps network `{}` (`{}`)", o.name, o.subnet),
        });
    }
    let rec = NetworkRecord {
        name: name.to_string(),
        bridge,
        subnet: s.to_string(),
        gateway: gw.to_string(),
        created_at: db::now(),
    };
    ledger::others(ctx)?.check_network(&rec)?;
    ctx.network.ensure_bridge(&rec, &s, gw)?;
    networks::insert(ctx.db.conn(), &rec)?;
    ledger::publish(ctx)?;
    Ok(rec)
}

/// `k3 network rm`: refused while containers hold leases on it; its bridge
/// and masquerade rules stay while another root has the same network.
pub fn remove(ctx: &mut Engine, name: &str) -> Result<(), NetworkError> {
    let _l = lock(ctx)?;
    let net = networks::get(ctx.db.conn(), name)?
        .ok_or_else(|| NetworkError::NoSuchNetwork(name.to_string()))?;
    let users: Vec<String> = networks::leases(ctx.db.conn(), Some(name))?
        .into_iter()
        .map(|l| l.container_id)
        .collect();
    if !users.is_empty() {
        return Err(NetworkError::InUse {
            name: name.to_string(),
            users,
        });
    }
    if !ledger::others(ctx)?.uses_bridge(&net.bridge) {
        for chain in nft::NETWORK_CHAINS {
            ctx.network.delete_rules(chain, &format!("net:{name}"))?;
        }
        ctx.network
            .delete_link(&net.bridge)
            .map_err(|e| NetworkError::Sys {
                op: "delete bridge",
                what: net.bridge.clone(),
                source: io::Error::other(e),
            })?;
    }
    networks::delete(ctx.db.conn(), name)?;
    ledger::publish(ctx)
}

/// A network with its leases (`inspect`).
#[derive(Debug, Serialize)]
pub struct NetworkInfo {
    /// The network's record.
    #[serde(flatten)]
    pub record: NetworkRecord,
    /// The addresses leased on it.
    pub leases: Vec<Lease>,
}

/// `k3 network inspect`.
pub fn inspect(ctx: &Engine, name: &str) -> Result<NetworkInfo, NetworkError> {
    let record = networks::get(ctx.db.conn(), name)?
        .ok_or_else(|| NetworkError::NoSuchNetwork(name.to_string()))?;
    let leases = networks::leases(ctx.db.conn(), Some(name))?;
    Ok(NetworkInfo { record, leases })
}

/// The namespace file of a container (for tests and `inspect`).
pub fn netns_path(ctx: &Engine, hash: &str) -> PathBuf {
    netns::path(ctx.store.root(), hash)
}
