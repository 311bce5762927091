//! `k3 kill [-s SIGNAL] ID...`.

use clap::Args;

use crate::cli::Failure;
use k3_engine::container::kill;
use k3_engine::context::Engine;

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Name or number (default KILL).
    #[arg(long, short = 's', default_value = "KILL", allow_hyphen_values = true)]
    pub signal: String,
    #[arg(long)]
    pub json: bool,
    #[arg(required = true)]
    pub ids: Vec<String>,
}

pub fn run(ctx: &mut Engine, a: KillArgs) -> Result<i32, Failure> {
    for id in &a.ids {
        kill::kill(ctx, id, &a.signal).map_err(|e| Failure::about(id, a.json)(e.into()))?;
        println!("{id}");
    }
    Ok(0)
}
