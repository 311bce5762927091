//! The files docker's init layer provides: `/etc/hosts`, `/etc/hostname`,
//! `/etc/resolv.conf`.

use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;

use super::{io_err, BundleError};

/// `/etc/hosts` content.
pub fn hosts_file(hostname: &str, ip: Option<Ipv4Addr>) -> String {
    let mut s = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    match ip {
        Some(ip) => s.push_str(&format!("{ip}\t{hostname}\n")),
        None => s.push_str(&format!("127.0.1.1\t{hostname}\n")),
    }
    s
}

/// The host's `resolv.conf` for a container: with its own network
/// namespace, loopback resolvers (`127.0.0.53` of systemd-resolved) cannot
/// be reached, so they are dropped, and if none is left docker's public
/// fallbacks are used. On the host network it is copied as is. On a user
/// network (`dns`: its gateway) the network's DNS responder is the only
/// server; the host's `search` and `options` lines stay.
pub fn resolv_conf(host: &str, host_network: bool, dns: Option<Ipv4Addr>) -> String {
    if host_network {
        return host.to_string();
    }
    if let Some(gw) = dns {
        let rest = host
            .lines()
            .filter(|l| l.split_whitespace().next() != Some("nameserver"));
        let mut out = format!("nameserver {gw}\n");
        for l in rest {
            out.push_str(l);
            out.push('\n');
        }
        return out;
    }
    let mut kept = Vec::new();
    let mut servers = 0;
    for line in host.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"nameserver") {
            let loopback = words
                .get(1)
                .is_some_and(|a| a.starts_with("127.") || *a == "::1");
            if loopback {
                continue;
            }
            servers += 1;
        }
        kept.push(line.to_string());
    }
    if servers == 0 {
        kept.push("nameserver 8.8.8.8".into());
        kept.push("nameserver 8.8.4.4".into());
    }
    kept.join("\n") + "\n"
}

/// Writes `hosts`, `hostname` and `resolv.conf` into the bundle directory
/// (`dns`: the user network's responder, [`resolv_conf`]).
pub fn write_etc_files(
    bundle: &Path,
    hostname: &str,
    ip: Option<Ipv4Addr>,
    host_network: bool,
    dns: Option<Ipv4Addr>,
) -> Result<(), BundleError> {
    let host_resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let hosts = if host_network {
        fs::read_to_string("/etc/hosts").unwrap_or_else(|_| hosts_file(hostname, None))
    } else {
        hosts_file(hostname, ip)
    };
    let files = [
        ("hosts", hosts),
        ("hostname", format!("{hostname}\n")),
        ("resolv.conf", resolv_conf(&host_resolv, host_network, dns)),
    ];
    for (name, text) in files {
        let p = bundle.join(name);
        fs::write(&p, text).map_err(io_err("write", &p))?;
    }
    Ok(())
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_drops_loopback_servers() {
        let host = "nameserver 127.0.0.53\noptions edns0\nsearch lan\n";
        let c = resolv_conf(host, false, None);
        assert!(!c.contains("127.0.0.53"));
        assert!(c.contains("nameserver 8.8.8.8") && c.contains("search lan"));
        assert_eq!(resolv_conf(host, true, None), host);
        let c = resolv_conf("nameserver 10.0.0.1\nnameserver 127.0.0.1\n", false, None);
        assert_eq!(c, "nameserver 10.0.0.1\n");
        let gw = Some(Ipv4Addr::new(10, 77, 0, 1));
        let c = resolv_conf(host, false, gw);
        assert_eq!(c, "nameserver 10.77.0.1\noptions edns0\nsearch lan\n");
        assert_eq!(
            resolv_conf(host, true, gw),
            host,
            "host network: the host's"
        );
        assert!(hosts_file("web", Some(Ipv4Addr::new(10, 0, 0, 2))).contains("10.0.0.2\tweb"));
    }
}
