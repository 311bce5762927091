//! The `images` table: one row per pulled `name:tag` (or `name@digest`),
//! with the manifest and config digests, the config JSON, the size and the
//! layer list.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::db::{query, DbError, Migration};

/// Migration 1: the `images` table.
pub const MIGRATION: Migration = Migration {
    version: 1,
    name: "create images",
    sql: "CREATE TABLE images (
        name TEXT NOT NULL,
        tag TEXT NOT NULL,
        digest TEXT NOT NULL,
        manifest_digest TEXT NOT NULL,
        config_digest TEXT NOT NULL,
        config TEXT NOT NULL,
        size INTEGER NOT NULL,
        layers TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (name, tag)
    );
    CREATE INDEX images_config_digest ON images (config_digest);",
};

/// One layer of an image record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LayerRecord {
    /// The (compressed) blob digest; names the layer snapshot.
    pub digest: String,
    /// The uncompressed tar digest from the image config.
    pub diff_id: String,
    /// The blob size in bytes.
    pub size: u64,
    /// The blob media type.
    pub media_type: String,
}

/// A pulled image.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ImageRecord {
    /// `registry/repository`.
    pub name: String,
    /// The tag, empty for a pull by digest.
    pub tag: String,
    /// What the reference resolved to (an index or a manifest).
    pub digest: String,
    /// The platform manifest.
    pub manifest_digest: String,
    /// The config blob digest (the image id).
    pub config_digest: String,
    /// The image config JSON.
    pub config: serde_json::Value,
    /// Bytes of config and layer blobs.
    pub size: u64,
    /// Layers, bottom first.
    pub layers: Vec<LayerRecord>,
    /// When it was pulled (seconds since the epoch).
    pub created_at: i64,
}

impl ImageRecord {
    /// `name:tag`, or `name@digest` for a digest-only record.
    pub fn reference(&self) -> String {
        if self.tag.is_empty() {
            format!("{}@{}", self.name, self.digest)
        } else {
            format!("{}:{}", self.name, self.tag)
        }
    }
}

const COLUMNS: &str =
    "name, tag, digest, manifest_digest, config_digest, config, size, layers, created_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<(ImageRecord, String, String)> {
    Ok((
        ImageRecord {
            name: row.get(0)?,
            tag: row.get(1)?,
            digest: row.get(2)?,
            manifest_digest: row.get(3)?,
            config_digest: row.get(4)?,
            config: serde_json::Value::Null,
            size: row.get::<_, u64>(6)?,
            layers: Vec::new(),
            created_at: row.get(8)?,
        },
        row.get(5)?,
        row.get(7)?,
    ))
}

fn decode(
    (mut rec, config, layers): (ImageRecord, String, String),
) -> Result<ImageRecord, DbError> {
    let corrupt = |column| {
        move |source| DbError::Corrupt {
            table: "images",
            column,
            source,
        }
    };
    rec.config = serde_json::from_str(&config).map_err(corrupt("config"))?;
    rec.layers = serde_json::from_str(&layers).map_err(corrupt("layers"))?;
    Ok(rec)
}

/// Inserts or replaces the record for `name:tag`.
pub fn upsert(conn: &Connection, rec: &ImageRecord) -> Result<(), DbError> {
    let layers = serde_json::to_string(&rec.layers).map_err(|source| DbError::Corrupt {
        table: "images",
        column: "layers",
        source,
    })?;
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO images ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        ),
        params![
            rec.name,
            rec.tag,
            rec.digest,
            rec.manifest_digest,
            rec.config_digest,
            rec.config.to_string(),
            rec.size,
            layers,
            rec.created_at
        ],
    )
    .map_err(query("insert image"))?;
    Ok(())
}

/// Records `rec` under its `name:tag` as docker does: the image that name leaves
/// stays, as a tagless (dangling) record of the same name, unless another record
/// still names it (a name has one dangling record: an older one gives way).
pub fn put(conn: &Connection, rec: &ImageRecord) -> Result<(), DbError> {
    if let Some(old) = get(conn, &rec.name, &rec.tag)?.filter(|_| !rec.tag.is_empty()) {
        let named_elsewhere = list(conn)?.iter().any(|r| {
            r.config_digest == old.config_digest && (r.name != old.name || r.tag != old.tag)
        });
        if old.config_digest != rec.config_digest && !named_elsewhere {
            upsert(
                conn,
                &ImageRecord {
                    tag: String::new(),
                    ..old
                },
            )?;
        }
    }
    upsert(conn, rec)
}

/// The record of `name:tag`.
pub fn get(conn: &Connection, name: &str, tag: &str) -> Result<Option<ImageRecord>, DbError> {
    let row = conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM images WHERE name = ?1 AND tag = ?2"),
            params![name, tag],
            from_row,
        )
        .optional()
        .map_err(query("get image"))?;
    row.map(decode).transpose()
}

/// A record of `name` whose reference, manifest or config digest is `digest`.
pub fn find_by_digest(
    conn: &Connection,
    name: &str,
    digest: &str,
) -> Result<Option<ImageRecord>, DbError> {
    Ok(list(conn)?.into_iter().find(|r| {
        r.name == name
            && (r.digest == digest || r.manifest_digest == digest || r.config_digest == digest)
    }))
}

/// All records, by name and tag.
pub fn list(conn: &Connection) -> Result<Vec<ImageRecord>, DbError> {
    let mut stmt = conn
        .prepare(&format!("SELECT {COLUMNS} FROM images ORDER BY name, tag"))
        .map_err(query("list images"))?;
    let rows = stmt
        .query_map([], from_row)
        .map_err(query("list images"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(query("list images"))?;
    rows.into_iter().map(decode).collect()
}

/// Deletes the record of `name:tag`; whether there was one.
pub fn delete(conn: &Connection, name: &str, tag: &str) -> Result<bool, DbError> {
    let n = conn
        .execute(
            "DELETE FROM images WHERE name = ?1 AND tag = ?2",
            params![name, tag],
        )
        .map_err(query("delete image"))?;
    Ok(n > 0)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::db::migrations::{columns, migrate};

    pub(crate) fn sample(tag: &str) -> ImageRecord {
        ImageRecord {
            name: "127.0.0.1:5000/x".into(),
            tag: tag.into(),
            digest: "sha256:aa".into(),
            manifest_digest: "sha256:bb".into(),
            config_digest: "sha256:cc".into(),
            config: serde_json::json!({"rootfs": {"diff_ids": []}}),
            size: 42,
            layers: vec![LayerRecord {
                digest: "sha256:dd".into(),
                diff_id: "sha256:ee".into(),
                size: 40,
                media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
            }],
            created_at: 1,
        }
    }

    #[test]
    fn migration_1_creates_images_table() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, 1).unwrap();
        let cols = columns(&conn, "images");
        for c in COLUMNS.split(", ") {
            assert!(cols.iter().any(|x| x == c), "missing column `{c}`");
        }
    }

    #[test]
    fn a_name_moved_to_another_image_leaves_the_old_one_dangling() {
        let db = crate::db::Db::open_in_memory().unwrap();
        let conn = db.conn();
        put(conn, &sample("v1")).unwrap();
        let mut new = sample("v1");
        new.config_digest = "sha256:c2".into();
        // the same image again: nothing dangles
        put(conn, &sample("v1")).unwrap();
        assert_eq!(list(conn).unwrap().len(), 1);
        put(conn, &new).unwrap();
        let all = list(conn).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(
            (all[0].tag.as_str(), all[0].config_digest.as_str()),
            ("", "sha256:cc")
        );
        assert_eq!(all[1], new);
        // an image another name keeps is not dangling when one name moves
        put(conn, &sample("v2")).unwrap();
        put(conn, &sample("v3")).unwrap();
        let mut newer = sample("v2");
        newer.config_digest = "sha256:c3".into();
        put(conn, &newer).unwrap();
        assert_eq!(list(conn).unwrap().len(), 4);
        assert_eq!(
            get(conn, "127.0.0.1:5000/x", "")
                .unwrap()
                .unwrap()
                .config_digest,
            "sha256:cc"
        );
    }

    #[test]
    fn crud_roundtrip() {
        let db = crate::db::Db::open_in_memory().unwrap();
        let conn = db.conn();
        upsert(conn, &sample("v1")).unwrap();
        upsert(conn, &sample("v2")).unwrap();
        let mut changed = sample("v1");
        changed.size = 7;
        upsert(conn, &changed).unwrap();
        assert_eq!(
            get(conn, "127.0.0.1:5000/x", "v1").unwrap().unwrap(),
            changed
        );
        assert_eq!(list(conn).unwrap().len(), 2);
        assert!(find_by_digest(conn, "127.0.0.1:5000/x", "sha256:cc")
            .unwrap()
            .is_some());
        assert!(delete(conn, "127.0.0.1:5000/x", "v1").unwrap());
        assert!(!delete(conn, "127.0.0.1:5000/x", "v1").unwrap());
        assert_eq!(get(conn, "127.0.0.1:5000/x", "v1").unwrap(), None);
    }
}
