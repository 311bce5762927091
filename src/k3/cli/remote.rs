//! `k3 ps` (the same table as standalone), `k3 run` and `k3 rm` through the daemon when its socket
//! answers (`K3_NO_DAEMON=1` forces standalone); every other verb, and
//! these without a daemon, work standalone on the database.

use std::io::Write;
use std::path::Path;

use crate::cli::ContainerCmd;
use k3_engine::api::client::{self, Answer, ClientError};
use k3_engine::api::routes::percent_encode;
use k3_engine::container::list::Summary;

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

fn run(socket: &Path, a: &crate::cli::run::RunArgs) -> Result<i32, ClientError> {
    let json = a.create.json;
    let opts = match a.create.options() {
        Ok(mut o) => {
            o.auto_remove |= a.rm && a.detach;
            o
        }
        Err(e) => {
            eprintln!("k3: error: {e}");
            return Ok(1);
        }
    };
    let body = serde_json::to_value(&opts).unwrap_or_default();
    let c = client::call(socket, "POST", "/containers", Some(&body), None)?;
    if c.status != 201 {
        return Ok(failed(&c, json));
    }
    let id = opts.container_id;
    let s = client::call(
        socket,
        "POST",
        &format!("/containers/{id}/start"),
        None,
        None,
    )?;
    if s.status != 200 {
        return Ok(failed(&s, json));
    }
    if a.detach {
        if json {
            println!("{}", c.json());
        } else {
            println!("{id}");
        }
        return Ok(0);
    }
    let mut out = std::io::stdout();
    let mut show = |b: &[u8]| {
        let _ = out.write_all(b);
        let _ = out.flush();
    };
    client::call(
        socket,
        "GET",
        &format!("/containers/{id}/logs?follow=1"),
        None,
        Some(&mut show),
    )?;
    let w = client::call(socket, "GET", &format!("/containers/{id}/wait"), None, None)?;
    let code = w.json()["exitCode"]
        .as_i64()
        .and_then(|c| i32::try_from(c).ok())
        .unwrap_or(255);
    if a.rm {
        client::call(
            socket,
            "DELETE",
            &format!("/containers/{id}?force=1"),
            None,
            None,
        )?;
    }
    Ok(code)
}
