//! `k3 stats [--format json] ID...` (one snapshot, no streaming).

use clap::Args;

use crate::cli::ps::Format;
use crate::cli::{print_json, Failure};
use k3_engine::container::stats;
use k3_engine::context::Engine;
use k3_engine::image::progress::human;

/// `k3 stats` arguments.
#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table, allow_hyphen_values = true)]
    pub format: Format,
    /// Container ids
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// `k3 stats`.
pub fn run(ctx: &mut Engine, a: StatsArgs) -> Result<i32, Failure> {
    let mut all = Vec::new();
    for id in &a.ids {
        all.push(stats::stats(ctx, id).map_err(|e| Failure::about(id, false)(e.into()))?);
    }
    if let Format::Json = a.format {
        print_json(&all);
        return Ok(0);
    }
    println!(
        "{:<20} {:>14} {:>8} {:>12} {:>12} {:>6}",
        "CONTAINER", "CPU TIME", "CPUS", "MEM USAGE", "MEM LIMIT", "PIDS"
    );
    for s in &all {
        let opt = |v: Option<u64>| v.map(human).unwrap_or_else(|| "-".into());
        println!(
            "{:<20} {:>13.3}s {:>8} {:>12} {:>12} {:>6}",
            s.id,
            s.cpu_usage_ns.unwrap_or(0) as f64 / 1e9,
            s.cpu_limit
                .map(|c| format!("{c:.2}"))
                .unwrap_or_else(|| "-".into()),
            opt(s.memory_usage),
            opt(s.memory_limit),
            s.pids.map(|p| p.to_string()).unwrap_or_default()
        );
    }
    Ok(0)
}
