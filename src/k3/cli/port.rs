//! `k3 port ID [PORT[/PROTO]]`: the published ports, as docker prints them
//! (`80/tcp -> 0.0.0.0:8080`; only `0.0.0.0:8080` for one asked port).

use clap::Args;

use crate::cli::Failure;
use k3_engine::container::list::published;
use k3_engine::container::{load, ContainerError};
use k3_engine::context::Engine;
use k3_engine::options::OptionsError;

/// `k3 port` arguments.
#[derive(Args, Debug)]
pub struct PortArgs {
    /// Container id
    pub id: String,
    /// Only this container port (`80` or `80/tcp`)
    pub port: Option<String>,
}

/// `k3 port`.
pub fn run(ctx: &mut Engine, a: PortArgs) -> Result<i32, Failure> {
    let l = load(ctx, &a.id).map_err(|e| fail_with(&a.id, e))?;
    let ports = published(&l.record.validated);
    let Some(want) = &a.port else {
        for (ip, hp, cp, proto) in &ports {
            println!("{cp}/{proto} -> {ip}:{hp}");
        }
        return Ok(0);
    };
    let (port, proto) = want.split_once('/').unwrap_or((want, "tcp"));
    let bad = |reason: &str| {
        ContainerError::from(OptionsError {
            option: "port",
            value: want.clone(),
            reason: reason.to_string(),
        })
    };
    let port: u64 = port
        .parse()
        .ok()
        .filter(|p| (1..=65_535).contains(p))
        .ok_or_else(|| {
            fail_with(
                &a.id,
                bad("want a port number 1-65535, `/tcp` or `/udp` after it"),
            )
        })?;
    if !matches!(proto, "tcp" | "udp") {
        return Err(fail_with(&a.id, bad("want `tcp` or `udp` after `/`")));
    }
    let hits: Vec<_> = ports
        .iter()
        .filter(|(_, _, cp, p)| *cp == port && p == proto)
        .collect();
    if hits.is_empty() {
        let why = format!("no public port `{port}/{proto}` published for `{}`", a.id);
        return Err(fail_with(&a.id, bad(&why)));
    }
    for (ip, hp, _, _) in hits {
        println!("{ip}:{hp}");
    }
    Ok(0)
}

fn fail_with(id: &str, e: ContainerError) -> Failure {
    Failure::about(id, false)(e.into())
}
