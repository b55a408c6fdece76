//! Networking: probes answered by `compute-net`'s evaluation, and the model the CLI reads.

mod common;

use std::net::IpAddr;

use common::*;
use compute_net::Flow;
use compute_provider::{Probe, ProbeSource, Provider};
use compute_types::{ErrorKind, FirewallRule, Instance, InstanceId, Protocol};

async fn running(
    fake: &compute_fake::FakeProvider,
    reqs: Vec<compute_provider::CreateInstance>,
) -> Vec<Instance> {
    let mut out = Vec::new();
    for r in &reqs {
        out.push(fake.create_instance(r).await.unwrap());
    }
    advance(BOOT).await;
    out
}

fn tcp(from: &Instance, to: &Instance, port: u16) -> Probe {
    Probe::new(
        ProbeSource::Instance(from.id().clone()),
        to.id().clone(),
        Protocol::Tcp,
        Some(port),
    )
}

fn external(ip: &str, to: &Instance, port: u16) -> Probe {
    let ip: IpAddr = ip.parse().unwrap();
    Probe::new(
        ProbeSource::External(ip),
        to.id().clone(),
        Protocol::Tcp,
        Some(port),
    )
}

#[tokio::test(start_paused = true)]
async fn a_cluster_reaches_itself_on_every_port() {
    let fake = fake();
    let v = running(
        &fake,
        vec![req("a").with_cluster("demo"), req("b").with_cluster("demo")],
    )
    .await;
    let probe = fake.network_probe().unwrap();

    let res = probe.probe(&tcp(&v[0], &v[1], 29500)).await.unwrap();

    assert!(res.delivered);
    assert_eq!(res.reason, "cluster internal");
}

#[tokio::test(start_paused = true)]
async fn other_clusters_need_a_rule() {
    let fake = fake();
    let v = running(
        &fake,
        vec![req("a").with_cluster("one"), req("b").with_cluster("two")],
    )
    .await;
    let probe = fake.network_probe().unwrap();
    let one = fake.cluster_subnet("one").unwrap().unwrap();

    let denied = probe.probe(&tcp(&v[0], &v[1], 22)).await.unwrap();
    let rule: FirewallRule = format!("tcp:22@{one}").parse().unwrap();
    let added = fake
        .firewall()
        .unwrap()
        .add_firewall_rules(v[1].id(), &[rule])
        .await
        .unwrap();
    let allowed = probe.probe(&tcp(&v[0], &v[1], 22)).await.unwrap();
    let other_port = probe.probe(&tcp(&v[0], &v[1], 23)).await.unwrap();
    let back = probe.probe(&tcp(&v[1], &v[0], 22)).await.unwrap();
    let rule_id = added[0].id.clone().unwrap();
    fake.firewall()
        .unwrap()
        .revoke_firewall_rules(v[1].id(), std::slice::from_ref(&rule_id))
        .await
        .unwrap();
    let revoked = probe.probe(&tcp(&v[0], &v[1], 22)).await.unwrap();

    assert_eq!(one.to_string(), "10.0.0.0/24");
    assert!(!denied.delivered);
    assert_eq!(denied.reason, "default deny inbound");
    assert!(allowed.delivered);
    assert!(
        allowed.reason.contains(rule_id.as_str()),
        "{}",
        allowed.reason
    );
    assert!(!other_port.delivered && !back.delivered);
    assert!(!revoked.delivered);
}

#[tokio::test(start_paused = true)]
async fn instances_without_a_cluster_are_isolated_from_each_other() {
    let fake = fake();
    let open: FirewallRule = "tcp:8000@10.128.0.0/9".parse().unwrap();
    let v = running(&fake, vec![req("a"), req("b").with_firewall_rule(open)]).await;
    let probe = fake.network_probe().unwrap();

    let to_a = probe.probe(&tcp(&v[1], &v[0], 8000)).await.unwrap();
    let to_b = probe.probe(&tcp(&v[0], &v[1], 8000)).await.unwrap();

    assert!(!to_a.delivered);
    assert!(to_b.delivered, "{}", to_b.reason);
}

#[tokio::test(start_paused = true)]
async fn outside_traffic_meets_the_ingress_rules() {
    let fake = fake();
    let ssh: FirewallRule = "tcp:22@192.0.2.0/24".parse().unwrap();
    let v = running(
        &fake,
        vec![req("a").with_cluster("demo").with_firewall_rule(ssh)],
    )
    .await;
    let probe = fake.network_probe().unwrap();

    let ok = probe
        .probe(&external("192.0.2.10", &v[0], 22))
        .await
        .unwrap();
    let wrong_port = probe
        .probe(&external("192.0.2.10", &v[0], 80))
        .await
        .unwrap();
    let wrong_source = probe.probe(&external("8.8.8.8", &v[0], 22)).await.unwrap();

    assert!(ok.delivered);
    assert!(!wrong_port.delivered && !wrong_source.delivered);
}

#[tokio::test(start_paused = true)]
async fn egress_rules_replace_the_default_allow() {
    let fake = fake();
    let only_https: FirewallRule = "egress:tcp:443@0.0.0.0/0".parse().unwrap();
    let open: FirewallRule = "all@0.0.0.0/0".parse().unwrap();
    let v = running(
        &fake,
        vec![
            req("src")
                .with_cluster("one")
                .with_firewall_rule(only_https),
            req("dst").with_cluster("two").with_firewall_rule(open),
        ],
    )
    .await;
    let probe = fake.network_probe().unwrap();

    let ssh = probe.probe(&tcp(&v[0], &v[1], 22)).await.unwrap();
    let https = probe.probe(&tcp(&v[0], &v[1], 443)).await.unwrap();

    assert!(!ssh.delivered);
    assert!(
        ssh.reason.starts_with("default deny outbound"),
        "{}",
        ssh.reason
    );
    assert!(https.delivered);
}

#[tokio::test(start_paused = true)]
async fn only_running_instances_take_traffic() {
    let fake = fake();
    let v = running(
        &fake,
        vec![req("a").with_cluster("demo"), req("b").with_cluster("demo")],
    )
    .await;
    let late = fake
        .create_instance(&req("late").with_cluster("demo"))
        .await
        .unwrap();
    fake.stop_start()
        .unwrap()
        .stop_instance(v[1].id())
        .await
        .unwrap();
    let probe = fake.network_probe().unwrap();

    let stopping = probe.probe(&tcp(&v[0], &v[1], 22)).await.unwrap();
    let pending = probe.probe(&tcp(&late, &v[0], 22)).await.unwrap();

    assert!(!stopping.delivered);
    assert!(stopping.reason.contains("stopping"), "{}", stopping.reason);
    assert!(!pending.delivered);
    assert!(pending.reason.contains("pending"), "{}", pending.reason);
}

#[tokio::test(start_paused = true)]
async fn bad_probes_are_errors() {
    let fake = fake();
    let v = running(&fake, vec![req("a")]).await;
    let probe = fake.network_probe().unwrap();
    let icmp_port = Probe::new(
        ProbeSource::Instance(v[0].id().clone()),
        v[0].id().clone(),
        Protocol::Icmp,
        Some(1),
    );
    let unknown = Probe::new(
        ProbeSource::Instance(InstanceId::new("i-0000ffff").unwrap()),
        v[0].id().clone(),
        Protocol::Tcp,
        Some(22),
    );

    let port = probe.probe(&icmp_port).await.unwrap_err();
    let missing = probe.probe(&unknown).await.unwrap_err();

    assert_eq!(port.kind(), ErrorKind::InvalidRequest);
    assert_eq!(port.field(), Some("port"));
    assert_eq!(missing.kind(), ErrorKind::NotFound);
}

#[tokio::test(start_paused = true)]
async fn the_network_model_matches_the_world() {
    let fake = fake();
    let ssh: FirewallRule = "tcp:22@0.0.0.0/0".parse().unwrap();
    let v = running(
        &fake,
        vec![
            req("a").with_cluster("demo"),
            req("b").with_cluster("demo").with_firewall_rule(ssh),
            req("c"),
        ],
    )
    .await;
    fake.terminate_instance(v[0].id()).await.unwrap();

    let net = fake.network().unwrap();
    let b = net.instance(v[1].id().as_str()).unwrap();
    let c = net.instance(v[2].id().as_str()).unwrap();
    let outside = Flow::tcp(
        "192.0.2.1".parse().unwrap(),
        v[1].network.public_ip.unwrap(),
        22,
    );

    assert!(
        net.instance(v[0].id().as_str()).is_none(),
        "terminated instances leave"
    );
    assert_eq!(net.cluster("demo").unwrap().ipv4.to_string(), "10.0.0.0/24");
    assert_eq!(b.private_ips, [v[1].network.private_ip.unwrap()]);
    assert_eq!(b.rules.len(), 1);
    assert_eq!(c.cluster, format!("solo:{}", v[2].id()));
    assert!(net.probe(&outside).allowed);
    assert_eq!(fake.cluster_subnet("nope").unwrap(), None);
}
