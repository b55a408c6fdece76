//! A network model of clusters and instances that answers "would this flow be delivered?".

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    net::IpAddr,
};

use compute_types::{Direction, Error, ErrorKind, FirewallRules, Result};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::{
    cidr::{self, canonical_addr},
    flow::{Decision, Flow, Reach, Reason},
    hosts::{DEFAULT_RESERVED_HOSTS, HostAllocator},
    lint::{Finding, lint_addressed},
    plan::ClusterSubnets,
    policy::{ClusterContext, Policy},
};

/// What to register an instance with; see [`Network::add_instance`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSpec {
    /// The instance's id (the provider's instance id, say).
    pub id: String,
    /// The name of its cluster.
    pub cluster: String,
    /// Private addresses; when none of a family the cluster has is given, one is allocated.
    pub private_ips: Vec<IpAddr>,
    /// A public address, outside every cluster subnet.
    pub public_ip: Option<IpAddr>,
    /// Its firewall rules.
    pub rules: FirewallRules,
}

impl InstanceSpec {
    /// An instance `id` in `cluster`, with addresses allocated and the secure default rules.
    pub fn new(id: impl Into<String>, cluster: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            cluster: cluster.into(),
            private_ips: Vec::new(),
            public_ip: None,
            rules: FirewallRules::default(),
        }
    }

    /// Adds a private address instead of having one allocated.
    pub fn with_private_ip(mut self, ip: IpAddr) -> Self {
        self.private_ips.push(ip);
        self
    }

    /// Sets the public address.
    pub fn with_public_ip(mut self, ip: IpAddr) -> Self {
        self.public_ip = Some(ip);
        self
    }

    /// Sets the firewall rules.
    pub fn with_rules(mut self, rules: FirewallRules) -> Self {
        self.rules = rules;
        self
    }
}

/// A registered instance, as the network sees it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceInfo {
    /// Its id.
    pub id: String,
    /// Its cluster's name.
    pub cluster: String,
    /// Its private addresses, IPv4 first.
    pub private_ips: Vec<IpAddr>,
    /// Its public address.
    pub public_ip: Option<IpAddr>,
    /// Its firewall rules.
    pub rules: FirewallRules,
}

#[derive(Debug, Clone)]
struct ClusterEntry {
    subnets: ClusterSubnets,
    context: ClusterContext,
    v4_hosts: HostAllocator,
    v6_hosts: Option<HostAllocator>,
}

#[derive(Debug, Clone)]
struct InstanceEntry {
    info: InstanceInfo,
    policy: Policy,
}

/// Clusters and instances with their addresses and compiled firewall policies.
///
/// [`Network::probe`] decides a flow end to end. Instances of one cluster reach each other
/// on everything; other traffic needs the source's egress policy (when the source is a
/// registered instance) and the destination's ingress policy to admit it. Flows from
/// addresses not in the model are checked against the destination's ingress only. A
/// destination may be addressed by a private or its public address; the rules apply alike.
///
/// # Examples
///
/// ```
/// use compute_net::{Flow, InstanceSpec, Network, Reason};
/// use compute_types::FirewallRules;
///
/// let mut net = Network::new();
/// net.add_cluster("train", "10.1.0.0/24".parse().unwrap(), None).unwrap();
/// net.add_cluster("serve", "10.2.0.0/24".parse().unwrap(), None).unwrap();
/// let a = net.add_instance(InstanceSpec::new("i-a", "train")).unwrap();
/// let b = net.add_instance(InstanceSpec::new("i-b", "train")).unwrap();
/// let rules = FirewallRules::from_rules(["tcp:8000@10.1.0.0/24".parse().unwrap()]);
/// let c = net.add_instance(InstanceSpec::new("i-c", "serve").with_rules(rules)).unwrap();
///
/// let peer = net.probe(&Flow::tcp(a.private_ips[0], b.private_ips[0], 29500));
/// assert_eq!(peer.reason, Reason::ClusterInternal);
/// assert!(net.probe(&Flow::tcp(a.private_ips[0], c.private_ips[0], 8000)).allowed);
/// assert!(!net.probe(&Flow::tcp(c.private_ips[0], a.private_ips[0], 22)).allowed);
/// ```
#[derive(Debug, Clone)]
pub struct Network {
    reserved_hosts: u32,
    clusters: BTreeMap<String, ClusterEntry>,
    instances: BTreeMap<String, InstanceEntry>,
    by_addr: HashMap<IpAddr, String>,
}

impl Default for Network {
    fn default() -> Self {
        Self::new()
    }
}

impl Network {
    /// An empty network; clusters keep [`DEFAULT_RESERVED_HOSTS`] addresses back.
    pub fn new() -> Self {
        Self {
            reserved_hosts: DEFAULT_RESERVED_HOSTS,
            clusters: BTreeMap::new(),
            instances: BTreeMap::new(),
            by_addr: HashMap::new(),
        }
    }

    /// Sets how many addresses after the network address clusters added from now on keep
    /// back.
    pub fn with_reserved_hosts(mut self, reserved: u32) -> Self {
        self.reserved_hosts = reserved;
        self
    }

    /// Adds a cluster with an IPv4 subnet and an optional IPv6 /64.
    ///
    /// # Errors
    /// - [`ErrorKind::AlreadyExists`] when the name is taken.
    /// - [`ErrorKind::InvalidRequest`] naming `name` when empty, `ipv4` or `ipv6` when the
    ///   subnet has host bits set, leaves no host addresses, is not a /64 (IPv6), overlaps
    ///   another cluster or holds an instance's public address.
    pub fn add_cluster(&mut self, name: &str, ipv4: Ipv4Net, ipv6: Option<Ipv6Net>) -> Result<()> {
        if self.clusters.contains_key(name) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("cluster `{name}` already exists"),
            ));
        }
        if let Some(v6) = ipv6.filter(|n| n.prefix_len() != 64) {
            return Err(Error::invalid("ipv6", format!("{v6} is not a /64")));
        }
        let subnets = ClusterSubnets::new(ipv4, ipv6);
        for (field, net) in subnets.nets().into_iter().map(|n| (family_field(n), n)) {
            self.check_cluster_subnet(field, net)?;
        }

        let v4_hosts = HostAllocator::new(IpNet::V4(ipv4), self.reserved_hosts)
            .map_err(|e| Error::invalid("ipv4", e.message()))?;
        let v6_hosts = match ipv6 {
            Some(v6) => Some(
                HostAllocator::new(IpNet::V6(v6), self.reserved_hosts)
                    .map_err(|e| Error::invalid("ipv6", e.message()))?,
            ),
            None => None,
        };
        let context = ClusterContext::new(name, subnets.nets())?;
        let entry = ClusterEntry {
            subnets,
            context,
            v4_hosts,
            v6_hosts,
        };
        self.clusters.insert(name.to_owned(), entry);
        Ok(())
    }

    fn check_cluster_subnet(&self, field: &str, net: IpNet) -> Result<()> {
        if cidr::has_host_bits(net) {
            return Err(Error::invalid(
                field,
                format!("{net} has host bits set; write {}", net.trunc()),
            ));
        }
        for (other, entry) in &self.clusters {
            if let Some(taken) = entry
                .subnets
                .nets()
                .into_iter()
                .find(|t| cidr::overlaps(*t, net))
            {
                return Err(Error::invalid(
                    field,
                    format!("{net} overlaps cluster `{other}` ({taken})"),
                ));
            }
        }
        let public = self.instances.values().filter_map(|e| e.info.public_ip);
        if let Some(ip) = public.into_iter().find(|ip| net.contains(ip)) {
            return Err(Error::invalid(
                field,
                format!("{net} holds the public address {ip} of an instance"),
            ));
        }
        Ok(())
    }

    /// Removes a cluster and its instances; returns the ids of the instances removed.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when there is no such cluster.
    pub fn remove_cluster(&mut self, name: &str) -> Result<Vec<String>> {
        if !self.clusters.contains_key(name) {
            return Err(Error::not_found(format!("no cluster `{name}`")));
        }
        let members: Vec<String> = self
            .instances
            .values()
            .filter(|e| e.info.cluster == name)
            .map(|e| e.info.id.clone())
            .collect();
        for id in &members {
            self.remove_instance(id)?;
        }
        self.clusters.remove(name);
        Ok(members)
    }

    /// Returns the subnets of cluster `name`.
    pub fn cluster(&self, name: &str) -> Option<&ClusterSubnets> {
        self.clusters.get(name).map(|e| &e.subnets)
    }

    /// Iterates over the clusters by name.
    pub fn clusters(&self) -> impl Iterator<Item = (&str, &ClusterSubnets)> + '_ {
        self.clusters
            .iter()
            .map(|(name, e)| (name.as_str(), &e.subnets))
    }

    /// Returns the context of cluster `name`, with every other cluster as a peer, for
    /// [`lint`](crate::lint()) and [`Policy::compile`].
    pub fn cluster_context(&self, name: &str) -> Option<ClusterContext> {
        let mut context = self.clusters.get(name)?.context.clone();
        for (other, entry) in self.clusters.iter().filter(|(other, _)| *other != name) {
            // Cluster subnets never overlap, so adding a peer cannot fail here.
            context = context
                .clone()
                .with_peer(other, entry.subnets.nets())
                .unwrap_or(context);
        }
        Some(context)
    }

    /// Registers an instance, allocating the private addresses not given.
    ///
    /// # Errors
    /// - [`ErrorKind::NotFound`] when the cluster does not exist.
    /// - [`ErrorKind::AlreadyExists`] when the id or an address is taken.
    /// - [`ErrorKind::InvalidRequest`] naming `id` when empty, `private_ips` when an address
    ///   is outside the cluster or not a usable host, `public_ip` when it falls inside a
    ///   cluster, or the rule field as [`Policy::compile`].
    /// - [`ErrorKind::CapacityUnavailable`] when the cluster's subnet is full.
    pub fn add_instance(&mut self, spec: InstanceSpec) -> Result<InstanceInfo> {
        if spec.id.trim().is_empty() {
            return Err(Error::invalid("id", "an instance needs an id"));
        }
        if self.instances.contains_key(&spec.id) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("instance `{}` already exists", spec.id),
            ));
        }
        let Some(cluster) = self.clusters.get(&spec.cluster) else {
            return Err(Error::not_found(format!("no cluster `{}`", spec.cluster)));
        };

        // Work on copies of the allocators so that a failure leaves nothing claimed.
        let mut v4_hosts = cluster.v4_hosts.clone();
        let mut v6_hosts = cluster.v6_hosts.clone();
        let private_ips = claim_private(&spec.private_ips, &mut v4_hosts, &mut v6_hosts)?;
        let public_ip = spec.public_ip.map(canonical_addr);
        if let Some(ip) = public_ip {
            self.check_public(&spec.id, ip)?;
        }
        let policy = Policy::compile(&cluster.context, &spec.rules)?;

        let info = InstanceInfo {
            id: spec.id,
            cluster: spec.cluster,
            private_ips,
            public_ip,
            rules: spec.rules,
        };
        if let Some(entry) = self.clusters.get_mut(&info.cluster) {
            entry.v4_hosts = v4_hosts;
            entry.v6_hosts = v6_hosts;
        }
        for ip in info.private_ips.iter().chain(&info.public_ip) {
            self.by_addr.insert(*ip, info.id.clone());
        }
        let entry = InstanceEntry {
            info: info.clone(),
            policy,
        };
        self.instances.insert(info.id.clone(), entry);
        Ok(info)
    }

    fn check_public(&self, id: &str, ip: IpAddr) -> Result<()> {
        if let Some((name, _)) = self
            .clusters
            .iter()
            .find(|(_, e)| e.context.subnets().iter().any(|n| n.contains(&ip)))
        {
            return Err(Error::invalid(
                "public_ip",
                format!("{ip} is inside cluster `{name}`"),
            ));
        }
        match self.by_addr.get(&ip) {
            Some(owner) if owner != id => Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("{ip} is already used by instance `{owner}`"),
            )),
            _ => Ok(()),
        }
    }

    /// Replaces an instance's firewall rules.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when there is no such instance; otherwise as
    /// [`Policy::compile`].
    pub fn set_rules(&mut self, id: &str, rules: FirewallRules) -> Result<()> {
        let entry = self.entry(id)?;
        let context = self
            .clusters
            .get(&entry.info.cluster)
            .map(|c| c.context.clone())
            .unwrap_or_default();
        let policy = Policy::compile(&context, &rules)?;
        if let Some(entry) = self.instances.get_mut(id) {
            entry.policy = policy;
            entry.info.rules = rules;
        }
        Ok(())
    }

    /// Sets or clears an instance's public address.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when there is no such instance, otherwise as
    /// [`Network::add_instance`] for `public_ip`.
    pub fn set_public_ip(&mut self, id: &str, ip: Option<IpAddr>) -> Result<()> {
        let ip = ip.map(canonical_addr);
        let old = self.entry(id)?.info.public_ip;
        if let Some(ip) = ip {
            self.check_public(id, ip)?;
        }
        if let Some(old) = old {
            self.by_addr.remove(&old);
        }
        if let Some(ip) = ip {
            self.by_addr.insert(ip, id.to_owned());
        }
        if let Some(entry) = self.instances.get_mut(id) {
            entry.info.public_ip = ip;
        }
        Ok(())
    }

    /// Removes an instance and frees its addresses.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when there is no such instance.
    pub fn remove_instance(&mut self, id: &str) -> Result<InstanceInfo> {
        let entry = self
            .instances
            .remove(id)
            .ok_or_else(|| Error::not_found(format!("no instance `{id}`")))?;
        for ip in entry.info.private_ips.iter().chain(&entry.info.public_ip) {
            self.by_addr.remove(ip);
        }
        if let Some(cluster) = self.clusters.get_mut(&entry.info.cluster) {
            for ip in &entry.info.private_ips {
                cluster.v4_hosts.release(*ip);
                if let Some(v6) = &mut cluster.v6_hosts {
                    v6.release(*ip);
                }
            }
        }
        Ok(entry.info)
    }

    fn entry(&self, id: &str) -> Result<&InstanceEntry> {
        self.instances
            .get(id)
            .ok_or_else(|| Error::not_found(format!("no instance `{id}`")))
    }

    /// Returns an instance.
    pub fn instance(&self, id: &str) -> Option<&InstanceInfo> {
        self.instances.get(id).map(|e| &e.info)
    }

    /// Iterates over the instances by id.
    pub fn instances(&self) -> impl Iterator<Item = &InstanceInfo> + '_ {
        self.instances.values().map(|e| &e.info)
    }

    /// Returns the instance holding `ip` (private or public).
    pub fn instance_at(&self, ip: IpAddr) -> Option<&InstanceInfo> {
        let id = self.by_addr.get(&canonical_addr(ip))?;
        self.instance(id)
    }

    /// Returns an instance's compiled policy.
    pub fn policy(&self, id: &str) -> Option<&Policy> {
        self.instances.get(id).map(|e| &e.policy)
    }

    /// Lints an instance's rules in its cluster, with every other cluster as a peer and the
    /// instance's own addresses known (see [`lint_addressed`]).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when there is no such instance.
    pub fn lint_instance(&self, id: &str) -> Result<Vec<Finding>> {
        let entry = self.entry(id)?;
        let context = self
            .cluster_context(&entry.info.cluster)
            .unwrap_or_default();
        let mut addrs = entry.info.private_ips.clone();
        addrs.extend(entry.info.public_ip);
        lint_addressed(&context, &entry.info.rules, &addrs)
    }

    /// Decides whether a flow would be delivered.
    ///
    /// In order: an unknown destination is denied with [`Reason::NoSuchDestination`] (after
    /// the source's egress, when the source is ours and its egress denies); two instances
    /// of one cluster get [`Reason::ClusterInternal`]; a source instance's egress denial is
    /// returned as is; otherwise the destination's ingress decides, and its reason is the
    /// one reported. An address that is no instance but lies inside the destination's
    /// cluster subnets counts as a cluster member, as it does for [`Policy::evaluate`].
    pub fn probe(&self, flow: &Flow) -> Decision {
        let src = self
            .by_addr
            .get(&canonical_addr(flow.src))
            .and_then(|id| self.instances.get(id));
        let dst = self
            .by_addr
            .get(&canonical_addr(flow.dst))
            .and_then(|id| self.instances.get(id));

        if let (Some(src), Some(dst)) = (src, dst)
            && src.info.cluster == dst.info.cluster
        {
            return Decision::new(true, Reason::ClusterInternal);
        }
        if let Some(src) = src {
            let egress = src.policy.evaluate(Direction::Egress, flow);
            if !egress.allowed {
                return egress;
            }
        }
        match dst {
            Some(dst) => dst.policy.evaluate(Direction::Ingress, flow),
            None => Decision::new(false, Reason::NoSuchDestination),
        }
    }

    /// Computes which instance reaches which, on which ports, over private addresses.
    ///
    /// `clusters` limits the instances to those clusters; empty means all.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] naming a cluster that does not exist.
    pub fn reachability(&self, clusters: &[&str]) -> Result<ReachabilityMatrix> {
        if let Some(missing) = clusters.iter().find(|c| !self.clusters.contains_key(**c)) {
            return Err(Error::not_found(format!("no cluster `{missing}`")));
        }
        let members: Vec<&InstanceEntry> = self
            .instances
            .values()
            .filter(|e| clusters.is_empty() || clusters.contains(&e.info.cluster.as_str()))
            .collect();

        let mut cells = Vec::with_capacity(members.len() * members.len());
        for from in &members {
            for to in &members {
                cells.push(pair_reach(from, to));
            }
        }
        Ok(ReachabilityMatrix {
            instances: members
                .iter()
                .map(|e| (e.info.id.clone(), e.info.cluster.clone()))
                .collect(),
            cells,
        })
    }
}

fn family_field(net: IpNet) -> &'static str {
    match net {
        IpNet::V4(_) => "ipv4",
        IpNet::V6(_) => "ipv6",
    }
}

/// Claims the given private addresses and allocates one per family that has none.
fn claim_private(
    given: &[IpAddr],
    v4_hosts: &mut HostAllocator,
    v6_hosts: &mut Option<HostAllocator>,
) -> Result<Vec<IpAddr>> {
    let mut out = Vec::new();
    for ip in given.iter().map(|ip| canonical_addr(*ip)) {
        let hosts = match (ip, v6_hosts.as_mut()) {
            (IpAddr::V4(_), _) => &mut *v4_hosts,
            (IpAddr::V6(_), Some(v6)) => v6,
            (IpAddr::V6(_), None) => {
                return Err(Error::invalid(
                    "private_ips",
                    format!("{ip}: the cluster has no ipv6"),
                ));
            }
        };
        hosts.claim(ip).map_err(|e| match e.kind() {
            ErrorKind::InvalidRequest => Error::invalid("private_ips", e.message()),
            _ => e,
        })?;
        out.push(ip);
    }
    if !out.iter().any(IpAddr::is_ipv4) {
        out.push(v4_hosts.allocate()?);
    }
    if let Some(v6) = v6_hosts
        .as_mut()
        .filter(|_| !out.iter().any(IpAddr::is_ipv6))
    {
        out.push(v6.allocate()?);
    }
    out.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    Ok(out)
}

/// What `from` reaches on `to` over their private addresses of a shared family.
fn pair_reach(from: &InstanceEntry, to: &InstanceEntry) -> Reach {
    if from.info.cluster == to.info.cluster {
        return Reach::all();
    }
    let mut reach = Reach::none();
    for src in &from.info.private_ips {
        for dst in to
            .info
            .private_ips
            .iter()
            .filter(|d| d.is_ipv4() == src.is_ipv4())
        {
            let out = from.policy.reach(Direction::Egress, *dst);
            let inbound = to.policy.reach(Direction::Ingress, *src);
            reach = reach.union(&out.intersect(&inbound));
        }
    }
    reach
}

/// Which instance reaches which, on which ports; see [`Network::reachability`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachabilityMatrix {
    /// Instance ids and cluster names, by id.
    instances: Vec<(String, String)>,
    /// Row-major: `cells[from * n + to]`.
    cells: Vec<Reach>,
}

impl ReachabilityMatrix {
    /// Iterates over the instances as `(id, cluster)`, by id.
    pub fn instances(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.instances
            .iter()
            .map(|(id, c)| (id.as_str(), c.as_str()))
    }

    /// Returns the number of instances.
    pub fn len(&self) -> usize {
        self.instances.len()
    }

    /// Returns true when the matrix has no instances.
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// Returns what instance `from` reaches on instance `to`.
    pub fn get(&self, from: &str, to: &str) -> Option<&Reach> {
        let find = |id: &str| self.instances.iter().position(|(i, _)| i == id);
        let (from, to) = (find(from)?, find(to)?);
        self.cells.get(from * self.instances.len() + to)
    }

    /// Iterates over `(from, to, reach)` for every ordered pair of distinct instances.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &Reach)> + '_ {
        let n = self.instances.len();
        self.cells
            .iter()
            .enumerate()
            .filter_map(move |(at, reach)| {
                let (from, to) = (at / n, at % n);
                (from != to).then(|| {
                    (
                        self.instances[from].0.as_str(),
                        self.instances[to].0.as_str(),
                        reach,
                    )
                })
            })
    }
}

impl fmt::Display for ReachabilityMatrix {
    /// One line per ordered pair: `from -> to: tcp:22 icmp`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (from, to, reach) in self.iter() {
            writeln!(f, "{from} -> {to}: {reach}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use compute_types::{FirewallRule, Protocol};

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn rules(texts: &[&str]) -> FirewallRules {
        FirewallRules::from_rules(texts.iter().map(|t| t.parse::<FirewallRule>().unwrap()))
    }

    fn network() -> Network {
        let mut net = Network::new();
        net.add_cluster(
            "a",
            "10.1.0.0/24".parse().unwrap(),
            Some("fd00:1::/64".parse().unwrap()),
        )
        .unwrap();
        net.add_cluster("b", "10.2.0.0/24".parse().unwrap(), None)
            .unwrap();
        net.add_instance(InstanceSpec::new("a1", "a").with_public_ip(ip("198.51.100.1")))
            .unwrap();
        net.add_instance(InstanceSpec::new("a2", "a")).unwrap();
        net.add_instance(
            InstanceSpec::new("b1", "b")
                .with_private_ip(ip("10.2.0.10"))
                .with_public_ip(ip("198.51.100.2"))
                .with_rules(rules(&["tcp:22@0.0.0.0/0", "tcp:8000-8001@10.1.0.0/24"])),
        )
        .unwrap();
        net
    }

    #[test]
    fn addresses_are_allocated_per_family() {
        let net = network();

        let a1 = net.instance("a1").unwrap();
        let a2 = net.instance("a2").unwrap();
        let b1 = net.instance("b1").unwrap();

        assert_eq!(a1.private_ips, [ip("10.1.0.4"), ip("fd00:1::4")]);
        assert_eq!(a2.private_ips, [ip("10.1.0.5"), ip("fd00:1::5")]);
        assert_eq!(b1.private_ips, [ip("10.2.0.10")]);
        assert_eq!(net.instance_at(ip("198.51.100.2")).unwrap().id, "b1");
    }

    #[test]
    fn probe_table() {
        let net = network();
        let cases = [
            (
                Flow::tcp(ip("10.1.0.4"), ip("10.1.0.5"), 1),
                true,
                "cluster internal",
            ),
            (
                Flow::udp(ip("fd00:1::4"), ip("10.1.0.5"), 9),
                true,
                "cluster internal",
            ),
            (
                Flow::tcp(ip("10.1.0.4"), ip("10.2.0.10"), 8001),
                true,
                "rule tcp:8000-8001@10.1.0.0/24",
            ),
            (
                Flow::tcp(ip("10.1.0.4"), ip("198.51.100.2"), 8000),
                true,
                "rule tcp:8000-8001@10.1.0.0/24",
            ),
            (
                Flow::tcp(ip("10.1.0.4"), ip("10.2.0.10"), 8002),
                false,
                "default deny inbound",
            ),
            (
                Flow::tcp(ip("10.2.0.10"), ip("10.1.0.4"), 22),
                false,
                "default deny inbound",
            ),
            (
                Flow::tcp(ip("203.0.113.5"), ip("198.51.100.2"), 22),
                true,
                "rule tcp:22@0.0.0.0/0",
            ),
            (
                Flow::tcp(ip("203.0.113.5"), ip("198.51.100.1"), 22),
                false,
                "default deny inbound",
            ),
            (
                Flow::tcp(ip("10.1.0.4"), ip("1.1.1.1"), 443),
                false,
                "no such destination",
            ),
            (
                Flow::tcp(ip("10.1.0.4"), ip("10.1.0.99"), 443),
                false,
                "no such destination",
            ),
            (
                Flow::icmp(ip("::ffff:10.1.0.4"), ip("10.1.0.5")),
                true,
                "cluster internal",
            ),
        ];

        for (flow, allowed, reason) in cases {
            let got = net.probe(&flow);

            assert_eq!(
                (got.allowed, got.reason.to_string().as_str()),
                (allowed, reason),
                "{flow}"
            );
        }
    }

    #[test]
    fn source_egress_is_checked_first() {
        let mut net = network();
        net.set_rules("a1", rules(&["egress:tcp:22@0.0.0.0/0"]))
            .unwrap();

        let web = net.probe(&Flow::tcp(ip("10.1.0.4"), ip("10.2.0.10"), 8000));
        let ssh = net.probe(&Flow::tcp(ip("10.1.0.4"), ip("10.2.0.10"), 22));
        let peer = net.probe(&Flow::tcp(ip("10.1.0.4"), ip("10.1.0.5"), 8000));

        assert_eq!(
            (web.allowed, web.reason),
            (false, Reason::DefaultDenyOutbound)
        );
        assert!(ssh.allowed);
        assert!(peer.allowed);
    }

    #[test]
    fn changes_and_removals() {
        let mut net = network();

        net.set_public_ip("a2", Some(ip("198.51.100.3"))).unwrap();
        let taken = net
            .set_public_ip("a2", Some(ip("198.51.100.2")))
            .unwrap_err();
        let inside = net.set_public_ip("a2", Some(ip("10.2.0.77"))).unwrap_err();
        let removed = net.remove_instance("a1").unwrap();
        let again = net.add_instance(InstanceSpec::new("a3", "a")).unwrap();
        let gone = net.remove_cluster("b").unwrap();

        assert_eq!(taken.kind(), ErrorKind::AlreadyExists);
        assert_eq!(inside.field(), Some("public_ip"));
        assert_eq!(
            removed.private_ips[0], again.private_ips[0],
            "freed address reused"
        );
        assert_eq!(gone, ["b1"]);
        assert!(net.instance_at(ip("198.51.100.2")).is_none());
        assert_eq!(
            net.probe(&Flow::tcp(ip("203.0.113.5"), ip("198.51.100.3"), 22))
                .reason,
            Reason::DefaultDenyInbound
        );
        assert_eq!(
            net.remove_instance("a1").unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }

    #[test]
    fn bad_input_names_the_field() {
        let mut net = network();

        let cases = [
            (
                net.add_cluster("c", "10.1.0.128/25".parse().unwrap(), None),
                ErrorKind::InvalidRequest,
                Some("ipv4"),
            ),
            (
                net.add_cluster("c", "10.3.0.1/24".parse().unwrap(), None),
                ErrorKind::InvalidRequest,
                Some("ipv4"),
            ),
            (
                net.add_cluster("c", "10.3.0.0/31".parse().unwrap(), None),
                ErrorKind::InvalidRequest,
                Some("ipv4"),
            ),
            (
                net.add_cluster(
                    "c",
                    "10.3.0.0/24".parse().unwrap(),
                    Some("fd00:1::/64".parse().unwrap()),
                ),
                ErrorKind::InvalidRequest,
                Some("ipv6"),
            ),
            (
                net.add_cluster(
                    "c",
                    "10.3.0.0/24".parse().unwrap(),
                    Some("fd00:3::/56".parse().unwrap()),
                ),
                ErrorKind::InvalidRequest,
                Some("ipv6"),
            ),
            (
                net.add_cluster("c", "198.51.100.0/24".parse().unwrap(), None),
                ErrorKind::InvalidRequest,
                Some("ipv4"),
            ),
            (
                net.add_cluster("a", "10.9.0.0/24".parse().unwrap(), None),
                ErrorKind::AlreadyExists,
                None,
            ),
        ];
        for (result, kind, field) in cases {
            let err = result.unwrap_err();
            assert_eq!((err.kind(), err.field()), (kind, field), "{err}");
        }

        let instance_cases = [
            (InstanceSpec::new("a1", "a"), ErrorKind::AlreadyExists, None),
            (InstanceSpec::new("x", "nope"), ErrorKind::NotFound, None),
            (
                InstanceSpec::new("", "a"),
                ErrorKind::InvalidRequest,
                Some("id"),
            ),
            (
                InstanceSpec::new("x", "a").with_private_ip(ip("10.2.0.5")),
                ErrorKind::InvalidRequest,
                Some("private_ips"),
            ),
            (
                InstanceSpec::new("x", "a").with_private_ip(ip("10.1.0.1")),
                ErrorKind::InvalidRequest,
                Some("private_ips"),
            ),
            (
                InstanceSpec::new("x", "a").with_private_ip(ip("10.1.0.4")),
                ErrorKind::AlreadyExists,
                None,
            ),
            (
                InstanceSpec::new("x", "b").with_private_ip(ip("fd00:1::9")),
                ErrorKind::InvalidRequest,
                Some("private_ips"),
            ),
            (
                InstanceSpec::new("x", "a").with_public_ip(ip("198.51.100.2")),
                ErrorKind::AlreadyExists,
                None,
            ),
        ];
        for (spec, kind, field) in instance_cases {
            let err = net.add_instance(spec.clone()).unwrap_err();
            assert_eq!((err.kind(), err.field()), (kind, field), "{spec:?}: {err}");
        }
        assert_eq!(
            net.instances().count(),
            3,
            "failed adds leave nothing behind"
        );
        assert!(
            net.add_instance(InstanceSpec::new("x", "a").with_private_ip(ip("10.1.0.6")))
                .is_ok()
        );
    }

    #[test]
    fn full_subnet_is_capacity_unavailable() {
        let mut net = Network::new().with_reserved_hosts(1);
        net.add_cluster("tiny", "10.9.0.0/30".parse().unwrap(), None)
            .unwrap();
        net.add_instance(InstanceSpec::new("t1", "tiny")).unwrap();

        let err = net
            .add_instance(InstanceSpec::new("t2", "tiny"))
            .unwrap_err();

        assert_eq!(err.kind(), ErrorKind::CapacityUnavailable);
    }

    #[test]
    fn reachability_matrix() {
        let net = network();

        let all = net.reachability(&[]).unwrap();
        let only_a = net.reachability(&["a"]).unwrap();

        assert_eq!(all.len(), 3);
        assert!(all.get("a1", "a2").unwrap().is_all());
        assert_eq!(all.get("a1", "b1").unwrap().to_string(), "tcp:22,8000-8001");
        assert!(all.get("b1", "a1").unwrap().is_none());
        assert_eq!(only_a.iter().count(), 2);
        assert!(all.to_string().contains("a2 -> b1: tcp:22,8000-8001\n"));
        assert_eq!(
            net.reachability(&["zz"]).unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }

    #[test]
    fn reachability_agrees_with_probe() {
        let net = network();
        let matrix = net.reachability(&[]).unwrap();

        for (from, to, reach) in matrix.iter() {
            let src = net.instance(from).unwrap().private_ips[0];
            let dst = net.instance(to).unwrap().private_ips[0];
            for (protocol, port) in [
                (Protocol::Tcp, Some(8000)),
                (Protocol::Tcp, Some(22)),
                (Protocol::Udp, Some(53)),
                (Protocol::Icmp, None),
            ] {
                let probe = net.probe(&Flow::new(src, dst, protocol, port));
                assert_eq!(
                    reach.allows(protocol, port),
                    probe.allowed,
                    "{from} -> {to} {protocol} {port:?}"
                );
            }
        }
    }

    #[test]
    fn lint_and_context_know_the_other_clusters() {
        let mut net = network();
        net.set_rules("a1", rules(&["tcp:80@10.2.0.0/24"])).unwrap();

        let findings = net.lint_instance("a1").unwrap();
        let context = net.cluster_context("a").unwrap();

        assert!(
            findings
                .iter()
                .any(|f| f.code == crate::LintCode::AdmitsCluster)
        );
        assert_eq!(context.peers().len(), 1);
        assert!(net.policy("a1").is_some());
    }
}
