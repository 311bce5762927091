//! `k3 logs [-f] ID`.

use clap::Args;

use crate::cli::Failure;
use k3_engine::container::logs;
use k3_engine::context::Engine;

/// `k3 logs` arguments.
#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Keep printing new output until the container stops
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Container id
    pub id: String,
}

/// `k3 logs`.
pub fn run(ctx: &mut Engine, a: LogsArgs) -> Result<i32, Failure> {
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    logs::logs(ctx, &a.id, a.follow, &mut out, &mut err)
        .map_err(|e| Failure::about(&a.id, false)(e.into()))?;
    Ok(0)
}
