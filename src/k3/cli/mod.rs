//! The container verbs of the `k3` CLI, docker-style, one small file per
//! verb: each parses its flags, calls the engine and returns an exit code
//! or a [`Failure`] the binary prints (message, or seed 000's JSON object
//! with `--json`).

pub mod app;
pub mod archive;
pub mod attach;
pub mod cp;
pub mod create;
pub mod detach_keys;
pub mod events;
pub mod exec;
pub mod globals;
pub mod images;
pub mod inspect;
pub mod kill;
pub mod login;
pub mod logs;
pub mod network;
pub mod pause;
pub mod port;
pub mod prune;
pub mod ps;
pub mod pull;
pub mod push;
pub mod remote;
pub mod remote_attach;
pub mod restart;
pub mod rm;
pub mod run;
pub mod selftest;
pub mod serve;
pub mod snapshot;
pub mod start;
pub mod stats;
pub mod stop;
pub mod tag;
pub mod template;
pub mod top;
pub mod volume;
pub mod wait;

use clap::Subcommand;

use k3_engine::context::Engine;
use k3_engine::error::{EngineError, ErrorObject};

/// A failed verb, with what its error object needs.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong.
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

    /// The JSON error object `--json` prints.
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
    /// Create a container from an image (state `created`; `start` runs it).
    Create(create::CreateArgs),
    /// Create and start a container (foreground unless `-d`).
    Run(run::RunArgs),
    /// Start created or stopped containers (`-a`: attached, exiting with its code).
    Start(start::StartArgs),
    /// Stop a container: TERM, grace period, KILL.
    Stop(stop::StopArgs),
    /// Stop and start a container.
    Restart(restart::RestartArgs),
    /// Send a signal to a container.
    Kill(kill::KillArgs),
    /// Remove containers.
    Rm(rm::RmArgs),
    /// List containers (`-f KEY=VALUE`: docker's filters).
    #[command(alias = "ls")]
    Ps(ps::PsArgs),
    /// Show containers' records, state and events as a JSON array (`-f`: a Go template per container).
    Inspect(inspect::InspectArgs),
    /// The processes of a running container.
    Top(top::TopArgs),
    /// The published ports of a container.
    Port(port::PortArgs),
    /// Freeze every process of containers.
    Pause(pause::PauseArgs),
    /// Thaw paused containers.
    Unpause(pause::PauseArgs),
    /// Lifecycle events from the database (streams unless `--until`).
    Events(events::EventsArgs),
    /// Run a command in a running container.
    Exec(exec::ExecArgs),
    /// Connect the terminal to a running container (ctrl-p ctrl-q, or `--detach-keys`, detaches).
    Attach(attach::AttachArgs),
    /// Print a container's output.
    Logs(logs::LogsArgs),
    /// Wait for a container to stop; print its exit code.
    Wait(wait::WaitArgs),
    /// CPU, memory, I/O and pids of running containers (streams unless `--no-stream`).
    Stats(stats::StatsArgs),
    /// Named volumes.
    Volume {
        /// The volume verb.
        #[command(subcommand)]
        cmd: volume::VolumeCmd,
    },
    /// Bridge networks.
    Network {
        /// The network verb.
        #[command(subcommand)]
        cmd: network::NetworkCmd,
    },
}

/// Runs a container verb; the process' exit code.
pub fn dispatch(ctx: &mut Engine, cmd: ContainerCmd) -> Result<i32, Failure> {
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
        ContainerCmd::Top(a) => top::run(ctx, a),
        ContainerCmd::Port(a) => port::run(ctx, a),
        ContainerCmd::Pause(a) => pause::run(ctx, a, false),
        ContainerCmd::Unpause(a) => pause::run(ctx, a, true),
        ContainerCmd::Events(a) => events::run(ctx, a),
        ContainerCmd::Exec(a) => exec::run(ctx, a),
        ContainerCmd::Attach(a) => attach::run(ctx, a),
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

/// docker's exit code for a `run`/`create`/`start`/`exec` that failed before the
/// container's program ran: 127 when the program does not exist, 126 when it cannot
/// be invoked, 125 when the engine itself failed. The runtime's message carries
/// execve's words (runc, crun and k3rt alike), which podman maps the same way.
pub fn docker_exit_code(message: &str) -> u8 {
    let m = message.to_ascii_lowercase();
    let about_program = m.contains("process.args")
        || m.contains("exec:")
        || m.contains("exec failed")
        || m.contains("executable");
    if m.contains("executable file not found")
        || (about_program && m.contains("no such file or directory"))
    {
        127
    } else if about_program && m.contains("permission denied") {
        126
    } else {
        125
    }
}

#[cfg(test)]
mod exit_code_tests {
    use super::docker_exit_code;

    #[test]
    fn not_found_not_executable_and_engine_failures() {
        assert_eq!(
            docker_exit_code("invalid `process.args[0]` `/nope`: exec: no such file or directory"),
            127
        );
        assert_eq!(
            docker_exit_code(
                "invalid `process.args[0]` `nope`: executable file not found in $PATH"
            ),
            127
        );
        assert_eq!(
            docker_exit_code("invalid `process.args[0]` `/etc/passwd`: exec: permission denied"),
            126
        );
        assert_eq!(docker_exit_code("image `x` not found in the registry"), 125);
        assert_eq!(
            docker_exit_code("open /var/lib/k3/k3.db: no such file or directory"),
            125
        );
    }
}
