//! Names and values of networks: the default network, bridge and veth
//! device names, subnets a bridge network may take, MAC addresses.

use super::error::NetworkError;
use super::ipam::Subnet;

/// The default network.
pub const DEFAULT_NAME: &str = "kb0";

/// Its subnet.
pub const DEFAULT_SUBNET: &str = "192.168.100.0/24";

/// The bridge device of network `name`: the name itself when it fits a
/// device name (15 bytes), else `k3br` and 11 hex digits of its sha256 (a
/// network name may be up to 64 characters; a device name may not).
pub fn bridge_name(name: &str) -> String {
    if name.len() < libc::IFNAMSIZ {
        return name.to_string();
    }
    let d = <sha2::Sha256 as sha2::Digest>::digest(name.as_bytes());
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("k3br{}", &hex[..11])
}

/// The host end of a container's veth.
pub fn veth_name(hash: &str) -> String {
    format!("k3-{}", &hash[..hash.len().min(12)])
}

/// Ranges a bridge network may not take: "this network", loopback, link-local, and
/// multicast/reserved/broadcast. A bridge there would shadow the host's own routes.
pub(super) const RESERVED: &[&str] = &["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3"];

pub(super) fn parse_subnet(s: &str) -> Result<Subnet, NetworkError> {
    let subnet = Subnet::parse(s).ok_or_else(|| NetworkError::Invalid {
        what: "subnet",
        value: s.to_string(),
        reason: "use `a.b.c.d/n` with n from 1 to 30".into(),
    })?;
    for r in RESERVED {
        if Subnet::parse(r).is_some_and(|r| r.overlaps(&subnet)) {
            return Err(NetworkError::Invalid {
                what: "subnet",
                value: s.to_string(),
                reason: format!("overlaps the reserved range `{r}`"),
            });
        }
    }
    Ok(subnet)
}

pub(super) fn parse_mac(s: &str) -> [u8; 6] {
    crate::options::mac(s).unwrap_or([2, 0x42, 0, 0, 0, 0])
}

pub(super) fn fmt_mac(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_kind::ErrorKind;

    #[test]
    fn bridge_names_fit_a_device_name() {
        assert_eq!(bridge_name("kb0"), "kb0");
        assert_eq!(bridge_name("fifteen-chars-x"), "fifteen-chars-x");
        let long = bridge_name("nonexistent-network");
        assert_eq!(long.len(), 15);
        assert!(long.starts_with("k3br"), "{long}");
        assert_eq!(long, bridge_name("nonexistent-network"));
        assert_ne!(long, bridge_name("nonexistent-networks"));
        // Not taken for a container's veth (`k3-` + 12) by `reconcile`.
        assert!(!long.starts_with("k3-"));
    }

    #[test]
    fn subnets_over_the_hosts_own_ranges_are_refused() {
        for bad in [
            "0.0.0.0/1",
            "127.0.0.0/8",
            "127.1.0.0/16",
            "169.254.1.0/24",
            "224.0.0.0/4",
            "240.0.0.0/8",
            "1.2.3.4",
        ] {
            let e = parse_subnet(bad).unwrap_err().to_string();
            assert!(e.contains("subnet") && e.contains(bad), "{bad}: {e}");
        }
        for good in ["10.0.0.0/8", "192.168.100.0/24", "172.20.0.0/16"] {
            assert!(parse_subnet(good).is_ok(), "{good}");
        }
        assert_eq!(
            NetworkError::NoSuchNetwork("x".into()).kind(),
            ErrorKind::NotFound
        );
    }
}
