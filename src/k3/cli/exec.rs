//! `k3 exec [-it] [-e K=V] [-w DIR] ID CMD...`.

use clap::Args;

use crate::cli::Failure;
use k3_engine::container::exec::{self, ExecSpec};
use k3_engine::context::Engine;

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Keep stdin open (always on: stdin is inherited).
    #[arg(long, short = 'i')]
    pub interactive: bool,
    /// A terminal (the runtime's `--tty`).
    #[arg(long, short = 't')]
    pub tty: bool,
    #[arg(long = "env", short = 'e', allow_hyphen_values = true)]
    pub env: Vec<String>,
    #[arg(long = "workdir", short = 'w', allow_hyphen_values = true)]
    pub workdir: Option<String>,
    #[arg(long)]
    pub json: bool,
    pub id: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub cmd: Vec<String>,
}

pub fn run(ctx: &mut Engine, a: ExecArgs) -> Result<i32, Failure> {
    let spec = ExecSpec {
        args: a.cmd.clone(),
        env: a.env.clone(),
        cwd: a.workdir.clone(),
        tty: a.tty,
    };
    exec::exec(ctx, &a.id, &spec).map_err(|e| Failure::about(&a.id, a.json)(e.into()))
}
