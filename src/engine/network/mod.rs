//! Container networking: `host` (the host's namespace), `none` (loopback
//! only, in a namespace k3 pins like a bridge network's) and bridge networks (`kb0`,
//! `192.168.100.0/24`, made on first use; others with `k3 network create`).
//!
//! For a bridge network, [`prepare`] (seed step 6) leases an IP (and MAC),
//! records the published ports and makes a named network namespace
//! (`ROOT/netns/<hash>`), which `config.json` joins by path; [`attach`]
//! (step 9) creates the veth pair with its peer directly in that namespace
//! as `eth0`, addresses it, sets the default route and adds the DNAT rules.
//! The container's process thus starts with its network ready (no hook, no
//! race with an application that binds at once), and every step has its
//! undo. All network changes run under one lock file (`ROOT/network.lock`).

pub mod ipam;
pub mod netlink;
pub mod netns;
pub mod nft;

use std::collections::HashSet;
use std::fs::{self, File};
use std::io;
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::bundle::NetMode;
use crate::context::Engine;
use crate::db::networks::{self, Lease, NetworkRecord, PortRecord};
use crate::db::{self, containers, DbError};
use crate::error_kind::ErrorKind;
use crate::options::{name_ok, PortMapping, Proto, Validated};
use crate::undo::UndoStack;
use ipam::{Refusal, Subnet};
use netlink::Netlink;

/// The default network.
pub const DEFAULT_NAME: &str = "kb0";
/// Its subnet.
pub const DEFAULT_SUBNET: &str = "192.168.100.0/24";

/// A network failure.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// No such network, for a container that asks to join it (seed 000: NETWORK_ERROR).
    #[error("network `{0}` not found")]
    NotFound(String),
    /// No such network, named by a network verb itself (`rm`, `inspect`: 404).
    #[error("network `{0}` not found")]
    NoSuchNetwork(String),
    /// A static IP outside the subnet.
    #[error("IP `{ip}` is not in the subnet `{subnet}` of network `{network}`")]
    IpOutside {
        ip: Ipv4Addr,
        network: String,
        subnet: String,
    },
    /// A static IP that is the network, broadcast or gateway address.
    #[error("IP `{ip}` is {what} of network `{network}`")]
    IpReserved {
        ip: Ipv4Addr,
        what: &'static str,
        network: String,
    },
    /// A static IP another container holds.
    #[error("IP `{ip}` is already in use on network `{network}`")]
    IpInUse { ip: Ipv4Addr, network: String },
    /// No address left.
    #[error("no free IP address left in network `{network}` (`{subnet}`)")]
    Exhausted { network: String, subnet: String },
    /// The host port is published by another container.
    #[error("port `{port}/{proto}` is already published by container `{by}`")]
    PortTaken {
        port: u16,
        proto: &'static str,
        by: String,
    },
    /// The host port is bound by a host process.
    #[error("port `{port}/{proto}` is already in use on the host")]
    PortBound { port: u16, proto: &'static str },
    /// A network option is malformed.
    #[error("invalid `{what}` value `{value}`: {reason}")]
    Invalid {
        what: &'static str,
        value: String,
        reason: String,
    },
    /// The network exists.
    #[error("network `{0}` already exists")]
    Exists(String),
    /// The network has containers.
    #[error("network `{name}` is in use by container(s) `{}`", users.join("`, `"))]
    InUse { name: String, users: Vec<String> },
    /// A netlink or namespace operation failed.
    #[error("cannot {op} `{what}`")]
    Sys {
        op: &'static str,
        what: String,
        #[source]
        source: io::Error,
    },
    /// An nft command failed.
    #[error("nftables: {0}")]
    Nft(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl NetworkError {
    /// The seed 000 class.
    pub fn kind(&self) -> ErrorKind {
        match self {
            NetworkError::PortTaken { .. }
            | NetworkError::PortBound { .. }
            | NetworkError::Invalid { .. }
            | NetworkError::Exists(_)
            | NetworkError::InUse { .. } => ErrorKind::Validation,
            NetworkError::Db(_) => ErrorKind::Db,
            NetworkError::NoSuchNetwork(_) => ErrorKind::NotFound,
            _ => ErrorKind::Network,
        }
    }
}

fn sys(op: &'static str, what: impl ToString) -> impl FnOnce(io::Error) -> NetworkError {
    let what = what.to_string();
    move |source| NetworkError::Sys { op, what, source }
}

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
        }
    }
}

/// The network lock (all k3 processes, one k3 root).
struct Lock(#[allow(dead_code)] File);

fn lock(root: &Path) -> Result<Lock, NetworkError> {
    let p = root.join("network.lock");
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(sys("open", p.display()))?;
    // SAFETY: a valid fd; flock blocks until granted.
    if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&f), libc::LOCK_EX) } < 0 {
        return Err(sys("lock", p.display())(io::Error::last_os_error()));
    }
    Ok(Lock(f))
}

/// The bridge device of network `name`: the name itself when it fits a
/// device name (15 bytes), else `k3br` and 11 hex digits of its sha256 (a
/// network name may be up to 64 characters; a device name may not).
pub fn bridge_name(name: &str) -> String {
    if name.len() < libc::IFNAMSIZ {
        return name.to_string();
    }
    let d = <sha2::Sha256 as sha2::Digest>::digest(name.as_bytes());
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("k3br{}", &hex[..11])
}

/// The host end of a container's veth.
pub fn veth_name(hash: &str) -> String {
    format!("k3-{}", &hash[..hash.len().min(12)])
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
fn prepare_none(
    ctx: &Engine,
    hash: &str,
    undo: &mut UndoStack<Engine>,
) -> Result<NetPlan, NetworkError> {
    let ns = make_netns(ctx.store.root(), hash)?;
    let nsp = ns.clone();
    undo.push("remove network namespace", move |_| {
        netns::remove(&nsp).map_err(|e| e.to_string())
    });
    Ok(NetPlan {
        mode: NetMode::Path(ns),
        ..NetPlan::default()
    })
}

/// A pinned namespace for `hash` with `lo` up.
fn make_netns(root: &Path, hash: &str) -> Result<PathBuf, NetworkError> {
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

fn prepare_bridge(
    ctx: &Engine,
    v: &Validated,
    name: &str,
    hash: &str,
    undo: &mut UndoStack<Engine>,
) -> Result<NetPlan, NetworkError> {
    let root = ctx.store.root().to_path_buf();
    let _l = lock(&root)?;
    reconcile(ctx);
    let net = network_for_use(ctx, name)?;
    let subnet = parse_subnet(&net.subnet)?;
    let gateway: Ipv4Addr = net.gateway.parse().unwrap_or(subnet.first_host());
    ensure_bridge(&net, &subnet, gateway)?;
    let lease = take_lease(ctx, v, &net, &subnet, gateway, hash)?;
    let id = v.id.clone();
    undo.push("release IP lease", move |c: &Engine| {
        networks::release(c.db.conn(), &id).map_err(|e| e.to_string())
    });
    let ns = make_netns(&root, hash)?;
    let nsp = ns.clone();
    undo.push("remove network namespace", move |_| {
        netns::remove(&nsp).map_err(|e| e.to_string())
    });
    Ok(NetPlan {
        mode: NetMode::Path(ns),
        network: name.to_string(),
        ip: lease.ip.parse().ok(),
        mac: parse_mac(&lease.mac),
        bridge: Some((net.bridge.clone(), gateway, subnet.prefix)),
        ports: v.publish.clone(),
        owner: v.id.clone(),
    })
}

/// Ranges a bridge network may not take: "this network", loopback, link-local, and
/// multicast/reserved/broadcast. A bridge there would shadow the host's own routes.
const RESERVED: &[&str] = &["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3"];

fn parse_subnet(s: &str) -> Result<Subnet, NetworkError> {
    let subnet = Subnet::parse(s).ok_or_else(|| NetworkError::Invalid {
        what: "subnet",
        value: s.to_string(),
        reason: "use `a.b.c.d/n` with n from 1 to 30".into(),
    })?;
    for r in RESERVED {
        if Subnet::parse(r).is_some_and(|r| r.overlaps(&subnet)) {
            return Err(NetworkError::Invalid {
                what: "subnet",
                value: s.to_string(),
                reason: format!("overlaps the reserved range `{r}`"),
            });
        }
    }
    Ok(subnet)
}

fn parse_mac(s: &str) -> [u8; 6] {
    crate::options::mac(s).unwrap_or([2, 0x42, 0, 0, 0, 0])
}

fn fmt_mac(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The network record; `kb0` is made on first use.
fn network_for_use(ctx: &Engine, name: &str) -> Result<NetworkRecord, NetworkError> {
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

/// The bridge device with its gateway address, up, `route_localnet` on,
/// forwarding on, and the network's masquerade rules (all idempotent).
fn ensure_bridge(net: &NetworkRecord, subnet: &Subnet, gw: Ipv4Addr) -> Result<(), NetworkError> {
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

/// Leases a static or the next free IP, and records the published ports,
/// in one `IMMEDIATE` transaction.
fn take_lease(
    ctx: &Engine,
    v: &Validated,
    net: &NetworkRecord,
    subnet: &Subnet,
    gw: Ipv4Addr,
    hash: &str,
) -> Result<Lease, NetworkError> {
    let mut db = crate::db::Db::open(&ctx.store.db_path())?;
    let tx = db
        .conn_mut()
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| NetworkError::Db(db::query("begin lease")(e)))?;
    let used: HashSet<Ipv4Addr> = networks::leases(&tx, Some(&net.name))?
        .iter()
        .filter_map(|l| l.ip.parse().ok())
        .collect();
    let ip = pick_ip(v.ip, net, subnet, gw, &used)?;
    let lease = Lease {
        network: net.name.clone(),
        ip: ip.to_string(),
        container_id: v.id.clone(),
        hash: hash.to_string(),
        mac: fmt_mac(v.mac.unwrap_or_else(|| ipam::mac_for(ip))),
    };
    networks::insert_lease(&tx, &lease, db::now())?;
    reserve_ports(&tx, v, &ip)?;
    tx.commit()
        .map_err(|e| NetworkError::Db(db::query("commit lease")(e)))?;
    Ok(lease)
}

fn pick_ip(
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

fn reserve_ports(
    tx: &rusqlite::Connection,
    v: &Validated,
    ip: &Ipv4Addr,
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
fn host_port_free(p: &PortMapping) -> Result<(), NetworkError> {
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

fn add_port_rules(
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

fn delete_link(name: &str) -> Result<(), String> {
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
fn configure_inside(ns: &File, ip: Ipv4Addr, prefix: u8, gw: Ipv4Addr) -> Result<(), NetworkError> {
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

/// When a container stops: its netns and veth go (lease and ports stay).
pub fn release_at(root: &Path, hash: &str) {
    let _ = delete_link(&veth_name(hash));
    let _ = netns::remove(&netns::path(root, hash));
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

/// Removes leftovers of crashed creates: netns files and `k3-*` veths of
/// no container, leases of no container.
///
/// A create makes its netns and lease (step 6) and veth (step 9) well
/// before its record exists (step 13); what tells it from a crashed one is
/// its live marker (`marker`), held from before step 6 until the
/// record is committed or the work undone. The candidates are checked
/// against the markers first and against the records after: a create no
/// longer marked when checked has committed its record by then (or undone
/// its work), so the records read afterwards include it.
pub fn reconcile(ctx: &Engine) {
    let root = ctx.store.root();
    let busy = |h: &str| in_progress(root, h);
    let netns: Vec<String> = fs::read_dir(root.join("netns"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|h| !busy(h))
                .collect()
        })
        .unwrap_or_default();
    let veths: Vec<String> = fs::read_dir("/sys/class/net")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| is_container_veth(n) && !busy(&n[3..]))
                .collect()
        })
        .unwrap_or_default();
    let leases: Vec<Lease> = networks::leases(ctx.db.conn(), None)
        .map(|l| l.into_iter().filter(|l| !busy(&l.hash)).collect())
        .unwrap_or_default();
    let Ok(all) = containers::list(ctx.db.conn()) else {
        return;
    };
    let hashes: HashSet<String> = all.iter().map(|c| c.hash.clone()).collect();
    let ids: HashSet<String> = all.iter().map(|c| c.id.clone()).collect();
    for h in netns.iter().filter(|h| !hashes.contains(*h)) {
        release_at(root, h);
    }
    let names: HashSet<String> = hashes.iter().map(|h| veth_name(h)).collect();
    for n in veths.iter().filter(|n| !names.contains(*n)) {
        let _ = delete_link(n);
    }
    for l in leases.iter().filter(|l| !ids.contains(&l.container_id)) {
        let _ = networks::release(ctx.db.conn(), &l.container_id);
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

/// A create of `hash_prefix` still running (its marker held).
fn in_progress(root: &Path, hash_prefix: &str) -> bool {
    crate::marker::in_progress(root, hash_prefix)
}

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
    let _l = lock(ctx.store.root())?;
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
    ensure_bridge(&rec, &s, gw)?;
    networks::insert(ctx.db.conn(), &rec)?;
    Ok(rec)
}

/// `k3 network rm`: refused while containers hold leases on it.
pub fn remove(ctx: &mut Engine, name: &str) -> Result<(), NetworkError> {
    let _l = lock(ctx.store.root())?;
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
    nft::delete_by_comment("postrouting", &format!("net:{name}"))?;
    delete_link(&net.bridge).map_err(|e| NetworkError::Sys {
        op: "delete bridge",
        what: net.bridge.clone(),
        source: io::Error::other(e),
    })?;
    networks::delete(ctx.db.conn(), name)?;
    Ok(())
}

/// A network with its leases (`inspect`).
#[derive(Debug, Serialize)]
pub struct NetworkInfo {
    #[serde(flatten)]
    pub record: NetworkRecord,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_names_fit_a_device_name() {
        assert_eq!(bridge_name("kb0"), "kb0");
        assert_eq!(bridge_name("fifteen-chars-x"), "fifteen-chars-x");
        let long = bridge_name("nonexistent-network");
        assert_eq!(long.len(), 15);
        assert!(long.starts_with("k3br"), "{long}");
        assert_eq!(long, bridge_name("nonexistent-network"));
        assert_ne!(long, bridge_name("nonexistent-networks"));
        // Not taken for a container's veth (`k3-` + 12) by `reconcile`.
        assert!(!long.starts_with("k3-"));
    }

    #[test]
    fn subnets_over_the_hosts_own_ranges_are_refused() {
        for bad in [
            "0.0.0.0/1",
            "127.0.0.0/8",
            "127.1.0.0/16",
            "169.254.1.0/24",
            "224.0.0.0/4",
            "240.0.0.0/8",
            "1.2.3.4",
        ] {
            let e = parse_subnet(bad).unwrap_err().to_string();
            assert!(e.contains("subnet") && e.contains(bad), "{bad}: {e}");
        }
        for good in ["10.0.0.0/8", "192.168.100.0/24", "172.20.0.0/16"] {
            assert!(parse_subnet(good).is_ok(), "{good}");
        }
        assert_eq!(
            NetworkError::NoSuchNetwork("x".into()).kind(),
            ErrorKind::NotFound
        );
    }
}
