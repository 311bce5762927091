//! What every k3 verb shares: the global options, the opened root, the engine
//! built from them, how a verb fails, and JSON output. It imports no verb, so the
//! verbs and the dispatcher (`app.rs`) can both use it.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::cli as container_cli;
use k3_engine::context::Engine;
use k3_engine::db::Db;
use k3_engine::error::EngineError;
use k3_engine::image::pull::PullOptions;
use k3_engine::image::reference::DOCKER_HUB;
use k3_engine::store::content::{Store, DEFAULT_ROOT};
use k3_engine::{daemon, oci_runtime};

/// The global options, valid before or after any verb.
#[derive(Args, Debug)]
pub struct Globals {
    /// Root directory for images, snapshots, containers and the database (or `K3_ROOT`) [default: /var/lib/k3]
    #[arg(long, global = true, help_heading = "Global options")]
    pub root: Option<PathBuf>,
    /// Registry for references that name none (or `K3_DEFAULT_REGISTRY`) [default: docker.io]
    #[arg(long, global = true, help_heading = "Global options")]
    pub default_registry: Option<String>,
    /// A registry to reach over plain HTTP (repeatable; or `K3_INSECURE_REGISTRIES`, comma-separated)
    #[arg(
        long = "insecure-registry",
        global = true,
        help_heading = "Global options"
    )]
    pub insecure: Vec<String>,
    /// Credentials file in docker's `config.json` shape (or `K3_AUTH_FILE`) [default: ROOT/auth.json]
    #[arg(long, global = true, help_heading = "Global options")]
    pub auth_file: Option<PathBuf>,
    /// OCI runtime for new containers: `k3rt`, `runc`, `crun` or a path (or `K3_RUNTIME`) [default: the k3rt next to k3, else on PATH]
    #[arg(long, global = true, help_heading = "Global options")]
    pub runtime: Option<String>,
    /// The daemon's unix socket (or `K3_SOCKET`) [default: /run/k3/k3.sock for the default root, else ROOT/k3.sock]
    #[arg(long, global = true, help_heading = "Global options")]
    pub socket: Option<PathBuf>,
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

fn env_list(name: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Opens the root the options name (creating it when new).
pub fn open(cli: &Globals) -> Result<Root, Failure> {
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
pub fn pull_options(ctx: &Root, cli: &Globals) -> PullOptions {
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
pub fn socket_path(ctx: &Root, cli: &Globals) -> PathBuf {
    cli.socket
        .clone()
        .or_else(|| std::env::var_os("K3_SOCKET").map(PathBuf::from))
        .unwrap_or_else(|| {
            daemon::default_socket(ctx.store.root(), std::path::Path::new(DEFAULT_ROOT))
        })
}

/// The engine: the opened root plus the OCI runtime and pull options.
pub fn engine_ctx(ctx: Root, cli: &Globals) -> Result<Engine, Failure> {
    let runtime = oci_runtime_of(&ctx, cli)?;
    let pull = pull_options(&ctx, cli);
    let k3_exe = std::env::current_exe().map_err(other)?;
    Ok(Engine::new(ctx.store, ctx.db, runtime, pull, k3_exe))
}

/// The OCI runtime the global options and environment name.
pub fn oci_runtime_of(ctx: &Root, cli: &Globals) -> Result<oci_runtime::OciRuntime, Failure> {
    let name = cli
        .runtime
        .clone()
        .or_else(|| std::env::var("K3_RUNTIME").ok());
    let path = oci_runtime::resolve(name.as_deref()).map_err(other)?;
    Ok(oci_runtime::OciRuntime::new(path, ctx.store.root()))
}

/// Prints `v` as pretty JSON.
pub fn print_json<T: serde::Serialize>(v: &T) -> Result<(), Failure> {
    println!("{}", serde_json::to_string_pretty(v).map_err(other)?);
    Ok(())
}
