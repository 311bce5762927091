//! Step 9 of create (the veth pair, `eth0` inside, the DNAT rules), and
//! the network's part in the later verbs: `start` of a stopped container
//! (reattach) and `rm` (teardown).

use std::net::Ipv4Addr;

use super::dns;
use super::error::NetworkError;
use super::host::{make_netns, release_at, Addr};
use super::ledger;
use super::lock::lock;
use super::names::{parse_mac, parse_subnet, veth_name, DEFAULT_NAME};
use super::nft;
use super::plan::NetPlan;
use crate::bundle::NetMode;
use crate::context::Engine;
use crate::db::{containers, networks};
use crate::undo::UndoStack;

/// Step 9: the veth pair, `eth0` configured inside, the container's name
/// on a user network's DNS responder, the DNAT rules.
pub fn attach(
    ctx: &Engine,
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
    ctx.network.add_veth(&host, plan.mac, ns)?;
    let h = host.clone();
    undo.push("delete veth", move |c: &Engine| c.network.delete_link(&h));
    let addr = Addr {
        ip,
        prefix: *prefix,
        gw: *gw,
    };
    ctx.network.plug(&host, bridge, ns, addr)?;
    if plan.network != DEFAULT_NAME {
        let entry = dns::Entry::new(hash, ip, &plan.owner, &plan.aliases);
        ctx.network.dns_join(bridge, (*gw, *prefix), entry)?;
        let h = hash.to_string();
        undo.push("drop DNS names", move |c: &Engine| c.network.dns_leave(&h));
    }
    if !plan.ports.is_empty() {
        add_port_rules(ctx, plan, ip, hash, undo)?;
    }
    Ok(())
}

/// The comment of a container's DNAT rules: its hash, unique on the host
/// (two roots may each have a container `web`).
fn rule_tag(hash: &str) -> String {
    format!("ctr:{hash}")
}

fn add_port_rules(
    ctx: &Engine,
    plan: &NetPlan,
    ip: Ipv4Addr,
    hash: &str,
    undo: &mut UndoStack<Engine>,
) -> Result<(), NetworkError> {
    let tag = rule_tag(hash);
    let owner = hash.to_string();
    let script: String = plan
        .ports
        .iter()
        .map(|p| {
            let hip = p.host_ip.map(|h| h.to_string());
            nft::port_rule(
                &owner,
                hip.as_deref(),
                p.proto.as_str(),
                p.host_port,
                &ip.to_string(),
                p.container_port,
            )
        })
        .collect();
    ctx.network.add_rules(&script)?;
    undo.push("delete port rules", move |c: &Engine| {
        c.network
            .delete_rules("portmap", &tag)
            .map_err(|e| e.to_string())
    });
    Ok(())
}

/// Before a stopped container runs again: a new namespace and veth with
/// its lease (kept until the container is removed).
pub fn reattach(ctx: &Engine, id: &str, hash: &str) -> Result<(), NetworkError> {
    let (net, root) = (ctx.network.as_ref(), ctx.store.root().to_path_buf());
    let record = containers::get(ctx.db.conn(), id)?;
    let Some(lease) = networks::lease_of(ctx.db.conn(), id)? else {
        let none = record
            .as_ref()
            .is_some_and(|r| r.validated["network"] == "none");
        if none {
            release_at(net, &root, hash);
            make_netns(net, &root, hash)?;
        }
        return Ok(());
    };
    let _l = lock(ctx)?;
    let rec = networks::get(ctx.db.conn(), &lease.network)?
        .ok_or_else(|| NetworkError::NotFound(lease.network.clone()))?;
    let others = ledger::others(ctx)?;
    others.check_network(&rec)?;
    let subnet = parse_subnet(&rec.subnet)?;
    // the ledger lost this root's part (a reboot empties `/run`) and another
    // root leased the address meanwhile: refused, not shared
    if let Some(ip) = lease
        .ip
        .parse()
        .ok()
        .filter(|ip| others.ips_in(&subnet).contains(ip))
    {
        return Err(NetworkError::IpInUse {
            ip,
            network: rec.name.clone(),
        });
    }
    ledger::publish(ctx)?;
    let gw: Ipv4Addr = rec.gateway.parse().unwrap_or(subnet.first_host());
    net.ensure_bridge(&rec, &subnet, gw)?;
    release_at(net, &root, hash);
    let ns = make_netns(net, &root, hash)?;
    let plan = NetPlan {
        mode: NetMode::Path(ns),
        network: rec.name.clone(),
        ip: lease.ip.parse().ok(),
        mac: parse_mac(&lease.mac),
        bridge: Some((rec.bridge.clone(), gw, subnet.prefix)),
        ports: Vec::new(),
        owner: id.to_string(),
        // saved with the container (`--network-alias`), named again
        aliases: record
            .and_then(|r| serde_json::from_value(r.validated["network_aliases"].clone()).ok())
            .unwrap_or_default(),
    };
    let mut undo = UndoStack::default();
    if let Err(e) = attach(ctx, &plan, hash, &mut undo) {
        undo.unwind(ctx);
        release_at(net, &root, hash);
        return Err(e);
    }
    undo.commit();
    Ok(())
}

/// When a container is removed: veth, netns, lease, port rules.
pub fn teardown(ctx: &mut Engine, id: &str, hash: &str) -> Result<(), NetworkError> {
    let root = ctx.store.root().to_path_buf();
    let _l = lock(ctx)?;
    release_at(ctx.network.as_ref(), &root, hash);
    if !networks::ports(ctx.db.conn())?
        .iter()
        .all(|p| p.container_id != id)
    {
        ctx.network.delete_rules("portmap", &rule_tag(hash))?;
    }
    ctx.db
        .write("release lease", |c| networks::release(c, id))?;
    ledger::publish(ctx)
}
