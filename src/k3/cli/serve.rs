//! `k3 serve`: the daemon (HTTP API, dashboard, restart supervisor, webhooks).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::cli::globals::{
    oci_runtime_of, other, pull_options, socket_path, Failure, Globals, Root,
};
use k3_engine::api::auth;
use k3_engine::daemon;
use k3_engine::supervisor::DaemonConfig;

/// `k3 serve` arguments.
#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    /// Also listen on TCP, e.g. `127.0.0.1:8808` (needs `--token-file`).
    #[arg(long, allow_hyphen_values = true)]
    pub listen: Option<String>,
    /// A file whose first line is the bearer token TCP clients must send.
    #[arg(long, allow_hyphen_values = true)]
    pub token_file: Option<PathBuf>,
    /// A URL receiving JSON events (repeatable).
    #[arg(long = "webhook", allow_hyphen_values = true)]
    pub webhooks: Vec<String>,
    /// A file with one webhook URL per line.
    #[arg(long, allow_hyphen_values = true)]
    pub webhook_file: Option<PathBuf>,
    /// Webhook POST timeout, seconds.
    #[arg(long, default_value_t = 2, allow_hyphen_values = true)]
    pub webhook_timeout: u64,
    /// How long a browser session (the dashboard's login cookie) lives, seconds.
    #[arg(long, default_value_t = 43200, allow_hyphen_values = true)]
    pub session_ttl: u64,
    /// Seconds between SIGTERM and SIGKILL at shutdown.
    #[arg(long, default_value_t = 10, allow_hyphen_values = true)]
    pub grace: u64,
}

/// `k3 serve`.
pub fn run(ctx: Root, cli: &Globals, a: ServeArgs) -> Result<(), Failure> {
    let socket = socket_path(&ctx, cli);
    if a.session_ttl == 0 {
        return Err(other(anyhow::anyhow!(
            "`--session-ttl 0`: a session must live at least 1 second"
        )));
    }
    let token = match &a.token_file {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .ok()
                .and_then(|t| auth::parse_token_file(&t))
                .ok_or_else(|| other(anyhow::anyhow!("no token in `{}`", f.display())))?,
        ),
        None => None,
    };
    let mut webhooks = a.webhooks;
    if let Some(f) = a.webhook_file {
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
        webhook_timeout: Duration::from_secs(a.webhook_timeout),
        grace: Duration::from_secs(a.grace),
    };
    daemon::run(
        cfg,
        daemon::Listen {
            socket,
            tcp: a.listen,
            token,
            session_ttl: a.session_ttl,
        },
    )
    .map_err(other)
}
