//! `k3 pause ID...` / `k3 unpause ID...`: freeze or thaw containers.

use clap::Args;

use crate::cli::Failure;
use k3_engine::container::pause;
use k3_engine::context::Engine;

/// `k3 pause`/`k3 unpause` arguments.
#[derive(Args, Debug)]
pub struct PauseArgs {
    /// Container ids
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// Pauses (`unpause`: thaws) each container, printing its id; stops at the first failure.
pub fn run(ctx: &mut Engine, a: PauseArgs, unpause: bool) -> Result<i32, Failure> {
    for id in &a.ids {
        pause::pause(ctx, id, unpause).map_err(|e| Failure::about(id, false)(e.into()))?;
        println!("{id}");
    }
    Ok(0)
}
