//! `k3 exec [-it] [-e K=V] [-w DIR] ID CMD...`.

use clap::Args;

use crate::cli::{detach_keys, Failure};
use k3_engine::container::exec::{self, ExecSpec};
use k3_engine::context::Engine;

/// `k3 exec` arguments.
#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Pass the caller's stdin to the process (without it, the process reads /dev/null)
    #[arg(long, short = 'i')]
    pub interactive: bool,
    /// Allocate a pseudo-terminal for the process
    #[arg(long, short = 't')]
    pub tty: bool,
    /// Keys that detach from the process' terminal (`-it`): a comma-separated list of
    /// ctrl-<x> (x one of a-z @ [ \ ] ^ _) or single characters, "" for none
    /// [default: ctrl-p,ctrl-q]
    #[arg(long = "detach-keys", value_name = "KEYS", allow_hyphen_values = true)]
    pub detach_keys: Option<String>,
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
    let detach_keys = detach_keys::keys(a.detach_keys.as_deref(), &a.id, a.json)?;
    let spec = ExecSpec {
        args: a.cmd.clone(),
        env: a.env.clone(),
        cwd: a.workdir.clone(),
        tty: a.tty,
        interactive: a.interactive,
        detach_keys,
    };
    // typed input goes to the process as it is typed, and the process' terminal
    // does the echo: the caller's terminal is raw until the exec ends
    let raw = (a.tty && a.interactive)
        .then(|| k3_engine::console::RawMode::enter(0))
        .flatten();
    let r = exec::exec(ctx, &a.id, &spec).map_err(|e| Failure::about(&a.id, a.json)(e.into()));
    drop(raw);
    r
}
