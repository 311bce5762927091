//! The engine's SQLite database (`k3.db` under the k3 root): WAL journal,
//! a busy timeout, and the schema built by ordered migrations
//! ([`migrations::MIGRATIONS`]). One file per table; each table file owns its
//! migration(s), its record type and its queries.

pub mod container_state;
pub mod containers;
pub mod events;
pub mod images;
pub mod migrations;
pub mod networks;
pub mod restarts;
pub mod snapshots;
pub mod volumes;
pub mod webhooks;

pub use migrations::Migration;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

/// How long a writer waits for another process' lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database file could not be opened or configured.
    #[error("cannot open database `{path}`")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// A migration failed (the database stays at the previous version).
    #[error("database migration `{version}` (`{name}`) failed")]
    Migration {
        /// The migration's version.
        version: i64,
        /// The migration's name.
        name: &'static str,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// The database is newer than this binary.
    #[error("database schema version `{found}` is newer than this k3 (`{known}`)")]
    TooNew {
        /// The stored version.
        found: i64,
        /// The newest version known here.
        known: i64,
    },
    /// A query failed.
    #[error("database query `{op}` failed")]
    Query {
        /// What was done.
        op: &'static str,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// A stored JSON column could not be decoded.
    #[error("corrupt `{column}` column in table `{table}`")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

/// Maps a rusqlite error of `op`.
pub(crate) fn query(op: &'static str) -> impl FnOnce(rusqlite::Error) -> DbError {
    move |source| DbError::Query { op, source }
}

/// An open, migrated database.
#[derive(Debug)]
pub struct Db {
    conn: Connection,
}

impl Db {
    /// Opens (creating) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let open_err = |source| DbError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        set_wal(&conn).map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        Db::migrated(conn)
    }

    /// An in-memory database (tests).
    pub fn open_in_memory() -> Result<Db, DbError> {
        let conn = Connection::open_in_memory().map_err(|source| DbError::Open {
            path: PathBuf::from(":memory:"),
            source,
        })?;
        Db::migrated(conn)
    }

    fn migrated(mut conn: Connection) -> Result<Db, DbError> {
        migrations::migrate(&mut conn, migrations::latest())?;
        Ok(Db { conn })
    }

    /// The connection.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, for transactions.
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Runs `f` in an `IMMEDIATE` transaction (the write lock is taken up
    /// front, so the busy timeout applies instead of a deadlock error).
    pub fn write<T>(
        &mut self,
        op: &'static str,
        f: impl FnOnce(&Connection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(query(op))?;
        let out = f(&tx)?;
        tx.commit().map_err(query(op))?;
        Ok(out)
    }
}

/// `journal_mode=WAL`, retried while busy. Switching a fresh database to
/// WAL upgrades the statement's shared lock to an exclusive one; when
/// several processes do that at the same moment SQLite answers `SQLITE_BUSY`
/// at once, without the busy handler (it would deadlock), so the busy
/// timeout alone does not cover concurrent first opens.
fn set_wal(conn: &Connection) -> rusqlite::Result<()> {
    let end = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < end =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            r => return r,
        }
    }
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_first_opens_all_succeed() {
        for _ in 0..20 {
            let d = tempfile::tempdir().unwrap();
            let path = d.path().join("k3.db");
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    let p = path.clone();
                    std::thread::spawn(move || Db::open(&p).map(|_| ()).map_err(|e| e.to_string()))
                })
                .collect();
            for t in threads {
                t.join().unwrap().unwrap();
            }
            let db = Db::open(&path).unwrap();
            let mode: String = db
                .conn()
                .pragma_query_value(None, "journal_mode", |r| r.get(0))
                .unwrap();
            assert_eq!(mode, "wal");
        }
    }
}
