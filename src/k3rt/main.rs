//! `k3rt`: a runc-compatible OCI runtime. Parses the command line, opens the log,
//! calls the library, and maps errors to one log line and a non-zero exit.

use std::process::ExitCode;

use clap::Parser;

use k3_runtime::container::Ctx;
use k3_runtime::statedir::default_root;
use k3_runtime::trace::Log;
use k3rt::{dispatch, Cli, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = cli.root.clone().unwrap_or_else(default_root);
    if cli.cmd.starts_process() {
        k3_runtime::process::exec::set_undumpable();
    }
    // run's config.json, parsed once: for the re-exec decision and for the run
    let bundle = cli.cmd.load_bundle();
    if cli.cmd.needs_sealed_copy(bundle.as_ref()) {
        if let Err(e) = k3_runtime::process::exec::ensure_sealed_self(&root) {
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
        root,
        log,
        systemd_cgroup: cli.systemd_cgroup,
    };
    match dispatch(&ctx, cli.cmd, bundle) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            ctx.log.error(e.to_string());
            ExitCode::FAILURE
        }
    }
}
