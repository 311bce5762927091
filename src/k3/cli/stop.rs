//! `k3 stop [-t SECS] ID...`: TERM, grace, KILL.

use std::time::Duration;

use clap::Args;

use crate::cli::Failure;
use k3_engine::container::stop;
use k3_engine::context::Engine;

/// `k3 stop` arguments.
#[derive(Args, Debug)]
pub struct StopArgs {
    /// Seconds to wait after the stop signal (`--stop-signal`, else SIGTERM) before SIGKILL
    #[arg(
        long = "time",
        short = 't',
        default_value_t = 10,
        allow_hyphen_values = true
    )]
    pub time: u64,
    /// On failure, print the error as a JSON object on stdout
    #[arg(long)]
    pub json: bool,
    /// Container ids
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// `k3 stop`.
pub fn run(ctx: &mut Engine, a: StopArgs) -> Result<i32, Failure> {
    for id in &a.ids {
        stop::stop(ctx, id, Duration::from_secs(a.time))
            .map_err(|e| Failure::about(id, a.json)(e.into()))?;
        println!("{id}");
    }
    Ok(0)
}
