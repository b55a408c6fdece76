//! The indexed rule matcher: finds the first rule admitting a flow in `O(log n)`.
//!
//! CIDRs either nest or are disjoint, so the distinct networks of a rule list form a forest.
//! Cutting each family's address line at every network boundary gives elementary intervals;
//! a binary search finds the interval of an address and with it the innermost network
//! holding the address. Walking up that network's ancestors (at most 33 for IPv4, 129 for
//! IPv6, and in practice a handful) visits every network that holds the address.
//!
//! Each network keeps, per protocol class, the lowest rule index admitting each port: a
//! sorted list of port cut points, built with a sweep over the rules' port ranges, searched
//! with one more binary search. A decision is one search on addresses plus one search on
//! ports per enclosing network, and networks whose lowest rule cannot beat the best match
//! found so far are skipped.

use std::{cmp::Reverse, collections::BinaryHeap, mem::size_of};

use compute_types::Protocol;
use ipnet::IpNet;

use crate::cidr::{Family, Span};

/// Marks "no rule" and "no network".
pub(crate) const NONE: u32 = u32::MAX;

/// The protocol classes a flow falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Tcp,
    Udp,
    Icmp,
    Other,
}

impl Class {
    /// The class of a flow's protocol.
    pub(crate) fn of(protocol: Protocol) -> Self {
        match protocol {
            Protocol::Tcp => Self::Tcp,
            Protocol::Udp => Self::Udp,
            Protocol::Icmp => Self::Icmp,
            _ => Self::Other,
        }
    }
}

/// One rule in the form both evaluators match against: canonical networks, plain ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Compiled {
    pub(crate) protocol: Protocol,
    /// Inclusive port bounds for TCP and UDP; `None` for port-less protocols.
    pub(crate) ports: Option<(u16, u16)>,
    /// Canonical networks.
    pub(crate) nets: Vec<IpNet>,
}

impl Compiled {
    /// Returns the port interval this rule admits for a flow of `class`, with port 0
    /// standing for "no port", or `None` when the rule does not apply to the class.
    fn interval(&self, class: Class) -> Option<(u32, u32)> {
        match (self.protocol, class) {
            (Protocol::All, _) => Some((0, 65535)),
            (Protocol::Tcp, Class::Tcp) | (Protocol::Udp, Class::Udp) => self
                .ports
                .map(|(from, to)| (u32::from(from), u32::from(to))),
            (Protocol::Icmp, Class::Icmp) => Some((0, 65535)),
            _ => None,
        }
    }

    /// Returns true when the rule admits a flow of `class` to `port` (0 for none) from or to
    /// the canonical address `addr`. This is the linear evaluator's test.
    pub(crate) fn matches(&self, class: Class, port: u32, addr: std::net::IpAddr) -> bool {
        let admits_port = match self.interval(class) {
            Some((from, to)) => from <= port && port <= to,
            None => false,
        };
        admits_port && self.nets.iter().any(|net| net.contains(&addr))
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.nets.capacity() * size_of::<IpNet>()
    }
}

/// A number type for one family's addresses.
trait Key: Copy + Ord + Default {
    /// The highest address of the family, as a number.
    const MAX: u128;

    fn from_u128(value: u128) -> Self;

    /// The top `bits` bits (`1..=16`), as an index.
    fn top(self, bits: u32) -> usize;
}

impl Key for u32 {
    const MAX: u128 = Self::MAX as u128;

    fn from_u128(value: u128) -> Self {
        value as Self
    }

    fn top(self, bits: u32) -> usize {
        (self >> (Self::BITS - bits)) as usize
    }
}

impl Key for u128 {
    const MAX: Self = Self::MAX;

    fn from_u128(value: u128) -> Self {
        value
    }

    fn top(self, bits: u32) -> usize {
        (self >> (Self::BITS - bits)) as usize
    }
}

/// The index over one direction's rules.
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleIndex {
    v4: FamilyIndex<u32>,
    v6: FamilyIndex<u128>,
}

impl RuleIndex {
    /// Builds the index of `rules`, whose networks must be canonical.
    pub(crate) fn build(rules: &[Compiled]) -> Self {
        Self {
            v4: FamilyIndex::build(rules, Family::V4),
            v6: FamilyIndex::build(rules, Family::V6),
        }
    }

    /// Returns the lowest index of a rule admitting a flow of `class` to `port` (0 for
    /// none) from or to the canonical address `(family, addr)`, or [`NONE`].
    pub(crate) fn first_match(&self, class: Class, port: u32, family: Family, addr: u128) -> u32 {
        match family {
            Family::V4 => self.v4.first_match(class, port, addr as u32),
            Family::V6 => self.v6.first_match(class, port, addr),
        }
    }

    /// Heap bytes held, from the capacities of the vectors.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.v4.heap_bytes() + self.v6.heap_bytes()
    }
}

/// One protocol class's port table inside the shared arena of a [`FamilyIndex`].
#[derive(Debug, Clone, Copy)]
struct Table {
    offset: u32,
    len: u32,
    /// The lowest rule index anywhere in the table, for skipping.
    min: u32,
}

impl Table {
    const EMPTY: Self = Self {
        offset: 0,
        len: 0,
        min: NONE,
    };
}

/// One distinct network and what its rules admit.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// The smallest distinct network strictly containing this one.
    parent: u32,
    tcp: Table,
    udp: Table,
    /// The lowest rule admitting ICMP (ICMP and `all` rules).
    icmp: u32,
    /// The lowest `all` rule.
    other: u32,
}

/// The index of one family.
#[derive(Debug, Clone, Default)]
struct FamilyIndex<A> {
    /// Start of each elementary interval, ascending.
    bounds: Vec<A>,
    /// Innermost network holding each elementary interval, or [`NONE`].
    innermost: Vec<u32>,
    nodes: Vec<Node>,
    /// Port cut points of every table, table after table.
    port_starts: Vec<u16>,
    /// Lowest rule index from each cut point on.
    port_rules: Vec<u32>,
    /// How many top address bits `radix` is keyed by; 0 when there is no radix table.
    radix_bits: u32,
    /// `radix[k]` is the number of bounds whose top bits are below `k`, so the bounds of
    /// addresses with top bits `k` are `bounds[radix[k]..radix[k + 1]]`. It narrows the
    /// address search to a few entries on large indexes.
    radix: Vec<u32>,
}

impl<A: Key> FamilyIndex<A> {
    fn build(rules: &[Compiled], family: Family) -> Self {
        // Every (network, rule) pair of this family, big networks first at equal starts so
        // that a parent comes before its children.
        let mut entries: Vec<(u128, Reverse<u128>, u32)> = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            for net in &rule.nets {
                let span = Span::of(*net);
                if span.family == family {
                    entries.push((span.start, Reverse(span.end), i as u32));
                }
            }
        }
        entries.sort_unstable();
        entries.dedup();

        let mut index = Self::default();
        let mut stack: Vec<(u128, u32)> = Vec::new();
        let mut at = 0;
        while at < entries.len() {
            let (start, Reverse(end), _) = entries[at];
            let group_len = entries[at..]
                .iter()
                .take_while(|(s, Reverse(e), _)| *s == start && *e == end)
                .count();
            let group: Vec<u32> = entries[at..at + group_len].iter().map(|e| e.2).collect();
            at += group_len;

            index.close(&mut stack, Some(start));
            let parent = stack.last().map_or(NONE, |(_, node)| *node);
            let node = index.nodes.len() as u32;
            let built = index.node(rules, &group, parent);
            index.nodes.push(built);
            index.cut(start, node);
            stack.push((end, node));
        }
        index.close(&mut stack, None);
        index.build_radix();
        index.shrink();
        index
    }

    /// Builds the radix table when there are enough bounds to make it pay: about two bounds
    /// per slot, at most 2^16 slots.
    fn build_radix(&mut self) {
        let n = self.bounds.len();
        if n < 64 {
            return;
        }
        let bits = (usize::BITS - n.leading_zeros() - 2).clamp(4, 16);
        let mut radix = Vec::with_capacity((1 << bits) + 1);
        let mut at = 0;
        for slot in 0..=(1usize << bits) {
            while at < n && self.bounds[at].top(bits) < slot {
                at += 1;
            }
            radix.push(at as u32);
        }
        self.radix_bits = bits;
        self.radix = radix;
    }

    /// Pops every open network that ends before `start` (all of them for `None`), cutting
    /// where each one ends.
    fn close(&mut self, stack: &mut Vec<(u128, u32)>, start: Option<u128>) {
        while let Some(&(end, _)) = stack.last() {
            if start.is_some_and(|start| end >= start) {
                return;
            }
            stack.pop();
            if end < A::MAX {
                let next = stack.last().map_or(NONE, |(_, node)| *node);
                self.cut(end + 1, next);
            }
        }
    }

    /// Records that addresses from `at` on belong to `node` (until the next cut).
    fn cut(&mut self, at: u128, node: u32) {
        let at = A::from_u128(at);
        if self.bounds.last() == Some(&at) {
            if let Some(last) = self.innermost.last_mut() {
                *last = node;
            }
            return;
        }
        if self.innermost.last() == Some(&node) {
            return;
        }
        self.bounds.push(at);
        self.innermost.push(node);
    }

    /// Builds the node for one network from the rules that name it.
    fn node(&mut self, rules: &[Compiled], group: &[u32], parent: u32) -> Node {
        let lowest = |class: Class| {
            group
                .iter()
                .copied()
                .filter(|&i| rules[i as usize].interval(class).is_some())
                .min()
                .unwrap_or(NONE)
        };
        Node {
            parent,
            tcp: self.table(rules, group, Class::Tcp),
            udp: self.table(rules, group, Class::Udp),
            icmp: lowest(Class::Icmp),
            other: lowest(Class::Other),
        }
    }

    /// Builds one port table: at each cut point, the lowest rule covering that port.
    fn table(&mut self, rules: &[Compiled], group: &[u32], class: Class) -> Table {
        let mut intervals: Vec<(u32, u32, u32)> = group
            .iter()
            .filter_map(|&i| {
                let (from, to) = rules[i as usize].interval(class)?;
                Some((from, to, i))
            })
            .collect();
        if intervals.is_empty() {
            return Table::EMPTY;
        }
        intervals.sort_unstable();

        let mut points: Vec<u32> = intervals.iter().flat_map(|&(f, t, _)| [f, t + 1]).collect();
        points.push(0);
        points.sort_unstable();
        points.dedup();

        let offset = self.port_starts.len() as u32;
        let mut open: BinaryHeap<Reverse<(u32, u32)>> = BinaryHeap::new();
        let mut next = 0;
        let mut last = None;
        for point in points.into_iter().filter(|p| *p <= 65535) {
            while next < intervals.len() && intervals[next].0 <= point {
                let (_, to, rule) = intervals[next];
                open.push(Reverse((rule, to)));
                next += 1;
            }
            while open.peek().is_some_and(|Reverse((_, to))| *to < point) {
                open.pop();
            }
            let rule = open.peek().map_or(NONE, |Reverse((rule, _))| *rule);
            if last != Some(rule) {
                self.port_starts.push(point as u16);
                self.port_rules.push(rule);
                last = Some(rule);
            }
        }

        let min = intervals.iter().map(|iv| iv.2).min().unwrap_or(NONE);
        let len = self.port_starts.len() as u32 - offset;
        Table { offset, len, min }
    }

    fn shrink(&mut self) {
        self.bounds.shrink_to_fit();
        self.innermost.shrink_to_fit();
        self.nodes.shrink_to_fit();
        self.port_starts.shrink_to_fit();
        self.port_rules.shrink_to_fit();
        self.radix.shrink_to_fit();
    }

    fn first_match(&self, class: Class, port: u32, addr: A) -> u32 {
        let at = if self.radix_bits == 0 {
            self.bounds.partition_point(|b| *b <= addr)
        } else {
            let slot = addr.top(self.radix_bits);
            let (from, to) = (self.radix[slot] as usize, self.radix[slot + 1] as usize);
            from + self.bounds[from..to].partition_point(|b| *b <= addr)
        };
        if at == 0 {
            return NONE;
        }

        let mut best = NONE;
        let mut node = self.innermost[at - 1];
        while let Some(n) = self.nodes.get(node as usize) {
            let found = match class {
                Class::Tcp => self.lookup(n.tcp, port, best),
                Class::Udp => self.lookup(n.udp, port, best),
                Class::Icmp => n.icmp,
                Class::Other => n.other,
            };
            best = best.min(found);
            node = n.parent;
        }
        best
    }

    /// The lowest rule of `table` covering `port`, or [`NONE`]; skips the search when the
    /// table cannot beat `best`.
    fn lookup(&self, table: Table, port: u32, best: u32) -> u32 {
        if table.min >= best {
            return NONE;
        }
        let (from, to) = (table.offset as usize, (table.offset + table.len) as usize);
        let starts = &self.port_starts[from..to];
        let at = starts.partition_point(|s| u32::from(*s) <= port);
        if at == 0 {
            NONE
        } else {
            self.port_rules[from + at - 1]
        }
    }

    fn heap_bytes(&self) -> usize {
        self.bounds.capacity() * size_of::<A>()
            + self.innermost.capacity() * size_of::<u32>()
            + self.nodes.capacity() * size_of::<Node>()
            + self.port_starts.capacity() * size_of::<u16>()
            + self.port_rules.capacity() * size_of::<u32>()
            + self.radix.capacity() * size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::cidr::{addr_key, canonical_net};

    fn compiled(text: &str) -> Compiled {
        let rule: compute_types::FirewallRule = text.parse().unwrap();
        Compiled {
            protocol: rule.protocol,
            ports: rule.ports.map(|p| (p.from(), p.to())),
            nets: rule.cidrs.iter().map(|n| canonical_net(*n)).collect(),
        }
    }

    fn first(index: &RuleIndex, class: Class, port: u32, addr: &str) -> u32 {
        let (family, value) = addr_key(addr.parse::<IpAddr>().unwrap());
        index.first_match(class, port, family, value)
    }

    #[test]
    fn nested_networks_pick_the_lowest_rule() {
        let rules = [
            "tcp:80@10.1.0.0/16",
            "tcp:1-1000@10.0.0.0/8",
            "tcp:22@10.1.2.3/32",
            "all@0.0.0.0/0",
        ]
        .map(compiled);

        let index = RuleIndex::build(&rules);

        assert_eq!(first(&index, Class::Tcp, 80, "10.1.2.3"), 0);
        assert_eq!(first(&index, Class::Tcp, 22, "10.1.2.3"), 1);
        assert_eq!(first(&index, Class::Tcp, 2000, "10.1.2.3"), 3);
        assert_eq!(first(&index, Class::Udp, 53, "11.0.0.1"), 3);
        assert_eq!(first(&index, Class::Other, 0, "192.168.0.1"), 3);
        assert_eq!(first(&index, Class::Tcp, 22, "2001:db8::1"), NONE);
    }

    #[test]
    fn boundaries_of_the_address_space() {
        let rules = [
            "tcp:65535@255.255.255.255/32",
            "tcp:1@0.0.0.0/32",
            "udp:1-65535@ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
            "icmp@::/0",
        ]
        .map(compiled);

        let index = RuleIndex::build(&rules);

        assert_eq!(first(&index, Class::Tcp, 65535, "255.255.255.255"), 0);
        assert_eq!(first(&index, Class::Tcp, 65534, "255.255.255.255"), NONE);
        assert_eq!(first(&index, Class::Tcp, 1, "0.0.0.0"), 1);
        assert_eq!(first(&index, Class::Tcp, 1, "0.0.0.1"), NONE);
        assert_eq!(
            first(
                &index,
                Class::Udp,
                9,
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
            ),
            2
        );
        assert_eq!(first(&index, Class::Icmp, 0, "2001:db8::1"), 3);
        assert_eq!(first(&index, Class::Icmp, 0, "10.0.0.1"), NONE);
    }

    #[test]
    fn sibling_networks_ending_together() {
        let rules = [
            "tcp:1@10.0.0.0/8",
            "tcp:2@10.255.0.0/16",
            "tcp:3@11.0.0.0/8",
        ]
        .map(compiled);

        let index = RuleIndex::build(&rules);

        assert_eq!(first(&index, Class::Tcp, 2, "10.255.255.255"), 1);
        assert_eq!(first(&index, Class::Tcp, 1, "10.255.255.255"), 0);
        assert_eq!(first(&index, Class::Tcp, 3, "11.0.0.0"), 2);
        assert_eq!(first(&index, Class::Tcp, 1, "11.0.0.0"), NONE);
        assert_eq!(first(&index, Class::Tcp, 1, "9.255.255.255"), NONE);
    }

    #[test]
    fn large_index_with_radix_agrees_with_the_scan() {
        let mut state = 0x5eed_u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 16
        };
        let rules: Vec<Compiled> = (0..300)
            .map(|i| {
                let prefix = [8u8, 16, 20, 24, 28, 32][(next() % 6) as usize];
                let addr = std::net::Ipv4Addr::from((next() as u32) & 0x0fff_ffff);
                let net = IpNet::new(addr.into(), prefix).unwrap().trunc();
                let from = (next() % 200) as u16 + 1;
                let protocol = [Protocol::Tcp, Protocol::Udp, Protocol::All][i % 3];
                let ports = protocol
                    .has_ports()
                    .then_some((from, from + (next() % 50) as u16));
                Compiled {
                    protocol,
                    ports,
                    nets: vec![net],
                }
            })
            .collect();

        let index = RuleIndex::build(&rules);

        assert!(index.v4.radix_bits > 0, "the radix table is in use");
        for _ in 0..5000 {
            let addr = IpAddr::V4(std::net::Ipv4Addr::from((next() as u32) & 0x0fff_ffff));
            let (class, port) = (
                [Class::Tcp, Class::Udp, Class::Other][(next() % 3) as usize],
                (next() % 260) as u32,
            );
            let scan = rules
                .iter()
                .position(|r| r.matches(class, port, addr))
                .map_or(NONE, |i| i as u32);
            let (family, value) = addr_key(addr);
            assert_eq!(
                index.first_match(class, port, family, value),
                scan,
                "{addr} {class:?} {port}"
            );
        }
    }

    #[test]
    fn empty_index_matches_nothing() {
        let index = RuleIndex::build(&[]);

        assert_eq!(first(&index, Class::Tcp, 22, "10.0.0.1"), NONE);
        assert_eq!(index.heap_bytes(), 0);
    }
}
