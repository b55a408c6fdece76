//! Rule-set normalisation: canonical CIDRs, merged ranges, duplicates as `AlreadyExists`.

use std::collections::BTreeMap;

use compute_types::{
    Direction, Error, ErrorKind, FirewallRule, FirewallRules, PortRange, Protocol, Result,
};
use ipnet::IpNet;

use crate::{
    cidr::{AddrSet, canonical_net},
    flow::PortSet,
    policy::validate_rules,
};

/// A CIDR that was written in a non-canonical form, and the network it means.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalizedCidr {
    /// The direction of the rule holding it.
    pub direction: Direction,
    /// The rule's position in its direction's list.
    pub rule: usize,
    /// The CIDR as written, e.g. `10.0.0.1/24` or `::ffff:10.0.0.0/104`.
    pub written: IpNet,
    /// The network it means, e.g. `10.0.0.0/24` or `10.0.0.0/8`.
    pub canonical: IpNet,
}

/// The result of [`normalize`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The normalised rules, admitting exactly what the input admitted.
    pub rules: FirewallRules,
    /// The CIDRs that were written with host bits set or as IPv4-mapped IPv6.
    pub canonicalized: Vec<CanonicalizedCidr>,
}

/// Normalises a rule set without changing any decision.
///
/// Per direction it canonicalises CIDRs (reporting those written with host bits set),
/// drops rules another rule already covers (an `all` rule covers TCP, UDP and ICMP rules
/// over the same ranges), merges the CIDRs of rules with the same protocol and ports, merges
/// overlapping and adjacent port ranges of rules with the same protocol and CIDRs, and
/// aggregates CIDRs into the fewest networks. Output rules are sorted by protocol, ports
/// and CIDRs; a rule that comes out exactly as it went in keeps its id, merged rules have
/// none.
///
/// # Errors
/// - [`ErrorKind::InvalidRequest`] as [`validate_rules`].
/// - [`ErrorKind::AlreadyExists`] when two rules of one direction are exact duplicates: same
///   protocol, ports and set of canonical CIDRs (ids are ignored).
///
/// # Examples
///
/// ```
/// use compute_net::normalize;
/// use compute_types::FirewallRules;
///
/// let rules = FirewallRules::from_rules(
///     ["tcp:80-90@10.0.0.1/25", "tcp:91-100@10.0.0.0/25", "tcp:80-100@10.0.0.128/25"]
///         .map(|r| r.parse().unwrap()),
/// );
/// let out = normalize(&rules).unwrap();
/// assert_eq!(out.rules.ingress.len(), 1);
/// assert_eq!(out.rules.ingress[0].to_string(), "tcp:80-100@10.0.0.0/24");
/// assert_eq!(out.canonicalized[0].written.to_string(), "10.0.0.1/25");
/// ```
pub fn normalize(rules: &FirewallRules) -> Result<Normalized> {
    validate_rules(rules)?;
    let mut canonicalized = Vec::new();
    let mut out = FirewallRules::default();
    for (list, direction) in [
        (&rules.ingress, Direction::Ingress),
        (&rules.egress, Direction::Egress),
    ] {
        report_canonicalized(list, direction, &mut canonicalized);
        check_duplicates(list)?;
        let normalized = normalize_list(list, direction);
        match direction {
            Direction::Egress => out.egress = normalized,
            _ => out.ingress = normalized,
        }
    }
    Ok(Normalized {
        rules: out,
        canonicalized,
    })
}

/// Fails with [`ErrorKind::AlreadyExists`] when `candidate` duplicates one of `existing`
/// (same direction, protocol, ports and set of canonical CIDRs; ids ignored). This is the
/// check a provider makes before adding a rule.
///
/// # Errors
/// [`ErrorKind::AlreadyExists`] naming the existing rule (its id when it has one).
pub fn ensure_unique(existing: &[FirewallRule], candidate: &FirewallRule) -> Result<()> {
    let key = RuleKey::of(candidate);
    match existing.iter().find(|rule| RuleKey::of(rule) == key) {
        Some(rule) => {
            let name = rule
                .id
                .as_ref()
                .map_or_else(|| rule.to_string(), |id| id.to_string());
            Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("rule `{candidate}` duplicates existing rule {name}"),
            ))
        }
        None => Ok(()),
    }
}

/// What a rule admits, written canonically: the identity used for duplicates and diffs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct RuleKey {
    direction: Direction,
    protocol: Protocol,
    ports: Option<PortRange>,
    nets: Vec<IpNet>,
}

impl RuleKey {
    pub(crate) fn of(rule: &FirewallRule) -> Self {
        let mut nets: Vec<IpNet> = rule.cidrs.iter().map(|n| canonical_net(*n)).collect();
        nets.sort_unstable();
        nets.dedup();
        Self {
            direction: rule.direction,
            protocol: rule.protocol,
            ports: rule.ports,
            nets,
        }
    }
}

fn report_canonicalized(
    list: &[FirewallRule],
    direction: Direction,
    out: &mut Vec<CanonicalizedCidr>,
) {
    for (i, rule) in list.iter().enumerate() {
        for written in &rule.cidrs {
            let canonical = canonical_net(*written);
            if canonical != *written {
                out.push(CanonicalizedCidr {
                    direction,
                    rule: i,
                    written: *written,
                    canonical,
                });
            }
        }
    }
}

fn check_duplicates(list: &[FirewallRule]) -> Result<()> {
    let mut seen: BTreeMap<RuleKey, usize> = BTreeMap::new();
    for (i, rule) in list.iter().enumerate() {
        if let Some(first) = seen.insert(RuleKey::of(rule), i) {
            let name = direction_name(rule.direction);
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("rule `{rule}` ({name}[{i}]) duplicates {name}[{first}]"),
            ));
        }
    }
    Ok(())
}

pub(crate) fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Egress => "egress",
        _ => "ingress",
    }
}

/// One rule while normalising: protocol, ports, and the addresses as a set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Work {
    protocol: Protocol,
    ports: Option<PortRange>,
    pub(crate) addrs: AddrSet,
}

impl Work {
    pub(crate) fn of(rule: &FirewallRule) -> Self {
        Self {
            protocol: rule.protocol,
            ports: rule.ports,
            addrs: AddrSet::from_nets(rule.cidrs.iter().copied()),
        }
    }

    /// Returns true when this rule admits everything `other` admits.
    pub(crate) fn covers(&self, other: &Self) -> bool {
        let protocol = self.protocol == Protocol::All || self.protocol == other.protocol;
        let ports = match (self.ports, other.ports) {
            (None, _) => true,
            (Some(mine), Some(theirs)) => mine.from() <= theirs.from() && theirs.to() <= mine.to(),
            (Some(_), None) => false,
        };
        protocol && ports && self.addrs.is_superset(&other.addrs)
    }
}

fn normalize_list(list: &[FirewallRule], direction: Direction) -> Vec<FirewallRule> {
    let mut work: Vec<Work> = list.iter().map(Work::of).collect();

    loop {
        let before = work.len();
        work = drop_covered(work);
        work = merge_addresses(work);
        work = merge_ports(work);
        if work.len() >= before {
            break;
        }
    }

    let originals: BTreeMap<RuleKey, &FirewallRule> =
        list.iter().map(|rule| (RuleKey::of(rule), rule)).collect();
    let mut out: Vec<FirewallRule> = work
        .into_iter()
        .filter_map(|w| FirewallRule::new(direction, w.protocol, w.ports, w.addrs.to_nets()).ok())
        .map(|rule| match originals.get(&RuleKey::of(&rule)) {
            Some(original) if original.cidrs == rule.cidrs => (*original).clone(),
            _ => rule,
        })
        .collect();
    out.sort_by_cached_key(|rule| (rule.protocol, rule.ports, rule.cidrs.clone()));
    out
}

/// Drops every rule another rule covers; of two rules covering each other, the later goes.
fn drop_covered(work: Vec<Work>) -> Vec<Work> {
    let mut keep = vec![true; work.len()];
    for i in 0..work.len() {
        let covered = (0..work.len()).any(|j| {
            j != i && keep[j] && work[j].covers(&work[i]) && (j < i || !work[i].covers(&work[j]))
        });
        if covered {
            keep[i] = false;
        }
    }
    work.into_iter()
        .zip(keep)
        .filter_map(|(w, k)| k.then_some(w))
        .collect()
}

/// Merges the addresses of rules with the same protocol and ports.
fn merge_addresses(work: Vec<Work>) -> Vec<Work> {
    let mut groups: BTreeMap<(Protocol, Option<PortRange>), AddrSet> = BTreeMap::new();
    let mut order = Vec::new();
    for w in work {
        let key = (w.protocol, w.ports);
        match groups.get_mut(&key) {
            Some(addrs) => *addrs = addrs.union(&w.addrs),
            None => {
                order.push(key);
                groups.insert(key, w.addrs);
            }
        }
    }
    order
        .into_iter()
        .filter_map(|key| {
            let addrs = groups.remove(&key)?;
            Some(Work {
                protocol: key.0,
                ports: key.1,
                addrs,
            })
        })
        .collect()
}

/// Merges overlapping and adjacent port ranges of rules with the same protocol and
/// addresses.
fn merge_ports(work: Vec<Work>) -> Vec<Work> {
    let mut groups: BTreeMap<(Protocol, AddrSet), PortSet> = BTreeMap::new();
    let mut out = Vec::new();
    let mut order = Vec::new();
    for w in work {
        match w.ports {
            Some(ports) => {
                let key = (w.protocol, w.addrs);
                match groups.get_mut(&key) {
                    Some(set) => set.insert(ports),
                    None => {
                        order.push(key.clone());
                        groups.insert(key, [ports].into_iter().collect());
                    }
                }
            }
            None => out.push(w),
        }
    }
    for key in order {
        if let Some(set) = groups.remove(&key) {
            for ports in set.ranges() {
                out.push(Work {
                    protocol: key.0,
                    ports: Some(*ports),
                    addrs: key.1.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(texts: &[&str]) -> FirewallRules {
        FirewallRules::from_rules(texts.iter().map(|t| t.parse::<FirewallRule>().unwrap()))
    }

    fn texts(list: &[FirewallRule]) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn merges_table() {
        let cases: [(&[&str], &[&str]); 7] = [
            (
                &["tcp:22@10.0.0.0/25", "tcp:22@10.0.0.128/25"],
                &["tcp:22@10.0.0.0/24"],
            ),
            (
                &["tcp:1-10@10.0.0.0/8", "tcp:11-20@10.0.0.0/8"],
                &["tcp:1-20@10.0.0.0/8"],
            ),
            (
                &["tcp:1-10@10.0.0.0/8", "tcp:5-20@10.0.0.0/8"],
                &["tcp:1-20@10.0.0.0/8"],
            ),
            (
                &["tcp:1-10@10.0.0.0/8", "tcp:12-20@10.0.0.0/8"],
                &["tcp:1-10@10.0.0.0/8", "tcp:12-20@10.0.0.0/8"],
            ),
            (
                &["tcp:22@10.1.0.0/16", "all@10.0.0.0/8"],
                &["all@10.0.0.0/8"],
            ),
            (
                &["udp:53@10.0.0.0/8,10.1.0.0/16,::/0"],
                &["udp:53@10.0.0.0/8,::/0"],
            ),
            (
                &["icmp@1.2.3.4/32", "icmp@1.2.3.5/32", "tcp:65535@::/0"],
                &["tcp:65535@::/0", "icmp@1.2.3.4/31"],
            ),
        ];

        for (input, want) in cases {
            let out = normalize(&rules(input)).unwrap();

            assert_eq!(texts(&out.rules.ingress), want, "{input:?}");
        }
    }

    #[test]
    fn merged_port_ranges_then_merge_addresses() {
        let input = rules(&[
            "tcp:80@10.0.0.0/25",
            "tcp:81@10.0.0.0/25",
            "tcp:80-81@10.0.0.128/25",
        ]);

        let out = normalize(&input).unwrap();

        assert_eq!(texts(&out.rules.ingress), ["tcp:80-81@10.0.0.0/24"]);
    }

    #[test]
    fn reports_host_bits_and_mapped_addresses() {
        let input = rules(&["tcp:22@10.0.0.1/24", "egress:all@::ffff:192.0.2.0/120"]);

        let out = normalize(&input).unwrap();

        let fixes: Vec<_> = out
            .canonicalized
            .iter()
            .map(|c| {
                (
                    c.direction,
                    c.rule,
                    c.written.to_string(),
                    c.canonical.to_string(),
                )
            })
            .collect();
        assert_eq!(
            fixes,
            [
                (
                    Direction::Ingress,
                    0,
                    "10.0.0.1/24".into(),
                    "10.0.0.0/24".into()
                ),
                (
                    Direction::Egress,
                    0,
                    "::ffff:192.0.2.0/120".into(),
                    "192.0.2.0/24".into()
                ),
            ]
        );
        assert_eq!(texts(&out.rules.egress), ["egress:all@192.0.2.0/24"]);
    }

    #[test]
    fn exact_duplicates_already_exist() {
        let mut input = rules(&[
            "tcp:22@10.0.0.0/8,1.2.3.4/32",
            "tcp:22@1.2.3.4/32,10.0.0.1/8",
        ]);
        input.ingress[1].id = Some("fw-2".parse().unwrap());

        let err = normalize(&input).unwrap_err();

        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert!(err.message().contains("ingress[1]"), "{err}");
    }

    #[test]
    fn ensure_unique_names_the_existing_rule() {
        let existing = vec![
            "tcp:22@0.0.0.0/0"
                .parse::<FirewallRule>()
                .unwrap()
                .with_id("fw-9".parse().unwrap()),
        ];
        let same: FirewallRule = "tcp:22@0.0.0.0/0".parse().unwrap();
        let other: FirewallRule = "tcp:23@0.0.0.0/0".parse().unwrap();

        let err = ensure_unique(&existing, &same).unwrap_err();

        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert!(err.message().contains("fw-9"));
        assert!(ensure_unique(&existing, &other).is_ok());
    }

    #[test]
    fn unchanged_rules_keep_their_ids() {
        let mut input = rules(&["tcp:22@0.0.0.0/0", "udp:53@10.0.0.0/8"]);
        input.ingress[0].id = Some("keep".parse().unwrap());

        let out = normalize(&input).unwrap();

        assert_eq!(
            out.rules.ingress[0].id.as_ref().map(|i| i.as_str()),
            Some("keep")
        );
    }

    #[test]
    fn mutually_covering_rules_keep_one() {
        let input = rules(&["all@10.0.0.0/8", "all@10.0.0.0/9,10.128.0.0/9"]);

        let out = normalize(&input).unwrap();

        assert_eq!(texts(&out.rules.ingress), ["all@10.0.0.0/8"]);
    }
}
