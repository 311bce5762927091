//! `k3 push IMAGE [DESTINATION]`: upload a local image to a registry.

use clap::Args;

use crate::cli::globals::{other, pull_options, Failure, Globals, Root};
use k3_engine::image::progress::{self, Mode};
use k3_engine::image::push;

/// `k3 push` arguments.
#[derive(Args, Debug)]
pub struct PushArgs {
    /// The local image.
    pub image: String,
    /// Where to push it (`NAME[:TAG]`); the image's own name if left out.
    pub destination: Option<String>,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `k3 push`.
pub fn run(ctx: &Root, cli: &Globals, a: &PushArgs) -> Result<(), Failure> {
    let opts = pull_options(ctx, cli);
    let mode = if a.quiet { Mode::Quiet } else { Mode::Lines };
    let reporter = progress::reporter(mode);
    let p = push::push(
        &ctx.store,
        &ctx.db,
        &a.image,
        a.destination.as_deref(),
        &opts,
        reporter.as_ref(),
    )
    .map_err(other)?;
    if !a.quiet {
        println!(
            "{}: digest: {} size: {} ({} blobs pushed, {} already there)",
            p.tag, p.digest, p.size, p.uploaded, p.skipped
        );
    }
    Ok(())
}
