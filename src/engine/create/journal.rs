//! The create journal and its replay: what a crashed create made, removed.
//!
//! A create writes to its `id-<id>` marker (`marker`) before each step:
//! `hash H` once the hash is known (everything after is keyed by it: netns,
//! veth, snapshot, bundle, runtime container, monitor), `volume NAME` before
//! it makes a named volume that did not exist, `runtime-root` before the
//! runtime's first create makes its root, and `step N` before step N.
//! A marker nobody holds is a crashed create's; [`recover`] (`k3 rm -f ID`)
//! and [`recover_all`] (`k3 prune`, the daemon's start-up reconcile) replay
//! it: kill the monitor, the runtime's create and its init, `delete --force`
//! the runtime container, tear the network down, remove the snapshot and the
//! bundle and the volumes made, then the markers. Undoing a step that never
//! ran is a no-op, so the replay does not need to know how far the create got.
//!
//! `K3_CREATE_CRASH_AT=N` (hidden, for the crash suite) kills the create with
//! SIGKILL right after it journals step N (16: after the commit, before the
//! marker goes).

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::context::Engine;
use crate::db::{containers, volumes as volume_rows};
use crate::marker::{self, Marker};
use crate::monitor;
use crate::network;
use crate::oci_runtime::{is_missing, RuntimeError};
use crate::store::content::remove_tree;
use crate::store::snapshots::SnapshotError;
use crate::store::volumes::{self, VolumeError};

/// What a journal says was (or was about to be) made.
#[derive(Debug, Default, PartialEq)]
pub struct Journal {
    /// The container hash.
    pub hash: Option<String>,
    /// Named volumes the create made.
    pub volumes: Vec<String>,
    /// The last step begun.
    pub step: u32,
    /// The runtime's root did not exist before the create.
    pub runtime_root: bool,
}

impl Journal {
    /// Parses the journal's lines (unknown ones are ignored).
    pub fn parse(lines: &[String]) -> Journal {
        let mut j = Journal::default();
        for l in lines {
            match l.split_once(' ') {
                Some(("hash", h)) if is_hash(h) => j.hash = Some(h.to_string()),
                Some(("volume", v)) => j.volumes.push(v.to_string()),
                Some(("step", n)) => j.step = n.parse().unwrap_or(j.step),
                None if l == "runtime-root" => j.runtime_root = true,
                _ => {}
            }
        }
        j
    }
}

/// A hash is 16 hex digits: never a path.
fn is_hash(h: &str) -> bool {
    h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A volume name the journal may name: one path component.
fn is_name(v: &str) -> bool {
    !v.is_empty() && v != "." && v != ".." && !v.contains('/') && !v.contains('\0')
}

/// Journals step `n`, then dies there if the crash suite asks.
pub(super) fn step(m: &Marker, n: u32) -> std::io::Result<()> {
    m.note(&format!("step {n}"))?;
    crash_point(n);
    Ok(())
}

/// `K3_CREATE_CRASH_AT=n`: SIGKILL, as a crash would.
pub(super) fn crash_point(n: u32) {
    if std::env::var("K3_CREATE_CRASH_AT").is_ok_and(|v| v == n.to_string()) {
        // SAFETY: kill(2) of this very process.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    }
}

/// Replays the journal of a crashed create of `id`; what could not be removed,
/// as `what: message`. `None` when there is none (no create of `id` crashed,
/// or it is still running).
pub fn recover(ctx: &mut Engine, id: &str) -> Option<Vec<String>> {
    let m = Marker::take_stale(ctx.store.root(), &marker::id_name(id)).ok()??;
    let failed = replay(ctx, id, &m);
    if failed.is_empty() {
        drop(m); // removes the marker: replayed in full
    } else {
        m.keep(); // for the next try
    }
    Some(failed)
}

/// Replays the journal of held marker `m` (a crashed create of `id`).
pub fn replay(ctx: &mut Engine, id: &str, m: &Marker) -> Vec<String> {
    let j = Journal::parse(&m.journal().unwrap_or_default());
    let mut failed = Vec::new();
    if let Some(hash) = &j.hash {
        undo(ctx, id, hash, &j, &mut failed);
    }
    failed
}

/// Replays every crashed create's journal; the ids recovered, and failures.
pub fn recover_all(ctx: &mut Engine) -> (Vec<String>, Vec<String>) {
    let (mut done, mut failed) = (Vec::new(), Vec::new());
    for id in marker::ids(ctx.store.root()) {
        match recover(ctx, &id) {
            Some(f) if f.is_empty() => done.push(id),
            Some(f) => failed.extend(f.into_iter().map(|e| format!("`{id}`: {e}"))),
            None => {}
        }
    }
    (done, failed)
}

fn undo(ctx: &mut Engine, id: &str, hash: &str, j: &Journal, failed: &mut Vec<String>) {
    let record = containers::get(ctx.db.conn(), id).ok().flatten();
    let root = ctx.store.root().to_path_buf();
    if record.as_ref().is_some_and(|r| r.hash == hash) {
        // committed: it crashed after step 15, the container is whole
        marker::in_progress(&root, hash);
        return;
    }
    let bundle = ctx.bundle_dir(hash);
    // The monitor, the runtime's create it runs and that create's init all
    // name the bundle; none of them may go on making things while we remove.
    kill_naming(&bundle);
    let log = if bundle.is_dir() {
        monitor::runtime_log(&bundle)
    } else {
        "/dev/null".into()
    };
    match ctx.runtime.delete(&log, hash, true) {
        Ok(()) => {}
        Err(RuntimeError::Failed { msg, .. }) if is_missing(&msg) => {}
        Err(e) => failed.push(format!("delete runtime container: {e}")),
    }
    if record.is_some() {
        // the id was taken by another create since: only what is keyed by our hash
        network::release_at(ctx.network.as_ref(), &root, hash);
    } else if let Err(e) = network::teardown(ctx, id, hash) {
        failed.push(format!("network: {e}"));
    }
    match ctx.snapshots.remove(&ctx.store, &ctx.db, hash) {
        Ok(()) | Err(SnapshotError::NotFound(_)) => {}
        Err(e) => failed.push(format!("snapshot: {e}")),
    }
    if let Err(e) = remove_tree(&bundle) {
        failed.push(format!("bundle: {e}"));
    }
    for v in &j.volumes {
        // another container may have started using it since: then it stays
        let used = volume_rows::users(ctx.db.conn(), v).map_or(true, |u| !u.is_empty());
        if used {
            continue;
        }
        match volumes::remove(&ctx.store, &ctx.db, v) {
            Ok(()) | Err(VolumeError::InUse { .. }) => {}
            // killed between its directory and its row: the directory alone
            Err(VolumeError::NotFound(_)) if is_name(v) => {
                if let Err(e) = remove_tree(&root.join("volumes").join(v)) {
                    failed.push(format!("volume `{v}`: {e}"));
                }
            }
            Err(VolumeError::NotFound(_)) => {}
            Err(e) => failed.push(format!("volume `{v}`: {e}")),
        }
    }
    if j.runtime_root {
        // only an empty one: another create may use it by now (as the undo)
        let _ = fs::remove_dir(ctx.runtime.root());
    }
    // the hash marker, unheld now, goes with the check
    marker::in_progress(&root, hash);
}

/// SIGKILLs every process whose command line contains `path`, until none is
/// left (a create may clone its init while we look), then waits them gone.
fn kill_naming(path: &Path) {
    let needle = path.as_os_str().as_encoded_bytes();
    let me = std::process::id();
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let pids: Vec<i32> = fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|p| u32::try_from(*p).ok() != Some(me))
            .filter(|p| {
                fs::read(format!("/proc/{p}/cmdline"))
                    .is_ok_and(|c| c.windows(needle.len()).any(|w| w == needle))
            })
            .collect();
        if pids.is_empty() || Instant::now() > end {
            return;
        }
        for p in pids {
            // SAFETY: kill(2); a pid reused meanwhile would need the same command line.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &[&str]) -> Vec<String> {
        s.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn parses_what_was_made() {
        let j = Journal::parse(&lines(&[
            "step 2",
            "hash 0123456789abcdef",
            "volume data",
            "step 7",
        ]));
        assert_eq!(
            j,
            Journal {
                hash: Some("0123456789abcdef".into()),
                volumes: vec!["data".into()],
                step: 7,
                runtime_root: false,
            }
        );
    }

    #[test]
    fn a_hash_that_is_not_one_is_ignored() {
        for bad in ["../../etc", "0123", "0123456789abcdeg", ""] {
            let j = Journal::parse(&lines(&[&format!("hash {bad}")]));
            assert_eq!(j.hash, None, "{bad}");
        }
    }
}
