//! `k3rt state`: a container's state as JSON on stdout.

use clap::Args;

use k3_runtime::container::{state, Ctx};

/// `k3rt state` arguments.
#[derive(Args, Debug)]
pub struct StateArgs {
    /// Container id
    pub id: String,
}

/// `k3rt state`.
pub fn run(ctx: &Ctx, a: &StateArgs) -> k3_runtime::Result<u8> {
    println!("{}", state::state(ctx, &a.id)?);
    Ok(0)
}
