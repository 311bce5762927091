//! The `networks`, `leases` and `ports` tables: bridge networks, the IP
//! (and MAC) each container holds on one, and the host ports it publishes.
//! Primary keys make a double lease or a doubly published port impossible,
//! whatever the number of concurrent `k3` processes.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::db::{query, DbError, Migration};

/// Migration 7: networks, leases, ports.
pub const MIGRATION: Migration = Migration {
    version: 7,
    name: "create networks",
    sql: "CREATE TABLE networks (
        name TEXT PRIMARY KEY,
        bridge TEXT NOT NULL UNIQUE,
        subnet TEXT NOT NULL,
        gateway TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE leases (
        network TEXT NOT NULL REFERENCES networks (name),
        ip TEXT NOT NULL,
        container_id TEXT NOT NULL,
        hash TEXT NOT NULL,
        mac TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (network, ip)
    );
    CREATE UNIQUE INDEX leases_container ON leases (container_id);
    CREATE TABLE ports (
        host_port INTEGER NOT NULL,
        proto TEXT NOT NULL,
        host_ip TEXT,
        container_id TEXT NOT NULL,
        container_ip TEXT NOT NULL,
        container_port INTEGER NOT NULL,
        PRIMARY KEY (host_port, proto)
    );",
};

/// A bridge network.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NetworkRecord {
    /// The network's name.
    pub name: String,
    /// The bridge interface's name.
    pub bridge: String,
    /// The subnet in CIDR form.
    pub subnet: String,
    /// The bridge's address, the containers' gateway.
    pub gateway: String,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
}

/// A container's address on a network.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Lease {
    /// The network the address is in.
    pub network: String,
    /// The leased IPv4 address.
    pub ip: String,
    /// The container holding it.
    pub container_id: String,
    /// The container's hash, naming its veth.
    pub hash: String,
    /// The container interface's MAC address.
    pub mac: String,
}

/// A published port.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PortRecord {
    /// The published port on the host.
    pub host_port: u16,
    /// `tcp` or `udp`.
    pub proto: String,
    /// The host address bound (None: all).
    pub host_ip: Option<String>,
    /// The container publishing it.
    pub container_id: String,
    /// The container's address traffic is forwarded to.
    pub container_ip: String,
    /// The port in the container.
    pub container_port: u16,
}

fn net_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<NetworkRecord> {
    Ok(NetworkRecord {
        name: r.get(0)?,
        bridge: r.get(1)?,
        subnet: r.get(2)?,
        gateway: r.get(3)?,
        created_at: r.get(4)?,
    })
}

/// Inserts a network.
pub fn insert(conn: &Connection, n: &NetworkRecord) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO networks (name, bridge, subnet, gateway, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![n.name, n.bridge, n.subnet, n.gateway, n.created_at],
    )
    .map_err(query("insert network"))?;
    Ok(())
}

/// The network `name`.
pub fn get(conn: &Connection, name: &str) -> Result<Option<NetworkRecord>, DbError> {
    conn.query_row(
        "SELECT name, bridge, subnet, gateway, created_at FROM networks WHERE name = ?1",
        [name],
        net_row,
    )
    .optional()
    .map_err(query("get network"))
}

/// All networks.
pub fn list(conn: &Connection) -> Result<Vec<NetworkRecord>, DbError> {
    let mut s = conn
        .prepare("SELECT name, bridge, subnet, gateway, created_at FROM networks ORDER BY name")
        .map_err(query("list networks"))?;
    let rows = s.query_map([], net_row).map_err(query("list networks"))?;
    rows.collect::<Result<_, _>>()
        .map_err(query("list networks"))
}

/// Deletes a network record.
pub fn delete(conn: &Connection, name: &str) -> Result<bool, DbError> {
    conn.execute("DELETE FROM networks WHERE name = ?1", [name])
        .map(|n| n > 0)
        .map_err(query("delete network"))
}

fn lease_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Lease> {
    Ok(Lease {
        network: r.get(0)?,
        ip: r.get(1)?,
        container_id: r.get(2)?,
        hash: r.get(3)?,
        mac: r.get(4)?,
    })
}

/// Leases on `network` (all networks for `None`).
pub fn leases(conn: &Connection, network: Option<&str>) -> Result<Vec<Lease>, DbError> {
    let mut s = conn
        .prepare(
            "SELECT network, ip, container_id, hash, mac FROM leases
             WHERE ?1 IS NULL OR network = ?1 ORDER BY network, ip",
        )
        .map_err(query("list leases"))?;
    let rows = s
        .query_map([network], lease_row)
        .map_err(query("list leases"))?;
    rows.collect::<Result<_, _>>().map_err(query("list leases"))
}

/// The lease of a container.
pub fn lease_of(conn: &Connection, container_id: &str) -> Result<Option<Lease>, DbError> {
    conn.query_row(
        "SELECT network, ip, container_id, hash, mac FROM leases WHERE container_id = ?1",
        [container_id],
        lease_row,
    )
    .optional()
    .map_err(query("get lease"))
}

/// Takes a lease (fails if the address is taken).
pub fn insert_lease(conn: &Connection, l: &Lease, now: i64) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO leases (network, ip, container_id, hash, mac, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![l.network, l.ip, l.container_id, l.hash, l.mac, now],
    )
    .map_err(query("insert lease"))?;
    Ok(())
}

/// Releases the lease and ports of a container.
pub fn release(conn: &Connection, container_id: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM leases WHERE container_id = ?1", [container_id])
        .map_err(query("delete lease"))?;
    conn.execute("DELETE FROM ports WHERE container_id = ?1", [container_id])
        .map_err(query("delete ports"))?;
    Ok(())
}

/// All published ports.
pub fn ports(conn: &Connection) -> Result<Vec<PortRecord>, DbError> {
    let mut s = conn
        .prepare("SELECT host_port, proto, host_ip, container_id, container_ip, container_port FROM ports ORDER BY host_port")
        .map_err(query("list ports"))?;
    let rows = s
        .query_map([], |r| {
            Ok(PortRecord {
                host_port: r.get(0)?,
                proto: r.get(1)?,
                host_ip: r.get(2)?,
                container_id: r.get(3)?,
                container_ip: r.get(4)?,
                container_port: r.get(5)?,
            })
        })
        .map_err(query("list ports"))?;
    rows.collect::<Result<_, _>>().map_err(query("list ports"))
}

/// Records a published port (fails if the host port is taken).
pub fn insert_port(conn: &Connection, p: &PortRecord) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO ports (host_port, proto, host_ip, container_id, container_ip, container_port) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![p.host_port, p.proto, p.host_ip, p.container_id, p.container_ip, p.container_port],
    )
    .map_err(query("insert port"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::migrations::{columns, migrate};
    use crate::db::Db;

    #[test]
    fn migration_7_creates_network_tables() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, 7).unwrap();
        assert!(columns(&conn, "networks").contains(&"subnet".to_string()));
        assert!(columns(&conn, "leases").contains(&"mac".to_string()));
        assert!(columns(&conn, "ports").contains(&"container_port".to_string()));
    }

    #[test]
    fn an_address_and_a_port_are_held_once() {
        let db = Db::open_in_memory().unwrap();
        let n = NetworkRecord {
            name: "kb0".into(),
            bridge: "kb0".into(),
            subnet: "192.168.100.0/24".into(),
            gateway: "192.168.100.1".into(),
            created_at: 1,
        };
        insert(db.conn(), &n).unwrap();
        let l = Lease {
            network: "kb0".into(),
            ip: "192.168.100.2".into(),
            container_id: "a".into(),
            hash: "h".into(),
            mac: "m".into(),
        };
        insert_lease(db.conn(), &l, 1).unwrap();
        let mut l2 = l.clone();
        l2.container_id = "b".into();
        assert!(insert_lease(db.conn(), &l2, 1).is_err(), "same ip twice");
        let p = PortRecord {
            host_port: 8080,
            proto: "tcp".into(),
            host_ip: None,
            container_id: "a".into(),
            container_ip: l.ip.clone(),
            container_port: 80,
        };
        insert_port(db.conn(), &p).unwrap();
        assert!(insert_port(db.conn(), &p).is_err(), "same port twice");
        release(db.conn(), "a").unwrap();
        assert!(lease_of(db.conn(), "a").unwrap().is_none());
        assert!(ports(db.conn()).unwrap().is_empty());
    }
}
