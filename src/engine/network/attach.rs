//! Step 9 of create (the veth pair, `eth0` inside, the DNAT rules), and
//! the network's part in the later verbs: `start` of a stopped container
//! (reattach) and `rm` (teardown).

use std::io;
use std::net::Ipv4Addr;

use super::error::{sys, NetworkError};
use super::host::{configure_inside, delete_link, ensure_bridge, make_netns, release_at};
use super::lock::lock;
use super::names::{parse_mac, parse_subnet, veth_name};
use super::netlink::{self, Netlink};
use super::plan::NetPlan;
use super::{netns, nft};
use crate::bundle::NetMode;
use crate::context::Engine;
use crate::db::{containers, networks};
use crate::undo::UndoStack;

/// Step 9: the veth pair, `eth0` configured inside, the DNAT rules.
pub fn attach(
    _ctx: &Engine,
    plan: &NetPlan,
    hash: &str,
    undo: &mut UndoStack<Engine>,
) -> Result<(), NetworkError> {
    let (NetMode::Path(ns), Some((bridge, gw, prefix)), Some(ip)) =
        (&plan.mode, &plan.bridge, plan.ip)
    else {
        return Ok(());
    };
    let host = veth_name(hash);
    let nsf = netns::open(ns).map_err(sys("open", ns.display()))?;
    let nl = Netlink::open().map_err(sys("open", "netlink"))?;
    nl.add_veth(&host, "eth0", plan.mac, &nsf)
        .map_err(sys("create veth pair", &host))?;
    let h = host.clone();
    undo.push("delete veth", move |_| delete_link(&h));
    let idx = netlink::index(&host)
        .ok_or_else(|| sys("find", &host)(io::Error::from_raw_os_error(libc::ENODEV)))?;
    let br = netlink::index(bridge).ok_or_else(|| NetworkError::NotFound(bridge.clone()))?;
    nl.set_up(idx, Some(br))
        .map_err(sys("attach veth to bridge", &host))?;
    configure_inside(&nsf, ip, *prefix, *gw)?;
    if !plan.ports.is_empty() {
        add_port_rules(plan, ip, undo)?;
    }
    Ok(())
}

pub(super) fn add_port_rules(
    plan: &NetPlan,
    ip: Ipv4Addr,
    undo: &mut UndoStack<Engine>,
) -> Result<(), NetworkError> {
    let id = plan.owner.clone();
    let script: String = plan
        .ports
        .iter()
        .map(|p| {
            let hip = p.host_ip.map(|h| h.to_string());
            nft::port_rule(
                &id,
                hip.as_deref(),
                p.proto.as_str(),
                p.host_port,
                &ip.to_string(),
                p.container_port,
            )
        })
        .collect();
    nft::apply(&script)?;
    undo.push("delete port rules", move |_| {
        nft::delete_by_comment("portmap", &format!("ctr:{id}")).map_err(|e| e.to_string())
    });
    Ok(())
}

/// Before a stopped container runs again: a new namespace and veth with
/// its lease (kept until the container is removed).
pub fn reattach(ctx: &Engine, id: &str, hash: &str) -> Result<(), NetworkError> {
    let root = ctx.store.root().to_path_buf();
    let Some(lease) = networks::lease_of(ctx.db.conn(), id)? else {
        let none =
            containers::get(ctx.db.conn(), id)?.is_some_and(|r| r.validated["network"] == "none");
        if none {
            release_at(&root, hash);
            make_netns(&root, hash)?;
        }
        return Ok(());
    };
    let _l = lock(&root)?;
    let net = networks::get(ctx.db.conn(), &lease.network)?
        .ok_or_else(|| NetworkError::NotFound(lease.network.clone()))?;
    let subnet = parse_subnet(&net.subnet)?;
    let gw: Ipv4Addr = net.gateway.parse().unwrap_or(subnet.first_host());
    ensure_bridge(&net, &subnet, gw)?;
    release_at(&root, hash);
    let ns = make_netns(&root, hash)?;
    let plan = NetPlan {
        mode: NetMode::Path(ns),
        network: net.name.clone(),
        ip: lease.ip.parse().ok(),
        mac: parse_mac(&lease.mac),
        bridge: Some((net.bridge.clone(), gw, subnet.prefix)),
        ports: Vec::new(),
        owner: id.to_string(),
    };
    let mut undo = UndoStack::default();
    if let Err(e) = attach(ctx, &plan, hash, &mut undo) {
        undo.unwind(ctx);
        release_at(&root, hash);
        return Err(e);
    }
    undo.commit();
    Ok(())
}

/// When a container is removed: veth, netns, lease, port rules.
pub fn teardown(ctx: &mut Engine, id: &str, hash: &str) -> Result<(), NetworkError> {
    let root = ctx.store.root().to_path_buf();
    let _l = lock(&root)?;
    release_at(&root, hash);
    if !networks::ports(ctx.db.conn())?
        .iter()
        .all(|p| p.container_id != id)
    {
        nft::delete_by_comment("portmap", &format!("ctr:{id}"))?;
    }
    ctx.db
        .write("release lease", |c| networks::release(c, id))?;
    Ok(())
}
