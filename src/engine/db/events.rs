//! The `events` and `webhook_queue` tables: every container lifecycle event
//! (create, start, die, destroy ...) is logged, and queued for delivery to
//! webhooks by the later daemon (seed 000 step 15).

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::db::{query, DbError, Migration};

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
    /// The event's row id (increasing).
    pub id: i64,
    /// The container the event is about.
    pub container_id: String,
    /// The event's kind, e.g. `start`, `die`.
    pub kind: String,
    /// The event's details, as JSON.
    pub payload: serde_json::Value,
    /// When it happened, seconds since the epoch.
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
    if id % PRUNE_EVERY == 0 {
        prune(conn, now)?;
    }
    Ok(id)
}

/// Events kept at most (the newest).
pub const KEEP_EVENTS: i64 = 10_000;
/// Events kept at most this long, in seconds (7 days).
pub const KEEP_EVENTS_SECS: i64 = 7 * 24 * 3600;
/// Queue rows kept this long, in seconds (1 day): delivered and failed ones as a record,
/// pending ones while a daemon may still deliver them.
pub const KEEP_QUEUE_SECS: i64 = 24 * 3600;
/// `record` applies the retention rule every this many events.
const PRUNE_EVERY: i64 = 100;

/// What [`prune`] removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    /// Event rows removed.
    pub events: usize,
    /// Webhook queue rows removed.
    pub queue: usize,
}

/// The retention rule: the newest [`KEEP_EVENTS`] events of the last
/// [`KEEP_EVENTS_SECS`]; queue rows for [`KEEP_QUEUE_SECS`] (a pending row older
/// than that was never going to be delivered: no daemon ran) or while their event lives.
/// Without a daemon both tables would otherwise grow by every lifecycle event for ever.
pub fn prune(conn: &Connection, now: i64) -> Result<Pruned, DbError> {
    let queue = conn
        .execute(
            "DELETE FROM webhook_queue WHERE created_at < ?1
             OR event_id <= (SELECT COALESCE(MAX(id), 0) FROM events) - ?2
             OR event_id IN (SELECT id FROM events WHERE created_at < ?3)",
            params![now - KEEP_QUEUE_SECS, KEEP_EVENTS, now - KEEP_EVENTS_SECS],
        )
        .map_err(query("prune webhook queue"))?;
    let events = conn
        .execute(
            "DELETE FROM events WHERE created_at < ?1
             OR id <= (SELECT COALESCE(MAX(id), 0) FROM events) - ?2",
            params![now - KEEP_EVENTS_SECS, KEEP_EVENTS],
        )
        .map_err(query("prune events"))?;
    Ok(Pruned { events, queue })
}

/// Marks every delivery still pending for events up to `last_event` as `dropped`:
/// no configured webhook's cursor is before them (a webhook gets what happens
/// from its configuration on, not the history). Returns how many were dropped.
pub fn drop_pending_up_to(conn: &Connection, last_event: i64) -> Result<usize, DbError> {
    conn.execute(
        "UPDATE webhook_queue SET status = 'dropped' WHERE status = 'pending' AND event_id <= ?1",
        [last_event],
    )
    .map_err(query("drop old deliveries"))
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

/// Marks the queue row of `event_id` `failed`: a webhook gave up on it.
pub fn mark_failed(conn: &Connection, event_id: i64) -> Result<(), DbError> {
    conn.execute(
        "UPDATE webhook_queue SET status = 'failed', attempts = attempts + 1 WHERE event_id = ?1",
        [event_id],
    )
    .map_err(query("update delivery"))?;
    Ok(())
}

/// Marks the rows still pending for events up to `event_id` `delivered`:
/// every configured webhook's cursor has passed them.
pub fn settle_up_to(conn: &Connection, event_id: i64) -> Result<usize, DbError> {
    conn.execute(
        "UPDATE webhook_queue SET status = 'delivered', attempts = attempts + 1
         WHERE status = 'pending' AND event_id <= ?1",
        [event_id],
    )
    .map_err(query("update deliveries"))
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
    use crate::db::migrations::{columns, migrate};
    use crate::db::Db;

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
    fn retention_keeps_the_newest_and_the_recent() {
        let db = Db::open_in_memory().unwrap();
        let c = db.conn();
        let day = 24 * 3600;
        // an old event, then a run of recent ones past the count limit
        record(c, "old", "create", &serde_json::json!({}), 1).unwrap();
        for i in 0..(KEEP_EVENTS + 50) {
            record(c, "c", "start", &serde_json::json!({}), 10 * day + i).unwrap();
        }
        let now = 10 * day + KEEP_EVENTS + 50;
        prune(c, now).unwrap();
        assert!(
            for_container(c, "old").unwrap().is_empty(),
            "older than 7 days"
        );
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, KEEP_EVENTS);
        let q: i64 = c
            .query_row("SELECT COUNT(*) FROM webhook_queue", [], |r| r.get(0))
            .unwrap();
        assert!(q <= KEEP_EVENTS, "{q}");
        // a day later every pending row is gone: no daemon delivered it
        prune(c, now + day + 1).unwrap();
        assert_eq!(pending_webhooks(c).unwrap(), 0);
    }

    #[test]
    fn queue_rows_are_dropped_failed_and_settled() {
        let db = Db::open_in_memory().unwrap();
        let c = db.conn();
        let old = record(c, "c", "create", &serde_json::json!({}), 5).unwrap();
        assert_eq!(drop_pending_up_to(c, old).unwrap(), 1);
        let a = record(c, "c", "start", &serde_json::json!({}), 6).unwrap();
        let b = record(c, "c", "die", &serde_json::json!({}), 7).unwrap();
        mark_failed(c, a).unwrap();
        assert_eq!(settle_up_to(c, b).unwrap(), 1);
        let st: Vec<String> = c
            .prepare("SELECT status FROM webhook_queue ORDER BY event_id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(st, ["dropped", "failed", "delivered"]);
        assert_eq!(pending_webhooks(c).unwrap(), 0);
        assert_eq!(since(c, a).unwrap().len(), 1);
        assert_eq!(last_id(c).unwrap(), b);
    }
}
