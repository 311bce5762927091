//! `k3rt spec`: write a default config.json into a bundle directory.

use std::path::PathBuf;

use clap::Args;

use k3_runtime::container::spec;

/// `k3rt spec` arguments.
#[derive(Args, Debug)]
pub struct SpecArgs {
    /// Directory to write config.json in
    #[arg(short, long, default_value = ".", allow_hyphen_values = true)]
    pub bundle: PathBuf,
    /// A spec for an unprivileged user: a user namespace mapping the caller's uid and gid to root
    #[arg(long)]
    pub rootless: bool,
}

/// `k3rt spec`.
pub fn run(a: &SpecArgs) -> k3_runtime::Result<u8> {
    spec::write(&a.bundle, a.rootless)?;
    Ok(0)
}
