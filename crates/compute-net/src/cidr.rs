//! CIDR helpers: canonical forms, overlap and containment between sets, aggregation.
//!
//! IPv4 and IPv6 are kept apart: `::/0` holds every IPv6 address and no IPv4 one. An
//! IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is the IPv4 address it maps, and a network
//! inside `::ffff:0:0/96` is the IPv4 network it maps, so both spellings decide alike.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Returns the address with an IPv4-mapped IPv6 address turned into its IPv4 address.
///
/// ```
/// use std::net::IpAddr;
///
/// let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
/// assert_eq!(compute_net::cidr::canonical_addr(mapped).to_string(), "10.0.0.1");
/// ```
pub fn canonical_addr(addr: IpAddr) -> IpAddr {
    addr.to_canonical()
}

/// Returns the network with host bits cleared and IPv4-mapped IPv6 networks turned into IPv4.
///
/// `10.0.0.1/24` becomes `10.0.0.0/24`; `::ffff:10.0.0.0/104` becomes `10.0.0.0/8`. A
/// network that only partly overlaps the mapped block (prefix under 96) stays IPv6.
pub fn canonical_net(net: IpNet) -> IpNet {
    match net.trunc() {
        IpNet::V6(v6) if v6.prefix_len() >= 96 && (u128::from(v6.network()) >> 32) == 0xffff => {
            let v4 = Ipv4Addr::from(u128::from(v6.network()) as u32);
            match Ipv4Net::new(v4, v6.prefix_len() - 96) {
                Ok(v4) => IpNet::V4(v4),
                Err(_) => IpNet::V6(v6),
            }
        }
        other => other,
    }
}

/// Returns true when the network as written has bits set beyond its prefix.
pub fn has_host_bits(net: IpNet) -> bool {
    net.trunc() != net
}

/// Returns true when the two networks share at least one address.
pub fn overlaps(a: IpNet, b: IpNet) -> bool {
    let (a, b) = (Span::of(a), Span::of(b));
    a.family == b.family && a.start <= b.end && b.start <= a.end
}

/// Returns true when every address of `inner` is inside `outer`.
pub fn contains(outer: IpNet, inner: IpNet) -> bool {
    let (o, i) = (Span::of(outer), Span::of(inner));
    o.family == i.family && o.start <= i.start && i.end <= o.end
}

/// Returns every pair `(i, j)` such that `a[i]` overlaps `b[j]`, sorted.
///
/// This sweeps both lists once after sorting, so it costs `O((n + m) log(n + m) + k)` for
/// `k` pairs (CIDRs nest or are disjoint, which keeps the sweep's open list short).
///
/// ```
/// use ipnet::IpNet;
///
/// let ours: Vec<IpNet> = vec!["10.0.0.0/16".parse().unwrap(), "10.9.0.0/16".parse().unwrap()];
/// let avoid: Vec<IpNet> = vec!["10.0.5.0/24".parse().unwrap()];
/// assert_eq!(compute_net::cidr::overlapping(&ours, &avoid), vec![(0, 0)]);
/// ```
pub fn overlapping(a: &[IpNet], b: &[IpNet]) -> Vec<(usize, usize)> {
    let mut items: Vec<(Span, bool, usize)> = Vec::with_capacity(a.len() + b.len());
    items.extend(a.iter().enumerate().map(|(i, n)| (Span::of(*n), false, i)));
    items.extend(b.iter().enumerate().map(|(j, n)| (Span::of(*n), true, j)));
    items.sort_by_key(|(s, _, _)| (s.family, s.start));

    let mut open: [Vec<(Span, usize)>; 2] = [Vec::new(), Vec::new()];
    let mut pairs = Vec::new();
    for (span, from_b, at) in items {
        for list in &mut open {
            list.retain(|(s, _)| s.family == span.family && s.end >= span.start);
        }
        let others = &open[usize::from(!from_b)];
        for (_, other) in others {
            pairs.push(if from_b { (*other, at) } else { (at, *other) });
        }
        open[usize::from(from_b)].push((span, at));
    }
    pairs.sort_unstable();
    pairs
}

/// Returns true when the union of `outer` holds every address of every network in `inner`.
///
/// ```
/// use ipnet::IpNet;
///
/// let halves: Vec<IpNet> = vec!["10.0.0.0/25".parse().unwrap(), "10.0.0.128/25".parse().unwrap()];
/// let whole: Vec<IpNet> = vec!["10.0.0.0/24".parse().unwrap()];
/// assert!(compute_net::cidr::covers(&halves, &whole));
/// ```
pub fn covers(outer: &[IpNet], inner: &[IpNet]) -> bool {
    AddrSet::from_nets(outer.iter().copied())
        .is_superset(&AddrSet::from_nets(inner.iter().copied()))
}

/// Returns the fewest canonical networks that hold exactly the union of `nets`, sorted
/// (IPv4 first).
///
/// Contained networks are dropped and adjacent ones merged: `10.0.0.0/25` and
/// `10.0.0.128/25` become `10.0.0.0/24`.
pub fn aggregate(nets: &[IpNet]) -> Vec<IpNet> {
    AddrSet::from_nets(nets.iter().copied()).to_nets()
}

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Family {
    V4,
    V6,
}

impl Family {
    /// The number of address bits.
    pub(crate) fn bits(self) -> u32 {
        match self {
            Self::V4 => 32,
            Self::V6 => 128,
        }
    }
}

/// An inclusive interval of addresses of one family, as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) family: Family,
    pub(crate) start: u128,
    pub(crate) end: u128,
}

impl Span {
    /// The addresses of a network, after canonicalising it.
    pub(crate) fn of(net: IpNet) -> Self {
        match canonical_net(net) {
            IpNet::V4(n) => Self {
                family: Family::V4,
                start: u128::from(u32::from(n.network())),
                end: u128::from(u32::from(n.broadcast())),
            },
            IpNet::V6(n) => Self {
                family: Family::V6,
                start: u128::from(n.network()),
                end: u128::from(n.broadcast()),
            },
        }
    }
}

/// Returns the family and number of an address, after canonicalising it.
pub(crate) fn addr_key(addr: IpAddr) -> (Family, u128) {
    match canonical_addr(addr) {
        IpAddr::V4(a) => (Family::V4, u128::from(u32::from(a))),
        IpAddr::V6(a) => (Family::V6, u128::from(a)),
    }
}

/// Returns the address of a family and number; `value` must fit the family.
pub(crate) fn addr_of(family: Family, value: u128) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(value as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(value)),
    }
}

/// Returns the network of a family starting at `start` with `prefix` bits.
pub(crate) fn net_of(family: Family, start: u128, prefix: u8) -> IpNet {
    match family {
        Family::V4 => IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::from(start as u32), prefix)),
        Family::V6 => IpNet::V6(Ipv6Net::new_assert(Ipv6Addr::from(start), prefix)),
    }
}

/// Returns true when `net` is `0.0.0.0/0` or `::/0` (after canonicalising).
pub(crate) fn is_world(net: IpNet) -> bool {
    canonical_net(net).prefix_len() == 0
}

/// A set of addresses of both families, as sorted, disjoint, non-adjacent intervals.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct AddrSet {
    v4: Vec<(u128, u128)>,
    v6: Vec<(u128, u128)>,
}

impl AddrSet {
    /// The union of the networks (canonicalised).
    pub(crate) fn from_nets(nets: impl IntoIterator<Item = IpNet>) -> Self {
        let mut set = Self::default();
        for net in nets {
            let span = Span::of(net);
            set.list_mut(span.family).push((span.start, span.end));
        }
        set.v4 = merge(std::mem::take(&mut set.v4));
        set.v6 = merge(std::mem::take(&mut set.v6));
        set
    }

    fn list(&self, family: Family) -> &[(u128, u128)] {
        match family {
            Family::V4 => &self.v4,
            Family::V6 => &self.v6,
        }
    }

    fn list_mut(&mut self, family: Family) -> &mut Vec<(u128, u128)> {
        match family {
            Family::V4 => &mut self.v4,
            Family::V6 => &mut self.v6,
        }
    }

    /// Returns the addresses in either set.
    pub(crate) fn union(&self, other: &Self) -> Self {
        let join =
            |a: &[(u128, u128)], b: &[(u128, u128)]| merge(a.iter().chain(b).copied().collect());
        Self {
            v4: join(&self.v4, &other.v4),
            v6: join(&self.v6, &other.v6),
        }
    }

    /// Returns true when the set holds no address.
    pub(crate) fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Returns true when the set holds the address.
    pub(crate) fn contains_addr(&self, addr: IpAddr) -> bool {
        let (family, value) = addr_key(addr);
        let list = self.list(family);
        let at = list.partition_point(|(start, _)| *start <= value);
        at > 0 && list[at - 1].1 >= value
    }

    /// Returns true when every address of `other` is in this set.
    pub(crate) fn is_superset(&self, other: &Self) -> bool {
        [Family::V4, Family::V6].into_iter().all(|family| {
            let ours = self.list(family);
            other.list(family).iter().all(|&(start, end)| {
                let at = ours.partition_point(|(s, _)| *s <= start);
                at > 0 && ours[at - 1].1 >= end
            })
        })
    }

    /// Returns true when the two sets share an address.
    pub(crate) fn intersects(&self, other: &Self) -> bool {
        [Family::V4, Family::V6].into_iter().any(|family| {
            let (a, b) = (self.list(family), other.list(family));
            let (mut i, mut j) = (0, 0);
            while i < a.len() && j < b.len() {
                if a[i].0 <= b[j].1 && b[j].0 <= a[i].1 {
                    return true;
                }
                if a[i].1 < b[j].1 { i += 1 } else { j += 1 }
            }
            false
        })
    }

    /// Returns the fewest canonical networks covering exactly this set, IPv4 first.
    pub(crate) fn to_nets(&self) -> Vec<IpNet> {
        let mut nets = Vec::new();
        for family in [Family::V4, Family::V6] {
            for &(start, end) in self.list(family) {
                split_into_nets(family, start, end, &mut nets);
            }
        }
        nets
    }
}

/// Sorts and merges overlapping or adjacent intervals.
fn merge(mut spans: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
    spans.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match out.last_mut() {
            Some(last) if start <= last.1.saturating_add(1) => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// Appends the largest aligned blocks that exactly tile `start..=end`.
fn split_into_nets(family: Family, mut start: u128, end: u128, out: &mut Vec<IpNet>) {
    let bits = family.bits();
    loop {
        // The block size is limited by the alignment of `start` and by what remains.
        let align = if start == 0 {
            bits
        } else {
            start.trailing_zeros().min(bits)
        };
        let remaining = end - start;
        let fit = if remaining == u128::MAX {
            128
        } else {
            127 - (remaining + 1).leading_zeros()
        };
        let host_bits = align.min(fit).min(bits);
        out.push(net_of(family, start, (bits - host_bits) as u8));

        let size_minus_one = if host_bits == 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        match start.checked_add(size_minus_one) {
            Some(last) if last < end => start = last + 1,
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(text: &[&str]) -> Vec<IpNet> {
        text.iter().map(|t| t.parse().unwrap()).collect()
    }

    #[test]
    fn canonical_forms() {
        let cases = [
            ("10.0.0.1/24", "10.0.0.0/24"),
            ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
            ("::ffff:10.1.2.3/128", "10.1.2.3/32"),
            ("::ffff:0:0/96", "0.0.0.0/0"),
            ("::/0", "::/0"),
            ("2001:db8::1/64", "2001:db8::/64"),
            ("0.0.0.0/0", "0.0.0.0/0"),
        ];

        for (written, want) in cases {
            let got = canonical_net(written.parse().unwrap());

            assert_eq!(got.to_string(), want, "{written}");
        }
    }

    #[test]
    fn overlap_and_containment() {
        let [a, b, c, v6] = ["10.0.0.0/8", "10.1.0.0/16", "11.0.0.0/8", "::/0"]
            .map(|t| t.parse::<IpNet>().unwrap());

        assert!(overlaps(a, b) && overlaps(b, a));
        assert!(!overlaps(a, c));
        assert!(!overlaps(v6, a), "::/0 holds no IPv4 address");
        assert!(contains(a, b) && !contains(b, a));
        assert!(contains(v6, "2001:db8::/32".parse().unwrap()));
    }

    #[test]
    fn overlapping_pairs_match_brute_force() {
        let a = nets(&[
            "10.0.0.0/8",
            "10.1.0.0/16",
            "192.168.0.0/24",
            "::/0",
            "10.1.0.0/16",
        ]);
        let b = nets(&["10.1.2.0/24", "0.0.0.0/0", "2001:db8::/32", "172.16.0.0/12"]);
        let mut brute = Vec::new();
        for (i, x) in a.iter().enumerate() {
            for (j, y) in b.iter().enumerate() {
                if overlaps(*x, *y) {
                    brute.push((i, j));
                }
            }
        }

        let swept = overlapping(&a, &b);

        assert_eq!(swept, brute);
    }

    #[test]
    fn aggregate_merges_and_drops() {
        let input = nets(&[
            "10.0.0.0/25",
            "10.0.0.128/25",
            "10.0.0.7/32",
            "10.0.2.0/24",
            "2001:db8::/33",
            "2001:db8:8000::/33",
        ]);

        let out = aggregate(&input);

        assert_eq!(out, nets(&["10.0.0.0/24", "10.0.2.0/24", "2001:db8::/32"]));
    }

    #[test]
    fn aggregate_whole_spaces() {
        let out = aggregate(&nets(&["0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"]));

        assert_eq!(out, nets(&["0.0.0.0/0", "::/0"]));
    }

    #[test]
    fn aggregate_uneven_range() {
        let set = AddrSet {
            v4: vec![(1, 6)],
            v6: vec![],
        };

        let out = set.to_nets();

        assert_eq!(
            out,
            nets(&["0.0.0.1/32", "0.0.0.2/31", "0.0.0.4/31", "0.0.0.6/32"])
        );
    }

    #[test]
    fn covers_uses_the_union() {
        let outer = nets(&["10.0.0.0/25", "10.0.0.128/25"]);

        assert!(covers(&outer, &nets(&["10.0.0.0/24"])));
        assert!(!covers(&outer, &nets(&["10.0.0.0/23"])));
        assert!(covers(&outer, &[]));
    }

    #[test]
    fn set_membership_and_intersection() {
        let set = AddrSet::from_nets(nets(&["10.0.0.0/24", "2001:db8::/64"]));
        let other = AddrSet::from_nets(nets(&["10.0.0.128/25"]));

        assert!(set.contains_addr("::ffff:10.0.0.9".parse().unwrap()));
        assert!(!set.contains_addr("10.0.1.0".parse().unwrap()));
        assert!(set.intersects(&other));
        assert!(!other.intersects(&AddrSet::from_nets(nets(&["::/0"]))));
    }
}
