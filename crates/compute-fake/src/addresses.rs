//! Address bookkeeping: cluster subnets, private hosts and the public address pool.
//!
//! Cluster subnets come from `compute-net`'s [`AddressPlan`] over `10.0.0.0/9`, one subnet
//! (a /24 unless configured) per cluster the first time an instance joins it, and hosts
//! from its [`HostAllocator`], which keeps [`DEFAULT_RESERVED_HOSTS`] back. Subnets are kept
//! for the life of the world.
//!
//! An instance without a cluster is a *single-node implicit cluster*: it gets a /29 of its
//! own from `10.128.0.0/9`, released when it terminates. It reaches other instances only
//! where firewall rules allow. Public addresses come from configured ranges in order;
//! released ones are reused first (lowest first).

use std::{
    collections::{BTreeSet, HashMap},
    net::{IpAddr, Ipv4Addr},
};

use compute_net::{AddressPlan, DEFAULT_RESERVED_HOSTS, HostAllocator, SubnetSize};
use compute_types::{Error, ErrorKind, Result};
use ipnet::{IpNet, Ipv4Net};
use serde::{Deserialize, Serialize};

/// The block cluster subnets are carved from.
const CLUSTER_BLOCK: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(10, 0, 0, 0), 9);

/// The block implicit single-node clusters are carved from, one /29 each.
const SOLO_BLOCK: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(10, 128, 0, 0), 9);

const SOLO_PREFIX: u8 = 29;

/// Which network an instance sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum NetRef {
    /// A single-node implicit cluster, by index into the solo block.
    Solo(u32),
    /// A named cluster, by index.
    Cluster(u32),
}

/// One named cluster's network.
///
/// Hosts are claimed in `compute-net`'s [`HostAllocator`], the source of truth; `next` and
/// `released` only find the lowest free host without scanning it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClusterNet {
    pub(crate) name: String,
    pub(crate) subnet: Ipv4Net,
    hosts: HostAllocator,
    next: u32,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    released: BTreeSet<u32>,
}

impl ClusterNet {
    fn new(name: &str, subnet: Ipv4Net) -> Result<Self> {
        Ok(Self {
            name: name.to_owned(),
            subnet,
            hosts: HostAllocator::new(IpNet::V4(subnet), DEFAULT_RESERVED_HOSTS)?,
            next: u32::from(subnet.network()) + 1 + DEFAULT_RESERVED_HOSTS,
            released: BTreeSet::new(),
        })
    }

    fn alloc(&mut self) -> Result<Ipv4Addr> {
        if let Some(addr) = self.released.pop_first() {
            self.hosts.claim(IpAddr::V4(addr.into()))?;
            return Ok(addr.into());
        }
        let last = u32::from(self.subnet.broadcast()).saturating_sub(1);
        while self.next <= last {
            let addr = Ipv4Addr::from(self.next);
            self.next += 1;
            match self.hosts.claim(IpAddr::V4(addr)) {
                Ok(()) => return Ok(addr),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::new(
            ErrorKind::CapacityUnavailable,
            format!("no free address left in {}", self.subnet),
        ))
    }

    fn release(&mut self, addr: Ipv4Addr) {
        if self.hosts.release(IpAddr::V4(addr)) {
            self.released.insert(addr.into());
        }
    }
}

/// The single-node subnets handed out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct SoloPool {
    next: u32,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    free: BTreeSet<u32>,
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
            let offset = u32::try_from(offset).unwrap_or(u32::MAX);
            IpAddr::V4(Ipv4Addr::from(base.wrapping_add(offset)))
        }
        IpNet::V6(n) => IpAddr::V6(u128::from(n.network()).wrapping_add(offset).into()),
    }
}

/// Every address the world has handed out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Addresses {
    cluster_prefix: u8,
    plan: AddressPlan,
    clusters: Vec<ClusterNet>,
    solo: SoloPool,
    public: PublicPool,
    #[serde(skip)]
    by_name: HashMap<String, u32>,
    #[serde(skip)]
    labels: Vec<(String, String)>,
}

fn labels_of(c: &ClusterNet) -> (String, String) {
    (format!("subnet-{}", c.subnet), format!("vpc-{}", c.name))
}

impl PartialEq for Addresses {
    fn eq(&self, other: &Self) -> bool {
        self.cluster_prefix == other.cluster_prefix
            && self.plan == other.plan
            && self.clusters == other.clusters
            && self.solo == other.solo
            && self.public == other.public
    }
}

impl Addresses {
    /// An empty book: cluster subnets of `/cluster_prefix`, public addresses from
    /// `public_ranges`.
    ///
    /// # Errors
    /// `InvalidRequest` naming `cluster_prefix` when it is not between 9 and 29.
    pub(crate) fn new(cluster_prefix: u8, public_ranges: Vec<IpNet>) -> Result<Self> {
        if !(CLUSTER_BLOCK.prefix_len()..=SOLO_PREFIX).contains(&cluster_prefix) {
            return Err(Error::invalid(
                "cluster_prefix",
                format!(
                    "must be between {} and {SOLO_PREFIX}",
                    CLUSTER_BLOCK.prefix_len()
                ),
            ));
        }
        Ok(Self {
            cluster_prefix,
            plan: AddressPlan::new([IpNet::V4(CLUSTER_BLOCK)])?,
            clusters: Vec::new(),
            solo: SoloPool::default(),
            public: PublicPool::new(public_ranges),
            by_name: HashMap::new(),
            labels: Vec::new(),
        })
    }

    /// Rebuilds the name index after loading.
    pub(crate) fn reindex(&mut self) {
        self.by_name = self
            .clusters
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Some((c.name.clone(), u32::try_from(i).ok()?)))
            .collect();
        self.labels = self.clusters.iter().map(labels_of).collect();
    }

    /// Returns the provider subnet id and network id shown on an instance of `net`.
    pub(crate) fn labels(&self, net: NetRef) -> (String, String) {
        match net {
            NetRef::Cluster(i) => self.labels.get(i as usize).cloned().unwrap_or_default(),
            NetRef::Solo(_) => (
                format!("subnet-{}", self.subnet(net)),
                "vpc-default".to_owned(),
            ),
        }
    }

    /// Returns the index of cluster `name`, when it exists.
    pub(crate) fn find_cluster(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).copied()
    }

    /// Returns the cluster `name`, creating it with a subnet from the plan when new; the
    /// flag says whether it was created.
    ///
    /// # Errors
    /// `CapacityUnavailable` when the plan has no subnet left.
    pub(crate) fn cluster(&mut self, name: &str) -> Result<(u32, bool)> {
        if let Some(i) = self.find_cluster(name) {
            return Ok((i, false));
        }
        let index =
            u32::try_from(self.clusters.len()).map_err(|_| Error::internal("too many clusters"))?;
        let subnets = self
            .plan
            .allocate(name, SubnetSize::Prefix(self.cluster_prefix))?;
        let cluster = match ClusterNet::new(name, subnets.ipv4) {
            Ok(cluster) => cluster,
            Err(e) => {
                let _ = self.plan.release(name);
                return Err(e);
            }
        };
        self.labels.push(labels_of(&cluster));
        self.clusters.push(cluster);
        self.by_name.insert(name.to_owned(), index);
        Ok((index, true))
    }

    /// Forgets the most recently created cluster (rolls back a failed create).
    pub(crate) fn drop_last_cluster(&mut self) {
        if let Some(c) = self.clusters.pop() {
            self.labels.pop();
            self.by_name.remove(&c.name);
            let _ = self.plan.release(&c.name);
        }
    }

    fn solo_subnet(index: u32) -> Ipv4Net {
        let base = u32::from(SOLO_BLOCK.network());
        let size = 1u32 << (32 - u32::from(SOLO_PREFIX));
        let addr = Ipv4Addr::from(base.wrapping_add(index.wrapping_mul(size)));
        Ipv4Net::new(addr, SOLO_PREFIX).unwrap_or(SOLO_BLOCK)
    }

    /// Returns the subnet of a network.
    pub(crate) fn subnet(&self, net: NetRef) -> Ipv4Net {
        match net {
            NetRef::Solo(i) => Self::solo_subnet(i),
            NetRef::Cluster(i) => self
                .clusters
                .get(i as usize)
                .map_or(CLUSTER_BLOCK, |c| c.subnet),
        }
    }

    /// Returns a named cluster's name.
    pub(crate) fn cluster_name(&self, index: u32) -> Option<&str> {
        self.clusters.get(index as usize).map(|c| c.name.as_str())
    }

    /// Returns every named cluster, in creation order.
    pub(crate) fn clusters(&self) -> &[ClusterNet] {
        &self.clusters
    }

    /// Gives a cluster-less instance its own subnet and address.
    ///
    /// # Errors
    /// `CapacityUnavailable` when the solo block is full.
    pub(crate) fn alloc_solo(&mut self) -> Result<(NetRef, Ipv4Addr)> {
        let capacity = 1u32 << (u32::from(SOLO_PREFIX) - u32::from(SOLO_BLOCK.prefix_len()));
        let index = match self.solo.free.pop_first() {
            Some(i) => i,
            None if self.solo.next < capacity => {
                self.solo.next += 1;
                self.solo.next - 1
            }
            None => {
                return Err(Error::new(
                    ErrorKind::CapacityUnavailable,
                    format!("{SOLO_BLOCK} has no single-node subnet left"),
                ));
            }
        };
        Ok((NetRef::Solo(index), solo_host(Self::solo_subnet(index))))
    }

    /// Hands out a private address in a named cluster.
    ///
    /// # Errors
    /// `CapacityUnavailable` when the subnet is full.
    pub(crate) fn alloc_private(&mut self, net: NetRef) -> Result<Ipv4Addr> {
        let NetRef::Cluster(i) = net else {
            return Err(Error::internal("solo networks are allocated whole"));
        };
        self.clusters
            .get_mut(i as usize)
            .ok_or_else(|| Error::internal("unknown cluster index"))?
            .alloc()
    }

    /// Returns a private address (and a solo subnet with it).
    pub(crate) fn release_private(&mut self, net: NetRef, addr: Ipv4Addr) {
        match net {
            NetRef::Solo(i) => {
                if i < self.solo.next {
                    self.solo.free.insert(i);
                }
            }
            NetRef::Cluster(i) => {
                if let Some(c) = self.clusters.get_mut(i as usize) {
                    c.release(addr);
                }
            }
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

/// The one host of a single-node subnet: the first after the reserved addresses.
fn solo_host(subnet: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(subnet.network()) + 1 + DEFAULT_RESERVED_HOSTS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> Addresses {
        let ranges = vec![
            "198.51.100.0/30".parse().unwrap(),
            "203.0.113.0/24".parse().unwrap(),
        ];
        Addresses::new(24, ranges).unwrap()
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
        assert_eq!(first, Ipv4Addr::new(10, 0, 0, 4));
        let (solo, host) = book.alloc_solo().unwrap();
        assert_eq!(book.subnet(solo).to_string(), "10.128.0.0/29");
        assert_eq!(host, Ipv4Addr::new(10, 128, 0, 4));
        let (second, _) = book.alloc_solo().unwrap();
        assert_eq!(book.subnet(second).to_string(), "10.128.0.8/29");
    }

    #[test]
    fn released_hosts_are_reused_and_full_subnets_error() {
        let mut book = book();
        let (c, _) = book.cluster("c").unwrap();
        let net = NetRef::Cluster(c);
        let addrs: Vec<_> = (0..251).map(|_| book.alloc_private(net).unwrap()).collect();

        let err = book.alloc_private(net).unwrap_err();
        book.release_private(net, addrs[7]);

        assert_eq!(err.kind(), ErrorKind::CapacityUnavailable);
        assert_eq!(book.alloc_private(net).unwrap(), addrs[7]);
    }

    #[test]
    fn solo_subnets_are_reused() {
        let mut book = book();
        let (first, ip) = book.alloc_solo().unwrap();

        book.release_private(first, ip);
        let (again, _) = book.alloc_solo().unwrap();

        assert_eq!(first, again);
    }

    #[test]
    fn dropping_a_new_cluster_frees_its_subnet() {
        let mut book = book();
        book.cluster("gone").unwrap();

        book.drop_last_cluster();
        let (i, _) = book.cluster("next").unwrap();

        assert_eq!(book.find_cluster("gone"), None);
        assert_eq!(book.subnet(NetRef::Cluster(i)).to_string(), "10.0.0.0/24");
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
        let (x, _) = book.cluster("x").unwrap();
        book.alloc_private(NetRef::Cluster(x)).unwrap();
        book.alloc_solo().unwrap();
        book.alloc_public().unwrap();

        let json = serde_json::to_string(&book).unwrap();
        let mut back: Addresses = serde_json::from_str(&json).unwrap();
        back.reindex();

        assert_eq!(back, book);
        assert_eq!(back.find_cluster("x"), Some(0));
        assert!(Addresses::new(30, Vec::new()).is_err());
    }
}
