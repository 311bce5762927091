//! The `containers` table: one row per container, with the options as given,
//! the validated options, the generated OCI config, the container hash (which
//! names its directories and its runtime id), the image and its digest.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::db::{query, DbError, Migration};

/// Migration 3: the `containers` table.
pub const MIGRATION: Migration = Migration {
    version: 3,
    name: "create containers",
    sql: "CREATE TABLE containers (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        image TEXT NOT NULL,
        image_digest TEXT NOT NULL,
        options TEXT NOT NULL,
        validated TEXT NOT NULL,
        config TEXT NOT NULL,
        bundle TEXT NOT NULL,
        runtime TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );",
};

/// A container record.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ContainerRecord {
    /// The user's id (seed 000 `containerId`; also its name).
    pub id: String,
    /// 16 hex digits naming its directories and its runtime container.
    pub hash: String,
    /// `name:tag` as resolved.
    pub image: String,
    /// The image config digest.
    pub image_digest: String,
    /// The options as given (seed 000 JSON).
    pub options: serde_json::Value,
    /// The options as parsed.
    pub validated: serde_json::Value,
    /// The generated OCI `config.json`.
    pub config: serde_json::Value,
    /// The bundle directory.
    pub bundle: String,
    /// The OCI runtime binary.
    pub runtime: String,
    /// Seconds since the epoch.
    pub created_at: i64,
}

const COLUMNS: &str =
    "id, hash, image, image_digest, options, validated, config, bundle, runtime, created_at";

fn json(row: &Row<'_>, i: usize) -> rusqlite::Result<serde_json::Value> {
    serde_json::from_str(&row.get::<_, String>(i)?).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<ContainerRecord> {
    Ok(ContainerRecord {
        id: row.get(0)?,
        hash: row.get(1)?,
        image: row.get(2)?,
        image_digest: row.get(3)?,
        options: json(row, 4)?,
        validated: json(row, 5)?,
        config: json(row, 6)?,
        bundle: row.get(7)?,
        runtime: row.get(8)?,
        created_at: row.get(9)?,
    })
}

/// Inserts a record; fails if the id exists.
pub fn insert(conn: &Connection, r: &ContainerRecord) -> Result<(), DbError> {
    conn.execute(
        &format!(
            "INSERT INTO containers ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ),
        params![
            r.id,
            r.hash,
            r.image,
            r.image_digest,
            r.options.to_string(),
            r.validated.to_string(),
            r.config.to_string(),
            r.bundle,
            r.runtime,
            r.created_at
        ],
    )
    .map_err(query("insert container"))?;
    Ok(())
}

/// The record of `id`.
pub fn get(conn: &Connection, id: &str) -> Result<Option<ContainerRecord>, DbError> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM containers WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
    .map_err(query("get container"))
}

/// Whether `id` exists.
pub fn exists(conn: &Connection, id: &str) -> Result<bool, DbError> {
    conn.query_row("SELECT 1 FROM containers WHERE id = ?1", [id], |_| Ok(()))
        .optional()
        .map(|o| o.is_some())
        .map_err(query("resolve container name"))
}

/// All records, oldest first.
pub fn list(conn: &Connection) -> Result<Vec<ContainerRecord>, DbError> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {COLUMNS} FROM containers ORDER BY created_at, id"
        ))
        .map_err(query("list containers"))?;
    let rows = stmt
        .query_map([], from_row)
        .map_err(query("list containers"))?;
    rows.collect::<Result<_, _>>()
        .map_err(query("list containers"))
}

/// Deletes `id` (its state rows go with it); whether it existed.
pub fn delete(conn: &Connection, id: &str) -> Result<bool, DbError> {
    conn.execute("DELETE FROM containers WHERE id = ?1", [id])
        .map(|n| n > 0)
        .map_err(query("delete container"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::db::migrations::{columns, migrate};
    use crate::db::Db;

    pub(crate) fn sample(id: &str) -> ContainerRecord {
        ContainerRecord {
            id: id.into(),
            hash: format!("{:0>16}", id.len()),
            image: "alpine:latest".into(),
            image_digest: "sha256:aa".into(),
            options: serde_json::json!({"containerId": id}),
            validated: serde_json::json!({}),
            config: serde_json::json!({"ociVersion": "1.0.2"}),
            bundle: "/b".into(),
            runtime: "k3rt".into(),
            created_at: 1,
        }
    }

    #[test]
    fn migration_3_creates_containers() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, 3).unwrap();
        let cols = columns(&conn, "containers");
        for c in [
            "id",
            "hash",
            "options",
            "config",
            "image_digest",
            "created_at",
        ] {
            assert!(cols.contains(&c.to_string()), "{c}");
        }
    }

    #[test]
    fn crud() {
        let db = Db::open_in_memory().unwrap();
        let r = sample("a");
        insert(db.conn(), &r).unwrap();
        assert!(insert(db.conn(), &r).is_err());
        assert!(exists(db.conn(), "a").unwrap());
        assert_eq!(get(db.conn(), "a").unwrap().unwrap(), r);
        assert_eq!(list(db.conn()).unwrap().len(), 1);
        assert!(delete(db.conn(), "a").unwrap());
        assert!(!exists(db.conn(), "a").unwrap());
    }
}
