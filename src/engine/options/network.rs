//! The network, addresses and published ports.

use std::net::Ipv4Addr;

use super::identity::host_name_ok;
use super::{bad, name_ok, OptionsError, PortMapping, Proto};

/// A network name (a record's name, not a device name: a long one gets a
/// bridge device of its own name, see `network::bridge_name`). Whether the
/// network exists is step 6's question (`NETWORK_ERROR`), not validation's.
pub(super) fn network_name(s: &str) -> Result<String, OptionsError> {
    if name_ok(s) {
        Ok(s.to_string())
    } else {
        Err(bad(
            "network",
            s,
            "use up to 64 letters, digits, `_.-`, starting with a letter or digit",
        ))
    }
}

/// The most `--network-alias` values of one container.
const MAX_ALIASES: usize = 64;

/// `--network-alias` values: each a host name (RFC 1123 labels of letters,
/// digits and `-`, dot-separated, 253 at most), as docker takes; a repeat
/// (in any case) is kept once.
pub(super) fn network_aliases(list: &[String]) -> Result<Vec<String>, OptionsError> {
    if list.len() > MAX_ALIASES {
        return Err(bad(
            "networkAlias",
            list.len(),
            format!("`--network-alias` given more than {MAX_ALIASES} times"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for a in list {
        if !host_name_ok(a) {
            return Err(bad(
                "networkAlias",
                a,
                "`--network-alias` takes a host name: dot-separated labels of 1 to 63 \
                 letters, digits and `-` (not first or last), 253 characters at most",
            ));
        }
        if !out.iter().any(|o| o.eq_ignore_ascii_case(a)) {
            out.push(a.clone());
        }
    }
    Ok(out)
}

/// A dotted IPv4 address.
pub fn ip(s: &str) -> Result<Ipv4Addr, OptionsError> {
    s.parse()
        .map_err(|_| bad("ip", s, "not an IPv4 address (`192.168.100.50`)"))
}

/// `aa:bb:cc:dd:ee:ff` (or `-`), unicast.
pub fn mac(s: &str) -> Result<[u8; 6], OptionsError> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    let mut out = [0u8; 6];
    if parts.len() != 6 {
        return Err(bad("mac", s, "use six hex pairs `aa:bb:cc:dd:ee:ff`"));
    }
    for (o, p) in out.iter_mut().zip(&parts) {
        if p.len() != 2 {
            return Err(bad("mac", s, "use six hex pairs `aa:bb:cc:dd:ee:ff`"));
        }
        *o = u8::from_str_radix(p, 16).map_err(|_| bad("mac", s, "not hexadecimal"))?;
    }
    if out[0] & 1 == 1 {
        return Err(bad(
            "mac",
            s,
            "a multicast address cannot be a NIC's address",
        ));
    }
    if out == [0; 6] {
        return Err(bad("mac", s, "the zero address cannot be a NIC's address"));
    }
    Ok(out)
}

fn port(whole: &str, s: &str) -> Result<u16, OptionsError> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(bad(
            "publish",
            whole,
            format!("`{s}` is not a port (1-65535)"),
        )),
    }
}

/// `[hostIP:]hostPort:containerPort[/tcp|udp]`.
pub fn port_mapping(s: &str) -> Result<PortMapping, OptionsError> {
    let (spec, proto) = match s.split_once('/') {
        None => (s, Proto::Tcp),
        Some((a, "tcp")) => (a, Proto::Tcp),
        Some((a, "udp")) => (a, Proto::Udp),
        Some((_, p)) => return Err(bad("publish", s, format!("unknown protocol `{p}`"))),
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let (host_ip, hp, cp) = match parts.as_slice() {
        [h, c] => (None, *h, *c),
        [ip, h, c] => (
            Some(
                ip.parse()
                    .map_err(|_| bad("publish", s, format!("`{ip}` is not an IPv4 address")))?,
            ),
            *h,
            *c,
        ),
        _ => {
            return Err(bad(
                "publish",
                s,
                "use `[hostIP:]hostPort:containerPort[/proto]`",
            ))
        }
    };
    Ok(PortMapping {
        host_ip,
        host_port: port(s, hp)?,
        container_port: port(s, cp)?,
        proto,
    })
}

pub(super) fn publish(list: &[String]) -> Result<Vec<PortMapping>, OptionsError> {
    let mut out: Vec<PortMapping> = Vec::new();
    for s in list {
        let p = port_mapping(s)?;
        if out
            .iter()
            .any(|o| o.host_port == p.host_port && o.proto == p.proto)
        {
            return Err(bad("publish", s, "host port given twice"));
        }
        out.push(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_ips_macs() {
        let p = port_mapping("8080:80").unwrap();
        assert_eq!(
            (p.host_port, p.container_port, p.proto),
            (8080, 80, Proto::Tcp)
        );
        let p = port_mapping("127.0.0.1:53:5353/udp").unwrap();
        assert_eq!(p.host_ip, Some(Ipv4Addr::LOCALHOST));
        assert_eq!(p.proto, Proto::Udp);
        for b in [
            "80",
            "0:80",
            "x:80",
            "8080:80/sctp",
            "1.2.3:1:2",
            "70000:80",
        ] {
            assert!(port_mapping(b).is_err(), "{b}");
        }
        assert!(publish(&["80:80".into(), "80:81".into()]).is_err());
        assert!(mac("AA:BB:CC:DD:EE:FF").is_ok());
        assert_eq!(mac("01:00:5e:00:00:01").unwrap_err().option, "mac");
        assert_eq!(
            mac("02:42:ac:11:00:02").unwrap(),
            [2, 0x42, 0xac, 0x11, 0, 2]
        );
        assert!(mac("02:42:ac:11:00").is_err());
        assert!(mac("zz:42:ac:11:00:02").is_err());
        assert!(ip("192.168.100.500").is_err());
        assert!(ip("192.168.100.50").is_ok());
    }

    #[test]
    fn network_aliases_are_host_names() {
        let l = |v: &[&str]| network_aliases(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            l(&["db", "Cache.svc", "DB", "a-1"]).unwrap(),
            vec!["db", "Cache.svc", "a-1"]
        );
        for b in [
            "",
            "a b",
            "-x",
            "x-",
            "a..b",
            "é",
            "a_b",
            ".a",
            "a.",
            &"a".repeat(64),
        ] {
            let e = l(&["ok", b]).unwrap_err();
            assert_eq!((e.option, e.value.as_str()), ("networkAlias", b), "{b}");
            assert!(e.to_string().contains("--network-alias"), "{e}");
        }
        let long = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61),
        ]
        .join(".");
        assert!(l(&[&long]).is_ok());
        assert!(l(&[&format!("{long}e")]).is_err());
        assert!(l(&vec!["x"; 65]).is_err());
    }
}
