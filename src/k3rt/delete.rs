//! `k3rt delete`: remove a stopped (or with `--force`, any) container.

use clap::Args;

use k3_runtime::container::{delete, Ctx};

/// `k3rt delete` arguments.
#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Kill the container first if it is still running (and succeed if it does not exist)
    #[arg(short, long)]
    pub force: bool,
    /// Container id
    pub id: String,
}

/// `k3rt delete`.
pub fn run(ctx: &Ctx, a: &DeleteArgs) -> k3_runtime::Result<u8> {
    delete::delete(ctx, &a.id, a.force)?;
    Ok(0)
}
