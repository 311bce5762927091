//! IP leases and published ports, taken in one database transaction.

use std::collections::HashSet;
use std::net::{Ipv4Addr, TcpListener, UdpSocket};

use super::error::NetworkError;
use super::ipam::{self, Refusal, Subnet};
use super::ledger::Others;
use super::names::fmt_mac;
use crate::context::Engine;
use crate::db;
use crate::db::networks::{self, Lease, NetworkRecord, PortRecord};
use crate::options::{PortMapping, Proto, Validated};

/// Leases a static or the next free IP, and records the published ports,
/// in one `IMMEDIATE` transaction; what other roots hold is not free either.
pub(super) fn take_lease(
    ctx: &Engine,
    v: &Validated,
    (net, subnet, gw): (&NetworkRecord, &Subnet, Ipv4Addr),
    hash: &str,
    others: &Others,
) -> Result<Lease, NetworkError> {
    let mut db = db::Db::open(&ctx.store.db_path())?;
    let tx = db
        .conn_mut()
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| NetworkError::Db(db::query("begin lease")(e)))?;
    let mut used: HashSet<Ipv4Addr> = networks::leases(&tx, Some(&net.name))?
        .iter()
        .filter_map(|l| l.ip.parse().ok())
        .collect();
    used.extend(others.ips_in(subnet));
    let ip = pick_ip(v.ip, net, subnet, gw, &used)?;
    let lease = Lease {
        network: net.name.clone(),
        ip: ip.to_string(),
        container_id: v.id.clone(),
        hash: hash.to_string(),
        mac: fmt_mac(v.mac.unwrap_or_else(|| ipam::mac_for(ip))),
    };
    networks::insert_lease(&tx, &lease, db::now())?;
    reserve_ports(&tx, v, &ip, others)?;
    tx.commit()
        .map_err(|e| NetworkError::Db(db::query("commit lease")(e)))?;
    Ok(lease)
}

pub(super) fn pick_ip(
    want: Option<Ipv4Addr>,
    net: &NetworkRecord,
    subnet: &Subnet,
    gw: Ipv4Addr,
    used: &HashSet<Ipv4Addr>,
) -> Result<Ipv4Addr, NetworkError> {
    let network = net.name.clone();
    let Some(ip) = want else {
        return ipam::next_free(subnet, gw, used).ok_or(NetworkError::Exhausted {
            network,
            subnet: net.subnet.clone(),
        });
    };
    ipam::validate_static(subnet, gw, used, ip).map_err(|r| match r {
        Refusal::OutsideSubnet => NetworkError::IpOutside {
            ip,
            network,
            subnet: net.subnet.clone(),
        },
        Refusal::Reserved(what) => NetworkError::IpReserved { ip, what, network },
        Refusal::InUse => NetworkError::IpInUse { ip, network },
    })?;
    Ok(ip)
}

pub(super) fn reserve_ports(
    tx: &rusqlite::Connection,
    v: &Validated,
    ip: &Ipv4Addr,
    others: &Others,
) -> Result<(), NetworkError> {
    let taken = networks::ports(tx)?;
    for p in &v.publish {
        let proto = p.proto.as_str();
        if let Some(t) = taken
            .iter()
            .find(|t| t.host_port == p.host_port && t.proto == proto)
        {
            return Err(NetworkError::PortTaken {
                port: p.host_port,
                proto,
                by: t.container_id.clone(),
            });
        }
        if let Some((root, by)) = others.port(p.host_port, proto) {
            return Err(NetworkError::PortTakenByRoot {
                port: p.host_port,
                proto,
                by: by.to_string(),
                root: root.to_string(),
            });
        }
        host_port_free(p)?;
        networks::insert_port(
            tx,
            &PortRecord {
                host_port: p.host_port,
                proto: proto.to_string(),
                host_ip: p.host_ip.map(|i| i.to_string()),
                container_id: v.id.clone(),
                container_ip: ip.to_string(),
                container_port: p.container_port,
            },
        )?;
    }
    Ok(())
}

/// Refuses a port a host process has bound.
pub(super) fn host_port_free(p: &PortMapping) -> Result<(), NetworkError> {
    let ip = p.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
    let free = match p.proto {
        Proto::Tcp => TcpListener::bind((ip, p.host_port)).is_ok(),
        Proto::Udp => UdpSocket::bind((ip, p.host_port)).is_ok(),
    };
    if free {
        Ok(())
    } else {
        Err(NetworkError::PortBound {
            port: p.host_port,
            proto: p.proto.as_str(),
        })
    }
}
