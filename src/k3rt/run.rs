//! `k3rt run`: create and start; in the foreground, exit with the container's code.

use clap::Args;

use crate::create::CreateArgs;
use k3_runtime::container::create::Loaded;
use k3_runtime::container::{run, Ctx};

/// `k3rt run` arguments.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Return once the container has started; without it, wait and exit with its exit code
    #[arg(short, long)]
    pub detach: bool,
    /// The options shared with `create`.
    #[command(flatten)]
    pub create: CreateArgs,
}

/// `k3rt run`; `bundle`: the bundle as `main` loaded it (`None`: read here).
pub fn run(ctx: &Ctx, a: &RunArgs, bundle: Option<Loaded>) -> k3_runtime::Result<u8> {
    let code = run::run(ctx, &a.create.opts(), a.detach, bundle)?;
    Ok(crate::exit::exit_code(code))
}
