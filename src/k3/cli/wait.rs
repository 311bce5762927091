//! `k3 wait ID...`: prints each exit code.

use std::time::Duration;

use clap::Args;

use crate::cli::Failure;
use k3_engine::container::wait;
use k3_engine::context::Engine;

/// `k3 wait` arguments.
#[derive(Args, Debug)]
pub struct WaitArgs {
    /// Give up after this many seconds
    #[arg(long, default_value_t = 86400, allow_hyphen_values = true)]
    pub timeout: u64,
    /// Container ids
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// `k3 wait`.
pub fn run(ctx: &mut Engine, a: WaitArgs) -> Result<i32, Failure> {
    for id in &a.ids {
        let code = wait::wait(ctx, id, Duration::from_secs(a.timeout))
            .map_err(|e| Failure::about(id, false)(e.into()))?;
        println!("{code}");
    }
    Ok(0)
}
