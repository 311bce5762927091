//! `k3 rm [-f] ID...`.

use clap::Args;

use crate::cli::Failure;
use k3_engine::container::remove;
use k3_engine::context::Engine;

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Kill a running container first.
    #[arg(long, short = 'f')]
    pub force: bool,
    #[arg(long)]
    pub json: bool,
    #[arg(required = true)]
    pub ids: Vec<String>,
}

pub fn run(ctx: &mut Engine, a: RmArgs) -> Result<i32, Failure> {
    for id in &a.ids {
        remove::remove(ctx, id, a.force).map_err(|e| Failure::about(id, a.json)(e.into()))?;
        println!("{id}");
    }
    Ok(0)
}
