//! k3's own nftables table (`ip k3`), driven through the `nft` CLI (`-f -`
//! scripts, `-j` listings): DNAT of published ports from outside
//! (prerouting) and from the host itself (output, 127.0.0.1 included),
//! and per-network masquerade (outbound, hairpin, and connections from
//! 127.0.0.1, which need `route_localnet` on the bridge), and the
//! isolation of bridge networks from each other (forward: a packet from one
//! k3 bridge to another is dropped unless it was DNATed to a published
//! port, as docker's `DOCKER-ISOLATION` chains do). Rules carry a comment
//! (`ctr:<hash>` of the container, unique on the host, `net:<name>`) so
//! they are removed by owner.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::network::NetworkError;

/// The table.
pub const TABLE: &str = "k3";

const BASE: &str = "table ip k3 {
  chain portmap {
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local jump portmap
  }
  chain output {
    type nat hook output priority -100; policy accept;
    fib daddr type local jump portmap
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
  }
}
";

/// The isolation chains, added to a table made by an older k3 that lacks
/// them: `forward` sends what leaves a k3 bridge for another interface to
/// `isolation`, which lets published ports (DNATed) through and drops what
/// goes out on another k3 bridge. Each network adds one rule to each
/// ([`isolation_rules`]).
const FILTER: &str = "table ip k3 {
  chain isolation {
    ct status dnat return
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
  }
}
";

fn nft_err(msg: impl Into<String>) -> NetworkError {
    NetworkError::Nft(msg.into())
}

/// Runs `nft -f -` with `script`.
pub fn apply(script: &str) -> Result<(), NetworkError> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| nft_err(format!("cannot run `nft`: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(script.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| nft_err(format!("`nft`: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(nft_err(format!(
            "`nft -f -` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Whether `nft list ARGS` succeeds (the object exists).
fn listed(args: &[&str]) -> Result<bool, NetworkError> {
    Ok(Command::new("nft")
        .arg("list")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| nft_err(format!("cannot run `nft`: {e}")))?
        .success())
}

/// Creates the table and its chains once (callers hold the network lock).
pub fn ensure_table() -> Result<(), NetworkError> {
    if !listed(&["table", "ip", TABLE])? {
        apply(BASE)?;
    }
    if !listed(&["chain", "ip", TABLE, "isolation"])? {
        apply(FILTER)?;
    }
    Ok(())
}

/// Rules of the masquerade for a bridge network.
pub fn network_rules(name: &str, bridge: &str, subnet: &str) -> String {
    let c = format!("comment \"net:{name}\"");
    format!(
        "add rule ip k3 postrouting ip saddr {subnet} oifname != \"{bridge}\" masquerade {c}\n\
         add rule ip k3 postrouting oifname \"{bridge}\" ip saddr 127.0.0.0/8 masquerade {c}\n\
         add rule ip k3 postrouting oifname \"{bridge}\" ct status dnat ip saddr {subnet} masquerade {c}\n"
    )
}

/// Rules isolating a bridge network from the other k3 networks: what
/// leaves its bridge for another interface goes through `isolation`, and
/// what another network sends out on its bridge is dropped there.
pub fn isolation_rules(name: &str, bridge: &str) -> String {
    let c = format!("comment \"net:{name}\"");
    format!(
        "add rule ip k3 forward iifname \"{bridge}\" oifname != \"{bridge}\" jump isolation {c}\n\
         add rule ip k3 isolation oifname \"{bridge}\" drop {c}\n"
    )
}

/// The chains holding a network's `net:<name>` rules.
pub const NETWORK_CHAINS: [&str; 3] = ["postrouting", "forward", "isolation"];

/// The DNAT rule of one published port.
pub fn port_rule(
    container: &str,
    host_ip: Option<&str>,
    proto: &str,
    host_port: u16,
    ip: &str,
    port: u16,
) -> String {
    let daddr = host_ip
        .map(|h| format!("ip daddr {h} "))
        .unwrap_or_default();
    format!(
        "add rule ip k3 portmap {daddr}{proto} dport {host_port} dnat to {ip}:{port} comment \"ctr:{container}\"\n"
    )
}

/// Handles of rules in `chain` whose comment is `comment`.
pub fn handles(chain: &str, comment: &str) -> Result<Vec<u64>, NetworkError> {
    let out = Command::new("nft")
        .args(["-j", "list", "chain", "ip", TABLE, chain])
        .stderr(Stdio::null())
        .output()
        .map_err(|e| nft_err(format!("cannot run `nft`: {e}")))?;
    if !out.status.success() {
        return Ok(Vec::new());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| nft_err(format!("`nft -j` output: {e}")))?;
    Ok(v["nftables"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|o| o.get("rule"))
                .filter(|r| r["comment"] == comment)
                .filter_map(|r| r["handle"].as_u64())
                .collect()
        })
        .unwrap_or_default())
}

/// Deletes the rules of `chain` with `comment`.
pub fn delete_by_comment(chain: &str, comment: &str) -> Result<(), NetworkError> {
    let script: String = handles(chain, comment)?
        .iter()
        .map(|h| format!("delete rule ip k3 {chain} handle {h}\n"))
        .collect();
    if script.is_empty() {
        return Ok(());
    }
    apply(&script)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_text() {
        let r = port_rule("web", None, "tcp", 8080, "192.168.100.2", 80);
        assert_eq!(
            r,
            "add rule ip k3 portmap tcp dport 8080 dnat to 192.168.100.2:80 comment \"ctr:web\"\n"
        );
        let r = port_rule("web", Some("127.0.0.1"), "udp", 53, "10.0.0.2", 5353);
        assert!(r.contains("ip daddr 127.0.0.1 udp dport 53"));
        let n = network_rules("kb0", "kb0", "192.168.100.0/24");
        assert_eq!(n.lines().count(), 3);
        assert!(n.lines().all(|l| l.ends_with("comment \"net:kb0\"")));
        let i = isolation_rules("tnet", "tnet");
        assert_eq!(
            i,
            "add rule ip k3 forward iifname \"tnet\" oifname != \"tnet\" jump isolation comment \"net:tnet\"\n\
             add rule ip k3 isolation oifname \"tnet\" drop comment \"net:tnet\"\n"
        );
        // published ports pass before any network's drop rule
        assert!(FILTER.contains("chain isolation {\n    ct status dnat return\n"));
        assert!(FILTER.contains("hook forward"));
    }
}
