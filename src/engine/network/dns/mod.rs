//! Container names on user networks, as aardvark-dns gives podman and the
//! embedded resolver gives docker: a container on a network made with
//! `k3 network create` finds the others on it by name or by one of their
//! aliases (`--network-alias`), and a container's name from its address
//! (PTR), not on the default `kb0`, as with docker's default bridge.
//!
//! Each such network with a container on it has a small responder
//! ([`server`], `k3 __dns`) on its gateway's port 53, which containers'
//! `resolv.conf` names. It answers A and PTR records from the network's records
//! ([`records`]), written by whichever k3 process attaches ([`join`]) or
//! releases ([`leave`]) a container, and forwards other dotted names to
//! the host's resolvers. The first container to join starts it; it exits
//! by itself after the last has left. The records and the responder are
//! the host's, as the bridge is, shared by every k3 root on it, and live in
//! `/run/k3/network/dns/<bridge>/` (`hosts`, `pid`, `log`).

mod packet;
pub mod records;
pub mod server;

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use records::Entry;
pub use server::main;

/// The DNS state under the network's host directory.
pub fn base(host_dir: &Path) -> PathBuf {
    host_dir.join("dns")
}

/// Adds `entry` to the records of the network on `bridge` and starts its
/// responder on the gateway when none runs (`net`: the gateway and the
/// subnet's prefix length; `exe`: the k3 binary).
pub fn join(
    host_dir: &Path,
    bridge: &str,
    net: (Ipv4Addr, u8),
    entry: Entry,
    exe: &Path,
) -> Result<(), String> {
    let base = base(host_dir);
    let dir = base.join(bridge);
    let _l = records::lock(&base).map_err(|e| format!("lock `{}`: {e}", base.display()))?;
    let mut all = records::read(&dir);
    all.retain(|e| e.hash != entry.hash);
    all.push(entry);
    records::write(&dir, &all).map_err(|e| format!("write `{}`: {e}", dir.display()))?;
    if running(&dir) {
        return Ok(());
    }
    let started = start(&dir, net, exe);
    if started.is_err() {
        // no record of a container whose create now fails
        all.pop();
        let _ = records::write(&dir, &all);
    }
    started
}

/// Removes container `hash` from every network's records; a responder
/// left without containers exits by itself within a second.
pub fn leave(host_dir: &Path, hash: &str) -> Result<(), String> {
    let base = base(host_dir);
    if !base.is_dir() {
        return Ok(());
    }
    let _l = records::lock(&base).map_err(|e| format!("lock `{}`: {e}", base.display()))?;
    let dirs = std::fs::read_dir(&base).map_err(|e| format!("`{}`: {e}", base.display()))?;
    for d in dirs.flatten().map(|d| d.path()).filter(|d| d.is_dir()) {
        let mut all = records::read(&d);
        let n = all.len();
        all.retain(|e| e.hash != hash);
        if all.len() != n {
            records::write(&d, &all).map_err(|e| format!("write `{}`: {e}", d.display()))?;
        }
    }
    Ok(())
}

/// The pid of the network's responder, if one runs.
pub fn responder(dir: &Path) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(server::pid_file(dir))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let want = dir.as_os_str().as_encoded_bytes();
    let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
    (args.get(1) == Some(&&b"__dns"[..]) && args.get(2) == Some(&want)).then_some(pid)
}

fn running(dir: &Path) -> bool {
    responder(dir).is_some()
}

/// Runs `exe __dns DIR GW/PREFIX` and waits for its report (`ok` once it
/// listens).
fn start(dir: &Path, (gw, prefix): (Ipv4Addr, u8), exe: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("create `{}`: {e}", dir.display()))?;
    let mut child = Command::new(exe)
        .arg("__dns")
        .arg(dir)
        .arg(format!("{gw}/{prefix}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("run `{} __dns`: {e}", exe.display()))?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let _ = child.wait();
    match line.trim() {
        "ok" => Ok(()),
        "" => Err("the DNS responder exited without a report".into()),
        msg => Err(format!(
            "DNS responder on `{gw}:53`: {}",
            msg.trim_start_matches("error: ")
        )),
    }
}
