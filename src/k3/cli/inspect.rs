//! `k3 inspect ID`: JSON.

use clap::Args;

use crate::cli::{print_json, Failure};
use k3_engine::container::list;
use k3_engine::context::Engine;

/// `k3 inspect` arguments.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// On failure, print the error as a JSON object on stdout
    #[arg(long)]
    pub json: bool,
    /// Container id
    pub id: String,
}

/// `k3 inspect`.
pub fn run(ctx: &mut Engine, a: InspectArgs) -> Result<i32, Failure> {
    let v = list::inspect(ctx, &a.id).map_err(|e| Failure::about(&a.id, a.json)(e.into()))?;
    print_json(&v);
    Ok(0)
}
