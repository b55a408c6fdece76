//! An instance's effective firewall policy: compiled, indexed evaluation and a linear one.

use std::{fmt, mem::size_of, net::IpAddr, sync::Arc};

use compute_types::{Direction, Error, FirewallRule, FirewallRules, Result};
use ipnet::IpNet;

use crate::{
    cidr::{self, AddrSet, addr_key, canonical_addr, canonical_net},
    flow::{Decision, Flow, Reach, Reason, RuleRef},
    index::{Class, Compiled, NONE, RuleIndex},
};

/// Where an instance sits: its cluster's name and address ranges, and the other clusters.
///
/// Instances of one cluster reach each other on every port and protocol, whatever their
/// rules say; a policy treats every address inside the cluster's subnets as such a peer.
/// Other clusters are isolated unless a rule admits their range; they are listed here so
/// that [`lint`](crate::lint()) can say when a rule does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterContext {
    name: String,
    subnets: Vec<IpNet>,
    peers: Vec<PeerCluster>,
}

/// Another cluster, as seen from a [`ClusterContext`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCluster {
    /// Its name.
    pub name: String,
    /// Its address ranges.
    pub subnets: Vec<IpNet>,
}

impl ClusterContext {
    /// Describes a cluster named `name` with its subnets (typically an IPv4 subnet and an
    /// optional IPv6 /64).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](compute_types::ErrorKind::InvalidRequest) naming `name`
    /// when it is empty, or `subnets` when a subnet has host bits set or two subnets overlap.
    pub fn new(name: impl Into<String>, subnets: impl IntoIterator<Item = IpNet>) -> Result<Self> {
        let name = name.into();
        if name.trim().is_empty() {
            return Err(Error::invalid("name", "a cluster needs a name"));
        }
        let subnets = checked_subnets("subnets", subnets)?;
        Ok(Self {
            name,
            subnets,
            peers: Vec::new(),
        })
    }

    /// An instance in no cluster: nothing is admitted as cluster internal.
    pub fn standalone() -> Self {
        Self::default()
    }

    /// Adds another cluster, for lints.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](compute_types::ErrorKind::InvalidRequest) naming
    /// `peers` when a subnet has host bits set or overlaps this cluster's subnets.
    pub fn with_peer(
        mut self,
        name: impl Into<String>,
        subnets: impl IntoIterator<Item = IpNet>,
    ) -> Result<Self> {
        let name = name.into();
        let subnets = checked_subnets("peers", subnets)?;
        if let Some(&(i, j)) = cidr::overlapping(&self.subnets, &subnets).first() {
            return Err(Error::invalid(
                "peers",
                format!(
                    "cluster `{name}` subnet {} overlaps this cluster's subnet {}",
                    subnets[j], self.subnets[i]
                ),
            ));
        }
        self.peers.push(PeerCluster { name, subnets });
        Ok(self)
    }

    /// Returns the cluster's name (empty for [`ClusterContext::standalone`]).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns the cluster's subnets.
    pub fn subnets(&self) -> &[IpNet] {
        &self.subnets
    }

    /// Returns the other clusters.
    pub fn peers(&self) -> &[PeerCluster] {
        &self.peers
    }

    /// Returns true when the cluster has an IPv6 subnet.
    pub fn has_ipv6(&self) -> bool {
        self.subnets.iter().any(|n| matches!(n, IpNet::V6(_)))
    }
}

/// Validates a list of cluster subnets: canonical and pairwise disjoint.
fn checked_subnets(field: &str, subnets: impl IntoIterator<Item = IpNet>) -> Result<Vec<IpNet>> {
    let subnets: Vec<IpNet> = subnets.into_iter().collect();
    for net in &subnets {
        if cidr::has_host_bits(*net) || canonical_net(*net) != *net {
            return Err(Error::invalid(
                field,
                format!("{net} is not canonical; write {}", canonical_net(*net)),
            ));
        }
    }
    if let Some(&(i, j)) = cidr::overlapping(&subnets, &subnets)
        .iter()
        .find(|(i, j)| i < j)
    {
        return Err(Error::invalid(
            field,
            format!("{} overlaps {}", subnets[i], subnets[j]),
        ));
    }
    Ok(subnets)
}

/// Checks that every rule is well-formed and sits in the list of its direction.
///
/// # Errors
/// [`ErrorKind::InvalidRequest`](compute_types::ErrorKind::InvalidRequest) naming the rule,
/// such as `ingress[2].direction`, `ingress[2].ports` or `egress[0].cidrs`.
pub fn validate_rules(rules: &FirewallRules) -> Result<()> {
    for (list, direction, name) in [
        (&rules.ingress, Direction::Ingress, "ingress"),
        (&rules.egress, Direction::Egress, "egress"),
    ] {
        for (i, rule) in list.iter().enumerate() {
            let field = |part: &str| format!("{name}[{i}].{part}");
            if rule.direction != direction {
                return Err(Error::invalid(
                    field("direction"),
                    format!("`{rule}` sits in the {name} list"),
                ));
            }
            if rule.protocol.has_ports() != rule.ports.is_some() {
                return Err(Error::invalid(
                    field("ports"),
                    format!("`{rule}`: tcp and udp rules take ports, others none"),
                ));
            }
            if rule.cidrs.is_empty() {
                return Err(Error::invalid(
                    field("cidrs"),
                    "at least one range is required",
                ));
            }
        }
    }
    if rules.len() >= NONE as usize {
        return Err(Error::invalid("rules", "too many rules"));
    }
    Ok(())
}

/// Turns rules into the matcher's form, canonicalising networks.
pub(crate) fn compile_rules(rules: &[FirewallRule]) -> Vec<Compiled> {
    rules
        .iter()
        .map(|rule| Compiled {
            protocol: rule.protocol,
            ports: rule.ports.map(|p| (p.from(), p.to())),
            nets: rule.cidrs.iter().map(|n| canonical_net(*n)).collect(),
        })
        .collect()
}

/// The part of a policy both evaluators share: the cluster and the rules as given.
#[derive(Clone)]
struct Base {
    context: ClusterContext,
    cluster: AddrSet,
    ingress: Arc<[FirewallRule]>,
    egress: Arc<[FirewallRule]>,
}

impl Base {
    fn new(context: &ClusterContext, rules: &FirewallRules) -> Result<Self> {
        validate_rules(rules)?;
        Ok(Self {
            context: context.clone(),
            cluster: AddrSet::from_nets(context.subnets.iter().copied()),
            ingress: rules.ingress.clone().into(),
            egress: rules.egress.clone().into(),
        })
    }

    fn rules(&self, direction: Direction) -> &Arc<[FirewallRule]> {
        match direction {
            Direction::Egress => &self.egress,
            _ => &self.ingress,
        }
    }

    /// Decides a flow, asking `first` for the first matching rule index of a direction.
    fn decide(
        &self,
        direction: Direction,
        flow: &Flow,
        first: impl FnOnce(Class, u32, IpAddr) -> u32,
    ) -> Decision {
        let peer = canonical_addr(flow.peer(direction));
        if self.cluster.contains_addr(peer) {
            return Decision::new(true, Reason::ClusterInternal);
        }
        let rules = self.rules(direction);
        let egress = direction == Direction::Egress;
        if egress && rules.is_empty() {
            return Decision::new(true, Reason::DefaultAllowOutbound);
        }

        let port = flow.port.map_or(0, u32::from);
        match first(Class::of(flow.protocol), port, peer) {
            NONE if egress => Decision::new(false, Reason::DefaultDenyOutbound),
            NONE => Decision::new(false, Reason::DefaultDenyInbound),
            i => Decision::new(true, Reason::Rule(RuleRef::new(Arc::clone(rules), i))),
        }
    }

    /// What the direction admits to or from `peer`, rule by rule.
    fn reach(&self, direction: Direction, peer: IpAddr) -> Reach {
        let peer = canonical_addr(peer);
        if self.cluster.contains_addr(peer) {
            return Reach::all();
        }
        let rules = self.rules(direction);
        if direction == Direction::Egress && rules.is_empty() {
            return Reach::all();
        }
        let mut reach = Reach::none();
        for rule in rules.iter() {
            if rule.cidrs.iter().any(|n| canonical_net(*n).contains(&peer)) {
                reach.add_rule(rule);
            }
        }
        reach
    }

    fn heap_bytes(&self) -> usize {
        let rules = |list: &[FirewallRule]| -> usize {
            list.iter()
                .map(|r| {
                    size_of::<FirewallRule>()
                        + r.cidrs.capacity() * size_of::<IpNet>()
                        + r.id.as_ref().map_or(0, |id| id.as_str().len())
                })
                .sum()
        };
        // Each `Arc<[T]>` also holds two reference counts.
        rules(&self.ingress) + rules(&self.egress) + 4 * size_of::<usize>()
    }
}

/// An instance's compiled firewall policy, evaluated with an index in `O(log n)`.
///
/// The model: inbound traffic is denied unless a rule admits it; outbound traffic is allowed
/// while the egress list is empty, and once it has rules, exactly what they admit leaves.
/// Addresses inside the instance's cluster are admitted both ways on everything. When
/// several rules admit a flow, the decision names the first in list order.
///
/// # Examples
///
/// ```
/// use compute_net::{ClusterContext, Flow, Policy, Reason};
/// use compute_types::{Direction, FirewallRules};
///
/// let cluster = ClusterContext::new("train", ["10.1.0.0/24".parse().unwrap()]).unwrap();
/// let rules = FirewallRules::from_rules(["tcp:22@203.0.113.0/24".parse().unwrap()]);
/// let policy = Policy::compile(&cluster, &rules).unwrap();
///
/// let ssh = Flow::tcp("203.0.113.9".parse().unwrap(), "10.1.0.5".parse().unwrap(), 22);
/// assert!(policy.evaluate(Direction::Ingress, &ssh).allowed);
///
/// let peer = Flow::tcp("10.1.0.6".parse().unwrap(), "10.1.0.5".parse().unwrap(), 29500);
/// assert_eq!(policy.evaluate(Direction::Ingress, &peer).reason, Reason::ClusterInternal);
/// ```
#[derive(Clone)]
pub struct Policy {
    base: Base,
    ingress: RuleIndex,
    egress: RuleIndex,
}

impl Policy {
    /// Compiles the policy of an instance in `context` with `rules`.
    ///
    /// CIDRs with host bits set are read as their network (see [`normalize`](crate::normalize())
    /// to report them); duplicates are harmless here.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](compute_types::ErrorKind::InvalidRequest) as
    /// [`validate_rules`].
    pub fn compile(context: &ClusterContext, rules: &FirewallRules) -> Result<Self> {
        let base = Base::new(context, rules)?;
        let ingress = RuleIndex::build(&compile_rules(&base.ingress));
        let egress = RuleIndex::build(&compile_rules(&base.egress));
        Ok(Self {
            base,
            ingress,
            egress,
        })
    }

    /// Decides a flow as seen by this instance in `direction`: for ingress the flow's source
    /// is the peer, for egress its destination. The other address is not checked.
    pub fn evaluate(&self, direction: Direction, flow: &Flow) -> Decision {
        let index = match direction {
            Direction::Egress => &self.egress,
            _ => &self.ingress,
        };
        self.base.decide(direction, flow, |class, port, peer| {
            let (family, value) = addr_key(peer);
            index.first_match(class, port, family, value)
        })
    }

    /// Returns what this instance admits from (ingress) or to (egress) `peer`.
    pub fn reach(&self, direction: Direction, peer: IpAddr) -> Reach {
        self.base.reach(direction, peer)
    }

    /// Returns the cluster the policy was compiled for.
    pub fn context(&self) -> &ClusterContext {
        &self.base.context
    }

    /// Returns the rules of `direction`, as given.
    pub fn rules(&self, direction: Direction) -> &[FirewallRule] {
        self.base.rules(direction)
    }

    /// Returns the rules as given, both directions.
    pub fn firewall_rules(&self) -> FirewallRules {
        let mut rules = FirewallRules::default();
        rules.ingress = self.base.ingress.to_vec();
        rules.egress = self.base.egress.to_vec();
        rules
    }

    /// Estimates the heap bytes the policy holds, from its vectors' capacities: the rules as
    /// given and the index. Allocator overhead is not counted.
    pub fn heap_bytes(&self) -> usize {
        let context = self.base.context.subnets.capacity() * size_of::<IpNet>();
        self.base.heap_bytes() + context + self.ingress.heap_bytes() + self.egress.heap_bytes()
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("cluster", &self.base.context.name)
            .field("ingress_rules", &self.base.ingress.len())
            .field("egress_rules", &self.base.egress.len())
            .finish_non_exhaustive()
    }
}

/// The same policy as [`Policy`], evaluated by scanning the rules in order.
///
/// It exists as a reference for tests and benchmarks; prefer [`Policy`].
#[derive(Clone)]
pub struct NaivePolicy {
    base: Base,
    ingress: Vec<Compiled>,
    egress: Vec<Compiled>,
}

impl NaivePolicy {
    /// Prepares the policy of an instance in `context` with `rules`.
    ///
    /// # Errors
    /// As [`Policy::compile`].
    pub fn new(context: &ClusterContext, rules: &FirewallRules) -> Result<Self> {
        let base = Base::new(context, rules)?;
        let ingress = compile_rules(&base.ingress);
        let egress = compile_rules(&base.egress);
        Ok(Self {
            base,
            ingress,
            egress,
        })
    }

    /// Decides a flow as [`Policy::evaluate`] does, in time linear in the rules.
    pub fn evaluate(&self, direction: Direction, flow: &Flow) -> Decision {
        let rules = match direction {
            Direction::Egress => &self.egress,
            _ => &self.ingress,
        };
        self.base.decide(direction, flow, |class, port, peer| {
            rules
                .iter()
                .position(|rule| rule.matches(class, port, peer))
                .map_or(NONE, |i| i as u32)
        })
    }

    /// Estimates the heap bytes held, as [`Policy::heap_bytes`] does.
    pub fn heap_bytes(&self) -> usize {
        let compiled = |list: &Vec<Compiled>| -> usize {
            list.capacity() * size_of::<Compiled>()
                + list.iter().map(Compiled::heap_bytes).sum::<usize>()
        };
        self.base.heap_bytes() + compiled(&self.ingress) + compiled(&self.egress)
    }
}

impl fmt::Debug for NaivePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NaivePolicy")
            .field("cluster", &self.base.context.name)
            .field("ingress_rules", &self.base.ingress.len())
            .field("egress_rules", &self.base.egress.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use compute_types::{ErrorKind, Protocol};

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn net(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    fn rules(texts: &[&str]) -> FirewallRules {
        FirewallRules::from_rules(texts.iter().map(|t| t.parse::<FirewallRule>().unwrap()))
    }

    fn cluster() -> ClusterContext {
        ClusterContext::new("a", [net("10.1.0.0/24"), net("fd00:1::/64")]).unwrap()
    }

    fn both(rules: &FirewallRules) -> (Policy, NaivePolicy) {
        (
            Policy::compile(&cluster(), rules).unwrap(),
            NaivePolicy::new(&cluster(), rules).unwrap(),
        )
    }

    #[test]
    fn table_of_edge_cases() {
        let set = rules(&[
            "tcp:22@203.0.113.7/32",
            "tcp:1@0.0.0.0/0",
            "udp:65535@::/0",
            "tcp:443@2001:db8::1/128",
            "icmp@198.51.100.0/24",
            "egress:tcp:443@0.0.0.0/0",
        ]);
        let (policy, naive) = both(&set);
        let me = ip("10.1.0.5");
        let cases = [
            (
                Direction::Ingress,
                Flow::tcp(ip("203.0.113.7"), me, 22),
                true,
            ),
            (
                Direction::Ingress,
                Flow::tcp(ip("203.0.113.8"), me, 22),
                false,
            ),
            (
                Direction::Ingress,
                Flow::tcp(ip("::ffff:203.0.113.7"), me, 22),
                true,
            ),
            (Direction::Ingress, Flow::tcp(ip("8.8.8.8"), me, 1), true),
            (Direction::Ingress, Flow::tcp(ip("8.8.8.8"), me, 2), false),
            (
                Direction::Ingress,
                Flow::udp(ip("2001:db8::9"), me, 65535),
                true,
            ),
            (
                Direction::Ingress,
                Flow::udp(ip("8.8.8.8"), me, 65535),
                false,
            ),
            (
                Direction::Ingress,
                Flow::tcp(ip("2001:db8::1"), me, 443),
                true,
            ),
            (
                Direction::Ingress,
                Flow::tcp(ip("2001:db8::2"), me, 443),
                false,
            ),
            (
                Direction::Ingress,
                Flow::icmp(ip("198.51.100.200"), me),
                true,
            ),
            (
                Direction::Ingress,
                Flow::tcp(ip("198.51.100.200"), me, 1),
                true,
            ),
            (
                Direction::Ingress,
                Flow::new(ip("8.8.8.8"), me, Protocol::Tcp, None),
                false,
            ),
            (
                Direction::Ingress,
                Flow::tcp(ip("10.1.0.9"), me, 9999),
                true,
            ),
            (
                Direction::Ingress,
                Flow::tcp(ip("fd00:1::9"), me, 9999),
                true,
            ),
            (Direction::Egress, Flow::tcp(me, ip("1.1.1.1"), 443), true),
            (Direction::Egress, Flow::tcp(me, ip("1.1.1.1"), 80), false),
            (Direction::Egress, Flow::udp(me, ip("10.1.0.7"), 53), true),
        ];

        for (direction, flow, want) in cases {
            let got = policy.evaluate(direction, &flow);
            let slow = naive.evaluate(direction, &flow);

            assert_eq!(got.allowed, want, "{direction:?} {flow}: {got}");
            assert_eq!(got, slow, "{direction:?} {flow}");
        }
    }

    #[test]
    fn reasons_name_rule_cluster_and_defaults() {
        let mut set = rules(&["tcp:22@0.0.0.0/0"]);
        set.ingress[0].id = Some("fw-1".parse().unwrap());
        let policy = Policy::compile(&cluster(), &set).unwrap();
        let me = ip("10.1.0.5");

        let ssh = policy.evaluate(Direction::Ingress, &Flow::tcp(ip("1.2.3.4"), me, 22));
        let web = policy.evaluate(Direction::Ingress, &Flow::tcp(ip("1.2.3.4"), me, 80));
        let out = policy.evaluate(Direction::Egress, &Flow::tcp(me, ip("1.2.3.4"), 80));
        let peer = policy.evaluate(Direction::Ingress, &Flow::tcp(ip("10.1.0.6"), me, 80));

        assert_eq!(ssh.to_string(), "allow: rule fw-1");
        assert_eq!(web.to_string(), "deny: default deny inbound");
        assert_eq!(out.to_string(), "allow: default allow outbound");
        assert_eq!(peer.to_string(), "allow: cluster internal");
        match ssh.reason {
            Reason::Rule(rule) => {
                assert_eq!((rule.index(), rule.direction()), (0, Direction::Ingress))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rule_without_id_shows_its_text_and_first_match_wins() {
        let policy = Policy::compile(
            &cluster(),
            &rules(&["tcp:80-90@10.0.0.0/8", "tcp:80@10.9.0.1/32"]),
        )
        .unwrap();

        let got = policy.evaluate(
            Direction::Ingress,
            &Flow::tcp(ip("10.9.0.1"), ip("10.1.0.5"), 80),
        );

        assert_eq!(got.reason.to_string(), "rule tcp:80-90@10.0.0.0/8");
    }

    #[test]
    fn egress_rules_replace_the_default_allow() {
        let policy = Policy::compile(&cluster(), &rules(&["egress:udp:53@10.0.0.2/32"])).unwrap();
        let me = ip("10.1.0.5");

        let dns = policy.evaluate(Direction::Egress, &Flow::udp(me, ip("10.0.0.2"), 53));
        let web = policy.evaluate(Direction::Egress, &Flow::tcp(me, ip("1.1.1.1"), 443));

        assert!(dns.allowed);
        assert_eq!(web.reason, Reason::DefaultDenyOutbound);
        assert!(!web.allowed);
    }

    #[test]
    fn host_bits_are_read_as_the_network() {
        let policy = Policy::compile(&cluster(), &rules(&["tcp:22@192.0.2.77/24"])).unwrap();

        let got = policy.evaluate(
            Direction::Ingress,
            &Flow::tcp(ip("192.0.2.1"), ip("10.1.0.5"), 22),
        );

        assert!(got.allowed);
    }

    #[test]
    fn misplaced_and_malformed_rules_are_invalid() {
        let mut set = rules(&["tcp:22@0.0.0.0/0"]);
        set.egress.push(set.ingress[0].clone());
        let mut no_ports = rules(&["tcp:22@0.0.0.0/0"]);
        no_ports.ingress[0].ports = None;
        let mut no_cidrs = rules(&["icmp@0.0.0.0/0"]);
        no_cidrs.ingress[0].cidrs.clear();

        let cases = [
            (set, "egress[0].direction"),
            (no_ports, "ingress[0].ports"),
            (no_cidrs, "ingress[0].cidrs"),
        ];

        for (set, field) in cases {
            let err = Policy::compile(&cluster(), &set).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidRequest);
            assert_eq!(err.field(), Some(field));
        }
    }

    #[test]
    fn bad_rule_text_names_the_field_and_nothing_panics() {
        let cases = [
            ("tcp:2000-1000@10.0.0.0/8", "ports"),
            ("tcp:0@10.0.0.0/8", "ports.from"),
            ("tcp:1-65536@10.0.0.0/8", "ports.to"),
            ("tcp:22@10.0.0.0/33", "cidr"),
            ("tcp:22@10.0.0.300/24", "cidr"),
            ("tcp:22@2001:db8::/129", "cidr"),
        ];

        for (text, field) in cases {
            let err = text.parse::<FirewallRule>().unwrap_err();

            assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{text}");
            assert_eq!(err.field(), Some(field), "{text}");
        }
    }

    #[test]
    fn cluster_context_validation() {
        let host_bits = ClusterContext::new("a", [net("10.1.0.1/24")]).unwrap_err();
        let overlap =
            ClusterContext::new("a", [net("10.1.0.0/24"), net("10.1.0.0/16")]).unwrap_err();
        let peer = cluster()
            .with_peer("b", [net("10.1.0.128/25")])
            .unwrap_err();
        let unnamed = ClusterContext::new(" ", [net("10.1.0.0/24")]).unwrap_err();

        assert_eq!(host_bits.field(), Some("subnets"));
        assert_eq!(overlap.field(), Some("subnets"));
        assert_eq!(peer.field(), Some("peers"));
        assert_eq!(unnamed.field(), Some("name"));
        assert!(cluster().has_ipv6());
        assert!(!ClusterContext::standalone().has_ipv6());
    }

    #[test]
    fn reach_lists_ports_per_protocol() {
        let policy = Policy::compile(
            &cluster(),
            &rules(&[
                "tcp:22@0.0.0.0/0",
                "tcp:80-81@1.2.3.0/24",
                "udp:53@1.2.3.4/32",
                "icmp@::/0",
            ]),
        )
        .unwrap();

        let from_net = policy.reach(Direction::Ingress, ip("1.2.3.4"));
        let from_v6 = policy.reach(Direction::Ingress, ip("2001:db8::1"));
        let out = policy.reach(Direction::Egress, ip("1.2.3.4"));

        assert_eq!(from_net.to_string(), "tcp:22,80-81 udp:53");
        assert_eq!(from_v6.to_string(), "icmp");
        assert!(out.is_all());
    }

    #[test]
    fn heap_bytes_grow_with_rules() {
        let small = Policy::compile(&cluster(), &rules(&["tcp:22@0.0.0.0/0"])).unwrap();
        let big = Policy::compile(
            &cluster(),
            &rules(&[
                "tcp:22@0.0.0.0/0",
                "tcp:80@10.0.0.0/8",
                "udp:53@192.0.2.0/24",
            ]),
        )
        .unwrap();

        assert!(small.heap_bytes() > 0);
        assert!(big.heap_bytes() > small.heap_bytes());
        assert!(format!("{big:?}").contains("ingress_rules: 3"));
    }
}
