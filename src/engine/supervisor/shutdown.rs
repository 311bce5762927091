//! Seed 001's signal handling and the start-up reconciliation.
//!
//! Shutdown (SIGINT/SIGTERM): SIGTERM every RUNNING container, wait the
//! grace period (a second signal cuts it short), mark what is still RUNNING
//! or CREATED as STOPPED, SIGKILL it, then checkpoint the database; the
//! caller stops the web server and exits 0. The stops are logged as `stop`
//! events `by: daemon`, so `always`/`unless-stopped` come back at the next
//! start.
//!
//! Reconciliation (after a crash of the daemon): every record is loaded,
//! which records dead inits whose monitor is gone as STOPPED; network
//! leftovers of half-made creates are removed.

use std::time::{Duration, Instant};

use crate::container::{kill, list, load, ContainerError};
use crate::context::Engine;
use crate::db::container_state::{self, Status};
use crate::db::{self, events, DbError};
use crate::network;
use crate::supervisor::Shared;

/// What the shutdown did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    /// Sent SIGTERM.
    pub termed: Vec<String>,
    /// Still there after the grace period: marked STOPPED and sent SIGKILL.
    pub killed: Vec<String>,
}

fn active(ctx: &mut Engine) -> Result<Vec<(String, Status, i64)>, ContainerError> {
    Ok(list::list(ctx, false)?
        .into_iter()
        .map(|s| (s.id, s.status, s.pid.unwrap_or(0)))
        .collect())
}

fn log_stop(ctx: &mut Engine, id: &str) -> Result<(), DbError> {
    let now = db::now();
    ctx.db.write("stop", |c| {
        events::record(c, id, "stop", &serde_json::json!({"by": "daemon"}), now).map(|_| ())
    })
}

/// The shutdown sequence.
pub fn shutdown(ctx: &mut Engine, shared: &Shared) -> Result<Report, ContainerError> {
    let mut rep = Report::default();
    for (id, status, _) in active(ctx)? {
        if status == Status::Running {
            log_stop(ctx, &id)?;
            if kill::kill(ctx, &id, "TERM").is_ok() {
                rep.termed.push(id);
            }
        }
    }
    // `k3 serve --grace 18446744073709551615` waits for ever, not overflows
    let end = Instant::now().checked_add(shared.cfg.grace);
    while end.is_none_or(|end| Instant::now() < end) && !shared.forced() && !active(ctx)?.is_empty()
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let left = active(ctx)?;
    let now = db::now();
    ctx.db.write("mark stopped", |c| {
        for (id, status, pid) in &left {
            if *status == Status::Created {
                events::record(c, id, "stop", &serde_json::json!({"by": "daemon"}), now)?;
            }
            if container_state::set_stopped(c, id, *pid, 137, now)? {
                events::record(
                    c,
                    id,
                    "die",
                    &serde_json::json!({"exitCode": 137, "shutdown": true}),
                    now,
                )?;
            }
        }
        Ok(())
    })?;
    for (id, _, pid) in left {
        if let Ok(l) = load(ctx, &id) {
            let _ = l
                .runtime(ctx)
                .kill(&l.runtime_log(), &l.record.hash, "KILL");
        }
        if pid > 0 {
            // SAFETY: kill(2) on a pid the record names; the runtime may
            // already have deleted its state, so signal the init directly too.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        rep.killed.push(id);
    }
    let _ = ctx
        .db
        .conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
    Ok(rep)
}

/// Brings the records in line with reality after a crash; the ids whose
/// state changed (dead inits recorded as STOPPED).
pub fn reconcile(ctx: &mut Engine) -> Result<Vec<String>, ContainerError> {
    let before: Vec<(String, Status)> = crate::db::containers::list(ctx.db.conn())?
        .into_iter()
        .filter_map(|r| {
            let s = container_state::get(ctx.db.conn(), &r.id).ok()??;
            Some((r.id, s.status))
        })
        .collect();
    let after = list::list(ctx, true)?;
    network::reconcile(ctx);
    Ok(before
        .into_iter()
        .filter(|(id, st)| after.iter().any(|a| &a.id == id && a.status != *st))
        .map(|(id, _)| id)
        .collect())
}
