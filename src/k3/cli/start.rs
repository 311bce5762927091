//! `k3 start ID...`.

use clap::Args;

use crate::cli::Failure;
use k3_engine::container::start;
use k3_engine::context::Engine;

#[derive(Args, Debug)]
pub struct StartArgs {
    #[arg(long)]
    pub json: bool,
    #[arg(required = true)]
    pub ids: Vec<String>,
}

pub fn run(ctx: &mut Engine, a: StartArgs) -> Result<i32, Failure> {
    for id in &a.ids {
        start::start(ctx, id).map_err(|e| Failure::about(id, a.json)(e.into()))?;
        println!("{id}");
    }
    Ok(0)
}
