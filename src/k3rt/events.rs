//! `k3rt events`: the container's statistics as JSON lines.

use clap::Args;

use k3_runtime::container::{events, Ctx};

/// `k3rt events` arguments.
#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Print one set of statistics and exit
    #[arg(long)]
    pub stats: bool,
    /// Time between two sets of statistics: `500ms`, `5s`, `1m`
    #[arg(long, default_value = "5s", allow_hyphen_values = true)]
    pub interval: String,
    /// Container id
    pub id: String,
}

/// `k3rt events`.
pub fn run(ctx: &Ctx, a: &EventsArgs) -> k3_runtime::Result<u8> {
    let every = events::parse_interval(&a.interval)?;
    events::events(ctx, &a.id, a.stats, every)?;
    Ok(0)
}
