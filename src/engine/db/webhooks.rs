//! The `webhooks` table: one row per configured webhook URL with its cursor,
//! the id of the last event handed to it. A URL first configured gets the
//! newest event id of that moment (it receives what happens from then on,
//! not the history); a daemon started again resumes each URL after its
//! cursor, so nothing is sent twice and nothing that happened while no daemon
//! ran is lost. URLs no longer configured are forgotten.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::db::{events, query, DbError, Migration};

/// Migration 9: `webhooks`.
pub const MIGRATION: Migration = Migration {
    version: 9,
    name: "create webhooks",
    sql: "CREATE TABLE webhooks (
        url TEXT PRIMARY KEY,
        cursor INTEGER NOT NULL,
        configured_at INTEGER NOT NULL,
        delivered INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0
    );",
};

/// A configured webhook.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Webhook {
    /// Where events are POSTed.
    pub url: String,
    /// The last event id handed to it (delivered, or given up on).
    pub cursor: i64,
    /// When it was first configured, seconds since the epoch.
    pub configured_at: i64,
    /// Events it accepted.
    pub delivered: i64,
    /// Events given up on after every attempt failed.
    pub failed: i64,
}

/// Makes `urls` the configured set: a new URL starts after the newest event,
/// a known one keeps its cursor, the others are removed. Returns the rows.
pub fn configure(conn: &Connection, urls: &[String], now: i64) -> Result<Vec<Webhook>, DbError> {
    let last = events::last_id(conn)?;
    let known = list(conn)?;
    for w in &known {
        if !urls.contains(&w.url) {
            conn.execute("DELETE FROM webhooks WHERE url = ?1", [&w.url])
                .map_err(query("forget webhook"))?;
        }
    }
    for u in urls {
        conn.execute(
            "INSERT OR IGNORE INTO webhooks (url, cursor, configured_at) VALUES (?1, ?2, ?3)",
            params![u, last, now],
        )
        .map_err(query("configure webhook"))?;
    }
    list(conn)
}

/// Every configured webhook, by URL.
pub fn list(conn: &Connection) -> Result<Vec<Webhook>, DbError> {
    let mut stmt = conn
        .prepare("SELECT url, cursor, configured_at, delivered, failed FROM webhooks ORDER BY url")
        .map_err(query("list webhooks"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Webhook {
                url: r.get(0)?,
                cursor: r.get(1)?,
                configured_at: r.get(2)?,
                delivered: r.get(3)?,
                failed: r.get(4)?,
            })
        })
        .map_err(query("list webhooks"))?;
    rows.collect::<Result<_, _>>()
        .map_err(query("list webhooks"))
}

/// The cursor of `url`, if configured.
pub fn cursor(conn: &Connection, url: &str) -> Result<Option<i64>, DbError> {
    conn.query_row("SELECT cursor FROM webhooks WHERE url = ?1", [url], |r| {
        r.get(0)
    })
    .optional()
    .map_err(query("webhook cursor"))
}

/// Moves `url`'s cursor to `event_id` (never back), counting the event as
/// delivered or failed.
pub fn advance(
    conn: &Connection,
    url: &str,
    event_id: i64,
    delivered: bool,
) -> Result<(), DbError> {
    let (d, f) = if delivered { (1, 0) } else { (0, 1) };
    conn.execute(
        "UPDATE webhooks SET cursor = MAX(cursor, ?2), delivered = delivered + ?3,
         failed = failed + ?4 WHERE url = ?1",
        params![url, event_id, d, f],
    )
    .map_err(query("advance webhook"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::migrations::{columns, migrate};
    use crate::db::Db;

    #[test]
    fn migration_9_creates_webhooks() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, 9).unwrap();
        assert!(columns(&conn, "webhooks").contains(&"cursor".to_string()));
    }

    #[test]
    fn a_new_url_starts_after_the_history_and_a_known_one_resumes() {
        let db = Db::open_in_memory().unwrap();
        let c = db.conn();
        let ev = |k: &str| events::record(c, "c", k, &serde_json::json!({}), 5).unwrap();
        ev("create");
        let start = ev("start");
        let a = "http://127.0.0.1:1/a".to_string();
        let w = configure(c, std::slice::from_ref(&a), 10).unwrap();
        assert_eq!(w[0].cursor, start, "the history is not replayed");
        assert_eq!(w[0].configured_at, 10);
        let die = ev("die");
        advance(c, &a, die, true).unwrap();
        advance(c, &a, start, false).unwrap();
        assert_eq!(cursor(c, &a).unwrap(), Some(die), "never back");
        ev("destroy");
        // a restart with one more URL: the known one resumes, the new one starts now
        let b = "http://127.0.0.1:1/b".to_string();
        let w = configure(c, &[a.clone(), b.clone()], 20).unwrap();
        assert_eq!((w[0].cursor, w[0].delivered, w[0].failed), (die, 1, 1));
        assert_eq!(w[1].cursor, die + 1);
        // a URL left out is forgotten: configured again, it starts afresh
        configure(c, std::slice::from_ref(&b), 30).unwrap();
        assert_eq!(cursor(c, &a).unwrap(), None);
        ev("create");
        let w = configure(c, &[a.clone(), b], 40).unwrap();
        assert_eq!(w[0].cursor, die + 2);
    }
}
