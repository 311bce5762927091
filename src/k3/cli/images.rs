//! `k3 images`, `k3 image inspect`, `k3 rmi` and `k3 prune`: the local images.

use clap::{Args, Subcommand};

use crate::cli::globals::{other, print_json, Failure, Format, Root};
use k3_engine::context::Engine;
use k3_engine::db::images::ImageRecord;
use k3_engine::image::filter::ImageFilter;
use k3_engine::image::progress::human;
use k3_engine::images;

/// `k3 images` arguments.
#[derive(Args, Debug)]
pub struct ImagesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table, allow_hyphen_values = true)]
    pub format: Format,
    /// Keep only matching images (repeatable; docker's keys: `reference=PATTERN`
    /// (`*box:latest`, `127.0.0.1:5000/busy*`), `dangling=true|false`,
    /// `before=IMAGE`, `since=IMAGE`, `label=KEY[=VALUE]`, and podman's `id=PREFIX`;
    /// one key's values OR-ed, except `label`'s (all must match) and
    /// `before`/`since`'s (the strictest counts), different keys AND-ed)
    #[arg(long, short = 'f', value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
    /// Print image ids only (one per row, as docker)
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Show whole image ids (`sha256:...`)
    #[arg(long)]
    pub no_trunc: bool,
    /// Show a DIGEST column (what the name was pulled as)
    #[arg(long)]
    pub digests: bool,
}

/// The `k3 image` verbs.
#[derive(Subcommand, Debug)]
pub enum ImageCmd {
    /// Show an image record as JSON.
    Inspect {
        /// The image.
        name: String,
    },
    /// List images (as `k3 images`).
    #[command(alias = "list")]
    Ls(ImagesArgs),
    /// Remove an image (as `k3 rmi`).
    Rm(RmiArgs),
    /// Give an image another name (as `k3 tag`).
    Tag(crate::cli::tag::TagArgs),
    /// Remove untagged images (`-a`: every image no container uses).
    Prune(crate::cli::prune::ImagePruneArgs),
    /// Write images to an OCI archive (as `k3 save`).
    Save(crate::cli::archive::SaveArgs),
    /// Read images from an OCI archive (as `k3 load`).
    Load(crate::cli::archive::LoadArgs),
    /// Push an image to its registry (as `k3 push`).
    Push(crate::cli::push::PushArgs),
}

/// `k3 rmi` arguments.
#[derive(Args, Debug)]
pub struct RmiArgs {
    /// The image.
    pub name: String,
}

/// `k3 images`: a bad `--filter` fails before anything is listed.
pub fn images(ctx: &Root, a: &ImagesArgs) -> Result<(), Failure> {
    let filter = ImageFilter::parse(&a.filter).map_err(images::ImagesError::from)?;
    let all = filter.select(&ctx.db, images::list(&ctx.db)?, &ctx.default_registry)?;
    if a.quiet {
        for r in &all {
            println!("{}", image_id(r, a.no_trunc));
        }
        return Ok(());
    }
    match a.format {
        Format::Json => print_json(&all),
        Format::Table => {
            let id_width = if a.no_trunc { 71 } else { 12 };
            // the DIGEST column only with --digests
            let digest = |d: &str| {
                if a.digests {
                    format!("{d:<71} ")
                } else {
                    String::new()
                }
            };
            println!(
                "{:<50} {:<16} {}{:<id_width$} {:>10}",
                "REPOSITORY",
                "TAG",
                digest("DIGEST"),
                "IMAGE ID",
                "SIZE"
            );
            for r in &all {
                let tag = if r.tag.is_empty() { "<none>" } else { &r.tag };
                println!(
                    "{:<50} {:<16} {}{:<id_width$} {:>10}",
                    r.name,
                    tag,
                    digest(&r.digest),
                    image_id(r, a.no_trunc),
                    human(r.size)
                );
            }
            Ok(())
        }
    }
}

/// The image id as docker shows it: 12 hex digits, or `sha256:` and all of them.
fn image_id(r: &ImageRecord, whole: bool) -> &str {
    if whole {
        return &r.config_digest;
    }
    let hex = r.config_digest.split(':').nth(1).unwrap_or("");
    hex.get(..12).unwrap_or(hex)
}

/// `k3 image inspect`.
pub fn inspect(ctx: &Root, name: &str) -> Result<(), Failure> {
    let rec = images::find(&ctx.db, name, &ctx.default_registry)?;
    print_json(&rec)
}

/// `k3 rmi`.
pub fn rmi(ctx: &Root, a: &RmiArgs) -> Result<(), Failure> {
    let removed = images::remove(&ctx.store, &ctx.db, &a.name, &ctx.default_registry)?;
    println!(
        "Untagged: {} (deleted {} blobs, {} layers)",
        removed.untagged, removed.blobs, removed.layers
    );
    Ok(())
}

/// `k3 prune`: first what crashed creates left (their journals).
pub fn prune(ctx: &mut Engine) -> Result<(), Failure> {
    let (crashed, failed) = k3_engine::create::journal::recover_all(ctx);
    if !crashed.is_empty() {
        println!(
            "Removed {} crashed creates: {}",
            crashed.len(),
            crashed.join(" ")
        );
    }
    if !failed.is_empty() {
        return Err(other(std::io::Error::other(format!(
            "cannot remove what crashed creates left: {}",
            failed.join("; ")
        ))));
    }
    let p = images::prune(&ctx.store, &ctx.db)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let e = k3_engine::db::events::prune(ctx.db.conn(), now)?;
    println!(
        "Deleted {} blobs, {} layers, {} snapshots, {} tmp entries, {} events, {} webhook deliveries",
        p.blobs,
        p.layers,
        p.snapshots.len(),
        p.tmp,
        e.events,
        e.queue
    );
    Ok(())
}
