//! The whole `k3` command line: the global options, every verb (the container
//! verbs are flattened in from [`ContainerCmd`]), and the mapping of a result
//! to messages, seed 000's JSON error object (`--json`) and an exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::cli::remote::{self, Remote};
use crate::cli::{self as container_cli, images, pull, selftest, serve, snapshot, ContainerCmd};
use k3_engine::context::Engine;
use k3_engine::db::Db;
use k3_engine::error::{chain_message, EngineError};
use k3_engine::image::pull::PullOptions;
use k3_engine::image::reference::DOCKER_HUB;
use k3_engine::store::content::{Store, DEFAULT_ROOT};
use k3_engine::{daemon, oci_runtime};

/// k3's command line: the global options and one verb.
#[derive(Parser, Debug)]
#[command(
    name = "k3",
    version,
    long_about = None,
    about = "k3: a container engine (images, containers, volumes, networks, an HTTP API) that drives any OCI runtime"
)]
pub struct Cli {
    /// Root directory for images, snapshots, containers and the database (or `K3_ROOT`) [default: /var/lib/k3]
    #[arg(long, global = true, help_heading = "Global options")]
    root: Option<PathBuf>,
    /// Registry for references that name none (or `K3_DEFAULT_REGISTRY`) [default: docker.io]
    #[arg(long, global = true, help_heading = "Global options")]
    default_registry: Option<String>,
    /// A registry to reach over plain HTTP (repeatable; or `K3_INSECURE_REGISTRIES`, comma-separated)
    #[arg(
        long = "insecure-registry",
        global = true,
        help_heading = "Global options"
    )]
    insecure: Vec<String>,
    /// Credentials file in docker's `config.json` shape (or `K3_AUTH_FILE`) [default: ROOT/auth.json]
    #[arg(long, global = true, help_heading = "Global options")]
    auth_file: Option<PathBuf>,
    /// OCI runtime for new containers: `k3rt`, `runc`, `crun` or a path (or `K3_RUNTIME`) [default: the k3rt next to k3, else on PATH]
    #[arg(long, global = true, help_heading = "Global options")]
    runtime: Option<String>,
    /// The daemon's unix socket (or `K3_SOCKET`) [default: /run/k3/k3.sock for the default root, else ROOT/k3.sock]
    #[arg(long, global = true, help_heading = "Global options")]
    socket: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

// Parsed once per process; boxing the flattened container verbs is not
// possible with clap's `flatten`.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Cmd {
    /// Pull an image: NAME[:TAG|@DIGEST].
    Pull(pull::PullArgs),
    /// List images.
    Images(images::ImagesArgs),
    /// Image commands.
    Image {
        /// The image verb.
        #[command(subcommand)]
        cmd: images::ImageCmd,
    },
    /// Remove an image (refused while a container snapshot uses it).
    Rmi(images::RmiArgs),
    /// Remove unreferenced blobs, layers and snapshots.
    Prune,
    /// Container snapshots (what `create` uses; exposed for tests and debugging).
    Snapshot {
        /// The snapshot verb.
        #[command(subcommand)]
        cmd: snapshot::SnapshotCmd,
    },
    /// Run the daemon: HTTP API, dashboard, restart supervisor, webhooks.
    Serve(serve::ServeArgs),
    /// Built-in tests.
    Selftest {
        /// The selftest verb.
        #[command(subcommand)]
        cmd: selftest::SelftestCmd,
    },
    #[command(flatten)]
    Container(ContainerCmd),
}

/// Output format of a listing.
#[derive(Clone, Copy, ValueEnum, Debug)]
pub enum Format {
    /// A table for people
    Table,
    /// JSON
    Json,
}

/// The opened root: what the image and snapshot verbs need.
pub struct Root {
    /// The content store (blobs, layers, snapshots).
    pub store: Store,
    /// The database.
    pub db: Db,
    /// The registry of references that name none.
    pub default_registry: String,
}

impl std::fmt::Debug for Root {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Root")
            .field("store", &self.store)
            .field("default_registry", &self.default_registry)
            .finish_non_exhaustive()
    }
}

/// How a verb failed.
#[derive(Debug)]
pub enum Failure {
    /// An engine error (with `--json`, printed as the error object).
    Engine(EngineError),
    /// Any other error: a message.
    Other(anyhow::Error),
    /// A container verb's failure, with what its error object needs.
    Container(container_cli::Failure),
    /// No message: exit with this code.
    Exit(i32),
}

impl<E: Into<EngineError>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Engine(e.into())
    }
}

/// Any other error as a failure.
pub fn other(e: impl Into<anyhow::Error>) -> Failure {
    Failure::Other(e.into())
}

/// A status as this process's exit code (0..=255).
pub fn exit_code(status: i32) -> u8 {
    u8::try_from(status.clamp(0, 255)).unwrap_or(u8::MAX)
}

/// Runs the parsed command line; the process' exit code.
pub fn main(cli: Cli) -> ExitCode {
    // run/create/start/exec answer as docker does: 125 engine, 126/127 program
    let docker_codes = matches!(
        &cli.cmd,
        Cmd::Container(
            ContainerCmd::Run(_)
                | ContainerCmd::Create(_)
                | ContainerCmd::Start(_)
                | ContainerCmd::Exec(_)
        )
    );
    let json = matches!(&cli.cmd, Cmd::Pull(p) if p.json);
    let input = match &cli.cmd {
        Cmd::Pull(p) => serde_json::json!(p.reference),
        _ => serde_json::Value::Null,
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Engine(e)) => {
            if json {
                let obj = e.to_object(input);
                println!("{}", serde_json::to_string(&obj).unwrap_or_default());
            }
            eprintln!("k3: error: {}", chain_message(&e));
            ExitCode::FAILURE
        }
        Err(Failure::Other(e)) => {
            eprintln!("k3: error: {e:#}");
            ExitCode::FAILURE
        }
        Err(Failure::Exit(code)) => ExitCode::from(exit_code(code)),
        Err(Failure::Container(f)) => {
            if f.json {
                println!("{}", serde_json::to_string(&f.object()).unwrap_or_default());
            }
            let msg = chain_message(&f.error);
            eprintln!("k3: error: {msg}");
            if docker_codes {
                ExitCode::from(container_cli::docker_exit_code(&msg))
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn env_list(name: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn open(cli: &Cli) -> Result<Root, Failure> {
    let root = cli
        .root
        .clone()
        .or_else(|| std::env::var_os("K3_ROOT").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT));
    let store = Store::open(&root)?;
    let db = Db::open(&store.db_path())?;
    let default_registry = cli
        .default_registry
        .clone()
        .or_else(|| std::env::var("K3_DEFAULT_REGISTRY").ok())
        .unwrap_or_else(|| DOCKER_HUB.to_string());
    Ok(Root {
        store,
        db,
        default_registry,
    })
}

/// The pull options the global flags and environment give.
pub fn pull_options(ctx: &Root, cli: &Cli) -> PullOptions {
    let mut insecure = cli.insecure.clone();
    insecure.extend(env_list("K3_INSECURE_REGISTRIES"));
    let auth_file = cli
        .auth_file
        .clone()
        .or_else(|| std::env::var_os("K3_AUTH_FILE").map(PathBuf::from))
        .unwrap_or_else(|| ctx.store.root().join("auth.json"));
    PullOptions {
        default_registry: ctx.default_registry.clone(),
        insecure,
        auth_file,
        max_concurrent: 3,
    }
}

/// The daemon's socket.
pub fn socket_path(ctx: &Root, cli: &Cli) -> PathBuf {
    cli.socket
        .clone()
        .or_else(|| std::env::var_os("K3_SOCKET").map(PathBuf::from))
        .unwrap_or_else(|| {
            daemon::default_socket(ctx.store.root(), std::path::Path::new(DEFAULT_ROOT))
        })
}

/// The engine: the opened root plus the OCI runtime and pull options.
pub fn engine_ctx(ctx: Root, cli: &Cli) -> Result<Engine, Failure> {
    let runtime = oci_runtime_of(&ctx, cli)?;
    let pull = pull_options(&ctx, cli);
    let k3_exe = std::env::current_exe().map_err(other)?;
    Ok(Engine::new(ctx.store, ctx.db, runtime, pull, k3_exe))
}

/// The OCI runtime the global options and environment name.
pub fn oci_runtime_of(ctx: &Root, cli: &Cli) -> Result<oci_runtime::OciRuntime, Failure> {
    let name = cli
        .runtime
        .clone()
        .or_else(|| std::env::var("K3_RUNTIME").ok());
    let path = oci_runtime::resolve(name.as_deref()).map_err(other)?;
    Ok(oci_runtime::OciRuntime::new(path, ctx.store.root()))
}

fn container_verb(ctx: Root, cli: &Cli, cmd: ContainerCmd) -> Result<(), Failure> {
    match remote::try_remote(&socket_path(&ctx, cli), &cmd) {
        Ok(Remote::Exit(0)) => return Ok(()),
        Ok(Remote::Exit(code)) => return Err(Failure::Exit(code)),
        Ok(Remote::Local) => {}
        Err(e) => return Err(other(e)),
    }
    let mut cctx = engine_ctx(ctx, cli)?;
    match container_cli::dispatch(&mut cctx, cmd) {
        Ok(0) => Ok(()),
        Ok(code) => Err(Failure::Exit(code)),
        Err(f) => Err(Failure::Container(f)),
    }
}

fn run(mut cli: Cli) -> Result<(), Failure> {
    let ctx = open(&cli)?;
    if let Cmd::Serve(a) = &cli.cmd {
        let a = a.clone();
        return serve::run(ctx, &cli, a);
    }
    if let Cmd::Selftest { cmd } = &cli.cmd {
        let cmd = cmd.clone();
        return selftest::run(ctx, &cli, cmd);
    }
    if let Cmd::Container(_) = &cli.cmd {
        let Cmd::Container(cmd) = std::mem::replace(&mut cli.cmd, Cmd::Prune) else {
            return Ok(());
        };
        return container_verb(ctx, &cli, cmd);
    }
    match &cli.cmd {
        Cmd::Pull(a) => pull::run(&ctx, &cli, a),
        Cmd::Images(a) => images::images(&ctx, a),
        Cmd::Image { cmd } => images::image(&ctx, cmd),
        Cmd::Rmi(a) => images::rmi(&ctx, a),
        Cmd::Prune => images::prune(&ctx),
        Cmd::Snapshot { cmd } => snapshot::run(&ctx, cmd),
        Cmd::Container(_) | Cmd::Serve(_) | Cmd::Selftest { .. } => Ok(()),
    }
}

/// Prints `v` as pretty JSON.
pub fn print_json<T: serde::Serialize>(v: &T) -> Result<(), Failure> {
    println!("{}", serde_json::to_string_pretty(v).map_err(other)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every argument of every verb (`verb path` + id) that has no help text.
    fn undocumented(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        for a in cmd.get_arguments() {
            let builtin = matches!(a.get_id().as_str(), "help" | "version");
            if !builtin && a.get_help().is_none() {
                out.push(format!("{path} {}", a.get_id()));
            }
        }
        for sub in cmd.get_subcommands() {
            if sub.get_about().is_none() {
                out.push(format!("{path} {} (no about)", sub.get_name()));
            }
            undocumented(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    /// The long help of `cmd` and of every verb below it.
    fn all_help(cmd: &mut clap::Command) -> String {
        let mut text = cmd.render_long_help().to_string();
        for sub in cmd.get_subcommands_mut() {
            text += &all_help(sub);
        }
        text
    }

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_argument_and_verb_has_help() {
        let mut missing = Vec::new();
        undocumented(&Cli::command(), "k3", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:#?}");
    }

    #[test]
    fn help_has_no_internal_wording() {
        let text = all_help(&mut Cli::command());
        for word in ["seed", "Seed", "TODO"] {
            assert!(!text.contains(word), "`{word}` in the help text");
        }
    }
}
