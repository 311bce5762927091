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
    select(conn, "WHERE container_id = ?1 ORDER BY id", container_id)
}

/// Events matching `tail` (a WHERE/ORDER clause taking one parameter).
fn select(
    conn: &Connection,
    tail: &str,
    param: impl rusqlite::ToSql,
) -> Result<Vec<Event>, DbError> {
    let sql = format!("SELECT id, container_id, kind, payload, created_at FROM events {tail}");
    let mut stmt = conn.prepare(&sql).map_err(query("list events"))?;
    let rows = stmt
        .query_map([param], |r| {
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

/// A queued delivery with its event.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The `webhook_queue` row.
    pub id: i64,
    pub attempts: i64,
    pub event: Event,
}

/// Up to `limit` pending deliveries, oldest first.
pub fn pending_deliveries(conn: &Connection, limit: i64) -> Result<Vec<Delivery>, DbError> {
    let mut stmt = conn
        .prepare(
            "SELECT q.id, q.attempts, e.id, e.container_id, e.kind, e.payload, e.created_at
             FROM webhook_queue q JOIN events e ON e.id = q.event_id
             WHERE q.status = 'pending' ORDER BY q.id LIMIT ?1",
        )
        .map_err(query("list deliveries"))?;
    let rows = stmt
        .query_map([limit], |r| {
            Ok(Delivery {
                id: r.get(0)?,
                attempts: r.get(1)?,
                event: Event {
                    id: r.get(2)?,
                    container_id: r.get(3)?,
                    kind: r.get(4)?,
                    payload: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
                    created_at: r.get(6)?,
                },
            })
        })
        .map_err(query("list deliveries"))?;
    rows.collect::<Result<_, _>>()
        .map_err(query("list deliveries"))
}

/// Sets a delivery's status (`pending`, `delivered`, `failed`) and attempts.
pub fn mark_delivery(
    conn: &Connection,
    id: i64,
    status: &str,
    attempts: i64,
) -> Result<(), DbError> {
    conn.execute(
        "UPDATE webhook_queue SET status = ?2, attempts = ?3 WHERE id = ?1",
        params![id, status, attempts],
    )
    .map_err(query("update delivery"))?;
    Ok(())
}

/// Events after `after_id`, oldest first (the `/events` stream).
pub fn since(conn: &Connection, after_id: i64) -> Result<Vec<Event>, DbError> {
    select(conn, "WHERE id > ?1 ORDER BY id LIMIT 500", after_id)
}

/// The newest event id (0 if none).
pub fn last_id(conn: &Connection) -> Result<i64, DbError> {
    conn.query_row("SELECT COALESCE(MAX(id), 0) FROM events", [], |r| r.get(0))
        .map_err(query("last event"))
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

    #[test]
    fn deliveries_are_marked() {
        let db = Db::open_in_memory().unwrap();
        let c = db.conn();
        record(c, "c", "create", &serde_json::json!({}), 5).unwrap();
        record(c, "c", "start", &serde_json::json!({}), 6).unwrap();
        let d = pending_deliveries(c, 10).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].event.kind, "create");
        mark_delivery(c, d[0].id, "delivered", 1).unwrap();
        let d = pending_deliveries(c, 10).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].event.kind, "start");
        assert_eq!(since(c, d[0].event.id - 1).unwrap().len(), 1);
        assert_eq!(last_id(c).unwrap(), d[0].event.id);
    }
}
