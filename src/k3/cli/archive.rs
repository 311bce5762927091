//! `k3 save` and `k3 load`: images as an OCI archive (`podman save --format
//! oci-archive`, skopeo's `oci-archive:`).

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;

use crate::cli::globals::{other, Failure, Root};
use k3_engine::image::archive;
use k3_engine::image::progress::{self, Mode};

/// `k3 save` arguments.
#[derive(Args, Debug)]
pub struct SaveArgs {
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// The archive format: only `oci-archive`.
    #[arg(long, default_value = "oci-archive")]
    pub format: String,
    /// The images.
    #[arg(required = true)]
    pub images: Vec<String>,
}

/// `k3 load` arguments.
#[derive(Args, Debug)]
pub struct LoadArgs {
    /// Read from this file instead of stdin.
    #[arg(long, short)]
    pub input: Option<PathBuf>,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `k3 save`.
pub fn save(ctx: &Root, a: &SaveArgs) -> Result<(), Failure> {
    if a.format != "oci-archive" {
        return Err(other(anyhow::anyhow!(
            "invalid `--format` `{}`: k3 writes `oci-archive`",
            a.format
        )));
    }
    let Some(path) = &a.output else {
        let stdout = io::stdout();
        if stdout.is_terminal() {
            return Err(other(anyhow::anyhow!(
                "refusing to write an archive to a terminal: use `-o FILE` or redirect stdout"
            )));
        }
        archive::save(
            &ctx.store,
            &ctx.db,
            &a.images,
            &ctx.default_registry,
            BufWriter::new(stdout.lock()),
        )
        .map_err(other)?;
        return Ok(());
    };
    // written beside the destination, renamed over it only when complete
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".k3-tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let result = File::create(&tmp)
        .map_err(|e| anyhow::anyhow!(e).context(format!("cannot create `{}`", tmp.display())))
        .and_then(|f| {
            let mut w = BufWriter::new(f);
            archive::save(
                &ctx.store,
                &ctx.db,
                &a.images,
                &ctx.default_registry,
                &mut w,
            )?;
            let f = w.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path).map_err(|e| {
                anyhow::anyhow!(e).context(format!("cannot write `{}`", path.display()))
            })
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(other)
}

/// `k3 load`.
pub fn load(ctx: &Root, a: &LoadArgs) -> Result<(), Failure> {
    let mode = if a.quiet { Mode::Quiet } else { Mode::Lines };
    let reporter = progress::reporter(mode);
    let loaded = match &a.input {
        Some(path) => {
            let f = File::open(path).map_err(|e| {
                other(anyhow::anyhow!(e).context(format!("cannot open `{}`", path.display())))
            })?;
            archive::load(
                &ctx.store,
                &ctx.db,
                io::BufReader::new(f),
                &ctx.default_registry,
                reporter.as_ref(),
            )
        }
        None => {
            let stdin = io::stdin();
            if stdin.is_terminal() {
                return Err(other(anyhow::anyhow!(
                    "no archive on stdin: use `-i FILE` or redirect stdin"
                )));
            }
            archive::load(
                &ctx.store,
                &ctx.db,
                stdin.lock(),
                &ctx.default_registry,
                reporter.as_ref(),
            )
        }
    }
    .map_err(other)?;
    let mut out = io::stdout().lock();
    for r in loaded {
        writeln!(out, "Loaded image: {r}").map_err(other)?;
    }
    Ok(())
}
