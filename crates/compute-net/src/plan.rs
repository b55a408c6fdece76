//! Address plans: non-overlapping cluster subnets carved out of supernets.

use std::collections::BTreeMap;

use compute_types::{Error, ErrorKind, Result};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use crate::{
    cidr::{self, Family, Span, net_of},
    hosts::DEFAULT_RESERVED_HOSTS,
};

/// The IPv4 supernet a default plan hands subnets out of: `10.0.0.0/8`.
pub const DEFAULT_IPV4_SUPERNET: Ipv4Net =
    Ipv4Net::new_assert(std::net::Ipv4Addr::new(10, 0, 0, 0), 8);

/// The subnets of one cluster: an IPv4 subnet and, when the plan has IPv6, a /64.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClusterSubnets {
    /// The IPv4 subnet.
    pub ipv4: Ipv4Net,
    /// The IPv6 /64, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ipv6Net>,
}

impl ClusterSubnets {
    /// Creates the pair.
    pub fn new(ipv4: Ipv4Net, ipv6: Option<Ipv6Net>) -> Self {
        Self { ipv4, ipv6 }
    }

    /// Returns the subnets as a list, IPv4 first.
    pub fn nets(&self) -> Vec<IpNet> {
        let mut nets = vec![IpNet::V4(self.ipv4)];
        nets.extend(self.ipv6.map(IpNet::V6));
        nets
    }
}

/// How large a cluster subnet to allocate.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubnetSize {
    /// Room for this many nodes, after the network, broadcast and reserved addresses.
    Nodes(u32),
    /// An IPv4 prefix length, `0..=30`.
    Prefix(u8),
}

/// Hands out non-overlapping cluster subnets from one or more supernets.
///
/// IPv4 subnets come from the IPv4 supernets, first fit in order, lowest address first;
/// when the plan has IPv6 supernets each cluster also gets a /64 from them. Ranges the
/// caller must avoid (an on-premises network, a peered VPC) are never handed out. The plan
/// serialises with serde so it can be persisted; it is checked again on the way in.
///
/// # Errors
///
/// Running out of room is [`ErrorKind::CapacityUnavailable`] (not `QuotaExceeded`: no
/// account limit is involved, the address space is full). Overlaps and malformed ranges are
/// [`ErrorKind::InvalidRequest`] naming the field.
///
/// # Examples
///
/// ```
/// use compute_net::{AddressPlan, SubnetSize};
///
/// let mut plan = AddressPlan::default();
/// plan.avoid("10.0.0.0/16".parse().unwrap()).unwrap();
/// let a = plan.allocate("train", SubnetSize::Nodes(100)).unwrap();
/// let b = plan.allocate("serve", SubnetSize::Prefix(24)).unwrap();
/// assert_eq!(a.ipv4.to_string(), "10.1.0.0/25");
/// assert_eq!(b.ipv4.to_string(), "10.1.1.0/24");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PlanState")]
pub struct AddressPlan {
    supernets: Vec<IpNet>,
    #[serde(default)]
    avoid: Vec<IpNet>,
    reserved_hosts: u32,
    #[serde(default)]
    clusters: BTreeMap<String, ClusterSubnets>,
}

/// The serialised form, checked before it becomes a plan.
#[derive(Deserialize)]
struct PlanState {
    supernets: Vec<IpNet>,
    #[serde(default)]
    avoid: Vec<IpNet>,
    reserved_hosts: u32,
    #[serde(default)]
    clusters: BTreeMap<String, ClusterSubnets>,
}

impl TryFrom<PlanState> for AddressPlan {
    type Error = Error;

    fn try_from(state: PlanState) -> Result<Self> {
        let mut plan = Self::new(state.supernets)?.with_reserved_hosts(state.reserved_hosts);
        for net in state.avoid {
            plan.avoid(net)?;
        }
        for (name, subnets) in state.clusters {
            plan.reserve(&name, subnets)?;
        }
        Ok(plan)
    }
}

impl Default for AddressPlan {
    /// A plan over [`DEFAULT_IPV4_SUPERNET`], IPv4 only, with [`DEFAULT_RESERVED_HOSTS`].
    fn default() -> Self {
        Self {
            supernets: vec![IpNet::V4(DEFAULT_IPV4_SUPERNET)],
            avoid: Vec::new(),
            reserved_hosts: DEFAULT_RESERVED_HOSTS,
            clusters: BTreeMap::new(),
        }
    }
}

impl AddressPlan {
    /// Creates a plan over `supernets` (IPv4, optionally IPv6), with
    /// [`DEFAULT_RESERVED_HOSTS`].
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`] naming `supernets` when there is no IPv4 supernet, one
    /// has host bits set, two overlap, an IPv4 one is longer than /30 or an IPv6 one longer
    /// than /64.
    pub fn new(supernets: impl IntoIterator<Item = IpNet>) -> Result<Self> {
        let supernets: Vec<IpNet> = supernets.into_iter().collect();
        for net in &supernets {
            let too_long = match net {
                IpNet::V4(n) => n.prefix_len() > 30,
                IpNet::V6(n) => n.prefix_len() > 64,
            };
            if cidr::canonical_net(*net) != *net || too_long {
                return Err(Error::invalid(
                    "supernets",
                    format!("{net} must be a canonical IPv4 network up to /30 or IPv6 up to /64"),
                ));
            }
        }
        if !supernets.iter().any(|n| matches!(n, IpNet::V4(_))) {
            return Err(Error::invalid(
                "supernets",
                "at least one IPv4 supernet is required",
            ));
        }
        if let Some((i, j)) = cidr::overlapping(&supernets, &supernets)
            .into_iter()
            .find(|(i, j)| i < j)
        {
            return Err(Error::invalid(
                "supernets",
                format!("{} overlaps {}", supernets[i], supernets[j]),
            ));
        }
        Ok(Self {
            supernets,
            ..Self::default()
        })
    }

    /// Sets how many addresses after each subnet's network address are kept back, which
    /// [`SubnetSize::Nodes`] sizing accounts for.
    pub fn with_reserved_hosts(mut self, reserved: u32) -> Self {
        self.reserved_hosts = reserved;
        self
    }

    /// Adds ranges to avoid, builder style.
    ///
    /// # Errors
    /// As [`AddressPlan::avoid`].
    pub fn with_avoid(mut self, nets: impl IntoIterator<Item = IpNet>) -> Result<Self> {
        for net in nets {
            self.avoid(net)?;
        }
        Ok(self)
    }

    /// Adds a range no cluster subnet may overlap.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`] naming `avoid` when the range has host bits set or
    /// overlaps a cluster already allocated.
    pub fn avoid(&mut self, net: IpNet) -> Result<()> {
        if cidr::canonical_net(net) != net {
            return Err(Error::invalid(
                "avoid",
                format!("{net} is not canonical; write {}", cidr::canonical_net(net)),
            ));
        }
        if let Some((name, taken)) = self.cluster_overlapping(net) {
            return Err(Error::invalid(
                "avoid",
                format!("{net} overlaps cluster `{name}` ({taken})"),
            ));
        }
        self.avoid.push(net);
        Ok(())
    }

    /// Returns the supernets.
    pub fn supernets(&self) -> &[IpNet] {
        &self.supernets
    }

    /// Returns the avoided ranges.
    pub fn avoided(&self) -> &[IpNet] {
        &self.avoid
    }

    /// Returns how many addresses per subnet are kept back after the network address.
    pub fn reserved_hosts(&self) -> u32 {
        self.reserved_hosts
    }

    /// Returns the subnets of cluster `name`.
    pub fn get(&self, name: &str) -> Option<&ClusterSubnets> {
        self.clusters.get(name)
    }

    /// Iterates over the clusters and their subnets, by name.
    pub fn clusters(&self) -> impl Iterator<Item = (&str, &ClusterSubnets)> + '_ {
        self.clusters
            .iter()
            .map(|(name, subnets)| (name.as_str(), subnets))
    }

    /// Returns the IPv4 prefix length that fits `nodes` hosts plus the network, broadcast
    /// and `reserved` addresses.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`] naming `nodes` when it is 0 or no IPv4 subnet is large
    /// enough.
    pub fn prefix_for_nodes(nodes: u32, reserved: u32) -> Result<u8> {
        if nodes == 0 {
            return Err(Error::invalid("nodes", "a cluster needs at least one node"));
        }
        let needed = u64::from(nodes) + u64::from(reserved) + 2;
        let host_bits = 64 - (needed - 1).leading_zeros();
        if host_bits > 32 {
            return Err(Error::invalid(
                "nodes",
                format!("{nodes} nodes do not fit in any IPv4 subnet"),
            ));
        }
        Ok((32 - host_bits) as u8)
    }

    /// Allocates subnets for a new cluster `name`.
    ///
    /// # Errors
    /// - [`ErrorKind::AlreadyExists`] when `name` already has subnets.
    /// - [`ErrorKind::InvalidRequest`] naming `name` when it is empty, `nodes` as
    ///   [`AddressPlan::prefix_for_nodes`], or `prefix` when it is above 30.
    /// - [`ErrorKind::CapacityUnavailable`] when no free block of that size is left.
    pub fn allocate(&mut self, name: &str, size: SubnetSize) -> Result<ClusterSubnets> {
        self.check_new_name(name)?;
        let prefix = match size {
            SubnetSize::Nodes(nodes) => Self::prefix_for_nodes(nodes, self.reserved_hosts)?,
            SubnetSize::Prefix(p) if p <= 30 => p,
            SubnetSize::Prefix(p) => {
                return Err(Error::invalid("prefix", format!("/{p} is above /30")));
            }
        };

        let ipv4 = match self.first_fit(Family::V4, prefix) {
            Some(IpNet::V4(net)) => net,
            _ => return Err(self.exhausted(Family::V4, prefix)),
        };
        let ipv6 = if self.supernets.iter().any(|n| matches!(n, IpNet::V6(_))) {
            match self.first_fit(Family::V6, 64) {
                Some(IpNet::V6(net)) => Some(net),
                _ => return Err(self.exhausted(Family::V6, 64)),
            }
        } else {
            None
        };

        let subnets = ClusterSubnets { ipv4, ipv6 };
        self.clusters.insert(name.to_owned(), subnets);
        Ok(subnets)
    }

    /// Records explicit subnets for a new cluster `name`.
    ///
    /// # Errors
    /// - [`ErrorKind::AlreadyExists`] when `name` already has subnets.
    /// - [`ErrorKind::InvalidRequest`] naming `name` when it is empty, or `ipv4` / `ipv6`
    ///   when the subnet has host bits set, lies outside the plan's supernets, overlaps an
    ///   avoided range or another cluster, or (IPv6) is not a /64.
    pub fn reserve(&mut self, name: &str, subnets: ClusterSubnets) -> Result<()> {
        self.check_new_name(name)?;
        self.check_free("ipv4", IpNet::V4(subnets.ipv4))?;
        if let Some(v6) = subnets.ipv6 {
            if v6.prefix_len() != 64 {
                return Err(Error::invalid("ipv6", format!("{v6} is not a /64")));
            }
            self.check_free("ipv6", IpNet::V6(v6))?;
        }
        self.clusters.insert(name.to_owned(), subnets);
        Ok(())
    }

    /// Releases the subnets of cluster `name`.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when `name` has none.
    pub fn release(&mut self, name: &str) -> Result<ClusterSubnets> {
        self.clusters
            .remove(name)
            .ok_or_else(|| Error::not_found(format!("no cluster `{name}` in the address plan")))
    }

    fn check_new_name(&self, name: &str) -> Result<()> {
        if name.trim().is_empty() {
            return Err(Error::invalid("name", "a cluster needs a name"));
        }
        if let Some(taken) = self.clusters.get(name) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("cluster `{name}` already has {}", taken.ipv4),
            ));
        }
        Ok(())
    }

    /// Checks that an explicit subnet is canonical, inside a supernet and overlaps nothing.
    fn check_free(&self, field: &str, net: IpNet) -> Result<()> {
        if cidr::canonical_net(net) != net {
            return Err(Error::invalid(
                field,
                format!("{net} is not canonical; write {}", cidr::canonical_net(net)),
            ));
        }
        if !self.supernets.iter().any(|s| cidr::contains(*s, net)) {
            return Err(Error::invalid(
                field,
                format!("{net} is outside the plan's supernets"),
            ));
        }
        if let Some(avoided) = self.avoid.iter().find(|a| cidr::overlaps(**a, net)) {
            return Err(Error::invalid(
                field,
                format!("{net} overlaps avoided range {avoided}"),
            ));
        }
        if let Some((name, taken)) = self.cluster_overlapping(net) {
            return Err(Error::invalid(
                field,
                format!("{net} overlaps cluster `{name}` ({taken})"),
            ));
        }
        Ok(())
    }

    fn cluster_overlapping(&self, net: IpNet) -> Option<(&str, IpNet)> {
        self.clusters.iter().find_map(|(name, subnets)| {
            let taken = subnets
                .nets()
                .into_iter()
                .find(|t| cidr::overlaps(*t, net))?;
            Some((name.as_str(), taken))
        })
    }

    /// Finds the lowest free aligned block of `prefix` in the supernets of `family`.
    fn first_fit(&self, family: Family, prefix: u8) -> Option<IpNet> {
        let mut taken: Vec<Span> = self
            .avoid
            .iter()
            .copied()
            .chain(self.clusters.values().flat_map(ClusterSubnets::nets))
            .map(Span::of)
            .filter(|s| s.family == family)
            .collect();
        taken.sort_unstable_by_key(|s| s.start);

        let host_bits = family.bits() - u32::from(prefix);
        let mask = if host_bits == 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        let supers = self
            .supernets
            .iter()
            .map(|n| Span::of(*n))
            .filter(|s| s.family == family);
        for sup in supers {
            if let Some(start) = fit_in(sup, mask, &taken) {
                return Some(net_of(family, start, prefix));
            }
        }
        None
    }

    fn exhausted(&self, family: Family, prefix: u8) -> Error {
        let supers: Vec<String> = self
            .supernets
            .iter()
            .filter(|n| {
                matches!(
                    (n, family),
                    (IpNet::V4(_), Family::V4) | (IpNet::V6(_), Family::V6)
                )
            })
            .map(ToString::to_string)
            .collect();
        Error::new(
            ErrorKind::CapacityUnavailable,
            format!(
                "no free /{prefix} left in {} ({} clusters, {} avoided ranges)",
                supers.join(", "),
                self.clusters.len(),
                self.avoid.len()
            ),
        )
    }
}

/// Returns the start of the lowest block `mask + 1` addresses long, aligned to its size,
/// inside `sup` and clear of every span in `taken` (sorted by start).
fn fit_in(sup: Span, mask: u128, taken: &[Span]) -> Option<u128> {
    let align = |at: u128| at.checked_add(mask).map(|x| x & !mask);
    let mut start = align(sup.start)?;
    loop {
        let end = start.checked_add(mask)?;
        if end > sup.end {
            return None;
        }
        match taken.iter().find(|t| t.start <= end && start <= t.end) {
            Some(conflict) => start = align(conflict.end.checked_add(1)?)?,
            None => return Some(start),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    #[test]
    fn prefixes_for_node_counts() {
        let cases = [
            (1, 3, 29),
            (3, 3, 29),
            (4, 3, 28),
            (1, 0, 30),
            (2, 0, 30),
            (3, 0, 29),
            (100, 3, 25),
            (250, 3, 24),
            (252, 3, 23),
        ];

        for (nodes, reserved, want) in cases {
            assert_eq!(
                AddressPlan::prefix_for_nodes(nodes, reserved).unwrap(),
                want,
                "{nodes}+{reserved}"
            );
        }
        assert_eq!(
            AddressPlan::prefix_for_nodes(0, 3).unwrap_err().field(),
            Some("nodes")
        );
        assert_eq!(
            AddressPlan::prefix_for_nodes(u32::MAX, 3)
                .unwrap_err()
                .field(),
            Some("nodes")
        );
    }

    #[test]
    fn allocations_do_not_overlap_and_fill_gaps() {
        let mut plan = AddressPlan::new([net("10.0.0.0/22")]).unwrap();

        let a = plan.allocate("a", SubnetSize::Prefix(24)).unwrap();
        let b = plan.allocate("b", SubnetSize::Prefix(23)).unwrap();
        let c = plan.allocate("c", SubnetSize::Prefix(25)).unwrap();
        plan.release("a").unwrap();
        let d = plan.allocate("d", SubnetSize::Prefix(25)).unwrap();

        assert_eq!(a.ipv4.to_string(), "10.0.0.0/24");
        assert_eq!(b.ipv4.to_string(), "10.0.2.0/23");
        assert_eq!(c.ipv4.to_string(), "10.0.1.0/25");
        assert_eq!(d.ipv4.to_string(), "10.0.0.0/25");
        assert_eq!(plan.clusters().count(), 3);
    }

    #[test]
    fn exhaustion_is_capacity_unavailable() {
        let mut plan = AddressPlan::new([net("10.0.0.0/24")]).unwrap();
        plan.allocate("a", SubnetSize::Prefix(25)).unwrap();
        plan.allocate("b", SubnetSize::Prefix(25)).unwrap();

        let err = plan.allocate("c", SubnetSize::Prefix(30)).unwrap_err();
        let too_big = AddressPlan::default()
            .allocate("x", SubnetSize::Prefix(7))
            .unwrap_err();

        assert_eq!(err.kind(), ErrorKind::CapacityUnavailable);
        assert!(err.message().contains("/30"), "{err}");
        assert_eq!(too_big.kind(), ErrorKind::CapacityUnavailable);
    }

    #[test]
    fn avoided_ranges_are_skipped_and_refused() {
        let mut plan = AddressPlan::new([net("10.0.0.0/8")])
            .unwrap()
            .with_avoid([net("10.0.0.0/16"), net("10.1.0.0/24")])
            .unwrap();

        let a = plan.allocate("a", SubnetSize::Prefix(16)).unwrap();
        let b = plan.allocate("b", SubnetSize::Prefix(24)).unwrap();
        let explicit = plan.reserve(
            "c",
            ClusterSubnets::new("10.0.5.0/24".parse().unwrap(), None),
        );
        let late_avoid = plan.avoid(net("10.2.0.0/15"));

        assert_eq!(a.ipv4.to_string(), "10.2.0.0/16");
        assert_eq!(b.ipv4.to_string(), "10.1.1.0/24");
        let err = explicit.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert_eq!(err.field(), Some("ipv4"));
        assert!(err.message().contains("10.0.0.0/16"), "{err}");
        assert_eq!(late_avoid.unwrap_err().field(), Some("avoid"));
    }

    #[test]
    fn overlapping_clusters_are_rejected() {
        let mut plan = AddressPlan::default();
        plan.reserve(
            "a",
            ClusterSubnets::new("10.5.0.0/16".parse().unwrap(), None),
        )
        .unwrap();

        let cases = [
            ("b", "10.5.3.0/24", ErrorKind::InvalidRequest, Some("ipv4")),
            ("b", "10.0.0.0/8", ErrorKind::InvalidRequest, Some("ipv4")),
            (
                "b",
                "192.168.0.0/24",
                ErrorKind::InvalidRequest,
                Some("ipv4"),
            ),
            ("b", "10.6.0.1/24", ErrorKind::InvalidRequest, Some("ipv4")),
            ("a", "10.7.0.0/24", ErrorKind::AlreadyExists, None),
            ("", "10.7.0.0/24", ErrorKind::InvalidRequest, Some("name")),
        ];

        for (name, subnet, kind, field) in cases {
            let v4: Ipv4Net = subnet.parse().unwrap();
            let err = plan
                .reserve(name, ClusterSubnets::new(v4, None))
                .unwrap_err();
            assert_eq!((err.kind(), err.field()), (kind, field), "{name} {subnet}");
        }
    }

    #[test]
    fn ipv6_plans_hand_out_slash_64s() {
        let mut plan = AddressPlan::new([net("10.0.0.0/16"), net("fd00:aa::/48")]).unwrap();

        let a = plan.allocate("a", SubnetSize::Nodes(8)).unwrap();
        let b = plan.allocate("b", SubnetSize::Nodes(8)).unwrap();
        let bad = plan.reserve(
            "c",
            ClusterSubnets::new(
                "10.0.9.0/24".parse().unwrap(),
                Some("fd00:aa::/56".parse().unwrap()),
            ),
        );

        assert_eq!(a.ipv6.unwrap().to_string(), "fd00:aa::/64");
        assert_eq!(b.ipv6.unwrap().to_string(), "fd00:aa:0:1::/64");
        assert_eq!(a.nets().len(), 2);
        assert_eq!(bad.unwrap_err().field(), Some("ipv6"));
    }

    #[test]
    fn bad_supernets() {
        let cases: [&[&str]; 5] = [
            &["10.0.0.1/8"],
            &["fd00::/48"],
            &["10.0.0.0/8", "10.1.0.0/16"],
            &["10.0.0.0/31"],
            &["10.0.0.0/8", "fd00::/96"],
        ];

        for nets in cases {
            let err = AddressPlan::new(nets.iter().map(|n| net(n))).unwrap_err();
            assert_eq!(err.field(), Some("supernets"), "{nets:?}");
        }
    }

    #[test]
    fn whole_spaces_and_edges() {
        let mut plan = AddressPlan::new([net("0.0.0.0/0"), net("::/0")]).unwrap();

        let a = plan.allocate("a", SubnetSize::Prefix(0)).unwrap();
        let err = plan.allocate("b", SubnetSize::Prefix(30)).unwrap_err();
        let big = plan.allocate("c", SubnetSize::Prefix(31)).unwrap_err();

        assert_eq!(a.ipv4.to_string(), "0.0.0.0/0");
        assert_eq!(a.ipv6.unwrap().to_string(), "::/64");
        assert_eq!(err.kind(), ErrorKind::CapacityUnavailable);
        assert_eq!(big.field(), Some("prefix"));
    }

    #[test]
    fn state_round_trips_and_is_checked() {
        let mut plan = AddressPlan::default()
            .with_avoid([net("10.20.0.0/16")])
            .unwrap();
        plan.allocate("a", SubnetSize::Nodes(16)).unwrap();
        let json = serde_json::to_string(&plan).unwrap();

        let back: AddressPlan = serde_json::from_str(&json).unwrap();
        let clash = json.replace("10.20.0.0/16", "10.0.0.0/16");

        assert_eq!(back, plan);
        assert!(serde_json::from_str::<AddressPlan>(&clash).is_err());
    }
}
