//! The global options and the verbs of `k3rt`, and the dispatch from a parsed
//! verb to its module.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use k3_runtime::container::Ctx;

use crate::{
    checkpoint, create, delete, events, exec, features, kill, list, pause, ps, run, spec, start,
    state, update,
};

/// k3rt's command line: the global options and one verb.
#[derive(Parser, Debug)]
#[command(name = "k3rt", version = version(), long_about = None, about = "k3rt: an OCI runtime, a drop-in for runc and crun")]
pub struct Cli {
    /// Directory for container state [default: /run/k3rt as root, else $XDG_RUNTIME_DIR/k3rt]
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        allow_hyphen_values = true
    )]
    pub root: Option<PathBuf>,
    /// File the log lines are appended to; errors also go to stderr [default: stderr only]
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        allow_hyphen_values = true
    )]
    pub log: Option<PathBuf>,
    /// Format of log lines: `text` (key=value) or `json` (one object a line)
    #[arg(
        long = "log-format",
        value_enum,
        default_value = "text",
        global = true,
        help_heading = "Global options",
        allow_hyphen_values = true
    )]
    pub log_format: LogFormat,
    /// Log the step-by-step trace of the verb
    #[arg(long, global = true, help_heading = "Global options")]
    pub debug: bool,
    /// Manage the container's cgroup through systemd: cgroupsPath is `slice:prefix:name` [default slice: system.slice], k3rt asks systemd over D-Bus (the system bus; the user's bus when rootless) for a transient `prefix-name.scope` with Delegate=yes and the limits as unit properties, and stops it on delete; fails, naming the bus socket, if systemd cannot be reached
    #[arg(
        long = "systemd-cgroup",
        global = true,
        help_heading = "Global options"
    )]
    pub systemd_cgroup: bool,
    /// The verb.
    #[command(subcommand)]
    pub cmd: Cmd,
}

fn version() -> &'static str {
    concat!(env!("CARGO_PKG_VERSION"), "\nspec: 1.2.0")
}

/// The format of log lines.
#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum LogFormat {
    /// `time=... level=... msg=...` lines
    Text,
    /// One JSON object a line
    Json,
}

/// The verbs.
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

    /// Whether the verb must first re-execute itself from an unwritable copy of this
    /// binary: create and exec always (a created init waits in k3rt's code until start,
    /// and another container may join its PID namespace meanwhile; an exec joins a PID
    /// namespace with container processes in it), run unless its container has a PID
    /// namespace nothing else can enter before the program runs
    /// ([`k3_runtime::process::exec::run_needs_sealed_copy`]).
    pub fn needs_sealed_copy(&self) -> bool {
        match self {
            Cmd::Create(_) | Cmd::Exec(_) => true,
            Cmd::Run(a) => {
                k3_runtime::process::exec::run_of_bundle_needs_sealed_copy(&a.create.bundle)
            }
            _ => false,
        }
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

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn systemd_cgroup_help_says_what_the_driver_does() {
        let cmd = Cli::command();
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_id() == "systemd_cgroup")
            .map(|a| a.get_help().map(ToString::to_string).unwrap_or_default())
            .unwrap_or_default();
        for part in ["transient", "scope", "D-Bus", "Delegate=yes", "bus socket"] {
            assert!(arg.contains(part), "`{part}` not in: {arg}");
        }
    }
}
