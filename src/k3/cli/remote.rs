//! `k3 ps` (the same table as standalone), `k3 run`, `k3 attach` and `k3 rm`
//! through the daemon when its socket answers (`K3_NO_DAEMON=1` forces
//! standalone); every other verb, and these without a daemon, work standalone
//! on the database. A foreground `run` and `attach` relay the terminal through
//! the daemon's attach stream ([`remote_attach`]).

use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

use crate::cli::remote_attach::{self, Ended};
use crate::cli::{docker_exit_code, ContainerCmd};
use k3_engine::api::client::{self, Answer, ClientError};
use k3_engine::api::routes::percent_encode;
use k3_engine::console;
use k3_engine::container::list::Summary;
use k3_engine::relay::Peer;

/// The outcome of a verb run through the daemon.
#[derive(Debug)]
pub enum Remote {
    /// Done, with this exit code.
    Exit(i32),
    /// Not handled remotely: run it standalone.
    Local,
}

/// Runs `cmd` through the daemon at `socket` if one answers.
pub fn try_remote(socket: &Path, cmd: &ContainerCmd) -> Result<Remote, ClientError> {
    if std::env::var_os("K3_NO_DAEMON").is_some() || !client::available(socket) {
        return Ok(Remote::Local);
    }
    match cmd {
        ContainerCmd::Ps(a) => ps(socket, a).map(Remote::Exit),
        ContainerCmd::Rm(a) => rm(socket, &a.ids, a.force).map(Remote::Exit),
        ContainerCmd::Run(a) => run(socket, a).map(Remote::Exit),
        ContainerCmd::Attach(a) => attach(socket, a).map(Remote::Exit),
        _ => Ok(Remote::Local),
    }
}

fn failed(a: &Answer, json: bool) -> i32 {
    let v = a.json();
    if json {
        println!("{v}");
    }
    eprintln!(
        "k3: error: {}",
        v["error"].as_str().unwrap_or("daemon error")
    );
    1
}

/// As [`failed`], with docker's exit code of a `run` that failed before the
/// container's program ran (125 engine, 126/127 the program), as standalone.
fn run_failed(a: &Answer, json: bool) -> i32 {
    failed(a, json);
    i32::from(docker_exit_code(a.json()["error"].as_str().unwrap_or("")))
}

fn ps(socket: &Path, args: &crate::cli::ps::PsArgs) -> Result<i32, ClientError> {
    // a bad filter fails here as it does standalone, before the daemon is asked
    let filter = match crate::cli::ps::filters(args) {
        Ok(f) => f,
        Err(f) => {
            eprintln!("k3: error: {}", k3_engine::error::chain_message(&f.error));
            return Ok(125);
        }
    };
    let mut url = format!("/containers?all={}", args.all);
    if !filter.is_empty() {
        url.push_str(&format!("&filters={}", percent_encode(&filter.to_json())));
    }
    let a = client::call(socket, "GET", &url, None, None)?;
    if a.status != 200 {
        failed(&a, false);
        return Ok(125);
    }
    let rows: Vec<Summary> = match serde_json::from_value(a.json()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("k3: error: the daemon's container list is not readable: {e}");
            return Ok(1);
        }
    };
    match crate::cli::ps::print(args, &rows, k3_engine::db::now()) {
        Ok(code) => Ok(code),
        Err(f) => {
            eprintln!("k3: error: {}", k3_engine::error::chain_message(&f.error));
            Ok(125)
        }
    }
}

fn rm(socket: &Path, ids: &[String], force: bool) -> Result<i32, ClientError> {
    for id in ids {
        let a = client::call(
            socket,
            "DELETE",
            &format!("/containers/{id}?force={force}"),
            None,
            None,
        )?;
        if a.status != 200 {
            return Ok(failed(&a, false));
        }
        println!("{id}");
    }
    Ok(0)
}

/// The verb's `--detach-keys` (checked before the daemon is asked).
fn keys(flag: Option<&str>) -> Result<k3_engine::detach::Keys, i32> {
    crate::cli::detach_keys::parse(flag).map_err(|e| {
        eprintln!("k3: error: {e}");
        125
    })
}

fn run(socket: &Path, a: &crate::cli::run::RunArgs) -> Result<i32, ClientError> {
    let json = a.create.json;
    let keys = match keys(a.detach_keys.as_deref()) {
        Ok(k) => k,
        Err(code) => return Ok(code),
    };
    let opts = match a.create.options() {
        Ok(mut o) => {
            o.auto_remove |= a.rm && a.detach;
            o
        }
        Err(e) => {
            eprintln!("k3: error: {e}");
            return Ok(125);
        }
    };
    let body = serde_json::to_value(&opts).unwrap_or_default();
    let c = client::call(socket, "POST", "/containers", Some(&body), None)?;
    if c.status != 201 {
        return Ok(run_failed(&c, json));
    }
    let id = opts.container_id;
    let remove = |socket: &Path, id: &str| {
        client::call(
            socket,
            "DELETE",
            &format!("/containers/{id}?force=1"),
            None,
            None,
        )
    };
    // In the foreground the stream is attached before the start, as docker's
    // CLI does: nothing of the output is missed.
    let (tty, interactive) = (a.create.tty, a.create.interactive);
    let stream = if a.detach {
        None
    } else {
        match remote_attach::open(socket, &id, tty, interactive, keys)? {
            Ok(s) => Some(s),
            Err(refused) => {
                let _ = remove(socket, &id);
                return Ok(run_failed(&refused, json));
            }
        }
    };
    let stdin = std::io::stdin();
    let term = (tty && console::is_tty(stdin.as_raw_fd())).then(|| stdin.as_fd());
    if let Some(t) = term {
        remote_attach::resize(socket, &id, t);
    }
    let s = client::call(
        socket,
        "POST",
        &format!("/containers/{id}/start"),
        None,
        None,
    )?;
    if s.status != 200 {
        let _ = remove(socket, &id);
        return Ok(run_failed(&s, json));
    }
    let Some(stream) = stream else {
        if json {
            println!("{}", c.json());
        } else {
            println!("{id}");
        }
        return Ok(0);
    };
    for line in c.json()["trace"].as_array().into_iter().flatten() {
        eprintln!("{}", line.as_str().unwrap_or_default());
    }
    remote_attach::forward_signals(socket, &id);
    let code = match relay(socket, &id, stream, interactive, term)? {
        Some(code) => code,
        None => return Ok(0),
    };
    if a.rm {
        remove(socket, &id)?;
    }
    Ok(code)
}

/// Relays the terminal to `stream` in raw mode (a pty), then the container's
/// code (`None`: detached; 125 when the daemon cannot tell it).
fn relay(
    socket: &Path,
    id: &str,
    stream: remote_attach::Stream,
    input: bool,
    term: Option<std::os::fd::BorrowedFd<'_>>,
) -> Result<Option<i32>, ClientError> {
    let stdin = std::io::stdin();
    let raw = term.and_then(|t| console::RawMode::enter(t.as_raw_fd()));
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let input = input.then(|| stdin.as_fd());
    let ended = stream.relay(input, term, &mut out, &mut err);
    drop(raw);
    if ended == Ended::Detached {
        return Ok(None);
    }
    Ok(Some(match remote_attach::wait_code(socket, id)? {
        Ok(code) => code,
        Err(a) => {
            failed(&a, false);
            125
        }
    }))
}

/// `k3 attach` through the daemon: the container's pty and `-i` from its record,
/// then the stream until it stops (its code) or the detach keys (0).
fn attach(socket: &Path, a: &crate::cli::attach::AttachArgs) -> Result<i32, ClientError> {
    let id = &a.id;
    let keys = match keys(a.detach_keys.as_deref()) {
        Ok(k) => k,
        Err(code) => return Ok(code),
    };
    let i = client::call(socket, "GET", &format!("/containers/{id}"), None, None)?;
    if i.status != 200 {
        return Ok(failed(&i, false));
    }
    let v = i.json();
    let tty = v["Validated"]["tty"].as_bool().unwrap_or(false);
    let interactive = v["Validated"]["interactive"].as_bool().unwrap_or(false) && !a.no_stdin;
    let stream = match remote_attach::open(socket, id, tty, interactive, keys)? {
        Ok(s) => s,
        Err(refused) => return Ok(failed(&refused, false)),
    };
    let stdin = std::io::stdin();
    let term = (tty && console::is_tty(stdin.as_raw_fd())).then(|| stdin.as_fd());
    if let Some(t) = term {
        remote_attach::resize(socket, id, t);
    }
    Ok(relay(socket, id, stream, interactive, term)?.unwrap_or(0))
}
