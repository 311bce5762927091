//! `k3rt start`: let a created container's process run.

use clap::Args;

use k3_runtime::container::{start, Ctx};

/// `k3rt start` arguments.
#[derive(Args, Debug)]
pub struct StartArgs {
    /// Container id
    pub id: String,
}

/// `k3rt start`.
pub fn run(ctx: &Ctx, a: &StartArgs) -> k3_runtime::Result<u8> {
    start::start(ctx, &a.id)?;
    Ok(0)
}
