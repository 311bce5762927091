//! `k3 kill [-s SIGNAL] ID...`.

use clap::Args;

use crate::cli::Failure;
use k3_engine::container::kill;
use k3_engine::context::Engine;

/// `k3 kill` arguments.
#[derive(Args, Debug)]
pub struct KillArgs {
    /// Signal: name (`TERM`, `SIGHUP`) or number
    #[arg(long, short = 's', default_value = "KILL", allow_hyphen_values = true)]
    pub signal: String,
    /// On failure, print the error as a JSON object on stdout
    #[arg(long)]
    pub json: bool,
    /// Container ids
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// `k3 kill`.
pub fn run(ctx: &mut Engine, a: KillArgs) -> Result<i32, Failure> {
    for id in &a.ids {
        kill::kill(ctx, id, &a.signal).map_err(|e| Failure::about(id, a.json)(e.into()))?;
        println!("{id}");
    }
    Ok(0)
}
