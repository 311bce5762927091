//! `k3 run`: create + start; detached (`-d`) prints the id, otherwise the
//! container's output is streamed and k3 exits with the container's code
//! (`--rm` removes it afterwards).

use std::time::Duration;

use clap::Args;

use crate::cli::create::{create_from, print_created, CreateArgs};
use crate::cli::{detach_keys, Failure};
use std::os::fd::{AsFd, AsRawFd};

use k3_engine::console;
use k3_engine::container::{attach, remove, start, wait};
use k3_engine::context::Engine;
use k3_engine::relay::{self, Peer};

/// `k3 run` arguments.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Run in the background; print the id.
    #[arg(long, short = 'd')]
    pub detach: bool,
    /// Remove the container when it exits (with `-d`, its monitor removes it)
    #[arg(long)]
    pub rm: bool,
    /// Keys that detach from the container's terminal: a comma-separated list of
    /// ctrl-<x> (x one of a-z @ [ \ ] ^ _) or single characters, "" for none
    /// [default: ctrl-p,ctrl-q]
    #[arg(long = "detach-keys", value_name = "KEYS", allow_hyphen_values = true)]
    pub detach_keys: Option<String>,
    /// The options shared with `create`.
    #[command(flatten)]
    pub create: CreateArgs,
}

/// Like docker's sig-proxy: the signals of [`relay::forward_signals`] sent to
/// a foreground `k3 run` go to the container as `k3 kill`.
pub fn forward_signals(ctx: &Engine, id: &str) {
    let (exe, root, id) = (
        ctx.k3_exe.clone(),
        ctx.store.root().to_path_buf(),
        id.to_string(),
    );
    relay::forward_signals(move |sig| {
        let _ = std::process::Command::new(&exe)
            .arg("--root")
            .arg(&root)
            .args(["kill", "-s", &(sig as i32).to_string(), &id])
            .stdout(std::process::Stdio::null())
            .status();
    });
}

/// `k3 run`.
pub fn run(ctx: &mut Engine, mut a: RunArgs) -> Result<i32, Failure> {
    // in the foreground this `k3` removes it; detached, its monitor does
    a.create.auto_remove = a.rm && a.detach;
    let keys = detach_keys::keys(a.detach_keys.as_deref(), "", a.create.json)?;
    let c = create_from(ctx, &a.create)?;
    let fail = Failure::about(&c.id, a.create.json);
    // In the foreground the monitor is attached to before the start: nothing of
    // the output is missed, and the exit is known the moment it is recorded.
    let attached = if a.detach {
        None
    } else {
        match attach::connect(ctx, &c.id) {
            Ok(at) => Some(at),
            Err(e) => {
                let _ = remove::remove(ctx, &c.id, true);
                return Err(fail(e.into()));
            }
        }
    };
    let fail = Failure::about(&c.id, a.create.json);
    let stdin = std::io::stdin();
    let mut attached = attached;
    if let (Some(at), true) = (&mut attached, a.create.tty) {
        at.resize_from(stdin.as_fd());
    }
    if let Err(e) = start::start(ctx, &c.id) {
        let _ = remove::remove(ctx, &c.id, true);
        return Err(fail(e.into()));
    }
    let Some(mut at) = attached else {
        print_created(&c, &a.create);
        return Ok(0);
    };
    for line in &c.trace {
        eprintln!("{line}");
    }
    forward_signals(ctx, &c.id);
    at.set_detach_keys(keys);
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let term = (a.create.tty && console::is_tty(stdin.as_raw_fd())).then(|| stdin.as_fd());
    let raw = term.and_then(|t| console::RawMode::enter(t.as_raw_fd()));
    let input = a.create.interactive.then(|| stdin.as_fd());
    let ended = at.relay(input, term, &mut out, &mut err);
    drop(raw);
    let code = match ended {
        attach::Ended::Exited(code) => code,
        attach::Ended::Detached => return Ok(0),
        attach::Ended::Lost => {
            let fail = Failure::about(&c.id, a.create.json);
            wait::wait(ctx, &c.id, Duration::from_secs(u64::MAX / 4)).map_err(|e| fail(e.into()))?
        }
    };
    if a.rm {
        let fail = Failure::about(&c.id, a.create.json);
        remove::remove(ctx, &c.id, true).map_err(|e| fail(e.into()))?;
    }
    Ok(i32::try_from(code).unwrap_or(255))
}
