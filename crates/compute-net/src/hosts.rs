//! Host address allocation inside one subnet, skipping network, broadcast and reserved.

use std::{collections::BTreeSet, net::IpAddr};

use compute_types::{Error, ErrorKind, Result};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::cidr::{self, Family, addr_key, addr_of, canonical_addr};

/// How many addresses after the network address clouds commonly keep for themselves:
/// AWS keeps three (router, DNS, future use); others keep fewer.
pub const DEFAULT_RESERVED_HOSTS: u32 = 3;

/// Hands out host addresses of one subnet, lowest free first.
///
/// The network address is never handed out, nor are the `reserved` addresses right after
/// it (gateway, DNS and the like), nor, for IPv4, the broadcast address. IPv6 has no
/// broadcast, so its last address is usable. State serialises with serde, and is checked
/// again on the way in.
///
/// # Examples
///
/// ```
/// use compute_net::HostAllocator;
///
/// let mut hosts = HostAllocator::new("10.1.0.0/29".parse().unwrap(), 1).unwrap();
/// assert_eq!(hosts.capacity(), 5); // .2 to .6: not .0, the reserved .1, nor .7
/// assert_eq!(hosts.allocate().unwrap().to_string(), "10.1.0.2");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "HostState")]
pub struct HostAllocator {
    subnet: IpNet,
    reserved: u32,
    used: BTreeSet<IpAddr>,
}

/// The serialised form, checked before it becomes an allocator.
#[derive(Deserialize)]
struct HostState {
    subnet: IpNet,
    reserved: u32,
    #[serde(default)]
    used: BTreeSet<IpAddr>,
}

impl TryFrom<HostState> for HostAllocator {
    type Error = Error;

    fn try_from(state: HostState) -> Result<Self> {
        let mut hosts = Self::new(state.subnet, state.reserved)?;
        for addr in state.used {
            hosts.claim(addr)?;
        }
        Ok(hosts)
    }
}

/// Returns true for an IPv6 subnet sharing addresses with `::ffff:0:0/96`.
fn overlaps_ipv4_mapped(subnet: IpNet) -> bool {
    const MAPPED: ipnet::Ipv6Net =
        ipnet::Ipv6Net::new_assert(std::net::Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96);
    // Two CIDRs share an address exactly when one holds the other.
    match subnet {
        IpNet::V6(v6) => v6.contains(&MAPPED) || MAPPED.contains(&v6),
        IpNet::V4(_) => false,
    }
}

impl HostAllocator {
    /// Creates an allocator for `subnet`, keeping `reserved` addresses after the network
    /// address.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`] naming `subnet` when it has host bits set, leaves no
    /// host addresses (IPv4 /31 and /32, IPv6 /128) or overlaps the IPv4-mapped block
    /// `::ffff:0:0/96` (whose addresses are IPv4 ones in disguise), or `reserved` when
    /// nothing is left after the reserved addresses.
    pub fn new(subnet: IpNet, reserved: u32) -> Result<Self> {
        if cidr::has_host_bits(subnet) {
            return Err(Error::invalid(
                "subnet",
                format!("{subnet} has host bits set; write {}", subnet.trunc()),
            ));
        }
        if overlaps_ipv4_mapped(subnet) {
            return Err(Error::invalid(
                "subnet",
                format!(
                    "{subnet} holds IPv4-mapped addresses (::ffff:0:0/96); \
                     allocate from the IPv4 subnet they map instead"
                ),
            ));
        }
        let host_bits = u32::from(subnet.max_prefix_len() - subnet.prefix_len());
        let min_bits = if matches!(subnet, IpNet::V4(_)) { 2 } else { 1 };
        if host_bits < min_bits {
            return Err(Error::invalid(
                "subnet",
                format!("{subnet} has no host addresses"),
            ));
        }
        let hosts = Self {
            subnet,
            reserved,
            used: BTreeSet::new(),
        };
        if hosts.first() > hosts.last() {
            return Err(Error::invalid(
                "reserved",
                format!("reserving {reserved} addresses leaves none in {subnet}"),
            ));
        }
        Ok(hosts)
    }

    /// Returns the subnet.
    pub fn subnet(&self) -> IpNet {
        self.subnet
    }

    /// Returns how many addresses after the network address are kept back.
    pub fn reserved(&self) -> u32 {
        self.reserved
    }

    fn family(&self) -> Family {
        match self.subnet {
            IpNet::V4(_) => Family::V4,
            IpNet::V6(_) => Family::V6,
        }
    }

    /// The first usable address, as a number.
    fn first(&self) -> u128 {
        addr_key(self.subnet.network())
            .1
            .saturating_add(1 + u128::from(self.reserved))
    }

    /// The last usable address, as a number.
    fn last(&self) -> u128 {
        let broadcast = addr_key(self.subnet.broadcast()).1;
        match self.family() {
            Family::V4 => broadcast - 1,
            Family::V6 => broadcast,
        }
    }

    /// Returns the first address that can be handed out.
    pub fn first_host(&self) -> IpAddr {
        addr_of(self.family(), self.first())
    }

    /// Returns the last address that can be handed out.
    pub fn last_host(&self) -> IpAddr {
        addr_of(self.family(), self.last())
    }

    /// Returns how many addresses can be handed out in all (saturating for huge IPv6
    /// subnets).
    pub fn capacity(&self) -> u128 {
        (self.last() - self.first()).saturating_add(1)
    }

    /// Returns how many addresses are handed out.
    pub fn allocated(&self) -> usize {
        self.used.len()
    }

    /// Returns how many addresses are still free.
    pub fn available(&self) -> u128 {
        self.capacity() - self.used.len() as u128
    }

    /// Returns true when `addr` is handed out.
    pub fn is_allocated(&self, addr: IpAddr) -> bool {
        self.used.contains(&canonical_addr(addr))
    }

    /// Iterates over the handed-out addresses, ascending.
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.used.iter().copied()
    }

    /// Hands out the lowest free address.
    ///
    /// # Errors
    /// [`ErrorKind::CapacityUnavailable`] when every usable address is taken.
    pub fn allocate(&mut self) -> Result<IpAddr> {
        let family = self.family();
        let mut candidate = self.first();
        for used in self.used.iter().map(|a| addr_key(*a).1) {
            if used != candidate {
                break;
            }
            candidate += 1;
        }
        if candidate > self.last() || candidate < self.first() {
            return Err(Error::new(
                ErrorKind::CapacityUnavailable,
                format!(
                    "no free address left in {} ({} usable, all allocated)",
                    self.subnet,
                    self.capacity()
                ),
            ));
        }
        let addr = addr_of(family, candidate);
        self.used.insert(addr);
        Ok(addr)
    }

    /// Takes a specific address.
    ///
    /// # Errors
    /// - [`ErrorKind::InvalidRequest`] naming `address` when it is outside the subnet, or is
    ///   the network, broadcast or a reserved address.
    /// - [`ErrorKind::AlreadyExists`] when it is already handed out.
    pub fn claim(&mut self, addr: IpAddr) -> Result<()> {
        let addr = canonical_addr(addr);
        let (family, value) = addr_key(addr);
        if family != self.family() || !self.subnet.contains(&addr) {
            return Err(Error::invalid(
                "address",
                format!("{addr} is outside {}", self.subnet),
            ));
        }
        if value < self.first() || value > self.last() {
            return Err(Error::invalid(
                "address",
                format!(
                    "{addr} is not a usable host of {} (usable: {} to {})",
                    self.subnet,
                    self.first_host(),
                    self.last_host()
                ),
            ));
        }
        if !self.used.insert(addr) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("{addr} is already allocated"),
            ));
        }
        Ok(())
    }

    /// Gives an address back; returns false when it was not handed out.
    pub fn release(&mut self, addr: IpAddr) -> bool {
        self.used.remove(&canonical_addr(addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn skips_network_reserved_and_broadcast() {
        let mut hosts = HostAllocator::new(net("10.0.0.0/29"), 2).unwrap();

        let got: Vec<String> = (0..4)
            .map(|_| hosts.allocate().unwrap().to_string())
            .collect();
        let err = hosts.allocate().unwrap_err();

        assert_eq!(got, ["10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
        assert_eq!(err.kind(), ErrorKind::CapacityUnavailable);
        assert_eq!(hosts.available(), 0);
    }

    #[test]
    fn ipv6_uses_the_last_address() {
        let mut hosts = HostAllocator::new(net("fd00::/126"), 0).unwrap();

        let got: Vec<String> = (0..3)
            .map(|_| hosts.allocate().unwrap().to_string())
            .collect();

        assert_eq!(got, ["fd00::1", "fd00::2", "fd00::3"]);
        assert!(hosts.allocate().is_err());
    }

    #[test]
    fn a_slash_64_has_room() {
        let mut hosts = HostAllocator::new(net("fd00:1:2:3::/64"), DEFAULT_RESERVED_HOSTS).unwrap();

        let first = hosts.allocate().unwrap();

        assert_eq!(first, ip("fd00:1:2:3::4"));
        assert_eq!(hosts.last_host(), ip("fd00:1:2:3:ffff:ffff:ffff:ffff"));
        assert_eq!(hosts.capacity(), (1u128 << 64) - 4);
    }

    #[test]
    fn release_makes_the_lowest_free_again() {
        let mut hosts = HostAllocator::new(net("192.168.0.0/24"), 1).unwrap();
        let a = hosts.allocate().unwrap();
        let b = hosts.allocate().unwrap();

        assert!(hosts.release(a));
        assert!(!hosts.release(a));

        assert_eq!(hosts.allocate().unwrap(), a);
        assert_eq!(hosts.allocate().unwrap(), ip("192.168.0.4"));
        assert!(hosts.is_allocated(b));
    }

    #[test]
    fn claim_checks_the_address() {
        let mut hosts = HostAllocator::new(net("10.0.0.0/24"), 1).unwrap();

        let cases = [
            ("10.0.1.1", Some(ErrorKind::InvalidRequest)),
            ("10.0.0.0", Some(ErrorKind::InvalidRequest)),
            ("10.0.0.1", Some(ErrorKind::InvalidRequest)),
            ("10.0.0.255", Some(ErrorKind::InvalidRequest)),
            ("fd00::1", Some(ErrorKind::InvalidRequest)),
            ("::ffff:10.0.0.2", None),
            ("10.0.0.2", Some(ErrorKind::AlreadyExists)),
            ("10.0.0.254", None),
        ];

        for (addr, want) in cases {
            let got = hosts.claim(ip(addr)).err().map(|e| e.kind());
            assert_eq!(got, want, "{addr}");
        }
        assert_eq!(hosts.allocate().unwrap(), ip("10.0.0.3"));
    }

    #[test]
    fn bad_subnets_and_reservations() {
        let cases = [
            (net("10.0.0.1/24"), 0, "subnet"),
            (net("10.0.0.0/31"), 0, "subnet"),
            (net("10.0.0.0/32"), 0, "subnet"),
            (net("fd00::/128"), 0, "subnet"),
            (net("::ffff:0:0/96"), 0, "subnet"),
            (net("::ffff:10.0.0.0/120"), 0, "subnet"),
            (net("::/64"), 0, "subnet"),
            (net("10.0.0.0/30"), 2, "reserved"),
            (net("10.0.0.0/30"), u32::MAX, "reserved"),
        ];

        for (subnet, reserved, field) in cases {
            let err = HostAllocator::new(subnet, reserved).unwrap_err();
            assert_eq!(err.field(), Some(field), "{subnet} {reserved}");
        }
        assert!(HostAllocator::new(net("10.0.0.0/30"), 1).is_ok());
    }

    #[test]
    fn state_round_trips_and_is_checked() {
        let mut hosts = HostAllocator::new(net("10.0.0.0/28"), 1).unwrap();
        hosts.allocate().unwrap();
        let json = serde_json::to_string(&hosts).unwrap();

        let back: HostAllocator = serde_json::from_str(&json).unwrap();
        let bad = json.replace("10.0.0.2", "10.9.9.9");

        assert_eq!(back, hosts);
        assert!(serde_json::from_str::<HostAllocator>(&bad).is_err());
    }
}
