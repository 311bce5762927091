//! The `events` and `webhook_queue` tables: every container lifecycle event
//! (create, start, die, destroy ...) is logged, and queued for delivery to
//! webhooks by the later daemon (seed 000 step 15).

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::engine::db::{query, DbError, Migration};

/// Migration 6: `events` and `webhook_queue`.
pub const MIGRATION: Migration = Migration {
    version: 6,
    name: "create events",
    sql: "CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        container_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE webhook_queue (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX events_container ON events (container_id);",
};

/// A logged event.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    pub id: i64,
    pub container_id: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub created_at: i64,
}

/// Logs an event and queues it for webhooks; returns its id.
pub fn record(
    conn: &Connection,
    container_id: &str,
    kind: &str,
    payload: &serde_json::Value,
    now: i64,
) -> Result<i64, DbError> {
    conn.execute(
        "INSERT INTO events (container_id, kind, payload, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![container_id, kind, payload.to_string(), now],
    )
    .map_err(query("insert event"))?;
    let id = conn.last_insert_rowid();
    conn.execute(
        "INSERT INTO webhook_queue (event_id, created_at) VALUES (?1, ?2)",
        params![id, now],
    )
    .map_err(query("queue webhook"))?;
    Ok(id)
}

/// Events of a container, oldest first.
pub fn for_container(conn: &Connection, container_id: &str) -> Result<Vec<Event>, DbError> {
    let mut stmt = conn
        .prepare(
            "SELECT id, container_id, kind, payload, created_at FROM events
             WHERE container_id = ?1 ORDER BY id",
        )
        .map_err(query("list events"))?;
    let rows = stmt
        .query_map([container_id], |r| {
            Ok(Event {
                id: r.get(0)?,
                container_id: r.get(1)?,
                kind: r.get(2)?,
                payload: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or_default(),
                created_at: r.get(4)?,
            })
        })
        .map_err(query("list events"))?;
    rows.collect::<Result<_, _>>().map_err(query("list events"))
}

/// Pending webhook deliveries.
pub fn pending_webhooks(conn: &Connection) -> Result<i64, DbError> {
    conn.query_row(
        "SELECT COUNT(*) FROM webhook_queue WHERE status = 'pending'",
        [],
        |r| r.get(0),
    )
    .map_err(query("count webhooks"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::db::migrations::{columns, migrate};
    use crate::engine::db::Db;

    #[test]
    fn migration_6_creates_event_tables() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, 6).unwrap();
        assert!(columns(&conn, "events").contains(&"payload".to_string()));
        assert!(columns(&conn, "webhook_queue").contains(&"attempts".to_string()));
    }

    #[test]
    fn record_queues_a_webhook() {
        let db = Db::open_in_memory().unwrap();
        record(db.conn(), "c", "create", &serde_json::json!({"a": 1}), 5).unwrap();
        let ev = for_container(db.conn(), "c").unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].payload["a"], 1);
        assert_eq!(pending_webhooks(db.conn()).unwrap(), 1);
    }
}
