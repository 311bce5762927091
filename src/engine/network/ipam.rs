//! IP address management: pure address arithmetic for a subnet (hosts,
//! gateway, broadcast) and the choice of a free address. The database
//! side (leases taken in an `IMMEDIATE` transaction, a primary key on
//! `(network, ip)`) makes the choice race-free across `k3` processes.

use std::collections::HashSet;
use std::net::Ipv4Addr;

/// An IPv4 subnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    /// Parses `a.b.c.d/n` (the address is masked to the network).
    pub fn parse(s: &str) -> Option<Subnet> {
        let (a, p) = s.split_once('/')?;
        let prefix: u8 = p.parse().ok()?;
        if !(1..=30).contains(&prefix) {
            return None;
        }
        let addr: Ipv4Addr = a.parse().ok()?;
        Some(Subnet {
            addr: Ipv4Addr::from(u32::from(addr) & mask(prefix)),
            prefix,
        })
    }

    /// The network address.
    pub fn network(&self) -> Ipv4Addr {
        self.addr
    }

    /// The broadcast address.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !mask(self.prefix))
    }

    /// The first host (the default gateway).
    pub fn first_host(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) + 1)
    }

    /// Whether `ip` is in the subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == u32::from(self.addr)
    }

    /// Whether `ip` can be given to a host (not network/broadcast).
    pub fn is_host(&self, ip: Ipv4Addr) -> bool {
        self.contains(ip) && ip != self.network() && ip != self.broadcast()
    }

    /// Whether two subnets overlap.
    pub fn overlaps(&self, o: &Subnet) -> bool {
        let p = self.prefix.min(o.prefix);
        u32::from(self.addr) & mask(p) == u32::from(o.addr) & mask(p)
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - prefix as u32).unwrap_or(0)
}

/// Why a static address cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    OutsideSubnet,
    Reserved(&'static str),
    InUse,
}

/// Whether a requested static address may be leased: inside the subnet, not
/// its network, broadcast or gateway address, and not in use.
pub fn validate_static(
    subnet: &Subnet,
    gateway: Ipv4Addr,
    used: &HashSet<Ipv4Addr>,
    ip: Ipv4Addr,
) -> Result<(), Refusal> {
    if !subnet.contains(ip) {
        return Err(Refusal::OutsideSubnet);
    }
    if ip == subnet.network() {
        return Err(Refusal::Reserved("the network address"));
    }
    if ip == subnet.broadcast() {
        return Err(Refusal::Reserved("the broadcast address"));
    }
    if ip == gateway {
        return Err(Refusal::Reserved("the gateway"));
    }
    if used.contains(&ip) {
        return Err(Refusal::InUse);
    }
    Ok(())
}

/// The lowest free host address, if any.
pub fn next_free(subnet: &Subnet, gateway: Ipv4Addr, used: &HashSet<Ipv4Addr>) -> Option<Ipv4Addr> {
    let first = u32::from(subnet.network()) + 1;
    let last = u32::from(subnet.broadcast());
    (first..last)
        .map(Ipv4Addr::from)
        .find(|ip| *ip != gateway && !used.contains(ip))
}

/// A locally administered unicast MAC derived from the IP (like docker's
/// `02:42:` + the address).
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_math() {
        let s = Subnet::parse("192.168.100.7/24").unwrap();
        assert_eq!(s.to_string(), "192.168.100.0/24");
        assert_eq!(s.broadcast(), Ipv4Addr::new(192, 168, 100, 255));
        assert_eq!(s.first_host(), Ipv4Addr::new(192, 168, 100, 1));
        assert!(s.contains(Ipv4Addr::new(192, 168, 100, 50)));
        assert!(!s.contains(Ipv4Addr::new(10, 0, 0, 100)));
        assert!(Subnet::parse("10.0.0.0/31").is_none());
        assert!(Subnet::parse("10.0.0.0").is_none());
        assert!(Subnet::parse("10.0.0.300/8").is_none());
        assert!(s.overlaps(&Subnet::parse("192.168.0.0/16").unwrap()));
        assert!(!s.overlaps(&Subnet::parse("192.168.101.0/24").unwrap()));
    }

    #[test]
    fn allocation_and_exhaustion() {
        let s = Subnet::parse("10.9.0.0/30").unwrap();
        let gw = s.first_host();
        let mut used = HashSet::new();
        let a = next_free(&s, gw, &used).unwrap();
        assert_eq!(a, Ipv4Addr::new(10, 9, 0, 2));
        used.insert(a);
        assert_eq!(
            next_free(&s, gw, &used),
            None,
            "a /30 has one address besides the gateway"
        );
    }

    #[test]
    fn static_checks() {
        let s = Subnet::parse("192.168.100.0/24").unwrap();
        let gw = s.first_host();
        let used: HashSet<_> = [Ipv4Addr::new(192, 168, 100, 2)].into();
        assert_eq!(
            validate_static(&s, gw, &used, Ipv4Addr::new(10, 0, 0, 100)),
            Err(Refusal::OutsideSubnet)
        );
        assert_eq!(
            validate_static(&s, gw, &used, gw),
            Err(Refusal::Reserved("the gateway"))
        );
        assert!(matches!(
            validate_static(&s, gw, &used, s.broadcast()),
            Err(Refusal::Reserved(_))
        ));
        assert!(matches!(
            validate_static(&s, gw, &used, s.network()),
            Err(Refusal::Reserved(_))
        ));
        assert_eq!(
            validate_static(&s, gw, &used, Ipv4Addr::new(192, 168, 100, 2)),
            Err(Refusal::InUse)
        );
        assert!(validate_static(&s, gw, &used, Ipv4Addr::new(192, 168, 100, 50)).is_ok());
        assert_eq!(mac_for(Ipv4Addr::new(192, 168, 100, 2))[0] & 3, 2);
    }
}
