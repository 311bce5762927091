//! OOM kills of a container, daemon or not: its monitor finds the memory
//! cgroup while the init lives (v1's memory controller, else the v2 unified
//! cgroup) and, when the init has exited and before the runtime deletes the
//! cgroup, reads the kernel's `oom_kill` counter (v2 `memory.events`, v1
//! `memory.oom_control`). Kills no `oom` event stands for yet become one, just
//! before the `die` event; `inspect` shows `State.OOMKilled` from it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use crate::container::stats::cgroup_dir;
use crate::db::{container_state, events, DbError};
use crate::supervisor::sampler::oom_kills;

/// The memory cgroup of the live process `pid`.
pub fn memory_cgroup(pid: i64) -> Option<PathBuf> {
    cgroup_dir(pid, "memory").or_else(|| cgroup_dir(pid, ""))
}

/// OOM kills counted in cgroup `dir` (0 when it has no such file).
pub fn kills(dir: &Path) -> u64 {
    ["memory.events", "memory.oom_control"]
        .iter()
        .find_map(|f| std::fs::read_to_string(dir.join(f)).ok())
        .map_or(0, |t| oom_kills(&t))
}

/// The kills in `dir` after an init exited with `code`: a SIGKILL (137) may
/// arrive a moment before the kernel counts the kill, so that case is read
/// twice.
pub fn kills_at_exit(dir: &Path, code: i64) -> u64 {
    let n = kills(dir);
    if n == 0 && code == 137 {
        std::thread::sleep(Duration::from_millis(50));
        return kills(dir);
    }
    n
}

/// Records one `oom` event for container `id` when its cgroup counted more
/// kills (`kills`) than there are `oom` events since its last start (the
/// daemon's sampler may have logged some). Returns whether it did.
pub fn record(conn: &Connection, id: &str, kills: u64, now: i64) -> Result<bool, DbError> {
    if kills == 0 {
        return Ok(false);
    }
    let started = container_state::get(conn, id)?
        .and_then(|s| s.started_at)
        .unwrap_or(i64::MIN);
    let seen = events::for_container(conn, id)?
        .iter()
        .filter(|e| e.kind == "oom" && e.created_at >= started)
        .count();
    if u64::try_from(seen).unwrap_or(u64::MAX) >= kills {
        return Ok(false);
    }
    events::record(
        conn,
        id,
        "oom",
        &serde_json::json!({"oomKills": kills}),
        now,
    )?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[test]
    fn kills_from_v2_events_or_v1_oom_control() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(kills(d.path()), 0);
        std::fs::write(
            d.path().join("memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        )
        .unwrap();
        assert_eq!(kills(d.path()), 2);
        std::fs::write(
            d.path().join("memory.events"),
            "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\noom_group_kill 0\n",
        )
        .unwrap();
        assert_eq!(kills(d.path()), 1, "v2's file first");
        assert_eq!(kills_at_exit(d.path(), 137), 1);
    }

    #[test]
    fn one_event_for_kills_not_logged_yet() {
        let db = Db::open_in_memory().unwrap();
        let c = db.conn();
        assert!(!record(c, "x", 0, 5).unwrap());
        assert!(record(c, "x", 1, 5).unwrap());
        assert!(
            !record(c, "x", 1, 6).unwrap(),
            "the sampler's or an earlier event stands for it"
        );
        assert!(record(c, "x", 2, 7).unwrap());
        let kinds: Vec<String> = events::for_container(c, "x")
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, ["oom", "oom"]);
    }
}
