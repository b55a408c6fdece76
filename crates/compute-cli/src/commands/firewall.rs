//! `computectl firewall check|render|lint`: a node's policy, built with compute-net from
//! what the provider reports (the nodes, their rules and addresses) and the subnets the
//! inventory records, so the commands work the same for every provider.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use super::{cluster_nodes, find_instance, live_cluster};
use crate::{
    cli::{CheckArgs, FailOn, LintArgs, Proto, RenderArgs, RenderFormat},
    context::Context,
    error::{CliError, CliResult},
    inventory::{ClusterSpec, ClusterState, Clusters},
    output::{JSON_VERSION, table},
    views::plural,
};
use compute_net::{
    ClusterContext, Decision, Finding, Flow, Policy, Reason, Severity, lint as lint_rules,
    render_nftables,
};
use compute_types::{Direction, FirewallRule, FirewallRules, Instance, Protocol};

/// Name of the nftables table `render` writes.
const NFT_TABLE: &str = "computectl";

/// A cluster as the firewall commands see it.
#[derive(Debug)]
struct ClusterView {
    name: String,
    spec: ClusterSpec,
    nodes: Vec<Instance>,
    context: ClusterContext,
}

impl ClusterView {
    /// Loads the cluster from the inventory and its live nodes from the provider.
    fn load(cx: &Context, name: &str) -> CliResult<Self> {
        // The state file first: a broken one is the error to report.
        let provider = cx.provider()?;
        let clusters = cx.inventory()?.read()?;
        let spec = live_cluster(&clusters, name)?.clone();
        let nodes = cx.block_on(cluster_nodes(&*provider, name, &spec))?;
        let context = cluster_context(name, &spec, &nodes, &clusters)?;
        Ok(Self {
            name: name.to_owned(),
            spec,
            nodes,
            context,
        })
    }

    /// Finds the node `wanted` by id, name or ref id.
    fn node(&self, wanted: &str) -> CliResult<&Instance> {
        find_instance(&self.nodes, wanted).ok_or_else(|| {
            let names: Vec<&str> = self
                .nodes
                .iter()
                .map(|n| n.identity.name.as_str())
                .collect();
            let hint = if names.is_empty() {
                format!(
                    "cluster {} has no live nodes; run `computectl up`",
                    self.name
                )
            } else {
                format!("nodes of {}: {}", self.name, names.join(", "))
            };
            CliError::usage(format!("no node `{wanted}` in cluster {}", self.name)).with_hint(hint)
        })
    }
}

/// The cluster's own subnets, with every other live cluster as a peer.
///
/// The subnets are those the provider reported when `up` finished. When none were
/// recorded, the nodes' own private addresses stand in (as single-host networks), so
/// exactly the cluster's members count as cluster internal.
fn cluster_context(
    name: &str,
    spec: &ClusterSpec,
    nodes: &[Instance],
    clusters: &Clusters,
) -> CliResult<ClusterContext> {
    let own = if spec.subnets.is_empty() {
        host_nets(nodes)
    } else {
        spec.subnets.clone()
    };
    let mut context = ClusterContext::new(name, own)?;

    let peers = clusters
        .iter()
        .filter(|(other, s)| other.as_str() != name && s.state != ClusterState::Down);
    for (other, peer) in peers {
        context = match context
            .clone()
            .with_peer(other.as_str(), peer.subnets.clone())
        {
            Ok(with_peer) => with_peer,
            Err(e) => {
                tracing::warn!(cluster = %other, error = %e, "ignoring a peer cluster");
                context
            }
        };
    }
    Ok(context)
}

/// Single-host networks of the nodes' private addresses, without duplicates.
fn host_nets(nodes: &[Instance]) -> Vec<IpNet> {
    let mut nets: Vec<IpNet> = nodes
        .iter()
        .filter_map(|n| n.network.private_ip)
        .map(IpNet::from)
        .collect();
    nets.sort();
    nets.dedup();
    nets
}

/// The JSON document of `firewall check`.
#[derive(Debug, Serialize)]
struct CheckJson {
    version: u32,
    cluster: String,
    to: NodeJson,
    from: IpAddr,
    protocol: &'static str,
    port: Option<u16>,
    allowed: bool,
    verdict: &'static str,
    reason: ReasonJson,
}

/// The receiving node of a check.
#[derive(Debug, Serialize)]
struct NodeJson {
    id: String,
    name: String,
    private_ip: Option<IpAddr>,
    public_ip: Option<IpAddr>,
}

/// Why a flow was allowed or denied.
#[derive(Debug, Serialize)]
struct ReasonJson {
    /// `rule`, `cluster_internal`, `default_deny_inbound`, ...
    kind: &'static str,
    /// The reason in words.
    text: String,
    /// The matched rule in compact form, for `kind: rule`.
    rule: Option<String>,
}

/// Answers whether a packet from `--from` reaches `--to`; exit 0 for allow and deny alike.
pub(super) fn check(cx: &Context, args: &CheckArgs) -> CliResult {
    let (protocol, port) = protocol_and_port(args.proto, args.port)?;
    let cluster = ClusterView::load(cx, &args.cluster)?;
    let node = cluster.node(&args.to)?;
    let dst = node
        .network
        .private_ip
        .or(node.network.public_ip)
        .ok_or_else(|| CliError::failed(format!("node {} has no address yet", node.id())))?;

    let policy = Policy::compile(&cluster.context, &node.network.firewall_rules)?;
    let decision = policy.evaluate(
        Direction::Ingress,
        &Flow::new(args.from, dst, protocol, port),
    );

    if cx.out.is_json() {
        return cx.out.json(&check_json(
            &cluster, node, args.from, protocol, port, &decision,
        ));
    }
    let verdict = if decision.allowed { "allow" } else { "deny" };
    let target = match port {
        Some(p) => format!("{}:{p}", node.identity.name),
        None => node.identity.name.clone(),
    };
    cx.out.text(&format!(
        "{verdict}: {protocol} {} -> {target} ({})",
        args.from,
        reason_text(&decision.reason)
    ))
}

fn check_json(
    cluster: &ClusterView,
    node: &Instance,
    from: IpAddr,
    protocol: Protocol,
    port: Option<u16>,
    decision: &Decision,
) -> CheckJson {
    let rule = match &decision.reason {
        Reason::Rule(r) => Some(r.rule().to_string()),
        _ => None,
    };
    CheckJson {
        version: JSON_VERSION,
        cluster: cluster.name.clone(),
        to: NodeJson {
            id: node.id().to_string(),
            name: node.identity.name.clone(),
            private_ip: node.network.private_ip,
            public_ip: node.network.public_ip,
        },
        from,
        protocol: protocol.as_str(),
        port,
        allowed: decision.allowed,
        verdict: if decision.allowed { "allow" } else { "deny" },
        reason: ReasonJson {
            kind: decision.reason.as_str(),
            text: reason_text(&decision.reason),
            rule,
        },
    }
}

/// The reason in words, naming the matched rule by its compact form.
fn reason_text(reason: &Reason) -> String {
    match reason {
        Reason::Rule(r) => format!("matched rule {}", r.rule()),
        Reason::ClusterInternal => "cluster internal: the sender is in the cluster's subnet".into(),
        Reason::DefaultDenyInbound => "default deny: no inbound rule admits it".into(),
        other => other.to_string(),
    }
}

/// Checks that tcp and udp have a port and icmp has none.
fn protocol_and_port(proto: Proto, port: Option<u16>) -> CliResult<(Protocol, Option<u16>)> {
    let protocol = match proto {
        Proto::Tcp => Protocol::Tcp,
        Proto::Udp => Protocol::Udp,
        Proto::Icmp => Protocol::Icmp,
    };
    match (protocol.has_ports(), port) {
        (true, None) => Err(
            CliError::usage(format!("--port is required for {protocol}"))
                .with_hint("e.g. --port 22"),
        ),
        (false, Some(_)) => Err(CliError::usage(format!(
            "{protocol} has no ports; drop --port"
        ))),
        _ => Ok((protocol, port)),
    }
}

/// The JSON document of `firewall render`.
#[derive(Debug, Serialize)]
struct RenderJson {
    version: u32,
    cluster: String,
    node: String,
    format: &'static str,
    ruleset: String,
}

/// Prints the node's inbound policy as an nftables ruleset.
pub(super) fn render(cx: &Context, args: &RenderArgs) -> CliResult {
    let cluster = ClusterView::load(cx, &args.cluster)?;
    let node = cluster.node(&args.to)?;
    let RenderFormat::Nftables = args.format;

    let policy = Policy::compile(&cluster.context, &node.network.firewall_rules)?;
    let ruleset = render_nftables(&policy, NFT_TABLE)?;

    if cx.out.is_json() {
        return cx.out.json(&RenderJson {
            version: JSON_VERSION,
            cluster: cluster.name.clone(),
            node: node.identity.name.clone(),
            format: "nftables",
            ruleset,
        });
    }
    cx.out.text(&ruleset)
}

/// The JSON document of `firewall lint`.
#[derive(Debug, Serialize)]
struct LintJson {
    version: u32,
    cluster: String,
    findings: Vec<FindingJson>,
}

/// One finding, with the nodes whose rules it concerns.
#[derive(Debug, Serialize)]
struct FindingJson {
    severity: &'static str,
    code: &'static str,
    direction: &'static str,
    /// Position of the rule in its direction's list; absent for whole-list findings.
    rule_index: Option<usize>,
    /// The rule in compact form, when the finding is about one rule.
    rule: Option<String>,
    message: String,
    nodes: Vec<String>,
}

/// Lints the rules of every node of the cluster (the recorded rules when no node is up).
pub(super) fn lint(cx: &Context, args: &LintArgs) -> CliResult {
    let cluster = ClusterView::load(cx, &args.cluster)?;

    let mut sets = rule_sets(&cluster.nodes);
    if sets.is_empty() {
        sets.push((
            FirewallRules::from_rules(cluster.spec.rules.clone()),
            Vec::new(),
        ));
    }

    let mut findings = Vec::new();
    let mut severities = Vec::new();
    for (rules, nodes) in &sets {
        for finding in lint_rules(&cluster.context, rules)? {
            findings.push(finding_json(&finding, rules, nodes));
            severities.push(finding.severity);
        }
    }

    print_findings(cx, &cluster.name, findings)?;
    match args.fail_on {
        Some(level) => fail_on(level, &severities),
        None => Ok(()),
    }
}

/// The exit-1 error of `--fail-on`, when a finding is at or above `level`.
fn fail_on(level: FailOn, severities: &[Severity]) -> CliResult {
    let least = match level {
        FailOn::Info => Severity::Info,
        FailOn::Warning => Severity::Warning,
        FailOn::Error => Severity::Error,
    };
    let failing = severities.iter().filter(|s| **s >= least).count();
    if failing == 0 {
        return Ok(());
    }
    let above = if least == Severity::Error {
        ""
    } else {
        " or above"
    };
    Err(CliError::failed(format!(
        "{} at severity {least}{above} (--fail-on {least})",
        plural(failing as u64, "finding", "findings")
    )))
}

/// Prints the findings as JSON or as a table.
fn print_findings(cx: &Context, cluster: &str, findings: Vec<FindingJson>) -> CliResult {
    if cx.out.is_json() {
        return cx.out.json(&LintJson {
            version: JSON_VERSION,
            cluster: cluster.to_owned(),
            findings,
        });
    }
    if findings.is_empty() {
        return cx.out.text(&format!("cluster {cluster}: no findings"));
    }
    let rows = findings
        .iter()
        .map(|f| {
            vec![
                f.severity.to_owned(),
                f.code.to_owned(),
                f.rule.clone().unwrap_or_else(|| f.direction.to_owned()),
                f.message.clone(),
            ]
        })
        .collect();
    cx.out
        .text(&table(&["severity", "code", "rule", "message"], rows))
}

/// The distinct rule sets of the nodes, each with the names of the nodes that have it.
///
/// Nodes normally share one rule set, linted once. Providers give each node's copy of a
/// rule its own id, so sets are compared without ids.
fn rule_sets(nodes: &[Instance]) -> Vec<(FirewallRules, Vec<String>)> {
    let mut sets: Vec<(FirewallRules, Vec<String>)> = Vec::new();
    for node in nodes {
        let rules = without_ids(&node.network.firewall_rules);
        match sets.iter_mut().find(|(r, _)| *r == rules) {
            Some((_, names)) => names.push(node.identity.name.clone()),
            None => sets.push((rules, vec![node.identity.name.clone()])),
        }
    }
    sets
}

/// The same rules with their provider ids dropped, for telling rule sets apart by what
/// they admit.
fn without_ids(rules: &FirewallRules) -> FirewallRules {
    FirewallRules::from_rules(rules.iter().map(FirewallRule::without_id))
}

fn finding_json(finding: &Finding, rules: &FirewallRules, nodes: &[String]) -> FindingJson {
    let list = match finding.direction {
        Direction::Egress => &rules.egress,
        _ => &rules.ingress,
    };
    FindingJson {
        severity: finding.severity.as_str(),
        code: finding.code.as_str(),
        direction: match finding.direction {
            Direction::Egress => "egress",
            _ => "ingress",
        },
        rule_index: finding.rule,
        rule: finding
            .rule
            .and_then(|i| list.get(i))
            .map(ToString::to_string),
        message: finding.message.clone(),
        nodes: nodes.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use compute_types::{FirewallRuleId, InstanceId, RefId};

    fn node(name: &str, rules: &[(&str, &str)]) -> Instance {
        let type_id = "fake/us-east-1//gpu-1x-l4".parse().unwrap();
        let mut node = Instance::new(
            name,
            RefId::new(name).unwrap(),
            InstanceId::new(format!("i-{name}")).unwrap(),
            type_id,
            Utc::now(),
        );
        let rules = rules.iter().map(|(rule, id)| {
            let rule: FirewallRule = rule.parse().unwrap();
            rule.with_id(FirewallRuleId::new(*id).unwrap())
        });
        node.network.firewall_rules = FirewallRules::from_rules(rules);
        node
    }

    #[test]
    fn rules_differing_only_by_id_are_one_set() {
        let nodes = [
            node("demo-0", &[("tcp:8888@0.0.0.0/0", "fwr-1")]),
            node("demo-1", &[("tcp:8888@0.0.0.0/0", "fwr-2")]),
            node("demo-2", &[("tcp:22@0.0.0.0/0", "fwr-3")]),
        ];

        let sets = rule_sets(&nodes);

        let names: Vec<&[String]> = sets.iter().map(|(_, n)| n.as_slice()).collect();
        assert_eq!(names, [&["demo-0", "demo-1"][..], &["demo-2"][..]]);
        assert!(sets[0].0.iter().all(|r| r.id.is_none()));
    }
}
