//! Leftovers of crashed creates, found and removed.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use super::host::release_at;
use super::names::veth_name;
use crate::context::Engine;
use crate::db::containers;
use crate::db::networks::{self, Lease};

/// Removes leftovers of crashed creates of this root: netns files and leases
/// of no container, with their veths. Only what is this root's is looked
/// at — its `netns` directory and its leases — never the host's `k3-*`
/// links, which may be another root's containers.
///
/// A create makes its netns and lease (step 6) and veth (step 9) well
/// before its record exists (step 13); what tells it from a crashed one is
/// its live marker (`marker`), held from before step 6 until the
/// record is committed or the work undone. The candidates are checked
/// against the markers first and against the records after: a create no
/// longer marked when checked has committed its record by then (or undone
/// its work), so the records read afterwards include it.
pub fn reconcile(ctx: &Engine) {
    let root = ctx.store.root();
    let busy = |h: &str| in_progress(root, h);
    let netns: Vec<String> = fs::read_dir(root.join("netns"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|h| !busy(h))
                .collect()
        })
        .unwrap_or_default();
    let leases: Vec<Lease> = networks::leases(ctx.db.conn(), None)
        .map(|l| l.into_iter().filter(|l| !busy(&l.hash)).collect())
        .unwrap_or_default();
    let Ok(all) = containers::list(ctx.db.conn()) else {
        return;
    };
    let hashes: HashSet<String> = all.iter().map(|c| c.hash.clone()).collect();
    let ids: HashSet<String> = all.iter().map(|c| c.id.clone()).collect();
    for h in netns.iter().filter(|h| !hashes.contains(*h)) {
        release_at(ctx.network.as_ref(), root, h);
    }
    for l in leases.iter().filter(|l| !ids.contains(&l.container_id)) {
        let _ = ctx.network.delete_link(&veth_name(&l.hash));
        let _ = networks::release(ctx.db.conn(), &l.container_id);
    }
}

/// A create of `hash_prefix` still running (its marker held).
fn in_progress(root: &Path, hash_prefix: &str) -> bool {
    crate::marker::in_progress(root, hash_prefix)
}
