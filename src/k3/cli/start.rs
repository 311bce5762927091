//! `k3 start ID...`.

use clap::Args;

use crate::cli::Failure;
use k3_engine::container::start;
use k3_engine::context::Engine;

/// `k3 start` arguments.
#[derive(Args, Debug)]
pub struct StartArgs {
    /// On failure, print the error as a JSON object on stdout
    #[arg(long)]
    pub json: bool,
    /// Container ids
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// `k3 start`.
pub fn run(ctx: &mut Engine, a: StartArgs) -> Result<i32, Failure> {
    for id in &a.ids {
        start::start(ctx, id).map_err(|e| Failure::about(id, a.json)(e.into()))?;
        println!("{id}");
    }
    Ok(0)
}
