//! `pause` / `resume`: freeze and thaw the container's cgroup.

use crate::container::GlobalFlags;
use crate::error::StateError;
use crate::Result;
use k3_cgroups as cgroups;

/// `k3rt pause ID` (`true`) or `k3rt resume ID` (`false`).
pub fn set_paused(ctx: &GlobalFlags, id: &str, paused: bool) -> Result<()> {
    let dir = ctx.container(id)?;
    let st = dir.load()?;
    let status = dir.status(&st);
    let allowed = if paused {
        status.can_pause()
    } else {
        status.can_resume()
    };
    if !allowed {
        return Err(StateError::BadState {
            op: if paused { "pause" } else { "resume" },
            id: id.to_string(),
            status,
            hint: if paused {
                ": only a running container can be paused"
            } else {
                ": it is not paused"
            },
        }
        .into());
    }
    Ok(cgroups::freeze(&st.cgroup_paths, paused)?)
}
