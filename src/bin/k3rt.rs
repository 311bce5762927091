//! `k3rt`: a runc-compatible OCI runtime. Parses the command line, opens the log,
//! calls the library, and maps errors to one log line and a non-zero exit.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use k3::runtime::container::create::CreateOpts;
use k3::runtime::container::list::Format;
use k3::runtime::container::{self as verbs, Ctx};
use k3::runtime::statedir::default_root;
use k3::runtime::trace::Log;

#[derive(Parser, Debug)]
#[command(name = "k3rt", version = version(), about = "an OCI runtime")]
struct Cli {
    /// Root directory for container state
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    /// Log file (errors and, with --debug, the trace)
    #[arg(long, global = true)]
    log: Option<PathBuf>,
    /// Log format
    #[arg(long = "log-format", value_enum, default_value = "text", global = true)]
    log_format: LogFormat,
    /// Print the step-by-step trace
    #[arg(long, global = true)]
    debug: bool,
    /// Use systemd to manage cgroups
    #[arg(long = "systemd-cgroup", global = true)]
    systemd_cgroup: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

fn version() -> &'static str {
    concat!(env!("CARGO_PKG_VERSION"), "\nspec: 1.2.0")
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
struct CreateArgs {
    /// Path to the bundle directory
    #[arg(short, long, default_value = ".")]
    bundle: PathBuf,
    /// File to write the init's pid to
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// Use MS_MOVE + chroot instead of pivot_root
    #[arg(long = "no-pivot")]
    no_pivot: bool,
    /// Keep the caller's session keyring
    #[arg(long = "no-new-keyring")]
    no_new_keyring: bool,
    /// Pass N extra descriptors (3..3+N) to the container
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: i32,
    /// Container id
    id: String,
}

impl CreateArgs {
    fn opts(&self) -> CreateOpts {
        CreateOpts {
            id: self.id.clone(),
            bundle: self.bundle.clone(),
            pid_file: self.pid_file.clone(),
            console_socket: self.console_socket.clone(),
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds,
        }
    }
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Create a container (the process waits for start)
    Create(CreateArgs),
    /// Start a created container
    Start { id: String },
    /// Print a container's state as JSON
    State { id: String },
    /// Send a signal (number or name, default TERM)
    Kill {
        #[arg(short, long)]
        all: bool,
        id: String,
        #[arg(default_value = "TERM")]
        signal: String,
    },
    /// Delete a container
    Delete {
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// Create and start a container
    Run {
        #[arg(short, long)]
        detach: bool,
        #[command(flatten)]
        create: CreateArgs,
    },
    /// List containers
    List {
        #[arg(short, long, value_enum, default_value = "table")]
        format: ListFormat,
        #[arg(short, long)]
        quiet: bool,
    },
    /// Write a default config.json
    Spec {
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
        #[arg(long)]
        rootless: bool,
    },
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum ListFormat {
    Table,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = match Log::open(
        cli.log.as_deref(),
        matches!(cli.log_format, LogFormat::Json),
        cli.debug,
    ) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("k3rt: open log file: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ctx = Ctx {
        root: cli.root.clone().unwrap_or_else(default_root),
        log,
        systemd_cgroup: cli.systemd_cgroup,
    };
    match dispatch(&ctx, cli.cmd) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            ctx.log.error(e.to_string());
            ExitCode::FAILURE
        }
    }
}

fn dispatch(ctx: &Ctx, cmd: Cmd) -> k3::runtime::Result<u8> {
    match cmd {
        Cmd::Create(a) => verbs::create::create(ctx, &a.opts())?,
        Cmd::Start { id } => verbs::start::start(ctx, &id)?,
        Cmd::State { id } => println!("{}", verbs::state::state(ctx, &id)?),
        Cmd::Kill { all, id, signal } => verbs::kill::kill(ctx, &id, &signal, all)?,
        Cmd::Delete { force, id } => verbs::delete::delete(ctx, &id, force)?,
        Cmd::Run { detach, create } => {
            let code = verbs::run::run(ctx, &create.opts(), detach)?;
            return Ok(code.clamp(0, 255) as u8);
        }
        Cmd::List { format, quiet } => {
            let f = match (quiet, format) {
                (true, _) => Format::Quiet,
                (_, ListFormat::Json) => Format::Json,
                _ => Format::Table,
            };
            print!("{}", verbs::list::list(ctx, f)?);
        }
        Cmd::Spec { bundle, rootless } => verbs::spec::write(&bundle, rootless)?,
    }
    Ok(0)
}
