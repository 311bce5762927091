//! `k3rt delete`: remove a stopped (or with `--force`, any) container.

use clap::Args;

use k3_runtime::container::{delete, Ctx};

#[derive(Args, Debug)]
pub struct DeleteArgs {
    #[arg(short, long)]
    pub force: bool,
    pub id: String,
}

/// `k3rt delete`.
pub fn run(ctx: &Ctx, a: &DeleteArgs) -> k3_runtime::Result<u8> {
    delete::delete(ctx, &a.id, a.force)?;
    Ok(0)
}
