//! `k3`, the container engine CLI: parses arguments, calls the engine
//! library and maps its errors to messages, seed 000's JSON error object
//! (`--json`) and a non-zero exit code.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use k3::cli::remote::{self, Remote};
use k3::cli::{self as container_cli, ContainerCmd};
use k3_engine::api::auth;
use k3_engine::context::Engine;
use k3_engine::db::images::ImageRecord;
use k3_engine::db::{snapshots as snapshot_records, Db};
use k3_engine::error::{chain_message, EngineError};
use k3_engine::image::progress::{self, human, Mode};
use k3_engine::image::pull::{self, PullOptions};
use k3_engine::image::reference::DOCKER_HUB;
use k3_engine::images;
use k3_engine::store::content::{Store, DEFAULT_ROOT};
use k3_engine::store::snapshots;
use k3_engine::supervisor::{selftest, DaemonConfig};
use k3_engine::{daemon, monitor, oci_runtime};
use std::time::Duration;

#[derive(Parser)]
#[command(name = "k3", version, about = "k3 container engine")]
struct Cli {
    /// The k3 root directory (or `K3_ROOT`).
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    /// Registry for references that name none (or `K3_DEFAULT_REGISTRY`; default `docker.io`).
    #[arg(long, global = true)]
    default_registry: Option<String>,
    /// A registry to reach over plain HTTP (repeatable; or `K3_INSECURE_REGISTRIES`, comma-separated).
    #[arg(long = "insecure-registry", global = true)]
    insecure: Vec<String>,
    /// Credentials file, docker `config.json` shape (or `K3_AUTH_FILE`; default `ROOT/auth.json`).
    #[arg(long, global = true)]
    auth_file: Option<PathBuf>,
    /// OCI runtime for new containers: `k3rt` (default: next to k3, else on PATH), `runc`, `crun` or a path (or `K3_RUNTIME`).
    #[arg(long, global = true)]
    runtime: Option<String>,
    /// The daemon's unix socket (or `K3_SOCKET`; default `/run/k3/k3.sock` for the default root, else `ROOT/k3.sock`).
    #[arg(long, global = true)]
    socket: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

// Parsed once per process; boxing the flattened container verbs is not
// possible with clap's `flatten`.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Cmd {
    /// Pull an image: NAME[:TAG|@DIGEST].
    Pull {
        /// The image reference.
        reference: String,
        /// Print the error as a JSON object on failure, the record on success.
        #[arg(long)]
        json: bool,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
        /// Layers fetched at once.
        #[arg(long, default_value_t = 3, allow_hyphen_values = true)]
        max_concurrent_downloads: usize,
    },
    /// List images.
    Images {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table, allow_hyphen_values = true)]
        format: Format,
    },
    /// Image commands.
    Image {
        #[command(subcommand)]
        cmd: ImageCmd,
    },
    /// Remove an image (refused while a container snapshot uses it).
    Rmi {
        /// The image.
        name: String,
    },
    /// Remove unreferenced blobs, layers and snapshots.
    Prune,
    /// Container snapshots (what `create` uses; exposed for tests and debugging).
    Snapshot {
        #[command(subcommand)]
        cmd: SnapshotCmd,
    },
    /// Run the daemon: HTTP API, dashboard, restart supervisor, webhooks.
    Serve {
        /// Also listen on TCP, e.g. `127.0.0.1:8808` (needs `--token-file`).
        #[arg(long, allow_hyphen_values = true)]
        listen: Option<String>,
        /// A file whose first line is the bearer token TCP clients must send.
        #[arg(long, allow_hyphen_values = true)]
        token_file: Option<PathBuf>,
        /// A URL receiving JSON events (repeatable).
        #[arg(long = "webhook", allow_hyphen_values = true)]
        webhooks: Vec<String>,
        /// A file with one webhook URL per line.
        #[arg(long, allow_hyphen_values = true)]
        webhook_file: Option<PathBuf>,
        /// Webhook POST timeout, seconds.
        #[arg(long, default_value_t = 2, allow_hyphen_values = true)]
        webhook_timeout: u64,
        /// Seconds between SIGTERM and SIGKILL at shutdown.
        #[arg(long, default_value_t = 10, allow_hyphen_values = true)]
        grace: u64,
    },
    /// Built-in tests.
    Selftest {
        #[command(subcommand)]
        cmd: SelftestCmd,
    },
    #[command(flatten)]
    Container(ContainerCmd),
}

#[derive(Subcommand)]
enum SelftestCmd {
    /// Seed 001's memory/CPU limits test (six containers); non-zero if a limit does not hold.
    Limits {
        /// The image (busybox-like: `sh`).
        #[arg(long, default_value = "busybox", allow_hyphen_values = true)]
        image: String,
        /// Seconds the CPU use is measured over.
        #[arg(long, default_value_t = 4, allow_hyphen_values = true)]
        seconds: u64,
    },
}

#[derive(Subcommand)]
enum ImageCmd {
    /// Show an image record as JSON.
    Inspect {
        /// The image.
        name: String,
    },
}

#[derive(Subcommand)]
enum SnapshotCmd {
    /// Mount a container rootfs from an image; prints its path.
    Prepare {
        /// The container id.
        id: String,
        /// The image.
        image: String,
        /// Writable layer limit in MB.
        #[arg(long, allow_hyphen_values = true)]
        disk_limit: Option<u64>,
    },
    /// Unmount and delete a container snapshot.
    Rm {
        /// The container id.
        id: String,
    },
    /// List container snapshots as JSON.
    Ls,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

struct Ctx {
    store: Store,
    db: Db,
    default_registry: String,
}

fn main() -> ExitCode {
    // SAFETY: restoring the default SIGPIPE action before any thread starts,
    // so `k3 images | head` ends quietly like other Unix tools.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("__monitor") {
        monitor::main(argv.get(2).map_or("", String::as_str));
    }
    let cli = Cli::parse();
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
    let json = matches!(cli.cmd, Cmd::Pull { json: true, .. });
    let input = match &cli.cmd {
        Cmd::Pull { reference, .. } => serde_json::json!(reference),
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
        Err(Failure::Exit(code)) => ExitCode::from(code.clamp(0, 255) as u8),
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

enum Failure {
    Engine(EngineError),
    Other(anyhow::Error),
    Container(container_cli::Failure),
    Exit(i32),
}

impl<E: Into<EngineError>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Engine(e.into())
    }
}

fn other(e: impl Into<anyhow::Error>) -> Failure {
    Failure::Other(e.into())
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

fn open(cli: &Cli) -> Result<Ctx, Failure> {
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
    Ok(Ctx {
        store,
        db,
        default_registry,
    })
}

fn pull_options(ctx: &Ctx, cli: &Cli) -> PullOptions {
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

fn socket_path(ctx: &Ctx, cli: &Cli) -> PathBuf {
    cli.socket
        .clone()
        .or_else(|| std::env::var_os("K3_SOCKET").map(PathBuf::from))
        .unwrap_or_else(|| {
            daemon::default_socket(ctx.store.root(), std::path::Path::new(DEFAULT_ROOT))
        })
}

fn engine_ctx(ctx: Ctx, cli: &Cli) -> Result<Engine, Failure> {
    let runtime = oci_runtime_of(&ctx, cli)?;
    let pull = pull_options(&ctx, cli);
    let k3_exe = std::env::current_exe().map_err(other)?;
    Ok(Engine::new(ctx.store, ctx.db, runtime, pull, k3_exe))
}

fn oci_runtime_of(ctx: &Ctx, cli: &Cli) -> Result<oci_runtime::OciRuntime, Failure> {
    let name = cli
        .runtime
        .clone()
        .or_else(|| std::env::var("K3_RUNTIME").ok());
    let path = oci_runtime::resolve(name.as_deref()).map_err(other)?;
    Ok(oci_runtime::OciRuntime::new(path, ctx.store.root()))
}

#[allow(clippy::too_many_arguments)]
fn cmd_serve(
    ctx: Ctx,
    cli: &Cli,
    listen: Option<String>,
    token_file: Option<PathBuf>,
    mut webhooks: Vec<String>,
    webhook_file: Option<PathBuf>,
    timeout: u64,
    grace: u64,
) -> Result<(), Failure> {
    let socket = socket_path(&ctx, cli);
    let token = match token_file {
        Some(f) => Some(
            std::fs::read_to_string(&f)
                .ok()
                .and_then(|t| auth::parse_token_file(&t))
                .ok_or_else(|| other(anyhow::anyhow!("no token in `{}`", f.display())))?,
        ),
        None => None,
    };
    if let Some(f) = webhook_file {
        let text = std::fs::read_to_string(&f).map_err(other)?;
        webhooks.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    let cfg = DaemonConfig {
        root: ctx.store.root().to_path_buf(),
        runtime: oci_runtime_of(&ctx, cli)?,
        pull: pull_options(&ctx, cli),
        k3_exe: std::env::current_exe().map_err(other)?,
        webhooks,
        webhook_timeout: Duration::from_secs(timeout),
        grace: Duration::from_secs(grace),
    };
    daemon::run(
        cfg,
        daemon::Listen {
            socket,
            tcp: listen,
            token,
        },
    )
    .map_err(other)
}

fn cmd_selftest(ctx: Ctx, cli: &Cli, image: &str, seconds: u64) -> Result<(), Failure> {
    let mut c = engine_ctx(ctx, cli)?;
    let lines = selftest::run(&mut c, image, seconds).map_err(other)?;
    print!("{}", selftest::table(&lines));
    let bad = lines.iter().filter(|l| !l.ok).count();
    if bad > 0 {
        eprintln!("k3: selftest limits: {bad} limit(s) did not hold");
        return Err(Failure::Exit(1));
    }
    println!("all {} limits held", lines.len());
    Ok(())
}

fn container_verb(ctx: Ctx, cli: &Cli, cmd: ContainerCmd) -> Result<(), Failure> {
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
    if let Cmd::Serve {
        listen,
        token_file,
        webhooks,
        webhook_file,
        webhook_timeout,
        grace,
    } = &cli.cmd
    {
        let (l, t, w, f) = (
            listen.clone(),
            token_file.clone(),
            webhooks.clone(),
            webhook_file.clone(),
        );
        return cmd_serve(ctx, &cli, l, t, w, f, *webhook_timeout, *grace);
    }
    if let Cmd::Selftest {
        cmd: SelftestCmd::Limits { image, seconds },
    } = &cli.cmd
    {
        return cmd_selftest(ctx, &cli, &image.clone(), *seconds);
    }
    if let Cmd::Container(_) = &cli.cmd {
        let Cmd::Container(cmd) = std::mem::replace(&mut cli.cmd, Cmd::Prune) else {
            return Ok(());
        };
        return container_verb(ctx, &cli, cmd);
    }
    match &cli.cmd {
        Cmd::Pull {
            reference,
            json,
            quiet,
            max_concurrent_downloads,
        } => cmd_pull(
            &ctx,
            &cli,
            reference,
            *json,
            *quiet,
            *max_concurrent_downloads,
        ),
        Cmd::Images { format } => cmd_images(&ctx, *format),
        Cmd::Image {
            cmd: ImageCmd::Inspect { name },
        } => {
            let rec = images::find(&ctx.db, name, &ctx.default_registry)?;
            print_json(&rec)
        }
        Cmd::Rmi { name } => {
            let removed = images::remove(&ctx.store, &ctx.db, name, &ctx.default_registry)?;
            println!(
                "Untagged: {} (deleted {} blobs, {} layers)",
                removed.untagged, removed.blobs, removed.layers
            );
            Ok(())
        }
        Cmd::Prune => {
            let p = images::prune(&ctx.store, &ctx.db)?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let e = k3_engine::db::events::prune(ctx.db.conn(), now)?;
            println!(
                "Deleted {} blobs, {} layers, {} snapshots, {} tmp entries, {} events, {} webhook deliveries",
                p.blobs,
                p.layers,
                p.snapshots.len(),
                p.tmp,
                e.events,
                e.queue
            );
            Ok(())
        }
        Cmd::Snapshot { cmd } => cmd_snapshot(&ctx, cmd),
        Cmd::Container(_) | Cmd::Serve { .. } | Cmd::Selftest { .. } => Ok(()),
    }
}

fn cmd_pull(
    ctx: &Ctx,
    cli: &Cli,
    reference: &str,
    json: bool,
    quiet: bool,
    max: usize,
) -> Result<(), Failure> {
    let opts = PullOptions {
        max_concurrent: max,
        ..pull_options(ctx, cli)
    };
    let mode = if quiet || json {
        Mode::Quiet
    } else if std::io::stderr().is_terminal() {
        Mode::Bars
    } else {
        Mode::Lines
    };
    let reporter = progress::reporter(mode);
    let out = pull::pull(&ctx.store, &ctx.db, reference, &opts, reporter.as_ref())
        .map_err(EngineError::from)?;
    if json {
        return print_json(&out.record);
    }
    if !quiet {
        let what = if out.up_to_date {
            "Up to date"
        } else {
            "Pulled"
        };
        println!(
            "{what}: {} ({} layers downloaded, {})",
            out.record.reference(),
            out.layers_downloaded,
            human(out.bytes_downloaded)
        );
        println!("Digest: {}", out.record.digest);
    }
    Ok(())
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<(), Failure> {
    println!("{}", serde_json::to_string_pretty(v).map_err(other)?);
    Ok(())
}

fn cmd_images(ctx: &Ctx, format: Format) -> Result<(), Failure> {
    let all = images::list(&ctx.db)?;
    match format {
        Format::Json => print_json(&all),
        Format::Table => {
            println!(
                "{:<50} {:<16} {:<19} {:>10}",
                "REPOSITORY", "TAG", "IMAGE ID", "SIZE"
            );
            for r in &all {
                println!("{}", table_row(r));
            }
            Ok(())
        }
    }
}

fn table_row(r: &ImageRecord) -> String {
    let id = r
        .config_digest
        .split(':')
        .nth(1)
        .unwrap_or("")
        .get(..12)
        .unwrap_or("");
    let tag = if r.tag.is_empty() { "<none>" } else { &r.tag };
    format!(
        "{:<50} {:<16} {:<19} {:>10}",
        r.name,
        tag,
        id,
        human(r.size)
    )
}

fn cmd_snapshot(ctx: &Ctx, cmd: &SnapshotCmd) -> Result<(), Failure> {
    match cmd {
        SnapshotCmd::Prepare {
            id,
            image,
            disk_limit,
        } => {
            let rec = images::find(&ctx.db, image, &ctx.default_registry)?;
            let rootfs = snapshots::prepare(&ctx.store, &ctx.db, id, &rec, *disk_limit)?;
            println!("{}", rootfs.display());
            Ok(())
        }
        SnapshotCmd::Rm { id } => {
            snapshots::remove(&ctx.store, &ctx.db, id)?;
            Ok(())
        }
        SnapshotCmd::Ls => {
            let all = snapshot_records::list(ctx.db.conn()).map_err(EngineError::from)?;
            print_json(&all)
        }
    }
}
