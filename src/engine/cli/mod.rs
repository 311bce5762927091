//! The container verbs of the `k3` CLI, docker-style, one small file per
//! verb: each parses its flags, calls the engine and returns an exit code
//! or a [`Failure`] the binary prints (message, or seed 000's JSON object
//! with `--json`).

pub mod create;
pub mod exec;
pub mod inspect;
pub mod kill;
pub mod logs;
pub mod network;
pub mod ps;
pub mod remote;
pub mod restart;
pub mod rm;
pub mod run;
pub mod start;
pub mod stats;
pub mod stop;
pub mod volume;
pub mod wait;

use clap::Subcommand;

use crate::engine::ctx::Ctx;
use crate::engine::error::{EngineError, ErrorObject};

/// A failed verb, with what its error object needs.
#[derive(Debug)]
pub struct Failure {
    pub error: Box<EngineError>,
    /// Print the JSON error object on stdout.
    pub json: bool,
    /// The user input.
    pub input: serde_json::Value,
    /// The container it is about.
    pub container_id: Option<String>,
}

impl Failure {
    /// A failure about `id` (input = the id).
    pub fn about(id: &str, json: bool) -> impl FnOnce(EngineError) -> Failure + '_ {
        move |error| Failure {
            error: Box::new(error),
            json,
            input: serde_json::json!(id),
            container_id: Some(id.to_string()),
        }
    }

    /// Seed 000's error object.
    pub fn object(&self) -> ErrorObject {
        let mut o = self.error.to_object(self.input.clone());
        if o.container_id.is_none() {
            o.container_id = self.container_id.clone();
        }
        o
    }
}

/// Container verbs.
#[derive(Subcommand, Debug)]
pub enum ContainerCmd {
    /// Create a container (state CREATED): seed 000's createContainer.
    Create(create::CreateArgs),
    /// Create and start a container (foreground unless `-d`).
    Run(run::RunArgs),
    /// Start a created or stopped container.
    Start(start::StartArgs),
    /// Stop a container: TERM, grace period, KILL.
    Stop(stop::StopArgs),
    /// Stop and start a container.
    Restart(restart::RestartArgs),
    /// Send a signal to a container.
    Kill(kill::KillArgs),
    /// Remove containers.
    Rm(rm::RmArgs),
    /// List containers.
    #[command(alias = "ls")]
    Ps(ps::PsArgs),
    /// Show a container's record, state and events as JSON.
    Inspect(inspect::InspectArgs),
    /// Run a command in a running container.
    Exec(exec::ExecArgs),
    /// Print a container's output.
    Logs(logs::LogsArgs),
    /// Wait for a container to stop; print its exit code.
    Wait(wait::WaitArgs),
    /// CPU and memory usage from the cgroup.
    Stats(stats::StatsArgs),
    /// Named volumes.
    Volume {
        #[command(subcommand)]
        cmd: volume::VolumeCmd,
    },
    /// Bridge networks.
    Network {
        #[command(subcommand)]
        cmd: network::NetworkCmd,
    },
}

/// Runs a container verb; the process' exit code.
pub fn dispatch(ctx: &mut Ctx, cmd: ContainerCmd) -> Result<i32, Failure> {
    match cmd {
        ContainerCmd::Create(a) => create::run(ctx, a),
        ContainerCmd::Run(a) => run::run(ctx, a),
        ContainerCmd::Start(a) => start::run(ctx, a),
        ContainerCmd::Stop(a) => stop::run(ctx, a),
        ContainerCmd::Restart(a) => restart::run(ctx, a),
        ContainerCmd::Kill(a) => kill::run(ctx, a),
        ContainerCmd::Rm(a) => rm::run(ctx, a),
        ContainerCmd::Ps(a) => ps::run(ctx, a),
        ContainerCmd::Inspect(a) => inspect::run(ctx, a),
        ContainerCmd::Exec(a) => exec::run(ctx, a),
        ContainerCmd::Logs(a) => logs::run(ctx, a),
        ContainerCmd::Wait(a) => wait::run(ctx, a),
        ContainerCmd::Stats(a) => stats::run(ctx, a),
        ContainerCmd::Volume { cmd } => volume::run(ctx, cmd),
        ContainerCmd::Network { cmd } => network::run(ctx, cmd),
    }
}

/// Prints `v` as pretty JSON.
pub fn print_json<T: serde::Serialize>(v: &T) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}
