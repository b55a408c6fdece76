//! Cases on reachability, asked through the provider's network probe: default deny,
//! exact rules, outbound, cluster membership and revocation.

use std::net::IpAddr;

use super::launch_running;
use crate::{
    Check, Cx, Outcome,
    outcome::{Context, bail, ensure},
    wait::settle,
};
use compute_provider::{NetworkProbe, Probe, ProbeSource, Provider};
use compute_types::{Capability, FirewallRule, Instance, InstanceId, Protocol};

/// A sample of flows that default-deny must drop and a cluster must deliver.
const SAMPLE: &[(Protocol, Option<u16>)] = &[
    (Protocol::Tcp, Some(22)),
    (Protocol::Tcp, Some(80)),
    (Protocol::Tcp, Some(443)),
    (Protocol::Tcp, Some(6379)),
    (Protocol::Tcp, Some(8080)),
    (Protocol::Tcp, Some(29500)),
    (Protocol::Tcp, Some(65535)),
    (Protocol::Udp, Some(53)),
    (Protocol::Udp, Some(4791)),
    (Protocol::Icmp, None),
];

/// The range the rule cases open (half of TEST-NET-1, which no cloud assigns).
const RANGE: &str = "192.0.2.0/25";

/// An address inside [`RANGE`].
const INSIDE: &str = "192.0.2.7";

/// An address outside every range the cases open (the benchmarking range).
const OUTSIDE: &str = "198.18.0.10";

fn prober(p: &dyn Provider) -> Check<&dyn NetworkProbe> {
    p.network_probe()
        .ok_or_else(|| Outcome::missing(Capability::NetworkProbe))
}

fn external(address: &str) -> Check<ProbeSource> {
    let ip: IpAddr = address
        .parse()
        .map_err(|e| Outcome::fail(format!("address {address}: {e}")))?;
    Ok(ProbeSource::External(ip))
}

fn describe(from: &ProbeSource, to: &InstanceId, protocol: Protocol, port: Option<u16>) -> String {
    let from = match from {
        ProbeSource::Instance(id) => format!("instance {id}"),
        ProbeSource::External(ip) => ip.to_string(),
        _ => "another source".to_owned(),
    };
    match port {
        Some(port) => format!("{protocol}/{port} from {from} to {to}"),
        None => format!("{protocol} from {from} to {to}"),
    }
}

/// Asks whether one flow is delivered.
async fn delivered(
    probe: &dyn NetworkProbe,
    from: &ProbeSource,
    to: &InstanceId,
    protocol: Protocol,
    port: Option<u16>,
) -> Check<bool> {
    let flow = Probe::new(from.clone(), to.clone(), protocol, port);
    let result = probe.probe(&flow).await.context("probe")?;
    Ok(result.delivered)
}

/// Checks every flow of `flows` from `from` to `to` against `want`, naming the first
/// that disagrees.
async fn expect_flows(
    probe: &dyn NetworkProbe,
    from: &ProbeSource,
    to: &InstanceId,
    flows: &[(Protocol, Option<u16>)],
    want: bool,
) -> Check {
    for &(protocol, port) in flows {
        let got = delivered(probe, from, to, protocol, port).await?;
        let flow = describe(from, to, protocol, port);
        ensure!(
            got == want,
            "{flow} is {}, expected {}",
            if got { "delivered" } else { "dropped" },
            if want { "delivered" } else { "dropped" }
        );
    }
    Ok(())
}

/// Waits until one flow is delivered (`want`) or dropped, as rules may take a moment.
async fn wait_flow(
    cx: &Cx,
    probe: &dyn NetworkProbe,
    from: &ProbeSource,
    to: &InstanceId,
    (protocol, port): (Protocol, Option<u16>),
    want: bool,
) -> Check {
    let what = format!(
        "{} is not {}",
        describe(from, to, protocol, port),
        if want { "delivered" } else { "dropped" }
    );
    settle(cx, &what, || async {
        let got = delivered(probe, from, to, protocol, port).await?;
        Ok((got == want).then_some(()))
    })
    .await
}

/// With no rules, nothing outside reaches an instance on a sample of ports.
pub async fn inbound_is_denied_by_default(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let probe = prober(p)?;
            let instance = launch_running(p, cx, |r| r).await?;

            ensure!(
                instance.network.firewall_rules.ingress.is_empty(),
                "an instance created without rules reports the ingress rules {:?}",
                instance.network.firewall_rules.ingress
            );
            for source in [OUTSIDE, INSIDE] {
                let from = external(source)?;
                expect_flows(probe, &from, instance.id(), SAMPLE, false).await?;
            }
            Ok(())
        }
        .await,
    )
}

/// A rule opens exactly its port range to exactly its address range, for its protocol,
/// and reports itself as asked.
pub async fn firewall_rule_opens_exactly_its_range(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let probe = prober(p)?;
            let rule: FirewallRule = format!("tcp:8000-8010@{RANGE}").parse().context("rule")?;
            let asked = rule.clone();
            let instance = launch_running(p, cx, |r| r.with_firewall_rule(asked)).await?;
            let id = instance.id();

            let reported: Vec<_> = instance
                .network
                .firewall_rules
                .ingress
                .iter()
                .map(FirewallRule::without_id)
                .collect();
            ensure!(
                reported == [rule.clone()],
                "the instance reports the ingress rules {reported:?}, asked for [{rule}]"
            );
            let inside = external(INSIDE)?;
            let edge = external("192.0.2.126")?;
            wait_flow(cx, probe, &inside, id, (Protocol::Tcp, Some(8005)), true).await?;
            let open = [
                (Protocol::Tcp, Some(8000)),
                (Protocol::Tcp, Some(8005)),
                (Protocol::Tcp, Some(8010)),
            ];
            expect_flows(probe, &inside, id, &open, true).await?;
            expect_flows(probe, &edge, id, &open, true).await?;

            let closed = [
                (Protocol::Tcp, Some(7999)),
                (Protocol::Tcp, Some(8011)),
                (Protocol::Tcp, Some(22)),
                (Protocol::Udp, Some(8005)),
                (Protocol::Icmp, None),
            ];
            expect_flows(probe, &inside, id, &closed, false).await?;
            for source in [OUTSIDE, "192.0.2.128", "192.0.1.255"] {
                expect_flows(probe, &external(source)?, id, &open, false).await?;
            }
            Ok(())
        }
        .await,
    )
}

/// Returns `/32` (or `/128`) ranges for the instance's addresses, as rule text.
fn host_ranges(instance: &Instance) -> Check<String> {
    let network = &instance.network;
    let ranges: Vec<String> = [network.public_ip, network.private_ip]
        .into_iter()
        .flatten()
        .map(|ip| match ip {
            IpAddr::V4(_) => format!("{ip}/32"),
            IpAddr::V6(_) => format!("{ip}/128"),
        })
        .collect();
    if ranges.is_empty() {
        bail!("running instance {} has no address", instance.id());
    }
    Ok(ranges.join(","))
}

/// Outbound traffic is allowed by default: an instance reaches another cluster's
/// instance that admits its addresses, but not ports the other did not open.
pub async fn outbound_is_allowed(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let probe = prober(p)?;
            let sender = launch_running(p, cx, |r| r.with_cluster(cx.cluster())).await?;
            let rule: FirewallRule = format!("tcp:9000@{}", host_ranges(&sender)?)
                .parse()
                .context("rule")?;
            let receiver = launch_running(p, cx, |r| {
                r.with_cluster(cx.cluster()).with_firewall_rule(rule)
            })
            .await?;
            let from = ProbeSource::Instance(sender.id().clone());

            wait_flow(
                cx,
                probe,
                &from,
                receiver.id(),
                (Protocol::Tcp, Some(9000)),
                true,
            )
            .await?;

            let unopened = [(Protocol::Tcp, Some(9001)), (Protocol::Udp, Some(9000))];
            expect_flows(probe, &from, receiver.id(), &unopened, false).await?;
            let back = ProbeSource::Instance(receiver.id().clone());
            let flow = [(Protocol::Tcp, Some(9000))];
            expect_flows(probe, &back, sender.id(), &flow, false).await
        }
        .await,
    )
}

/// Two instances of one cluster reach each other on any port, both ways.
pub async fn cluster_members_reach_each_other(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let probe = prober(p)?;
            let cluster = cx.cluster();
            let a = launch_running(p, cx, |r| r.with_cluster(cluster.clone())).await?;
            let b = launch_running(p, cx, |r| r.with_cluster(cluster.clone())).await?;

            for (from, to) in [(&a, &b), (&b, &a)] {
                let source = ProbeSource::Instance(from.id().clone());
                expect_flows(probe, &source, to.id(), SAMPLE, true).await?;
            }
            Ok(())
        }
        .await,
    )
}

/// Instances of two clusters do not reach each other on any sampled port.
pub async fn clusters_are_isolated(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let probe = prober(p)?;
            let a = launch_running(p, cx, |r| r.with_cluster(cx.cluster())).await?;
            let b = launch_running(p, cx, |r| r.with_cluster(cx.cluster())).await?;

            for (from, to) in [(&a, &b), (&b, &a)] {
                let source = ProbeSource::Instance(from.id().clone());
                expect_flows(probe, &source, to.id(), SAMPLE, false).await?;
            }
            Ok(())
        }
        .await,
    )
}

/// A rule added after launch opens its port and nothing next to it; revoking it closes
/// the port again and removes it from the instance.
pub async fn revoked_rule_closes_again(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let probe = prober(p)?;
            let firewall = p
                .firewall()
                .ok_or_else(|| Outcome::missing(Capability::ModifyFirewall))?;
            let instance = launch_running(p, cx, |r| r).await?;
            let id = instance.id();
            let rule: FirewallRule = format!("tcp:9443@{RANGE}").parse().context("rule")?;
            let inside = external(INSIDE)?;
            let port = (Protocol::Tcp, Some(9443));

            let added = firewall
                .add_firewall_rules(id, std::slice::from_ref(&rule))
                .await
                .context("add_firewall_rules")?;
            let ids: Vec<_> = added.iter().filter_map(|r| r.id.clone()).collect();
            ensure!(
                added.len() == 1 && ids.len() == 1 && added[0].without_id() == rule,
                "add_firewall_rules returned {added:?} for [{rule}], expected one rule with an id"
            );
            wait_flow(cx, probe, &inside, id, port, true).await?;
            let beside = [(Protocol::Tcp, Some(9442)), (Protocol::Tcp, Some(9444))];
            expect_flows(probe, &inside, id, &beside, false).await?;
            expect_flows(probe, &external(OUTSIDE)?, id, &[port], false).await?;

            firewall
                .revoke_firewall_rules(id, &ids)
                .await
                .context("revoke_firewall_rules")?;
            wait_flow(cx, probe, &inside, id, port, false).await?;
            let now = p.get_instance(id).await.context("get_instance")?;
            let still = now
                .network
                .firewall_rules
                .ingress
                .iter()
                .any(|r| r.without_id() == rule);
            ensure!(!still, "{id} still reports the revoked rule {rule}");
            Ok(())
        }
        .await,
    )
}
