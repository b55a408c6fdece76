//! Address bookkeeping: cluster subnets, private hosts and the public address pool.
//!
//! Each cluster gets its own subnet from the address plan the first time an instance joins
//! it; subnets are kept for the life of the world. Instances without a cluster share the
//! *default network*, a larger subnet whose members are not a cluster: they reach each
//! other only where their firewall rules allow. Hosts and public addresses are handed out
//! in order, and released ones are reused first (lowest first).

use std::{
    collections::{BTreeSet, HashMap},
    net::{IpAddr, Ipv4Addr},
};

use compute_types::{Error, ErrorKind, Result};
use ipnet::{IpNet, Ipv4Net};
use serde::{Deserialize, Serialize};

/// Which network an instance sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum NetRef {
    /// The shared default network of instances without a cluster.
    Default,
    /// A cluster, by index.
    Cluster(u32),
}

/// The hosts of one subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HostPool {
    pub(crate) subnet: Ipv4Net,
    next: u32,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    free: BTreeSet<u32>,
}

impl HostPool {
    fn new(subnet: Ipv4Net) -> Self {
        Self {
            subnet,
            next: 1,
            free: BTreeSet::new(),
        }
    }

    /// The number of usable offsets: the network and broadcast addresses are skipped.
    fn last_offset(&self) -> u32 {
        let size = 1u64 << (32 - u32::from(self.subnet.prefix_len()));
        u32::try_from(size.saturating_sub(2)).unwrap_or(u32::MAX)
    }

    fn alloc(&mut self) -> Option<Ipv4Addr> {
        let offset = match self.free.pop_first() {
            Some(offset) => offset,
            None if self.next <= self.last_offset() => {
                self.next += 1;
                self.next - 1
            }
            None => return None,
        };
        Some(Ipv4Addr::from(u32::from(self.subnet.network()) + offset))
    }

    fn release(&mut self, addr: Ipv4Addr) {
        let offset = u32::from(addr).wrapping_sub(u32::from(self.subnet.network()));
        if (1..self.next).contains(&offset) {
            self.free.insert(offset);
        }
    }
}

/// One cluster's network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClusterNet {
    pub(crate) name: String,
    #[serde(flatten)]
    pub(crate) hosts: HostPool,
}

/// The public address pool, drawn from configured ranges in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PublicPool {
    ranges: Vec<IpNet>,
    range: usize,
    next: u128,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    free: BTreeSet<IpAddr>,
}

impl PublicPool {
    fn new(ranges: Vec<IpNet>) -> Self {
        Self {
            ranges,
            range: 0,
            next: 1,
            free: BTreeSet::new(),
        }
    }

    fn last_offset(net: &IpNet) -> u128 {
        let bits = u32::from(net.max_prefix_len() - net.prefix_len());
        let size = 1u128.checked_shl(bits).unwrap_or(u128::MAX);
        size.saturating_sub(2)
    }

    fn alloc(&mut self) -> Option<IpAddr> {
        if let Some(addr) = self.free.pop_first() {
            return Some(addr);
        }
        while let Some(net) = self.ranges.get(self.range) {
            if self.next <= Self::last_offset(net) {
                let addr = offset_addr(net, self.next);
                self.next += 1;
                return Some(addr);
            }
            self.range += 1;
            self.next = 1;
        }
        None
    }

    fn release(&mut self, addr: IpAddr) {
        if self.ranges.iter().any(|r| r.contains(&addr)) {
            self.free.insert(addr);
        }
    }
}

fn offset_addr(net: &IpNet, offset: u128) -> IpAddr {
    match net {
        IpNet::V4(n) => {
            let base = u32::from(n.network());
            IpAddr::V4(Ipv4Addr::from(base.wrapping_add(offset as u32)))
        }
        IpNet::V6(n) => IpAddr::V6(u128::from(n.network()).wrapping_add(offset).into()),
    }
}

/// The address plan: where cluster subnets and the default network come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Plan {
    /// Cluster subnets are carved from this block, in order.
    pub(crate) cluster_block: Ipv4Net,
    /// Prefix length of each cluster subnet.
    pub(crate) cluster_prefix: u8,
    /// The default network.
    pub(crate) default_network: Ipv4Net,
}

impl Default for Plan {
    fn default() -> Self {
        let net = |a, b, len| Ipv4Net::new(Ipv4Addr::new(10, a, b, 0), len).unwrap_or_default();
        Self {
            cluster_block: net(0, 0, 9),
            cluster_prefix: 24,
            default_network: net(128, 0, 16),
        }
    }
}

/// Every address the world has handed out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Addresses {
    plan: Plan,
    default: HostPool,
    clusters: Vec<ClusterNet>,
    public: PublicPool,
    #[serde(skip)]
    by_name: HashMap<String, u32>,
}

impl Addresses {
    /// An empty book drawing public addresses from `public_ranges`.
    pub(crate) fn new(public_ranges: Vec<IpNet>) -> Self {
        let plan = Plan::default();
        Self {
            plan,
            default: HostPool::new(plan.default_network),
            clusters: Vec::new(),
            public: PublicPool::new(public_ranges),
            by_name: HashMap::new(),
        }
    }

    /// Rebuilds the name index after loading.
    pub(crate) fn reindex(&mut self) {
        self.by_name = self
            .clusters
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i as u32))
            .collect();
    }

    /// Returns the index of cluster `name`, when it exists.
    pub(crate) fn find_cluster(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).copied()
    }

    /// Returns the cluster `name`, creating it with a fresh subnet when new.
    ///
    /// # Errors
    /// `CapacityUnavailable` when the plan has no subnet left.
    pub(crate) fn cluster(&mut self, name: &str) -> Result<(u32, bool)> {
        if let Some(i) = self.find_cluster(name) {
            return Ok((i, false));
        }
        let subnet = self.nth_subnet(self.clusters.len())?;
        let index =
            u32::try_from(self.clusters.len()).map_err(|_| Error::internal("too many clusters"))?;
        self.clusters.push(ClusterNet {
            name: name.to_owned(),
            hosts: HostPool::new(subnet),
        });
        self.by_name.insert(name.to_owned(), index);
        Ok((index, true))
    }

    /// Forgets the most recently created cluster (rolls back a failed create).
    pub(crate) fn drop_last_cluster(&mut self) {
        if let Some(c) = self.clusters.pop() {
            self.by_name.remove(&c.name);
        }
    }

    fn nth_subnet(&self, n: usize) -> Result<Ipv4Net> {
        let block = self.plan.cluster_block;
        let subnets = block.subnets(self.plan.cluster_prefix).ok();
        subnets.and_then(|mut s| s.nth(n)).ok_or_else(|| {
            Error::new(
                ErrorKind::CapacityUnavailable,
                format!("the address plan {block} has no cluster subnet left"),
            )
        })
    }

    /// Returns the subnet of a network.
    pub(crate) fn subnet(&self, net: NetRef) -> Ipv4Net {
        match net {
            NetRef::Default => self.default.subnet,
            NetRef::Cluster(i) => self
                .clusters
                .get(i as usize)
                .map_or(self.default.subnet, |c| c.hosts.subnet),
        }
    }

    /// Returns a cluster's name.
    pub(crate) fn cluster_name(&self, index: u32) -> Option<&str> {
        self.clusters.get(index as usize).map(|c| c.name.as_str())
    }

    fn pool(&mut self, net: NetRef) -> Option<&mut HostPool> {
        match net {
            NetRef::Default => Some(&mut self.default),
            NetRef::Cluster(i) => self.clusters.get_mut(i as usize).map(|c| &mut c.hosts),
        }
    }

    /// Hands out a private address in `net`.
    ///
    /// # Errors
    /// `CapacityUnavailable` when the subnet is full.
    pub(crate) fn alloc_private(&mut self, net: NetRef) -> Result<Ipv4Addr> {
        let subnet = self.subnet(net);
        self.pool(net).and_then(HostPool::alloc).ok_or_else(|| {
            Error::new(
                ErrorKind::CapacityUnavailable,
                format!("subnet {subnet} has no free address"),
            )
        })
    }

    /// Returns a private address to its subnet.
    pub(crate) fn release_private(&mut self, net: NetRef, addr: Ipv4Addr) {
        if let Some(pool) = self.pool(net) {
            pool.release(addr);
        }
    }

    /// Hands out a public address.
    ///
    /// # Errors
    /// `CapacityUnavailable` naming the ranges when every public address is in use.
    pub(crate) fn alloc_public(&mut self) -> Result<IpAddr> {
        self.public.alloc().ok_or_else(|| {
            let ranges: Vec<String> = self.public.ranges.iter().map(ToString::to_string).collect();
            Error::new(
                ErrorKind::CapacityUnavailable,
                format!("no public address left in {}", ranges.join(", ")),
            )
        })
    }

    /// Returns a public address to the pool.
    pub(crate) fn release_public(&mut self, addr: IpAddr) {
        self.public.release(addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> Addresses {
        let ranges = vec![
            "198.51.100.0/30".parse().unwrap(),
            "203.0.113.0/24".parse().unwrap(),
        ];
        Addresses::new(ranges)
    }

    #[test]
    fn clusters_get_distinct_subnets_and_hosts() {
        let mut book = book();

        let (a, new_a) = book.cluster("a").unwrap();
        let (b, _) = book.cluster("b").unwrap();
        let (again, new_again) = book.cluster("a").unwrap();

        assert!(new_a && !new_again);
        assert_eq!(a, again);
        assert_eq!(book.subnet(NetRef::Cluster(a)).to_string(), "10.0.0.0/24");
        assert_eq!(book.subnet(NetRef::Cluster(b)).to_string(), "10.0.1.0/24");
        let first = book.alloc_private(NetRef::Cluster(a)).unwrap();
        assert_eq!(first, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(
            book.alloc_private(NetRef::Default).unwrap(),
            Ipv4Addr::new(10, 128, 0, 1)
        );
    }

    #[test]
    fn released_hosts_are_reused_and_full_subnets_error() {
        let mut book = book();
        let (c, _) = book.cluster("c").unwrap();
        let net = NetRef::Cluster(c);
        let addrs: Vec<_> = (0..254).map(|_| book.alloc_private(net).unwrap()).collect();

        let err = book.alloc_private(net).unwrap_err();
        book.release_private(net, addrs[7]);

        assert_eq!(err.kind(), ErrorKind::CapacityUnavailable);
        assert_eq!(book.alloc_private(net).unwrap(), addrs[7]);
    }

    #[test]
    fn public_pool_moves_through_ranges_then_runs_out() {
        let mut book = book();

        let first: Vec<_> = (0..3).map(|_| book.alloc_public().unwrap()).collect();
        let all_rest: Vec<_> = (0..253).map(|_| book.alloc_public().unwrap()).collect();
        let err = book.alloc_public().unwrap_err();

        assert_eq!(first[0].to_string(), "198.51.100.1");
        assert_eq!(first[2].to_string(), "203.0.113.1");
        assert_eq!(all_rest.last().unwrap().to_string(), "203.0.113.254");
        assert_eq!(err.kind(), ErrorKind::CapacityUnavailable);
        assert!(err.message().contains("203.0.113.0/24"), "{err}");
        book.release_public(first[1]);
        assert_eq!(book.alloc_public().unwrap(), first[1]);
    }

    #[test]
    fn round_trips_through_json() {
        let mut book = book();
        book.cluster("x").unwrap();
        book.alloc_public().unwrap();

        let json = serde_json::to_string(&book).unwrap();
        let mut back: Addresses = serde_json::from_str(&json).unwrap();
        back.reindex();

        assert_eq!(back, book);
        assert_eq!(back.find_cluster("x"), Some(0));
    }
}
