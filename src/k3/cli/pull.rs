//! `k3 pull NAME[:TAG|@DIGEST]`: fetch an image into the content store.

use std::io::IsTerminal;

use clap::Args;

use crate::cli::app::{print_json, pull_options, Cli, Failure, Root};
use k3_engine::error::EngineError;
use k3_engine::image::progress::{self, human, Mode};
use k3_engine::image::pull::{self, PullOptions};

/// `k3 pull` arguments.
#[derive(Args, Debug)]
pub struct PullArgs {
    /// The image reference.
    pub reference: String,
    /// Print the image record on success, the error as a JSON object on failure
    #[arg(long)]
    pub json: bool,
    /// No progress output
    #[arg(long, short)]
    pub quiet: bool,
    /// Layers downloaded at once
    #[arg(long, default_value_t = 3, allow_hyphen_values = true)]
    pub max_concurrent_downloads: usize,
}

/// `k3 pull`.
pub fn run(ctx: &Root, cli: &Cli, a: &PullArgs) -> Result<(), Failure> {
    let opts = PullOptions {
        max_concurrent: a.max_concurrent_downloads,
        ..pull_options(ctx, cli)
    };
    let mode = if a.quiet || a.json {
        Mode::Quiet
    } else if std::io::stderr().is_terminal() {
        Mode::Bars
    } else {
        Mode::Lines
    };
    let reporter = progress::reporter(mode);
    let out = pull::pull(&ctx.store, &ctx.db, &a.reference, &opts, reporter.as_ref())
        .map_err(EngineError::from)?;
    if a.json {
        return print_json(&out.record);
    }
    if !a.quiet {
        let what = if out.up_to_date {
            "Up to date"
        } else {
            "Pulled"
        };
        println!(
            "{what}: {} ({} layers downloaded, {})",
            out.record.reference(),
            out.layers_downloaded,
            human(out.bytes_downloaded)
        );
        println!("Digest: {}", out.record.digest);
    }
    Ok(())
}
