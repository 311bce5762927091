//! `k3 rm [-f] ID...`.

use clap::Args;

use crate::cli::Failure;
use k3_engine::container::remove;
use k3_engine::context::Engine;

/// `k3 rm` arguments.
#[derive(Args, Debug)]
pub struct RmArgs {
    /// Kill a running container first.
    #[arg(long, short = 'f')]
    pub force: bool,
    /// On failure, print the error as a JSON object on stdout
    #[arg(long)]
    pub json: bool,
    /// Container ids
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// `k3 rm`.
pub fn run(ctx: &mut Engine, a: RmArgs) -> Result<i32, Failure> {
    for id in &a.ids {
        remove::remove(ctx, id, a.force).map_err(|e| Failure::about(id, a.json)(e.into()))?;
        println!("{id}");
    }
    Ok(0)
}
