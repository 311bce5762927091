//! `k3 exec [-it] [-e K=V] [-w DIR] ID CMD...`.

use clap::Args;

use crate::cli::Failure;
use k3_engine::container::exec::{self, ExecSpec};
use k3_engine::context::Engine;

/// `k3 exec` arguments.
#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Keep stdin open (always on: stdin is inherited)
    #[arg(long, short = 'i')]
    pub interactive: bool,
    /// Allocate a pseudo-terminal for the process
    #[arg(long, short = 't')]
    pub tty: bool,
    /// Environment variable `KEY=VALUE` (repeatable)
    #[arg(long = "env", short = 'e', allow_hyphen_values = true)]
    pub env: Vec<String>,
    /// Working directory in the container [default: the container's]
    #[arg(long = "workdir", short = 'w', allow_hyphen_values = true)]
    pub workdir: Option<String>,
    /// On failure, print the error as a JSON object on stdout
    #[arg(long)]
    pub json: bool,
    /// Container id
    pub id: String,
    /// Command and arguments to run
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub cmd: Vec<String>,
}

/// `k3 exec`.
pub fn run(ctx: &mut Engine, a: ExecArgs) -> Result<i32, Failure> {
    let spec = ExecSpec {
        args: a.cmd.clone(),
        env: a.env.clone(),
        cwd: a.workdir.clone(),
        tty: a.tty,
    };
    exec::exec(ctx, &a.id, &spec).map_err(|e| Failure::about(&a.id, a.json)(e.into()))
}
