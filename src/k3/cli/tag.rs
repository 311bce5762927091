//! `k3 tag SOURCE TARGET`: another name for a local image.

use clap::Args;

use crate::cli::globals::{Failure, Root};
use k3_engine::images;

/// `k3 tag` arguments.
#[derive(Args, Debug)]
pub struct TagArgs {
    /// The image: `NAME[:TAG]`, `NAME@DIGEST` or an image id.
    pub source: String,
    /// The new name: `NAME[:TAG]` (`:latest` when no tag).
    pub target: String,
}

/// `k3 tag`.
pub fn run(ctx: &Root, a: &TagArgs) -> Result<(), Failure> {
    images::tag(&ctx.db, &a.source, &a.target, &ctx.default_registry)?;
    Ok(())
}
