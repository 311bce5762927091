//! `k3rt pause` and `k3rt resume`: freeze and thaw the container's cgroup.

use clap::Args;

use k3_runtime::container::{pause, Ctx};

/// `k3rt pause` arguments.
#[derive(Args, Debug)]
pub struct PauseArgs {
    /// Container id
    pub id: String,
}

/// `k3rt resume` arguments.
#[derive(Args, Debug)]
pub struct ResumeArgs {
    /// Container id
    pub id: String,
}

/// `k3rt pause`.
pub fn pause(ctx: &Ctx, a: &PauseArgs) -> k3_runtime::Result<u8> {
    pause::set_paused(ctx, &a.id, true)?;
    Ok(0)
}

/// `k3rt resume`.
pub fn resume(ctx: &Ctx, a: &ResumeArgs) -> k3_runtime::Result<u8> {
    pause::set_paused(ctx, &a.id, false)?;
    Ok(0)
}
