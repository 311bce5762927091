//! `pause`/`unpause`: the runtime freezes or thaws the container's cgroup; the
//! state stays RUNNING (docker shows `Up ... (Paused)`), `pause`/`unpause`
//! events are recorded.

use crate::container::stats::frozen;
use crate::container::{load, Container, ContainerError};
use crate::context::Engine;
use crate::db::container_state::Status;
use crate::db::{self, events};

/// Refuses `verb` (stop, kill) of a paused container as docker and podman do
/// ("unpause it first"); `rm -f` thaws it instead.
pub fn refuse_paused(l: &Container, hint: &'static str) -> Result<(), ContainerError> {
    if l.state.status == Status::Running && l.state.pid.is_some_and(|p| p > 0 && frozen(p)) {
        return Err(ContainerError::State {
            id: l.record.id.clone(),
            status: "PAUSED",
            hint,
        });
    }
    Ok(())
}

/// Pauses `id` (`unpause`: thaws it). A running container only; pausing a
/// paused one, or thawing one that is not, is refused as docker does.
pub fn pause(ctx: &mut Engine, id: &str, unpause: bool) -> Result<(), ContainerError> {
    let l = load(ctx, id)?;
    let pid = l.state.pid.unwrap_or(0);
    if l.state.status != Status::Running || pid <= 0 {
        return Err(ContainerError::State {
            id: id.to_string(),
            status: l.state.status.as_str(),
            hint: "container not running",
        });
    }
    match (frozen(pid), unpause) {
        (true, false) => {
            return Err(ContainerError::State {
                id: id.to_string(),
                status: "PAUSED",
                hint: "container already paused",
            })
        }
        (false, true) => {
            return Err(ContainerError::State {
                id: id.to_string(),
                status: "RUNNING",
                hint: "container not paused",
            })
        }
        _ => {}
    }
    l.runtime(ctx)
        .pause(&l.runtime_log(), &l.record.hash, unpause)
        .map_err(l.rt_err())?;
    let kind = if unpause { "unpause" } else { "pause" };
    let now = db::now();
    ctx.db.write(kind, |c| {
        events::record(c, id, kind, &serde_json::json!({}), now).map(|_| ())
    })?;
    Ok(())
}
