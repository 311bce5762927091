//! The `volumes` and `volume_mounts` tables: named volumes (created on first
//! use under the k3 root, kept after their containers are removed) and which
//! container mounts which volume where.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::db::{query, DbError, Migration};

/// Migration 5: `volumes` and `volume_mounts`.
pub const MIGRATION: Migration = Migration {
    version: 5,
    name: "create volumes",
    sql: "CREATE TABLE volumes (
        name TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE volume_mounts (
        container_id TEXT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
        volume TEXT NOT NULL REFERENCES volumes (name),
        path TEXT NOT NULL,
        readonly INTEGER NOT NULL,
        PRIMARY KEY (container_id, path)
    );",
};

/// A named volume.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VolumeRecord {
    /// The volume's name.
    pub name: String,
    /// The volume's directory on the host.
    pub path: String,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
}

/// Inserts a volume unless it exists; whether it was inserted.
pub fn insert_if_missing(conn: &Connection, v: &VolumeRecord) -> Result<bool, DbError> {
    conn.execute(
        "INSERT OR IGNORE INTO volumes (name, path, created_at) VALUES (?1, ?2, ?3)",
        params![v.name, v.path, v.created_at],
    )
    .map(|n| n > 0)
    .map_err(query("insert volume"))
}

/// The volume `name`.
pub fn get(conn: &Connection, name: &str) -> Result<Option<VolumeRecord>, DbError> {
    conn.query_row(
        "SELECT name, path, created_at FROM volumes WHERE name = ?1",
        [name],
        |r| {
            Ok(VolumeRecord {
                name: r.get(0)?,
                path: r.get(1)?,
                created_at: r.get(2)?,
            })
        },
    )
    .optional()
    .map_err(query("get volume"))
}

/// All volumes.
pub fn list(conn: &Connection) -> Result<Vec<VolumeRecord>, DbError> {
    let mut stmt = conn
        .prepare("SELECT name, path, created_at FROM volumes ORDER BY name")
        .map_err(query("list volumes"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok(VolumeRecord {
                name: r.get(0)?,
                path: r.get(1)?,
                created_at: r.get(2)?,
            })
        })
        .map_err(query("list volumes"))?;
    rows.collect::<Result<_, _>>()
        .map_err(query("list volumes"))
}

/// Deletes a volume record.
pub fn delete(conn: &Connection, name: &str) -> Result<bool, DbError> {
    conn.execute("DELETE FROM volumes WHERE name = ?1", [name])
        .map(|n| n > 0)
        .map_err(query("delete volume"))
}

/// Records that `container_id` mounts `volume` at `path`.
pub fn attach(
    conn: &Connection,
    container_id: &str,
    volume: &str,
    path: &str,
    readonly: bool,
) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO volume_mounts (container_id, volume, path, readonly) VALUES (?1, ?2, ?3, ?4)",
        params![container_id, volume, path, readonly],
    )
    .map_err(query("attach volume"))?;
    Ok(())
}

/// Containers mounting `volume`.
pub fn users(conn: &Connection, volume: &str) -> Result<Vec<String>, DbError> {
    let mut stmt = conn
        .prepare("SELECT DISTINCT container_id FROM volume_mounts WHERE volume = ?1 ORDER BY 1")
        .map_err(query("list volume users"))?;
    let rows = stmt
        .query_map([volume], |r| r.get(0))
        .map_err(query("list volume users"))?;
    rows.collect::<Result<_, _>>()
        .map_err(query("list volume users"))
}

/// The volumes `container_id` mounts: `(volume, container path)` each.
pub fn mounts_of(conn: &Connection, container_id: &str) -> Result<Vec<(String, String)>, DbError> {
    let mut stmt = conn
        .prepare("SELECT volume, path FROM volume_mounts WHERE container_id = ?1 ORDER BY path")
        .map_err(query("list volume mounts"))?;
    let rows = stmt
        .query_map([container_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(query("list volume mounts"))?;
    rows.collect::<Result<_, _>>()
        .map_err(query("list volume mounts"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::migrations::{columns, migrate};
    use crate::db::{containers, Db};

    #[test]
    fn migration_5_creates_volume_tables() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, 5).unwrap();
        assert!(columns(&conn, "volumes").contains(&"path".to_string()));
        assert!(columns(&conn, "volume_mounts").contains(&"readonly".to_string()));
    }

    #[test]
    fn volumes_outlive_their_containers() {
        let db = Db::open_in_memory().unwrap();
        let v = VolumeRecord {
            name: "data".into(),
            path: "/v/data".into(),
            created_at: 1,
        };
        assert!(insert_if_missing(db.conn(), &v).unwrap());
        assert!(!insert_if_missing(db.conn(), &v).unwrap());
        containers::insert(db.conn(), &containers::tests::sample("c")).unwrap();
        attach(db.conn(), "c", "data", "/data", false).unwrap();
        assert_eq!(users(db.conn(), "data").unwrap(), vec!["c"]);
        assert_eq!(
            mounts_of(db.conn(), "c").unwrap(),
            vec![("data".to_string(), "/data".to_string())]
        );
        containers::delete(db.conn(), "c").unwrap();
        assert!(users(db.conn(), "data").unwrap().is_empty());
        assert_eq!(get(db.conn(), "data").unwrap().unwrap(), v);
    }
}
