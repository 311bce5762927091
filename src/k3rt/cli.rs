//! The global options and the verbs of `k3rt`, and the dispatch from a parsed
//! verb to its module.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use k3_runtime::container::Ctx;

use crate::{
    checkpoint, create, delete, events, exec, features, kill, list, pause, ps, run, spec, start,
    state, update,
};

#[derive(Parser, Debug)]
#[command(name = "k3rt", version = version(), about = "an OCI runtime")]
pub struct Cli {
    /// Root directory for container state
    #[arg(long, global = true, allow_hyphen_values = true)]
    pub root: Option<PathBuf>,
    /// Log file (errors and, with --debug, the trace)
    #[arg(long, global = true, allow_hyphen_values = true)]
    pub log: Option<PathBuf>,
    /// Log format
    #[arg(
        long = "log-format",
        value_enum,
        default_value = "text",
        global = true,
        allow_hyphen_values = true
    )]
    pub log_format: LogFormat,
    /// Print the step-by-step trace
    #[arg(long, global = true)]
    pub debug: bool,
    /// Use systemd to manage cgroups
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    #[command(subcommand)]
    pub cmd: Cmd,
}

fn version() -> &'static str {
    concat!(env!("CARGO_PKG_VERSION"), "\nspec: 1.2.0")
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Create a container (the process waits for start)
    Create(create::CreateArgs),
    /// Start a created container
    Start(start::StartArgs),
    /// Print a container's state as JSON
    State(state::StateArgs),
    /// Send a signal (number or name, default TERM)
    Kill(kill::KillArgs),
    /// Delete a container
    Delete(delete::DeleteArgs),
    /// Create and start a container
    Run(run::RunArgs),
    /// List containers
    List(list::ListArgs),
    /// Run a process in a running container
    Exec(exec::ExecArgs),
    /// List the container's processes
    Ps(ps::PsArgs),
    /// Freeze every process of the container
    Pause(pause::PauseArgs),
    /// Thaw a paused container
    Resume(pause::ResumeArgs),
    /// Change the container's resource limits
    Update(update::UpdateArgs),
    /// Container statistics as JSON lines
    Events(events::EventsArgs),
    /// What this runtime supports (runtime-spec features JSON)
    Features,
    /// Save a running container's processes with CRIU
    Checkpoint(checkpoint::CheckpointArgs),
    /// Bring a checkpointed container back with CRIU (always detached)
    Restore(checkpoint::RestoreArgs),
    /// Write a default config.json
    Spec(spec::SpecArgs),
}

impl Cmd {
    /// Whether the verb starts a container process (and so needs the sealed
    /// copy of this binary first).
    pub fn starts_process(&self) -> bool {
        matches!(self, Cmd::Create(_) | Cmd::Run(_) | Cmd::Exec(_))
    }
}

/// Runs one verb; its exit code.
pub fn dispatch(ctx: &Ctx, cmd: Cmd) -> k3_runtime::Result<u8> {
    match cmd {
        Cmd::Create(a) => create::run(ctx, &a),
        Cmd::Start(a) => start::run(ctx, &a),
        Cmd::State(a) => state::run(ctx, &a),
        Cmd::Kill(a) => kill::run(ctx, &a),
        Cmd::Delete(a) => delete::run(ctx, &a),
        Cmd::Run(a) => run::run(ctx, &a),
        Cmd::List(a) => list::run(ctx, &a),
        Cmd::Exec(a) => exec::run(ctx, a),
        Cmd::Ps(a) => ps::run(ctx, &a),
        Cmd::Pause(a) => pause::pause(ctx, &a),
        Cmd::Resume(a) => pause::resume(ctx, &a),
        Cmd::Update(a) => update::run(ctx, &a),
        Cmd::Events(a) => events::run(ctx, &a),
        Cmd::Features => features::run(),
        Cmd::Checkpoint(a) => checkpoint::checkpoint(ctx, &a),
        Cmd::Restore(a) => checkpoint::restore(ctx, &a),
        Cmd::Spec(a) => spec::run(&a),
    }
}
