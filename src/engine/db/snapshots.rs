//! The `snapshots` table: one row per container snapshot (overlay rootfs),
//! naming the image it was prepared from, so `rmi` can refuse images in use.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::db::{query, DbError, Migration};

/// Migration 2: the `snapshots` table.
pub const MIGRATION: Migration = Migration {
    version: 2,
    name: "create snapshots",
    sql: "CREATE TABLE snapshots (
        container_id TEXT PRIMARY KEY,
        image_name TEXT NOT NULL,
        image_tag TEXT NOT NULL,
        config_digest TEXT NOT NULL,
        rootfs TEXT NOT NULL,
        disk_limit_mb INTEGER,
        layers TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX snapshots_config_digest ON snapshots (config_digest);",
};

/// A container snapshot.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SnapshotRecord {
    /// The container it belongs to.
    pub container_id: String,
    /// The image name.
    pub image_name: String,
    /// The image tag.
    pub image_tag: String,
    /// The image config digest.
    pub config_digest: String,
    /// The mounted rootfs path.
    pub rootfs: String,
    /// The writable layer limit, if any.
    pub disk_limit_mb: Option<u64>,
    /// The layer digests mounted (bottom first); kept by `prune` even if the
    /// image record changes.
    pub layers: Vec<String>,
    /// When it was prepared.
    pub created_at: i64,
}

const COLUMNS: &str =
    "container_id, image_name, image_tag, config_digest, rootfs, disk_limit_mb, layers, created_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<SnapshotRecord> {
    Ok(SnapshotRecord {
        container_id: row.get(0)?,
        image_name: row.get(1)?,
        image_tag: row.get(2)?,
        config_digest: row.get(3)?,
        rootfs: row.get(4)?,
        disk_limit_mb: row.get::<_, Option<i64>>(5)?.map(|v| v as u64),
        layers: serde_json::from_str(&row.get::<_, String>(6)?).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, Box::new(e))
        })?,
        created_at: row.get(7)?,
    })
}

/// Inserts a record; fails if the container already has one.
pub fn insert(conn: &Connection, rec: &SnapshotRecord) -> Result<(), DbError> {
    conn.execute(
        &format!("INSERT INTO snapshots ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
        params![
            rec.container_id,
            rec.image_name,
            rec.image_tag,
            rec.config_digest,
            rec.rootfs,
            rec.disk_limit_mb.map(|v| v as i64),
            serde_json::Value::from(rec.layers.clone()).to_string(),
            rec.created_at
        ],
    )
    .map_err(query("insert snapshot"))?;
    Ok(())
}

/// The record of a container.
pub fn get(conn: &Connection, container_id: &str) -> Result<Option<SnapshotRecord>, DbError> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM snapshots WHERE container_id = ?1"),
        params![container_id],
        from_row,
    )
    .optional()
    .map_err(query("get snapshot"))
}

/// All records.
pub fn list(conn: &Connection) -> Result<Vec<SnapshotRecord>, DbError> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {COLUMNS} FROM snapshots ORDER BY container_id"
        ))
        .map_err(query("list snapshots"))?;
    let rows = stmt
        .query_map([], from_row)
        .map_err(query("list snapshots"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(query("list snapshots"));
    rows
}

/// Containers whose snapshot uses the image with `config_digest`.
pub fn users_of(conn: &Connection, config_digest: &str) -> Result<Vec<String>, DbError> {
    Ok(list(conn)?
        .into_iter()
        .filter(|s| s.config_digest == config_digest)
        .map(|s| s.container_id)
        .collect())
}

/// Deletes a container's record; whether there was one.
pub fn delete(conn: &Connection, container_id: &str) -> Result<bool, DbError> {
    let n = conn
        .execute(
            "DELETE FROM snapshots WHERE container_id = ?1",
            params![container_id],
        )
        .map_err(query("delete snapshot"))?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::migrations::{columns, migrate};

    #[test]
    fn migration_2_creates_snapshots_table() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, 1).unwrap();
        assert!(columns(&conn, "snapshots").is_empty());
        migrate(&mut conn, 2).unwrap();
        let cols = columns(&conn, "snapshots");
        for c in COLUMNS.split(", ") {
            assert!(cols.iter().any(|x| x == c), "missing column `{c}`");
        }
    }

    #[test]
    fn crud_roundtrip() {
        let db = crate::db::Db::open_in_memory().unwrap();
        let conn = db.conn();
        let rec = SnapshotRecord {
            container_id: "c1".into(),
            image_name: "127.0.0.1:5000/x".into(),
            image_tag: "latest".into(),
            config_digest: "sha256:cc".into(),
            rootfs: "/var/lib/k3/overlays/c1/rootfs".into(),
            disk_limit_mb: Some(16),
            layers: vec!["sha256:dd".into()],
            created_at: 3,
        };
        insert(conn, &rec).unwrap();
        assert!(insert(conn, &rec).is_err(), "duplicate container id");
        assert_eq!(get(conn, "c1").unwrap().unwrap(), rec);
        assert_eq!(users_of(conn, "sha256:cc").unwrap(), vec!["c1".to_string()]);
        assert!(delete(conn, "c1").unwrap());
        assert_eq!(list(conn).unwrap(), vec![]);
    }
}
