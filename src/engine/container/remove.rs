//! `rm`: removes a stopped or created container (running ones with `force`): runtime
//! state, network (veth, netns, lease, port rules), snapshot, bundle dir and
//! rows; its named volumes stay. A `destroy` event is logged.

use std::path::Path;
use std::time::Duration;

use crate::container::{load, stop::stop_by, ContainerError};
use crate::context::Engine;
use crate::db::container_state::Status;
use crate::db::{self, containers, events};
use crate::network;
use crate::store::content::remove_tree;
use crate::store::snapshots;

/// Removes `id`; first what a crashed create of `id` left (its journal).
pub fn remove(ctx: &mut Engine, id: &str, force: bool) -> Result<(), ContainerError> {
    let recovered = crate::create::journal::recover(ctx, id);
    if let Some(failed) = recovered.as_ref().filter(|f| !f.is_empty()) {
        return Err(ContainerError::Io {
            op: "remove what a crashed create left of",
            path: id.into(),
            source: std::io::Error::other(failed.join("; ")),
        });
    }
    let l = match load(ctx, id) {
        Err(ContainerError::NotFound(_)) if recovered.is_some() => return Ok(()),
        l => l?,
    };
    if matches!(l.state.status, Status::Running | Status::Created) {
        // A created, never-started container goes without `-f` (docker, runc).
        if !force && l.state.status == Status::Running {
            return Err(ContainerError::State {
                id: id.to_string(),
                status: l.state.status.as_str(),
                hint: "stop it first or use `rm -f`",
            });
        }
        stop_by(ctx, id, Duration::ZERO, "user")?;
    } else {
        // ends a restart its monitor may be waiting to make
        stop_by(ctx, id, Duration::ZERO, "user")?;
    }
    let _ = l
        .runtime(ctx)
        .delete(&l.runtime_log(), &l.record.hash, true);
    network::teardown(ctx, id, &l.record.hash)?;
    match ctx.snapshots.remove(&ctx.store, &ctx.db, &l.record.hash) {
        Ok(()) | Err(snapshots::SnapshotError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let bundle = Path::new(&l.record.bundle);
    remove_tree(bundle).map_err(|e| ContainerError::Io {
        op: "remove",
        path: bundle.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let now = db::now();
    ctx.db.write("remove container", |c| {
        containers::delete(c, id)?;
        events::record(
            c,
            id,
            "destroy",
            &serde_json::json!({"status": "DESTROYED"}),
            now,
        )?;
        Ok(())
    })?;
    Ok(())
}
