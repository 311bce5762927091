//! k3's own nftables table (`ip k3`), driven through the `nft` CLI (`-f -`
//! scripts, `-j` listings): DNAT of published ports from outside
//! (prerouting) and from the host itself (output, 127.0.0.1 included),
//! and per-network masquerade (outbound, hairpin, and connections from
//! 127.0.0.1, which need `route_localnet` on the bridge). Rules carry a
//! comment (`ctr:<hash>` of the container, unique on the host, `net:<name>`)
//! so they are removed by owner.

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

/// Creates the table and its chains once (callers hold the network lock).
pub fn ensure_table() -> Result<(), NetworkError> {
    let exists = Command::new("nft")
        .args(["list", "table", "ip", TABLE])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| nft_err(format!("cannot run `nft`: {e}")))?
        .success();
    if exists {
        return Ok(());
    }
    apply(BASE)
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
    }
}
