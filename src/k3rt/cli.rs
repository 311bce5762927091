//! The global options and the verbs of `k3rt`, and the dispatch from a parsed
//! verb to its module.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use k3_oci::spec::Bundle;
use k3_runtime::container::create::Loaded;
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

    /// The bundle the verb reads, loaded (read, parsed, checked) once here for the
    /// verbs whose re-exec depends on it: `run`. `main` decides with it
    /// ([`Cmd::needs_sealed_copy`]) and hands it to the verb ([`dispatch`]), so
    /// config.json is parsed once; a bundle that cannot be loaded is reported by the
    /// verb with the same error as its own load.
    pub fn load_bundle(&self) -> Option<Loaded> {
        match self {
            Cmd::Run(a) => Some(Bundle::load(&a.create.bundle)),
            _ => None,
        }
    }

    /// Whether the verb must first re-execute itself from an unwritable copy of this
    /// binary: create and exec always (a created init waits in k3rt's code until start,
    /// and another container may join its PID namespace meanwhile; an exec joins a PID
    /// namespace with container processes in it), run unless its container has a PID
    /// namespace nothing else can enter before the program runs
    /// ([`k3_runtime::process::exec::run_needs_sealed_copy`] of `bundle`, from
    /// [`Cmd::load_bundle`]). A run whose bundle could not be loaded starts nothing:
    /// no copy; a run without it (not loaded) gets the copy.
    pub fn needs_sealed_copy(&self, bundle: Option<&Loaded>) -> bool {
        match self {
            Cmd::Create(_) | Cmd::Exec(_) => true,
            Cmd::Run(_) => match bundle {
                Some(Ok(b)) => k3_runtime::process::exec::run_needs_sealed_copy(&b.spec),
                Some(Err(_)) => false,
                None => true,
            },
            _ => false,
        }
    }
}

/// Runs one verb; its exit code. `bundle`: what [`Cmd::load_bundle`] loaded.
pub fn dispatch(ctx: &Ctx, cmd: Cmd, bundle: Option<Loaded>) -> k3_runtime::Result<u8> {
    match cmd {
        Cmd::Create(a) => create::run(ctx, &a),
        Cmd::Start(a) => start::run(ctx, &a),
        Cmd::State(a) => state::run(ctx, &a),
        Cmd::Kill(a) => kill::run(ctx, &a),
        Cmd::Delete(a) => delete::run(ctx, &a),
        Cmd::Run(a) => run::run(ctx, &a, bundle),
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
    use super::{Cli, Cmd};
    use clap::{CommandFactory, Parser};

    fn run_of(bundle: &std::path::Path) -> Cmd {
        Cli::parse_from(["k3rt", "run", "-b", bundle.to_str().unwrap(), "c"]).cmd
    }

    #[test]
    fn run_loads_its_bundle_once_for_the_reexec_and_the_verb() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("rootfs")).unwrap();
        let cfg = d.path().join("config.json");
        let write = |linux: &str| {
            std::fs::write(
                &cfg,
                format!(
                    r#"{{"ociVersion":"1.0.2","root":{{"path":"rootfs"}},"process":{{"args":["true"],"cwd":"/","user":{{"uid":0,"gid":0}}}}{linux}}}"#
                ),
            )
            .unwrap()
        };
        let cmd = run_of(d.path());
        // a new PID namespace and no hook in the container: no copy
        write(r#","linux":{"namespaces":[{"type":"pid"}]}"#);
        let b = cmd.load_bundle();
        assert!(matches!(b, Some(Ok(_))), "{b:?}");
        assert!(!cmd.needs_sealed_copy(b.as_ref()));
        // the host's PID namespace: the copy
        write("");
        assert!(cmd.needs_sealed_copy(cmd.load_bundle().as_ref()));
        // not loaded: the copy, to be safe
        assert!(cmd.needs_sealed_copy(None));
        // a bad config starts nothing: no copy, and the error names the file
        write(r#","linux":{"namespaces":"pid"}"#);
        let b = cmd.load_bundle();
        assert!(!cmd.needs_sealed_copy(b.as_ref()));
        let e = b.unwrap().unwrap_err().to_string();
        assert!(
            e.contains("config.json") && e.contains("linux.namespaces"),
            "{e}"
        );
        std::fs::remove_file(&cfg).unwrap();
        let e = cmd.load_bundle().unwrap().unwrap_err().to_string();
        assert!(e.contains("config.json"), "{e}");
        // create and exec always; other verbs never; none of them load a bundle
        let create = Cli::parse_from(["k3rt", "create", "c"]).cmd;
        assert!(create.load_bundle().is_none() && create.needs_sealed_copy(None));
        let state = Cli::parse_from(["k3rt", "state", "c"]).cmd;
        assert!(state.load_bundle().is_none() && !state.needs_sealed_copy(None));
    }

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
