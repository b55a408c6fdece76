//! Flows, decisions with their reasons, and the port and protocol sets a policy admits.

use std::{fmt, net::IpAddr, sync::Arc};

use compute_types::{Direction, FirewallRule, FirewallRuleId, PortRange, Protocol};

/// One packet flow: source, destination, protocol and destination port.
///
/// `port` is the destination port for TCP and UDP and is ignored for ICMP. A TCP or UDP flow
/// without a port (or with port 0) matches only `all` rules. [`Protocol::All`] in a flow
/// stands for an IP protocol other than TCP, UDP and ICMP (GRE, say); only `all` rules
/// match it. IPv4-mapped IPv6 addresses are treated as the IPv4 address they map.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flow {
    /// Where the packet comes from.
    pub src: IpAddr,
    /// Where the packet goes.
    pub dst: IpAddr,
    /// Its protocol.
    pub protocol: Protocol,
    /// Its destination port, for TCP and UDP.
    pub port: Option<u16>,
}

impl Flow {
    /// Creates a flow.
    pub fn new(src: IpAddr, dst: IpAddr, protocol: Protocol, port: Option<u16>) -> Self {
        Self {
            src,
            dst,
            protocol,
            port,
        }
    }

    /// A TCP flow to `port`.
    pub fn tcp(src: IpAddr, dst: IpAddr, port: u16) -> Self {
        Self::new(src, dst, Protocol::Tcp, Some(port))
    }

    /// A UDP flow to `port`.
    pub fn udp(src: IpAddr, dst: IpAddr, port: u16) -> Self {
        Self::new(src, dst, Protocol::Udp, Some(port))
    }

    /// An ICMP (or ICMPv6) flow.
    pub fn icmp(src: IpAddr, dst: IpAddr) -> Self {
        Self::new(src, dst, Protocol::Icmp, None)
    }

    /// Returns the address on the far side for a policy of `direction`: the source for
    /// ingress, the destination for egress.
    pub fn peer(&self, direction: Direction) -> IpAddr {
        match direction {
            Direction::Egress => self.dst,
            _ => self.src,
        }
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} -> {}", self.protocol, self.src, self.dst)?;
        match self.port {
            Some(port) if self.protocol.has_ports() => write!(f, ":{port}"),
            _ => Ok(()),
        }
    }
}

/// Whether a flow is delivered, and why.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// True when the flow is delivered.
    pub allowed: bool,
    /// What decided it.
    pub reason: Reason,
}

impl Decision {
    /// Creates a decision.
    pub fn new(allowed: bool, reason: Reason) -> Self {
        Self { allowed, reason }
    }

    /// Returns true when the flow is delivered.
    pub fn is_allowed(&self) -> bool {
        self.allowed
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.allowed { "allow" } else { "deny" };
        write!(f, "{verdict}: {}", self.reason)
    }
}

/// What decided a flow.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A firewall rule admitted the flow (the first matching rule in list order).
    Rule(RuleRef),
    /// Source and destination are in the same cluster, which reaches itself on everything.
    ClusterInternal,
    /// No ingress rule admitted the flow.
    DefaultDenyInbound,
    /// The instance has no egress rules, so all outbound traffic is allowed.
    DefaultAllowOutbound,
    /// The instance has egress rules and none admitted the flow: a non-empty egress list
    /// replaces the default allow with exactly what it admits.
    DefaultDenyOutbound,
    /// The destination is no known instance address.
    NoSuchDestination,
}

impl Reason {
    /// Returns a short snake_case name of the variant, for logs and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Rule(_) => "rule",
            Self::ClusterInternal => "cluster_internal",
            Self::DefaultDenyInbound => "default_deny_inbound",
            Self::DefaultAllowOutbound => "default_allow_outbound",
            Self::DefaultDenyOutbound => "default_deny_outbound",
            Self::NoSuchDestination => "no_such_destination",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rule(rule) => write!(f, "rule {rule}"),
            Self::ClusterInternal => f.write_str("cluster internal"),
            Self::DefaultDenyInbound => f.write_str("default deny inbound"),
            Self::DefaultAllowOutbound => f.write_str("default allow outbound"),
            Self::DefaultDenyOutbound => {
                f.write_str("default deny outbound (egress rules present, none matched)")
            }
            Self::NoSuchDestination => f.write_str("no such destination"),
        }
    }
}

/// A cheap handle to the rule that matched a flow.
///
/// Cloning it bumps a reference count; it keeps the policy's rule list alive. `Display`
/// prints the rule's id when it has one, else its compact text (`tcp:22@10.0.0.0/8`).
#[derive(Clone)]
pub struct RuleRef {
    rules: Arc<[FirewallRule]>,
    index: u32,
}

impl RuleRef {
    /// Wraps position `index` of `rules`; `index` must be in range.
    pub(crate) fn new(rules: Arc<[FirewallRule]>, index: u32) -> Self {
        debug_assert!((index as usize) < rules.len());
        Self { rules, index }
    }

    /// Returns the rule as it was given to the policy.
    pub fn rule(&self) -> &FirewallRule {
        &self.rules[self.index as usize]
    }

    /// Returns the rule's position in its direction's list.
    pub fn index(&self) -> usize {
        self.index as usize
    }

    /// Returns the rule's direction.
    pub fn direction(&self) -> Direction {
        self.rule().direction
    }

    /// Returns the rule's provider id, when it has one.
    pub fn id(&self) -> Option<&FirewallRuleId> {
        self.rule().id.as_ref()
    }
}

impl PartialEq for RuleRef {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index && self.rule() == other.rule()
    }
}

impl Eq for RuleRef {}

impl fmt::Debug for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleRef")
            .field("index", &self.index)
            .field("rule", &self.rule().to_string())
            .field("id", &self.id())
            .finish()
    }
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id() {
            Some(id) => write!(f, "{id}"),
            None => write!(f, "{}", self.rule()),
        }
    }
}

/// A set of ports, as sorted, disjoint, non-adjacent ranges inside `1..=65535`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PortSet {
    ranges: Vec<PortRange>,
}

impl PortSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every port, `1-65535`.
    pub fn all() -> Self {
        Self {
            ranges: vec![PortRange::ALL],
        }
    }

    /// Returns the ranges, sorted.
    pub fn ranges(&self) -> &[PortRange] {
        &self.ranges
    }

    /// Returns true when no port is in the set.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Returns true when every port is in the set.
    pub fn is_all(&self) -> bool {
        self.ranges == [PortRange::ALL]
    }

    /// Returns true when `port` is in the set.
    pub fn contains(&self, port: u16) -> bool {
        let at = self.ranges.partition_point(|r| r.from() <= port);
        at > 0 && self.ranges[at - 1].contains(port)
    }

    /// Adds a range, merging it with overlapping and adjacent ones.
    pub fn insert(&mut self, range: PortRange) {
        self.ranges.push(range);
        self.ranges.sort_unstable();
        let mut merged: Vec<PortRange> = Vec::with_capacity(self.ranges.len());
        for r in self.ranges.drain(..) {
            match merged.last_mut() {
                Some(last) if u32::from(r.from()) <= u32::from(last.to()) + 1 => {
                    let to = last.to().max(r.to());
                    *last = port_range(last.from(), to);
                }
                _ => merged.push(r),
            }
        }
        self.ranges = merged;
    }

    /// Returns the ports in both sets.
    pub fn intersect(&self, other: &Self) -> Self {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a, b) = (self.ranges[i], other.ranges[j]);
            let (from, to) = (a.from().max(b.from()), a.to().min(b.to()));
            if from <= to {
                out.push(port_range(from, to));
            }
            if a.to() < b.to() { i += 1 } else { j += 1 }
        }
        Self { ranges: out }
    }

    /// Returns the ports in either set.
    pub fn union(&self, other: &Self) -> Self {
        let mut out = self.clone();
        for r in &other.ranges {
            out.insert(*r);
        }
        out
    }
}

impl FromIterator<PortRange> for PortSet {
    fn from_iter<I: IntoIterator<Item = PortRange>>(iter: I) -> Self {
        let mut set = Self::new();
        for r in iter {
            set.insert(r);
        }
        set
    }
}

impl fmt::Display for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// Builds a range from bounds already known to be valid (`1 <= from <= to`).
pub(crate) fn port_range(from: u16, to: u16) -> PortRange {
    PortRange::new(u32::from(from), u32::from(to)).unwrap_or(PortRange::ALL)
}

/// What one side admits to or from one peer: ports per protocol.
///
/// `other` means an `all` rule (or the cluster, or the default allow) admits every
/// protocol; then `tcp` and `udp` hold every port and `icmp` is true as well.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Reach {
    /// TCP ports admitted.
    pub tcp: PortSet,
    /// UDP ports admitted.
    pub udp: PortSet,
    /// True when ICMP is admitted.
    pub icmp: bool,
    /// True when every protocol is admitted, including ones other than TCP, UDP and ICMP.
    pub other: bool,
}

impl Reach {
    /// Nothing admitted.
    pub fn none() -> Self {
        Self::default()
    }

    /// Everything admitted.
    pub fn all() -> Self {
        Self {
            tcp: PortSet::all(),
            udp: PortSet::all(),
            icmp: true,
            other: true,
        }
    }

    /// Returns true when nothing is admitted.
    pub fn is_none(&self) -> bool {
        self.tcp.is_empty() && self.udp.is_empty() && !self.icmp && !self.other
    }

    /// Returns true when everything is admitted.
    pub fn is_all(&self) -> bool {
        self.other
    }

    /// Returns true when a flow of `protocol` to `port` is admitted, by the rules
    /// [`Flow`] documents.
    pub fn allows(&self, protocol: Protocol, port: Option<u16>) -> bool {
        match protocol {
            Protocol::Tcp => self.other || port.is_some_and(|p| self.tcp.contains(p)),
            Protocol::Udp => self.other || port.is_some_and(|p| self.udp.contains(p)),
            Protocol::Icmp => self.icmp,
            _ => self.other,
        }
    }

    /// Adds what one rule admits.
    pub fn add_rule(&mut self, rule: &FirewallRule) {
        match (rule.protocol, rule.ports) {
            (Protocol::Tcp, Some(ports)) => self.tcp.insert(ports),
            (Protocol::Udp, Some(ports)) => self.udp.insert(ports),
            (Protocol::Icmp, _) => self.icmp = true,
            (Protocol::All, _) => *self = Self::all(),
            _ => {}
        }
    }

    /// Returns what both admit.
    pub fn intersect(&self, other: &Self) -> Self {
        Self {
            tcp: self.tcp.intersect(&other.tcp),
            udp: self.udp.intersect(&other.udp),
            icmp: self.icmp && other.icmp,
            other: self.other && other.other,
        }
    }

    /// Returns what either admits.
    pub fn union(&self, other: &Self) -> Self {
        if self.other || other.other {
            return Self::all();
        }
        Self {
            tcp: self.tcp.union(&other.tcp),
            udp: self.udp.union(&other.udp),
            icmp: self.icmp || other.icmp,
            other: false,
        }
    }
}

impl fmt::Display for Reach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.other {
            return f.write_str("all");
        }
        if self.is_none() {
            return f.write_str("none");
        }
        let mut parts = Vec::new();
        if !self.tcp.is_empty() {
            parts.push(format!("tcp:{}", self.tcp));
        }
        if !self.udp.is_empty() {
            parts.push(format!("udp:{}", self.udp));
        }
        if self.icmp {
            parts.push("icmp".to_owned());
        }
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(from: u16, to: u16) -> PortRange {
        port_range(from, to)
    }

    #[test]
    fn port_set_merges_adjacent_and_overlapping() {
        let set: PortSet = [range(80, 90), range(91, 100), range(1, 1), range(85, 95)]
            .into_iter()
            .collect();

        assert_eq!(set.ranges(), [range(1, 1), range(80, 100)]);
        assert!(set.contains(1) && set.contains(100) && !set.contains(101) && !set.contains(2));
        assert_eq!(set.to_string(), "1,80-100");
    }

    #[test]
    fn port_set_edges() {
        let all = PortSet::all();
        let top: PortSet = [range(65535, 65535)].into_iter().collect();

        assert!(all.contains(1) && all.contains(65535) && !all.contains(0));
        assert_eq!(all.intersect(&top), top);
        assert!(all.union(&top).is_all());
    }

    #[test]
    fn port_set_intersection() {
        let a: PortSet = [range(1, 10), range(20, 30)].into_iter().collect();
        let b: PortSet = [range(5, 25)].into_iter().collect();

        let both = a.intersect(&b);

        assert_eq!(both.ranges(), [range(5, 10), range(20, 25)]);
    }

    #[test]
    fn reach_allows_follows_flow_rules() {
        let mut reach = Reach::none();
        reach.add_rule(&"tcp:22@0.0.0.0/0".parse().unwrap());
        reach.add_rule(&"icmp@0.0.0.0/0".parse().unwrap());

        assert!(reach.allows(Protocol::Tcp, Some(22)));
        assert!(!reach.allows(Protocol::Tcp, None));
        assert!(!reach.allows(Protocol::Udp, Some(22)));
        assert!(reach.allows(Protocol::Icmp, None));
        assert!(!reach.allows(Protocol::All, None));
        assert_eq!(reach.to_string(), "tcp:22 icmp");
        assert!(Reach::all().allows(Protocol::Tcp, Some(0)));
    }

    #[test]
    fn flow_display_and_peer() {
        let flow = Flow::tcp([10, 0, 0, 1].into(), [10, 0, 0, 2].into(), 22);

        assert_eq!(flow.to_string(), "tcp 10.0.0.1 -> 10.0.0.2:22");
        assert_eq!(flow.peer(Direction::Ingress), flow.src);
        assert_eq!(flow.peer(Direction::Egress), flow.dst);
    }
}
