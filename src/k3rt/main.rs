//! `k3rt`: a runc-compatible OCI runtime. Parses the command line, opens the log,
//! calls the library, and maps errors to one log line and a non-zero exit.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use k3_runtime::container::checkpoint::CriuOpts;
use k3_runtime::container::create::CreateOpts;
use k3_runtime::container::exec::ExecOpts;
use k3_runtime::container::list::Format;
use k3_runtime::container::update::UpdateFlags;
use k3_runtime::container::{self as verbs, Ctx};
use k3_runtime::statedir::default_root;
use k3_runtime::trace::Log;

#[derive(Parser, Debug)]
#[command(name = "k3rt", version = version(), about = "an OCI runtime")]
struct Cli {
    /// Root directory for container state
    #[arg(long, global = true, allow_hyphen_values = true)]
    root: Option<PathBuf>,
    /// Log file (errors and, with --debug, the trace)
    #[arg(long, global = true, allow_hyphen_values = true)]
    log: Option<PathBuf>,
    /// Log format
    #[arg(
        long = "log-format",
        value_enum,
        default_value = "text",
        global = true,
        allow_hyphen_values = true
    )]
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
    #[arg(short, long, default_value = ".", allow_hyphen_values = true)]
    bundle: PathBuf,
    /// File to write the init's pid to
    #[arg(long = "pid-file", allow_hyphen_values = true)]
    pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master
    #[arg(long = "console-socket", allow_hyphen_values = true)]
    console_socket: Option<PathBuf>,
    /// Use MS_MOVE + chroot instead of pivot_root
    #[arg(long = "no-pivot")]
    no_pivot: bool,
    /// Keep the caller's session keyring
    #[arg(long = "no-new-keyring")]
    no_new_keyring: bool,
    /// Pass N extra descriptors (3..3+N) to the container
    #[arg(long = "preserve-fds", default_value_t = 0, allow_hyphen_values = true)]
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
        // `kill ID -1` is the signal -1 (refused, named), not an unknown flag
        #[arg(default_value = "TERM", allow_hyphen_values = true)]
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
        #[arg(
            short,
            long,
            value_enum,
            default_value = "table",
            allow_hyphen_values = true
        )]
        format: ListFormat,
        #[arg(short, long)]
        quiet: bool,
    },
    /// Run a process in a running container
    Exec(ExecArgs),
    /// List the container's processes
    Ps {
        #[arg(
            short,
            long,
            value_enum,
            default_value = "table",
            allow_hyphen_values = true
        )]
        format: ListFormat,
        id: String,
        /// Arguments for ps(1) (default -ef)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Freeze every process of the container
    Pause { id: String },
    /// Thaw a paused container
    Resume { id: String },
    /// Change the container's resource limits
    Update(UpdateArgs),
    /// Container statistics as JSON lines
    Events {
        /// Print one set of statistics and exit
        #[arg(long)]
        stats: bool,
        #[arg(long, default_value = "5s", allow_hyphen_values = true)]
        interval: String,
        id: String,
    },
    /// What this runtime supports (runtime-spec features JSON)
    Features,
    /// Save a running container's processes with CRIU
    Checkpoint {
        #[command(flatten)]
        criu: CriuArgs,
        /// Keep the container running after the dump
        #[arg(long = "leave-running")]
        leave_running: bool,
        id: String,
    },
    /// Bring a checkpointed container back with CRIU (always detached)
    Restore {
        #[command(flatten)]
        criu: CriuArgs,
        #[arg(short, long, default_value = ".", allow_hyphen_values = true)]
        bundle: PathBuf,
        /// Accepted for runc compatibility: the restored container always runs detached
        #[arg(short, long)]
        detach: bool,
        #[arg(long = "pid-file", allow_hyphen_values = true)]
        pid_file: Option<PathBuf>,
        id: String,
    },
    /// Write a default config.json
    Spec {
        #[arg(short, long, default_value = ".", allow_hyphen_values = true)]
        bundle: PathBuf,
        #[arg(long)]
        rootless: bool,
    },
}

#[derive(Args, Debug)]
struct ExecArgs {
    /// Process JSON file (replaces the command line)
    #[arg(short, long, allow_hyphen_values = true)]
    process: Option<PathBuf>,
    #[arg(short, long)]
    tty: bool,
    #[arg(long = "console-socket", allow_hyphen_values = true)]
    console_socket: Option<PathBuf>,
    #[arg(long, allow_hyphen_values = true)]
    cwd: Option<PathBuf>,
    /// KEY=VALUE (repeatable)
    #[arg(short, long, allow_hyphen_values = true)]
    env: Vec<String>,
    /// UID[:GID]
    #[arg(short, long, allow_hyphen_values = true)]
    user: Option<String>,
    #[arg(short = 'g', long = "additional-gids", allow_hyphen_values = true)]
    additional_gids: Vec<u32>,
    /// Add a capability (repeatable)
    #[arg(short, long = "cap", allow_hyphen_values = true)]
    cap: Vec<String>,
    #[arg(long = "no-new-privs")]
    no_new_privs: bool,
    #[arg(long, allow_hyphen_values = true)]
    apparmor: Option<String>,
    #[arg(long = "process-label", allow_hyphen_values = true)]
    process_label: Option<String>,
    #[arg(short, long)]
    detach: bool,
    #[arg(long = "pid-file", allow_hyphen_values = true)]
    pid_file: Option<PathBuf>,
    #[arg(long = "preserve-fds", default_value_t = 0, allow_hyphen_values = true)]
    preserve_fds: i32,
    /// Accepted for runc compatibility: the process joins the container's cgroup
    #[arg(long, allow_hyphen_values = true)]
    cgroup: Option<String>,
    id: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

impl ExecArgs {
    fn opts(self) -> ExecOpts {
        ExecOpts {
            id: self.id,
            process_file: self.process,
            args: self.command,
            tty: self.tty,
            console_socket: self.console_socket,
            cwd: self.cwd,
            env: self.env,
            user: self.user,
            additional_gids: self.additional_gids,
            caps: self.cap,
            no_new_privs: self.no_new_privs,
            apparmor: self.apparmor,
            process_label: self.process_label,
            detach: self.detach,
            pid_file: self.pid_file,
            preserve_fds: self.preserve_fds,
        }
    }
}

#[derive(Args, Debug)]
struct CriuArgs {
    #[arg(
        long = "image-path",
        default_value = "checkpoint",
        allow_hyphen_values = true
    )]
    image_path: PathBuf,
    #[arg(long = "work-path", allow_hyphen_values = true)]
    work_path: Option<PathBuf>,
    #[arg(long = "tcp-established")]
    tcp_established: bool,
    #[arg(long = "ext-unix-sk")]
    ext_unix_sk: bool,
    #[arg(long = "shell-job")]
    shell_job: bool,
    #[arg(long = "file-locks")]
    file_locks: bool,
}

impl CriuArgs {
    fn opts(&self, leave_running: bool) -> CriuOpts {
        CriuOpts {
            image_path: self.image_path.clone(),
            work_path: self.work_path.clone(),
            leave_running,
            tcp_established: self.tcp_established,
            ext_unix_sk: self.ext_unix_sk,
            shell_job: self.shell_job,
            file_locks: self.file_locks,
        }
    }
}

#[derive(Args, Debug)]
struct UpdateArgs {
    /// LinuxResources JSON file, `-` for stdin
    #[arg(short, long, allow_hyphen_values = true)]
    resources: Option<PathBuf>,
    #[arg(long, value_parser = parse_bytes, allow_hyphen_values = true)]
    memory: Option<i64>,
    #[arg(long = "memory-swap", value_parser = parse_bytes, allow_hyphen_values = true)]
    memory_swap: Option<i64>,
    #[arg(long = "memory-reservation", value_parser = parse_bytes, allow_hyphen_values = true)]
    memory_reservation: Option<i64>,
    #[arg(long = "kernel-memory-tcp", value_parser = parse_bytes, allow_hyphen_values = true)]
    kernel_memory_tcp: Option<i64>,
    #[arg(long = "cpu-share", allow_hyphen_values = true)]
    cpu_share: Option<u64>,
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    cpu_quota: Option<i64>,
    #[arg(long = "cpu-period", allow_hyphen_values = true)]
    cpu_period: Option<u64>,
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    cpu_rt_runtime: Option<i64>,
    #[arg(long = "cpu-rt-period", allow_hyphen_values = true)]
    cpu_rt_period: Option<u64>,
    #[arg(long = "cpuset-cpus", allow_hyphen_values = true)]
    cpuset_cpus: Option<String>,
    #[arg(long = "cpuset-mems", allow_hyphen_values = true)]
    cpuset_mems: Option<String>,
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pids_limit: Option<i64>,
    #[arg(long = "blkio-weight", allow_hyphen_values = true)]
    blkio_weight: Option<u16>,
    id: String,
}

/// `512m`, `1G`, `1048576`, `-1` → bytes.
fn parse_bytes(s: &str) -> Result<i64, String> {
    let t = s.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: i64 = n.parse().map_err(|_| format!("`{s}` is not a size"))?;
    let mult: i64 = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return Err(format!("`{s}`: unknown unit")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum ListFormat {
    Table,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.cmd, Cmd::Create(_) | Cmd::Run { .. } | Cmd::Exec(_)) {
        if let Err(e) = k3_runtime::process::exec::ensure_sealed_self() {
            eprintln!("k3rt: {e}");
            return ExitCode::FAILURE;
        }
    }
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

fn dispatch(ctx: &Ctx, cmd: Cmd) -> k3_runtime::Result<u8> {
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
        Cmd::Exec(a) => {
            let code = verbs::exec::exec(ctx, &a.opts())?;
            return Ok(code.clamp(0, 255) as u8);
        }
        Cmd::Ps {
            format,
            id,
            ps_args,
        } => {
            let json = matches!(format, ListFormat::Json);
            println!("{}", verbs::ps::ps(ctx, &id, json, &ps_args)?.trim_end());
        }
        Cmd::Pause { id } => verbs::pause::set_paused(ctx, &id, true)?,
        Cmd::Resume { id } => verbs::pause::set_paused(ctx, &id, false)?,
        Cmd::Update(a) => {
            let resources = match &a.resources {
                Some(f) => verbs::update::read_resources(f)?,
                None => UpdateFlags {
                    memory: a.memory,
                    memory_swap: a.memory_swap,
                    memory_reservation: a.memory_reservation,
                    kernel_memory_tcp: a.kernel_memory_tcp,
                    cpu_shares: a.cpu_share,
                    cpu_quota: a.cpu_quota,
                    cpu_period: a.cpu_period,
                    cpu_rt_runtime: a.cpu_rt_runtime,
                    cpu_rt_period: a.cpu_rt_period,
                    cpuset_cpus: a.cpuset_cpus.clone(),
                    cpuset_mems: a.cpuset_mems.clone(),
                    pids_limit: a.pids_limit,
                    blkio_weight: a.blkio_weight,
                }
                .to_resources()?,
            };
            verbs::update::update(ctx, &a.id, &resources)?;
        }
        Cmd::Events {
            stats,
            interval,
            id,
        } => {
            let every = verbs::events::parse_interval(&interval)?;
            verbs::events::events(ctx, &id, stats, every)?;
        }
        Cmd::Features => println!("{:#}", verbs::features::features()),
        Cmd::Checkpoint {
            criu,
            leave_running,
            id,
        } => verbs::checkpoint::checkpoint(ctx, &id, &criu.opts(leave_running))?,
        Cmd::Restore {
            criu,
            bundle,
            detach: _,
            pid_file,
            id,
        } => verbs::checkpoint::restore(ctx, &id, &bundle, &criu.opts(false), pid_file.as_deref())?,
    }
    Ok(0)
}
