//! The `container_state` table: the lifecycle state of each container
//! (CREATED, RUNNING, STOPPED; DESTROYED is logged as an event when the rows
//! go), the init's pid and start time, exit code, timestamps and restarts.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::db::{query, DbError, Migration};

/// Migration 4: the `container_state` table.
pub const MIGRATION: Migration = Migration {
    version: 4,
    name: "create container_state",
    sql: "CREATE TABLE container_state (
        id TEXT PRIMARY KEY REFERENCES containers (id) ON DELETE CASCADE,
        status TEXT NOT NULL,
        pid INTEGER,
        pid_start INTEGER,
        monitor_pid INTEGER,
        exit_code INTEGER,
        started_at INTEGER,
        stopped_at INTEGER,
        restart_count INTEGER NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL
    );",
};

/// A lifecycle state (seed 001).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Created, not started.
    Created,
    /// Its init is running.
    Running,
    /// Its init exited (or was killed).
    Stopped,
    /// Removed; the row stays until it is purged.
    Destroyed,
}

impl Status {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "CREATED",
            Status::Running => "RUNNING",
            Status::Stopped => "STOPPED",
            Status::Destroyed => "DESTROYED",
        }
    }

    fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "CREATED" => Status::Created,
            "RUNNING" => Status::Running,
            "STOPPED" => Status::Stopped,
            "DESTROYED" => Status::Destroyed,
            _ => return None,
        })
    }
}

/// A container's state row.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StateRecord {
    /// The container's id.
    pub id: String,
    /// The container's status.
    pub status: Status,
    /// The init's host pid, while running.
    pub pid: Option<i64>,
    /// The init's start time (`/proc/PID/stat` field 22), so a recycled pid
    /// is never taken for the container.
    pub pid_start: Option<i64>,
    /// The host pid of the container's monitor process.
    pub monitor_pid: Option<i64>,
    /// The init's exit code, once stopped.
    pub exit_code: Option<i64>,
    /// Last start, seconds since the epoch.
    pub started_at: Option<i64>,
    /// Last stop, seconds since the epoch.
    pub stopped_at: Option<i64>,
    /// Restarts made by the restart policy.
    pub restart_count: i64,
    /// Last change of this row, seconds since the epoch.
    pub updated_at: i64,
}

const COLUMNS: &str = "id, status, pid, pid_start, monitor_pid, exit_code, started_at, stopped_at, restart_count, updated_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<StateRecord> {
    let s: String = row.get(1)?;
    let status = Status::parse(&s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            1,
            rusqlite::types::Type::Text,
            format!("unknown status `{s}`").into(),
        )
    })?;
    Ok(StateRecord {
        id: row.get(0)?,
        status,
        pid: row.get(2)?,
        pid_start: row.get(3)?,
        monitor_pid: row.get(4)?,
        exit_code: row.get(5)?,
        started_at: row.get(6)?,
        stopped_at: row.get(7)?,
        restart_count: row.get(8)?,
        updated_at: row.get(9)?,
    })
}

/// Inserts the first state of a container.
pub fn insert(conn: &Connection, r: &StateRecord) -> Result<(), DbError> {
    conn.execute(
        &format!("INSERT INTO container_state ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
        params![
            r.id,
            r.status.as_str(),
            r.pid,
            r.pid_start,
            r.monitor_pid,
            r.exit_code,
            r.started_at,
            r.stopped_at,
            r.restart_count,
            r.updated_at
        ],
    )
    .map_err(query("insert container state"))?;
    Ok(())
}

/// The state of `id`.
pub fn get(conn: &Connection, id: &str) -> Result<Option<StateRecord>, DbError> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM container_state WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
    .map_err(query("get container state"))
}

/// Marks `id` RUNNING if it is CREATED; whether it was.
pub fn set_running(conn: &Connection, id: &str, now: i64) -> Result<bool, DbError> {
    conn.execute(
        "UPDATE container_state SET status = 'RUNNING', started_at = ?2, updated_at = ?2
         WHERE id = ?1 AND status = 'CREATED'",
        params![id, now],
    )
    .map(|n| n > 0)
    .map_err(query("update container state"))
}

/// Marks `id` CREATED again with a new init (a stopped container re-created).
pub fn set_created(
    conn: &Connection,
    id: &str,
    pid: i64,
    pid_start: Option<i64>,
    monitor_pid: Option<i64>,
    now: i64,
) -> Result<(), DbError> {
    conn.execute(
        "UPDATE container_state SET status = 'CREATED', pid = ?2, pid_start = ?3,
         monitor_pid = ?4, exit_code = NULL, stopped_at = NULL, updated_at = ?5 WHERE id = ?1",
        params![id, pid, pid_start, monitor_pid, now],
    )
    .map_err(query("update container state"))?;
    Ok(())
}

/// Marks `id` STOPPED with its exit code, if the init is still `pid`.
pub fn set_stopped(
    conn: &Connection,
    id: &str,
    pid: i64,
    exit_code: i64,
    now: i64,
) -> Result<bool, DbError> {
    conn.execute(
        "UPDATE container_state SET status = 'STOPPED', exit_code = ?3, stopped_at = ?4,
         updated_at = ?4 WHERE id = ?1 AND (pid = ?2 OR pid IS NULL) AND status != 'STOPPED'",
        params![id, pid, exit_code, now],
    )
    .map(|n| n > 0)
    .map_err(query("update container state"))
}

/// Counts a restart.
pub fn bump_restarts(conn: &Connection, id: &str) -> Result<(), DbError> {
    conn.execute(
        "UPDATE container_state SET restart_count = restart_count + 1 WHERE id = ?1",
        [id],
    )
    .map_err(query("update container state"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::containers;
    use crate::db::migrations::{columns, migrate};
    use crate::db::Db;

    #[test]
    fn migration_4_creates_container_state() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, 4).unwrap();
        let cols = columns(&conn, "container_state");
        for c in [
            "status",
            "pid",
            "pid_start",
            "exit_code",
            "started_at",
            "stopped_at",
            "restart_count",
        ] {
            assert!(cols.contains(&c.to_string()), "{c}");
        }
    }

    #[test]
    fn transitions_and_cascade() {
        let db = Db::open_in_memory().unwrap();
        containers::insert(db.conn(), &containers::tests::sample("a")).unwrap();
        let r = StateRecord {
            id: "a".into(),
            status: Status::Created,
            pid: Some(10),
            pid_start: Some(5),
            monitor_pid: None,
            exit_code: None,
            started_at: None,
            stopped_at: None,
            restart_count: 0,
            updated_at: 1,
        };
        insert(db.conn(), &r).unwrap();
        assert!(set_running(db.conn(), "a", 2).unwrap());
        assert!(!set_running(db.conn(), "a", 3).unwrap());
        assert!(!set_stopped(db.conn(), "a", 11, 0, 4).unwrap(), "other pid");
        assert!(set_stopped(db.conn(), "a", 10, 3, 4).unwrap());
        let s = get(db.conn(), "a").unwrap().unwrap();
        assert_eq!(
            (s.status, s.exit_code, s.started_at),
            (Status::Stopped, Some(3), Some(2))
        );
        set_created(db.conn(), "a", 12, None, None, 5).unwrap();
        assert_eq!(
            get(db.conn(), "a").unwrap().unwrap().status,
            Status::Created
        );
        containers::delete(db.conn(), "a").unwrap();
        assert!(get(db.conn(), "a").unwrap().is_none());
    }
}
