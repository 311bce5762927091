//! Ordered schema migrations, tracked in SQLite's `user_version`.
//!
//! To add a table: write `db/<table>.rs` with a `pub const MIGRATION`, append
//! it to [`MIGRATIONS`] with the next version, and give it a test that
//! migrates to that version and checks the schema (see `images.rs`).
//! Never edit a migration that has shipped; add a new one.

use rusqlite::Connection;

use rusqlite::TransactionBehavior;

use crate::db::{
    container_state, containers, events, images, networks, restarts, snapshots, volumes, webhooks,
    DbError,
};

/// One schema step.
#[derive(Debug)]
pub struct Migration {
    /// Its position, from 1, without gaps.
    pub version: i64,
    /// A short name for errors.
    pub name: &'static str,
    /// The SQL run in one transaction.
    pub sql: &'static str,
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    images::MIGRATION,
    snapshots::MIGRATION,
    containers::MIGRATION,
    container_state::MIGRATION,
    volumes::MIGRATION,
    events::MIGRATION,
    networks::MIGRATION,
    restarts::MIGRATION,
    webhooks::MIGRATION,
];

/// The newest schema version.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The schema version stored in `conn`.
pub fn version(conn: &Connection) -> Result<i64, DbError> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(crate::db::query("read user_version"))
}

/// Applies the migrations after the stored version up to `target`, each in
/// its own `IMMEDIATE` transaction together with the version bump. The
/// version is read again inside the transaction, so two `k3` processes
/// opening a fresh database at once apply each migration once.
pub fn migrate(conn: &mut Connection, target: i64) -> Result<i64, DbError> {
    let current = version(conn)?;
    if current > latest() {
        return Err(DbError::TooNew {
            found: current,
            known: latest(),
        });
    }
    for m in MIGRATIONS
        .iter()
        .filter(|m| m.version > current && m.version <= target)
    {
        let err = |source| DbError::Migration {
            version: m.version,
            name: m.name,
            source,
        };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        if version(&tx)? >= m.version {
            continue;
        }
        tx.execute_batch(m.sql).map_err(err)?;
        tx.pragma_update(None, "user_version", m.version)
            .map_err(err)?;
        tx.commit().map_err(err)?;
    }
    version(conn)
}

/// Column names of `table` (tests of each migration use it).
pub fn columns(conn: &Connection, table: &str) -> Vec<String> {
    let Ok(mut stmt) = conn.prepare(&format!("PRAGMA table_info({table})")) else {
        return Vec::new();
    };
    stmt.query_map([], |r| r.get::<_, String>(1))
        .map(|rows| rows.filter_map(Result::ok).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_ordered_without_gaps() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(
                m.version,
                i64::try_from(i).unwrap() + 1,
                "migration `{}`",
                m.name
            );
        }
    }

    #[test]
    fn migrate_is_idempotent_and_stepwise() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn, 1).unwrap(), 1);
        assert_eq!(migrate(&mut conn, latest()).unwrap(), latest());
        assert_eq!(migrate(&mut conn, latest()).unwrap(), latest());
    }

    #[test]
    fn refuses_newer_database() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", latest() + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn, latest()),
            Err(DbError::TooNew { .. })
        ));
    }

    #[test]
    fn failed_migration_leaves_previous_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, 1).unwrap();
        // A conflicting table makes migration 2 fail.
        conn.execute_batch("CREATE TABLE snapshots (x)").unwrap();
        assert!(matches!(
            migrate(&mut conn, 2),
            Err(DbError::Migration { version: 2, .. })
        ));
        assert_eq!(version(&conn).unwrap(), 1);
    }
}
