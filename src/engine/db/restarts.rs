//! The `restarts` table: every restart a restart policy made (the monitor's
//! after an exit, the daemon's at its start), with the exit code that caused
//! it, the attempt number and the delay waited; and the queries saying
//! whether a container was stopped since its last start (its last
//! `start`/`stop` event is a `stop`), and whether by the user.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::db::{query, DbError, Migration};

/// Migration 8: the `restarts` table.
pub const MIGRATION: Migration = Migration {
    version: 8,
    name: "create restarts",
    sql: "CREATE TABLE restarts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        container_id TEXT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
        attempt INTEGER NOT NULL,
        exit_code INTEGER NOT NULL,
        delay_ms INTEGER NOT NULL,
        reason TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX restarts_container ON restarts (container_id);",
};

/// One restart.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Restart {
    /// The container restarted.
    pub container_id: String,
    /// This restart's number in the window, from 1.
    pub attempt: i64,
    /// The exit code that caused it.
    pub exit_code: i64,
    /// The delay before the restart, milliseconds.
    pub delay_ms: i64,
    /// `exit` (the policy) or `boot` (the daemon started).
    pub reason: String,
    /// When it was decided, seconds since the epoch.
    pub created_at: i64,
}

/// Records a restart.
pub fn insert(conn: &Connection, r: &Restart) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO restarts (container_id, attempt, exit_code, delay_ms, reason, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            r.container_id,
            r.attempt,
            r.exit_code,
            r.delay_ms,
            r.reason,
            r.created_at
        ],
    )
    .map_err(query("insert restart"))?;
    Ok(())
}

/// The times of the policy restarts of `id` (not those at daemon start).
pub fn times(conn: &Connection, id: &str) -> Result<Vec<i64>, DbError> {
    let mut stmt = conn
        .prepare("SELECT created_at FROM restarts WHERE container_id = ?1 AND reason = 'exit' ORDER BY id")
        .map_err(query("list restarts"))?;
    let rows = stmt
        .query_map([id], |r| r.get(0))
        .map_err(query("list restarts"))?;
    rows.collect::<Result<_, _>>()
        .map_err(query("list restarts"))
}

/// Every restart, oldest first.
pub fn list(conn: &Connection) -> Result<Vec<Restart>, DbError> {
    let mut stmt = conn
        .prepare("SELECT container_id, attempt, exit_code, delay_ms, reason, created_at FROM restarts ORDER BY id")
        .map_err(query("list restarts"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Restart {
                container_id: r.get(0)?,
                attempt: r.get(1)?,
                exit_code: r.get(2)?,
                delay_ms: r.get(3)?,
                reason: r.get(4)?,
                created_at: r.get(5)?,
            })
        })
        .map_err(query("list restarts"))?;
    rows.collect::<Result<_, _>>()
        .map_err(query("list restarts"))
}

/// Whether the container was stopped (by the user, the daemon's shutdown, an
/// `rm -f`) since it was last started: a monitor then leaves it stopped,
/// whatever its policy.
pub fn stopped_since_start(conn: &Connection, id: &str) -> Result<bool, DbError> {
    Ok(last_start_or_stop(conn, id)?.is_some_and(|(kind, _)| kind == "stop"))
}

fn last_start_or_stop(conn: &Connection, id: &str) -> Result<Option<(String, String)>, DbError> {
    conn.query_row(
        "SELECT kind, payload FROM events WHERE container_id = ?1
         AND kind IN ('start', 'stop') ORDER BY id DESC LIMIT 1",
        [id],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )
    .optional()
    .map_err(query("last stop"))
}

/// Whether the last `start`/`stop` event of `id` is a stop by the user.
pub fn user_stopped(conn: &Connection, id: &str) -> Result<bool, DbError> {
    Ok(last_start_or_stop(conn, id)?
        .is_some_and(|(kind, payload)| kind == "stop" && payload.contains("\"by\":\"user\"")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::events;
    use crate::db::migrations::{columns, migrate};
    use crate::db::Db;

    #[test]
    fn migration_8_creates_restarts() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, 8).unwrap();
        let cols = columns(&conn, "restarts");
        for c in ["container_id", "attempt", "exit_code", "delay_ms", "reason"] {
            assert!(cols.contains(&c.to_string()), "{c}");
        }
    }

    #[test]
    fn user_stop_is_the_last_start_or_stop() {
        let db = Db::open_in_memory().unwrap();
        let c = db.conn();
        assert!(!user_stopped(c, "a").unwrap());
        assert!(!stopped_since_start(c, "a").unwrap());
        events::record(c, "a", "start", &serde_json::json!({}), 1).unwrap();
        assert!(!stopped_since_start(c, "a").unwrap());
        events::record(c, "a", "stop", &serde_json::json!({"by": "user"}), 2).unwrap();
        events::record(c, "a", "die", &serde_json::json!({}), 3).unwrap();
        assert!(user_stopped(c, "a").unwrap());
        events::record(c, "a", "start", &serde_json::json!({}), 4).unwrap();
        assert!(!user_stopped(c, "a").unwrap());
        events::record(c, "a", "stop", &serde_json::json!({"by": "daemon"}), 5).unwrap();
        assert!(!user_stopped(c, "a").unwrap());
        assert!(
            stopped_since_start(c, "a").unwrap(),
            "any stop counts for a monitor"
        );
    }
}
