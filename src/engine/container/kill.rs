//! `kill`: a signal to the container's init through the runtime.

use crate::container::{load, ContainerError};
use crate::context::Engine;
use crate::db::container_state::Status;

/// Sends `signal` (a name or number) to `id`, which must be running.
pub fn kill(ctx: &mut Engine, id: &str, signal: &str) -> Result<(), ContainerError> {
    // refused here (422, named), not by the runtime (a 500 from `k3rt kill`)
    crate::options::signal(signal)?;
    let l = load(ctx, id)?;
    if !matches!(l.state.status, Status::Running | Status::Created) {
        return Err(ContainerError::State {
            id: id.to_string(),
            status: l.state.status.as_str(),
            hint: "container not running",
        });
    }
    crate::container::pause::refuse_paused(&l, "unpause the container before killing it")?;
    l.runtime(ctx)
        .kill(&l.runtime_log(), &l.record.hash, signal)
        .map_err(l.rt_err())
}
