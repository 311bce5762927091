//! `k3rt kill`: send a signal to the container's init (or all its processes).

use clap::Args;

use k3_runtime::container::{kill, Ctx};

/// `k3rt kill` arguments.
#[derive(Args, Debug)]
pub struct KillArgs {
    /// Signal every process in the container's cgroup, not only its init
    #[arg(short, long)]
    pub all: bool,
    /// Container id
    pub id: String,
    /// Signal: name (`TERM`, `SIGKILL`) or number
    // `kill ID -1` is the signal -1 (refused, named), not an unknown flag
    #[arg(default_value = "TERM", allow_hyphen_values = true)]
    pub signal: String,
}

/// `k3rt kill`.
pub fn run(ctx: &Ctx, a: &KillArgs) -> k3_runtime::Result<u8> {
    kill::kill(ctx, &a.id, &a.signal, a.all)?;
    Ok(0)
}
