//! Step 6 of create: where a container's network ends up ([`NetPlan`]): the
//! host's namespace, a namespace of its own (`none`), or a bridge network
//! with a leased IP and a pinned namespace.

use std::net::Ipv4Addr;

use super::error::NetworkError;
use super::host::make_netns;
use super::lease::take_lease;
use super::ledger;
use super::lock::lock;
use super::names::{parse_mac, parse_subnet, DEFAULT_NAME, DEFAULT_SUBNET};
use super::reconcile::reconcile;
use crate::bundle::NetMode;
use crate::context::Engine;
use crate::db;
use crate::db::networks::{self, NetworkRecord};
use crate::options::{PortMapping, Validated};
use crate::undo::UndoStack;

/// Where a container's network ends up.
#[derive(Debug, Clone)]
pub struct NetPlan {
    /// How config.json sets the network namespace.
    pub mode: NetMode,
    /// The network's name.
    pub network: String,
    /// The leased IP (bridge networks).
    pub ip: Option<Ipv4Addr>,
    /// The container's MAC.
    pub mac: [u8; 6],
    /// The bridge, gateway and prefix (bridge networks).
    pub bridge: Option<(String, Ipv4Addr, u8)>,
    /// Published ports.
    pub ports: Vec<PortMapping>,
    /// The container id (comments of its nft rules).
    pub owner: String,
    /// Its other names on a user network's DNS (`--network-alias`).
    pub aliases: Vec<String>,
}

impl Default for NetPlan {
    fn default() -> Self {
        NetPlan {
            mode: NetMode::None,
            network: "none".into(),
            ip: None,
            mac: [0; 6],
            bridge: None,
            ports: Vec::new(),
            owner: String::new(),
            aliases: Vec::new(),
        }
    }
}

/// Step 6.
pub fn prepare(
    ctx: &Engine,
    v: &Validated,
    hash: &str,
    undo: &mut UndoStack<Engine>,
) -> Result<NetPlan, NetworkError> {
    match v.network.as_str() {
        "host" => Ok(NetPlan {
            mode: NetMode::Host,
            network: "host".into(),
            ..NetPlan::default()
        }),
        "none" => prepare_none(ctx, hash, undo),
        name => prepare_bridge(ctx, v, name, hash, undo),
    }
}

/// `none`: a namespace of k3's own with `lo` up. (Left to the runtime, k3rt
/// leaves `lo` down; made here it is the same with every runtime.)
pub(super) fn prepare_none(
    ctx: &Engine,
    hash: &str,
    undo: &mut UndoStack<Engine>,
) -> Result<NetPlan, NetworkError> {
    let ns = make_netns(ctx.network.as_ref(), ctx.store.root(), hash)?;
    let nsp = ns.clone();
    undo.push("remove network namespace", move |c: &Engine| {
        c.network.remove_netns(&nsp).map_err(|e| e.to_string())
    });
    Ok(NetPlan {
        mode: NetMode::Path(ns),
        ..NetPlan::default()
    })
}

pub(super) fn prepare_bridge(
    ctx: &Engine,
    v: &Validated,
    name: &str,
    hash: &str,
    undo: &mut UndoStack<Engine>,
) -> Result<NetPlan, NetworkError> {
    let root = ctx.store.root().to_path_buf();
    let _l = lock(ctx)?;
    reconcile(ctx);
    let others = ledger::others(ctx)?;
    let net = network_for_use(ctx, name)?;
    others.check_network(&net)?;
    let subnet = parse_subnet(&net.subnet)?;
    let gateway: Ipv4Addr = net.gateway.parse().unwrap_or(subnet.first_host());
    ctx.network.ensure_bridge(&net, &subnet, gateway)?;
    let lease = take_lease(ctx, v, (&net, &subnet, gateway), hash, &others)?;
    ledger::publish(ctx)?;
    let id = v.id.clone();
    undo.push("release IP lease", move |c: &Engine| {
        networks::release(c.db.conn(), &id).map_err(|e| e.to_string())?;
        let _l = lock(c).map_err(|e| e.to_string())?;
        ledger::publish(c).map_err(|e| e.to_string())
    });
    let ns = make_netns(ctx.network.as_ref(), &root, hash)?;
    let nsp = ns.clone();
    undo.push("remove network namespace", move |c: &Engine| {
        c.network.remove_netns(&nsp).map_err(|e| e.to_string())
    });
    Ok(NetPlan {
        mode: NetMode::Path(ns),
        network: name.to_string(),
        ip: lease.ip.parse().ok(),
        mac: parse_mac(&lease.mac),
        bridge: Some((net.bridge.clone(), gateway, subnet.prefix)),
        ports: v.publish.clone(),
        owner: v.id.clone(),
        aliases: v.network_aliases.clone(),
    })
}

/// The network record; `kb0` is made on first use.
pub(super) fn network_for_use(ctx: &Engine, name: &str) -> Result<NetworkRecord, NetworkError> {
    if let Some(n) = networks::get(ctx.db.conn(), name)? {
        return Ok(n);
    }
    if name != DEFAULT_NAME {
        return Err(NetworkError::NotFound(name.to_string()));
    }
    let subnet = parse_subnet(DEFAULT_SUBNET)?;
    let rec = NetworkRecord {
        name: name.to_string(),
        bridge: name.to_string(),
        subnet: subnet.to_string(),
        gateway: subnet.first_host().to_string(),
        created_at: db::now(),
    };
    networks::insert(ctx.db.conn(), &rec)?;
    Ok(rec)
}
