//! `k3 attach ID`: the caller's terminal to a running container's stdio
//! through its monitor; ctrl-p ctrl-q (or `--detach-keys`) detaches (with a pty), otherwise it
//! ends with the container and exits with its code.

use std::os::fd::{AsFd, AsRawFd};

use clap::Args;

use crate::cli::{detach_keys, Failure};
use k3_engine::console;
use k3_engine::container::attach::{self, Ended};
use k3_engine::context::Engine;
use k3_engine::relay::Peer;

/// `k3 attach` arguments.
#[derive(Args, Debug)]
pub struct AttachArgs {
    /// Do not pass the caller's stdin (the container's output only)
    #[arg(long)]
    pub no_stdin: bool,
    /// Keys that detach from the container's terminal: a comma-separated list of
    /// ctrl-<x> (x one of a-z @ [ \ ] ^ _) or single characters, "" for none
    /// [default: ctrl-p,ctrl-q]
    #[arg(long = "detach-keys", value_name = "KEYS", allow_hyphen_values = true)]
    pub detach_keys: Option<String>,
    /// Container id
    pub id: String,
}

/// `k3 attach`.
pub fn run(ctx: &mut Engine, a: AttachArgs) -> Result<i32, Failure> {
    let keys = detach_keys::keys(a.detach_keys.as_deref(), &a.id, false)?;
    let fail = Failure::about(&a.id, false);
    let mut at = attach::connect(ctx, &a.id).map_err(|e| fail(e.into()))?;
    at.set_detach_keys(keys);
    relay_to_end(ctx, &a.id, at, !a.no_stdin)
}

/// Relays the caller's stdio to `at` (stdin too when `stdin` and the container
/// has one) until the container ends or its detach keys; the exit code to return.
pub fn relay_to_end(
    ctx: &mut Engine,
    id: &str,
    mut at: attach::Attached,
    stdin: bool,
) -> Result<i32, Failure> {
    let input_fd = std::io::stdin();
    let term = (at.tty && console::is_tty(input_fd.as_raw_fd())).then(|| input_fd.as_fd());
    if let Some(t) = term {
        at.resize_from(t);
    }
    let raw = term.and_then(|t| console::RawMode::enter(t.as_raw_fd()));
    let input = (at.stdin && stdin).then(|| input_fd.as_fd());
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let ended = at.relay(input, term, &mut out, &mut err);
    drop(raw);
    Ok(match ended {
        Ended::Exited(code) => i32::try_from(code).unwrap_or(255),
        Ended::Detached => 0,
        Ended::Lost => {
            let fail = Failure::about(id, false);
            let code = k3_engine::container::wait::wait(
                ctx,
                id,
                std::time::Duration::from_secs(u64::MAX / 4),
            )
            .map_err(|e| fail(e.into()))?;
            i32::try_from(code).unwrap_or(255)
        }
    })
}
