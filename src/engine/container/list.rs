//! `ls`/`ps` and `inspect`: records with their reconciled state (seed 001's
//! `list` and `get_info`).

use serde::Serialize;

use crate::container::{load, Container, ContainerError};
use crate::context::Engine;
use crate::db::container_state::Status;
use crate::db::{containers, events};

/// One row of `ls` (seed 000's `listContainers` records have a `name`).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The container's id.
    pub id: String,
    /// The container's name.
    pub name: String,
    /// The image reference it was created from.
    pub image: String,
    /// The command line, joined with spaces.
    pub command: String,
    /// The recorded status.
    pub status: Status,
    /// The init's host pid, while running.
    pub pid: Option<i64>,
    /// The init's exit code, once stopped.
    pub exit_code: Option<i64>,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
    /// Last start, seconds since the epoch.
    pub started_at: Option<i64>,
    /// Last stop, seconds since the epoch.
    pub stopped_at: Option<i64>,
    /// The container's address on its network.
    pub ip: Option<String>,
    /// Published ports, `HOST:CONTAINER/PROTO` each.
    pub ports: Vec<String>,
    /// Restarts its restart policy made.
    pub restart_count: i64,
}

/// Containers; only CREATED/RUNNING ones unless `all`.
pub fn list(ctx: &mut Engine, all: bool) -> Result<Vec<Summary>, ContainerError> {
    let ids: Vec<String> = containers::list(ctx.db.conn())?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let mut out = Vec::new();
    for id in ids {
        let l = match load(ctx, &id) {
            Ok(l) => l,
            Err(ContainerError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        if all || matches!(l.state.status, Status::Created | Status::Running) {
            out.push(summary(&l));
        }
    }
    Ok(out)
}

fn summary(l: &Container) -> Summary {
    let args: Vec<String> = l.record.config["process"]["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let v = &l.record.validated;
    Summary {
        id: l.record.id.clone(),
        name: l.record.id.clone(),
        image: l.record.image.clone(),
        command: args.join(" "),
        status: l.state.status,
        pid: l.state.pid.filter(|_| l.state.status != Status::Stopped),
        exit_code: l.state.exit_code,
        created_at: l.record.created_at,
        started_at: l.state.started_at,
        stopped_at: l.state.stopped_at,
        ip: l.record.config["annotations"]["io.k3.ip"]
            .as_str()
            .map(str::to_string),
        ports: v["publish"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| {
                        format!(
                            "{}->{}/{}",
                            p["host_port"],
                            p["container_port"],
                            p["proto"].as_str().unwrap_or("tcp")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        restart_count: l.state.restart_count,
    }
}

/// Everything about `id`: record, state, summary and events.
pub fn inspect(ctx: &mut Engine, id: &str) -> Result<serde_json::Value, ContainerError> {
    let l = load(ctx, id)?;
    let ev = events::for_container(ctx.db.conn(), id)?;
    Ok(serde_json::json!({
        "Id": l.record.id,
        "Name": l.record.id,
        "Hash": l.record.hash,
        "Image": l.record.image,
        "ImageDigest": l.record.image_digest,
        "Created": l.record.created_at,
        "State": l.state,
        "Options": l.record.options,
        "Validated": l.record.validated,
        "Config": l.record.config,
        "Bundle": l.record.bundle,
        "Runtime": l.record.runtime,
        "Summary": summary(&l),
        "Events": ev,
    }))
}
