//! `k3 selftest limits`: the memory/CPU limits test on real containers.

use clap::Subcommand;

use crate::cli::app::{engine_ctx, other, Cli, Failure, Root};
use k3_engine::supervisor::selftest;

/// The `k3 selftest` verbs.
#[derive(Subcommand, Clone, Debug)]
pub enum SelftestCmd {
    /// Check that memory and CPU limits hold, on six real containers; non-zero exit if one does not.
    Limits {
        /// Image to run (busybox-like: it needs `sh`)
        #[arg(long, default_value = "busybox", allow_hyphen_values = true)]
        image: String,
        /// Seconds the CPU use is measured over
        #[arg(long, default_value_t = 4, allow_hyphen_values = true)]
        seconds: u64,
    },
}

/// `k3 selftest`.
pub fn run(ctx: Root, cli: &Cli, cmd: SelftestCmd) -> Result<(), Failure> {
    let SelftestCmd::Limits { image, seconds } = cmd;
    let mut c = engine_ctx(ctx, cli)?;
    let lines = selftest::run(&mut c, &image, seconds).map_err(other)?;
    print!("{}", selftest::table(&lines));
    let bad = lines.iter().filter(|l| !l.ok).count();
    if bad > 0 {
        eprintln!("k3: selftest limits: {bad} limit(s) did not hold");
        return Err(Failure::Exit(1));
    }
    println!("all {} limits held", lines.len());
    Ok(())
}
