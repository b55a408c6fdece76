//! Lints for a rule set: world-open ports, shadowed and redundant rules, family gaps.

use std::{fmt, net::IpAddr};

use compute_types::{Direction, FirewallRule, FirewallRules, Protocol, Result};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::{
    cidr::{self, AddrSet, canonical_net},
    normalize::{RuleKey, Work, direction_name},
    policy::{ClusterContext, validate_rules},
};

/// How serious a finding is.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing; nothing is wrong.
    Info,
    /// Probably not what was meant, or wider than needed.
    Warning,
    /// Almost certainly a mistake or an exposure.
    Error,
}

impl Severity {
    /// Returns the lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding is about. Each code has a fixed [`Severity`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LintCode {
    /// An ingress rule opens every port (or every protocol) to `0.0.0.0/0` or `::/0`. Error.
    WorldOpenAll,
    /// An ingress rule opens a port other than SSH (tcp 22) to the world. Warning.
    WorldOpenPort,
    /// A rule is an exact duplicate of an earlier one. Error.
    Duplicate,
    /// Another single rule already admits everything this rule admits, so the rule is
    /// redundant: rules only allow, so their order never matters and removing this one
    /// changes no decision. Warning.
    Shadowed,
    /// A rule only admits addresses of the instance's own cluster, which reaches it anyway.
    /// Info.
    ClusterRedundant,
    /// An ingress rule admits only IPv4 sources while the instance has IPv6 (its cluster
    /// has an IPv6 subnet, or the instance an IPv6 address). Info.
    Ipv4Only,
    /// Egress rules replace the default allow-all outbound with less. Warning.
    EgressNarrows,
    /// An ingress rule admits (part of) another cluster's range. Info.
    AdmitsCluster,
    /// A CIDR was written with host bits set (or as IPv4-mapped IPv6). Warning.
    HostBits,
}

impl LintCode {
    /// Returns the kebab-case code, e.g. `world-open-port`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WorldOpenAll => "world-open-all",
            Self::WorldOpenPort => "world-open-port",
            Self::Duplicate => "duplicate",
            Self::Shadowed => "shadowed",
            Self::ClusterRedundant => "cluster-redundant",
            Self::Ipv4Only => "ipv4-only",
            Self::EgressNarrows => "egress-narrows",
            Self::AdmitsCluster => "admits-cluster",
            Self::HostBits => "host-bits",
        }
    }

    /// Returns the severity findings of this code carry.
    pub fn severity(self) -> Severity {
        match self {
            Self::WorldOpenAll | Self::Duplicate => Severity::Error,
            Self::WorldOpenPort | Self::Shadowed | Self::EgressNarrows | Self::HostBits => {
                Severity::Warning
            }
            Self::ClusterRedundant | Self::Ipv4Only | Self::AdmitsCluster => Severity::Info,
        }
    }
}

impl fmt::Display for LintCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One lint finding.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How serious it is.
    pub severity: Severity,
    /// What it is about.
    pub code: LintCode,
    /// The direction of the rule (or rule list) concerned.
    pub direction: Direction,
    /// The rule's position in its direction's list; `None` for findings about the whole list.
    pub rule: Option<usize>,
    /// A lower-case sentence naming the rule and the problem.
    pub message: String,
}

impl Finding {
    fn new(code: LintCode, direction: Direction, rule: Option<usize>, message: String) -> Self {
        Self {
            severity: code.severity(),
            code,
            direction,
            rule,
            message,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}[{}] {}",
            self.severity,
            self.code,
            direction_name(self.direction)
        )?;
        if let Some(rule) = self.rule {
            write!(f, "[{rule}]")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Lints the rules of an instance (or of every instance of a cluster) in `context`.
///
/// Findings come sorted by direction (ingress first), rule position and code. See
/// [`LintCode`] for what is checked and how serious each finding is.
///
/// # Errors
/// [`ErrorKind::InvalidRequest`](compute_types::ErrorKind::InvalidRequest) as
/// [`validate_rules`].
///
/// # Examples
///
/// ```
/// use compute_net::{ClusterContext, LintCode, Severity, lint};
/// use compute_types::FirewallRules;
///
/// let cluster = ClusterContext::new("train", ["10.1.0.0/24".parse().unwrap()]).unwrap();
/// let rules = FirewallRules::from_rules(["tcp:8888@0.0.0.0/0".parse().unwrap()]);
/// let findings = lint(&cluster, &rules).unwrap();
/// assert_eq!(findings[0].code, LintCode::WorldOpenPort);
/// assert_eq!(findings[0].severity, Severity::Warning);
/// ```
pub fn lint(context: &ClusterContext, rules: &FirewallRules) -> Result<Vec<Finding>> {
    lint_addressed(context, rules, &[])
}

/// Lints the rules of one instance whose own addresses are `addrs`.
///
/// As [`lint`], except that [`LintCode::Ipv4Only`] also fires when the instance itself has
/// an IPv6 address (public or private) in a cluster without an IPv6 subnet: IPv6 clients
/// reach it, and IPv4-only rules leave them out.
///
/// # Errors
/// As [`lint`].
///
/// # Examples
///
/// ```
/// use compute_net::{ClusterContext, LintCode, lint_addressed};
/// use compute_types::FirewallRules;
///
/// let cluster = ClusterContext::new("train", ["10.1.0.0/24".parse().unwrap()]).unwrap();
/// let rules = FirewallRules::from_rules(["tcp:22@198.51.100.0/24".parse().unwrap()]);
/// let addrs = ["10.1.0.4".parse().unwrap(), "2001:db8::4".parse().unwrap()];
/// let findings = lint_addressed(&cluster, &rules, &addrs).unwrap();
/// assert_eq!(findings[0].code, LintCode::Ipv4Only);
/// ```
pub fn lint_addressed(
    context: &ClusterContext,
    rules: &FirewallRules,
    addrs: &[IpAddr],
) -> Result<Vec<Finding>> {
    validate_rules(rules)?;
    let has_ipv6 = context.has_ipv6()
        || addrs
            .iter()
            .any(|a| matches!(cidr::canonical_addr(*a), IpAddr::V6(_)));
    let cluster = AddrSet::from_nets(context.subnets().iter().copied());
    let mut findings = Vec::new();

    for (list, direction) in [
        (&rules.ingress, Direction::Ingress),
        (&rules.egress, Direction::Egress),
    ] {
        let work: Vec<Work> = list.iter().map(Work::of).collect();
        for (i, rule) in list.iter().enumerate() {
            let mut add =
                |code, message| findings.push(Finding::new(code, direction, Some(i), message));
            host_bits(rule, &mut add);
            if direction == Direction::Ingress {
                world_open(rule, &mut add);
                ipv4_only(has_ipv6, rule, &mut add);
                admits_cluster(context, rule, &mut add);
            }
            cluster_redundant(context, &cluster, rule, &work[i].addrs, &mut add);
            duplicate_or_shadowed(list, &work, i, &mut add);
        }
    }
    egress_narrows(&rules.egress, &mut findings);

    findings.sort_by_key(|f| (f.direction, f.rule, f.code));
    Ok(findings)
}

fn host_bits(rule: &FirewallRule, add: &mut impl FnMut(LintCode, String)) {
    for written in &rule.cidrs {
        let canonical = canonical_net(*written);
        if canonical != *written {
            add(
                LintCode::HostBits,
                format!("`{rule}`: {written} is not canonical; it means {canonical}"),
            );
        }
    }
}

fn world_open(rule: &FirewallRule, add: &mut impl FnMut(LintCode, String)) {
    let Some(world) = rule.cidrs.iter().copied().find(|n| cidr::is_world(*n)) else {
        return;
    };
    let world = canonical_net(world);
    match (rule.protocol, rule.ports) {
        (Protocol::All, _) => add(
            LintCode::WorldOpenAll,
            format!("`{rule}` opens every protocol and port to the world ({world})"),
        ),
        (_, Some(ports)) if ports.is_all() => add(
            LintCode::WorldOpenAll,
            format!(
                "`{rule}` opens every {} port to the world ({world})",
                rule.protocol
            ),
        ),
        (Protocol::Tcp, Some(ports)) if ports.from() == 22 && ports.to() == 22 => {}
        (protocol, Some(ports)) => add(
            LintCode::WorldOpenPort,
            format!(
                "`{rule}` opens {protocol} port {ports} to the world ({world}); \
                 only ssh (tcp 22) is expected there"
            ),
        ),
        _ => {}
    }
}

fn ipv4_only(has_ipv6: bool, rule: &FirewallRule, add: &mut impl FnMut(LintCode, String)) {
    let v4_only = rule
        .cidrs
        .iter()
        .all(|n| matches!(canonical_net(*n), IpNet::V4(_)));
    if has_ipv6 && v4_only {
        add(
            LintCode::Ipv4Only,
            format!("`{rule}` admits ipv4 sources only, but the instance also has ipv6"),
        );
    }
}

/// World ranges are left out: the world lints cover them, and naming every cluster for
/// `0.0.0.0/0` would drown the explicit admissions this lint is for.
fn admits_cluster(
    context: &ClusterContext,
    rule: &FirewallRule,
    add: &mut impl FnMut(LintCode, String),
) {
    let addrs = AddrSet::from_nets(rule.cidrs.iter().copied().filter(|n| !cidr::is_world(*n)));
    for peer in context.peers() {
        let theirs = AddrSet::from_nets(peer.subnets.iter().copied());
        if addrs.intersects(&theirs) {
            let nets: Vec<String> = peer.subnets.iter().map(ToString::to_string).collect();
            add(
                LintCode::AdmitsCluster,
                format!(
                    "`{rule}` admits cluster `{}` ({})",
                    peer.name,
                    nets.join(", ")
                ),
            );
        }
    }
}

fn cluster_redundant(
    context: &ClusterContext,
    cluster: &AddrSet,
    rule: &FirewallRule,
    addrs: &AddrSet,
    add: &mut impl FnMut(LintCode, String),
) {
    if !cluster.is_empty() && cluster.is_superset(addrs) {
        add(
            LintCode::ClusterRedundant,
            format!(
                "`{rule}` only admits cluster `{}`, which reaches itself on everything anyway",
                context.name()
            ),
        );
    }
}

fn duplicate_or_shadowed(
    list: &[FirewallRule],
    work: &[Work],
    i: usize,
    add: &mut impl FnMut(LintCode, String),
) {
    let key = RuleKey::of(&list[i]);
    if let Some(j) = (0..i).find(|&j| RuleKey::of(&list[j]) == key) {
        add(
            LintCode::Duplicate,
            format!("`{}` duplicates rule {j} (`{}`)", list[i], list[j]),
        );
        return;
    }
    let shadow = (0..list.len())
        .find(|&j| j != i && work[j].covers(&work[i]) && (j < i || !work[i].covers(&work[j])));
    if let Some(j) = shadow {
        add(
            LintCode::Shadowed,
            format!(
                "`{}` is redundant: rule {j} (`{}`) admits all it does, so removing it \
                 changes no decision",
                list[i], list[j]
            ),
        );
    }
}

fn egress_narrows(egress: &[FirewallRule], findings: &mut Vec<Finding>) {
    if egress.is_empty() {
        return;
    }
    let world = [IpNet::V4(Ipv4Net::default()), IpNet::V6(Ipv6Net::default())];
    let everything = AddrSet::from_nets(world);
    let all_rules = egress.iter().filter(|r| r.protocol == Protocol::All);
    let open = AddrSet::from_nets(all_rules.flat_map(|r| r.cidrs.iter().copied()));
    if open.is_superset(&everything) {
        return;
    }
    findings.push(Finding::new(
        LintCode::EgressNarrows,
        Direction::Egress,
        None,
        format!(
            "{} egress rule(s) replace the default allow-all outbound; \
             only what they admit leaves the instance",
            egress.len()
        ),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    fn context() -> ClusterContext {
        ClusterContext::new("a", [net("10.1.0.0/24"), net("fd00:1::/64")])
            .unwrap()
            .with_peer("b", [net("10.2.0.0/24")])
            .unwrap()
    }

    type Found = Vec<(LintCode, Option<usize>)>;

    fn codes(texts: &[&str]) -> Found {
        let rules =
            FirewallRules::from_rules(texts.iter().map(|t| t.parse::<FirewallRule>().unwrap()));
        lint(&context(), &rules)
            .unwrap()
            .into_iter()
            .map(|f| (f.code, f.rule))
            .collect()
    }

    #[test]
    fn table_of_lints() {
        use LintCode::*;
        let cases: [(&[&str], Found); 14] = [
            (&["tcp:22@0.0.0.0/0,::/0"], vec![]),
            (&["tcp:22@0.0.0.0/0"], vec![(Ipv4Only, Some(0))]),
            (&["tcp:80@::/0"], vec![(WorldOpenPort, Some(0))]),
            (&["udp:22@::/0"], vec![(WorldOpenPort, Some(0))]),
            (&["tcp:1-65535@::/0"], vec![(WorldOpenAll, Some(0))]),
            (&["all@::/0"], vec![(WorldOpenAll, Some(0))]),
            (&["icmp@::/0"], vec![]),
            (
                &["tcp:22@2001:db8::/32", "tcp:22@2001:db8::/32"],
                vec![(Duplicate, Some(1))],
            ),
            (
                &["tcp:1-1024@2001:db8::/32", "tcp:22@2001:db8:1::/48"],
                vec![(Shadowed, Some(1))],
            ),
            (
                &["tcp:22@2001:db8::/48", "all@2001:db8::/32"],
                vec![(Shadowed, Some(0))],
            ),
            (
                &["tcp:22@10.1.0.0/25,fd00:1::/64"],
                vec![(ClusterRedundant, Some(0))],
            ),
            (&["tcp:22@10.2.0.0/16,::/0"], vec![(AdmitsCluster, Some(0))]),
            (&["tcp:22@2001:db8::1/32"], vec![(HostBits, Some(0))]),
            (
                &["egress:tcp:443@0.0.0.0/0,::/0"],
                vec![(EgressNarrows, None)],
            ),
        ];

        for (rules, want) in cases {
            assert_eq!(codes(rules), want, "{rules:?}");
        }
    }
    #[test]
    fn a_shadowed_rule_is_called_redundant_and_names_the_wider_rule() {
        let rules = FirewallRules::from_rules([
            "tcp:22@203.0.113.0/24,2001:db8::/32".parse().unwrap(),
            "tcp:1-1024@203.0.113.0/24,2001:db8::/32".parse().unwrap(),
        ]);

        let findings = lint(&context(), &rules).unwrap();

        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].code, LintCode::Shadowed);
        assert_eq!(findings[0].rule, Some(0));
        assert!(
            findings[0].message.contains("is redundant: rule 1"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn ipv4_only_looks_at_the_instance_addresses_too() {
        let v4_cluster = ClusterContext::new("a", [net("10.1.0.0/24")]).unwrap();
        let rules = FirewallRules::from_rules(["tcp:22@198.51.100.0/24".parse().unwrap()]);
        let v4: IpAddr = "10.1.0.4".parse().unwrap();
        let v6: IpAddr = "2001:db8::4".parse().unwrap();
        let mapped: IpAddr = "::ffff:203.0.113.4".parse().unwrap();
        let found = |addrs: &[IpAddr]| -> Vec<LintCode> {
            let findings = lint_addressed(&v4_cluster, &rules, addrs).unwrap();
            findings.into_iter().map(|f| f.code).collect()
        };

        assert_eq!(found(&[]), vec![]);
        assert_eq!(found(&[v4]), vec![]);
        assert_eq!(found(&[v4, mapped]), vec![], "a mapped address is ipv4");
        assert_eq!(found(&[v4, v6]), vec![LintCode::Ipv4Only]);
        let both =
            FirewallRules::from_rules(["tcp:22@198.51.100.0/24,2001:db8::/32".parse().unwrap()]);
        assert!(
            lint_addressed(&v4_cluster, &both, &[v4, v6])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn egress_allowing_everything_does_not_narrow() {
        let found = codes(&["egress:all@0.0.0.0/0,::/0"]);

        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn finding_display_names_severity_code_and_rule() {
        let rules = FirewallRules::from_rules(["all@0.0.0.0/0".parse().unwrap()]);

        let findings = lint(&ClusterContext::standalone(), &rules).unwrap();

        assert_eq!(findings.len(), 1);
        assert_eq!(
            findings[0].to_string(),
            "error[world-open-all] ingress[0]: `all@0.0.0.0/0` opens every protocol and port \
             to the world (0.0.0.0/0)"
        );
    }

    #[test]
    fn severities_are_ordered() {
        assert!(Severity::Error > Severity::Warning && Severity::Warning > Severity::Info);
        assert_eq!(LintCode::Shadowed.severity(), Severity::Warning);
    }
}
