//! Property tests: the index agrees with the linear scan, and normalising or diffing never
//! changes a decision.
//!
//! The case count follows `PROPTEST_CASES` (CI sets 10,000); each case is kept small.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use compute_net::{
    AddressPlan, ClusterContext, Flow, InstanceSpec, NaivePolicy, Network, Policy, SubnetSize,
    diff, ensure_unique, normalize,
};
use compute_types::{Direction, FirewallRule, FirewallRuleId, FirewallRules, PortRange, Protocol};
use ipnet::IpNet;
use proptest::{prelude::*, test_runner::TestRunner};

/// Ports near the edges and near each other, so ranges overlap and touch.
const PORTS: [u16; 12] = [1, 2, 21, 22, 23, 79, 80, 81, 443, 1000, 65534, 65535];

/// IPv4 bases, some with host bits set for most prefixes.
const V4_BASES: [[u8; 4]; 9] = [
    [10, 0, 0, 0],
    [10, 0, 0, 128],
    [10, 0, 1, 0],
    [10, 1, 2, 3],
    [10, 9, 0, 0],
    [192, 0, 2, 0],
    [0, 0, 0, 0],
    [255, 255, 255, 255],
    [8, 8, 8, 8],
];
const V4_PREFIXES: [u8; 10] = [0, 1, 8, 9, 16, 23, 24, 25, 31, 32];

/// IPv6 bases, including the IPv4-mapped block.
const V6_BASES: [&str; 6] = [
    "2001:db8::",
    "2001:db8:8000::",
    "fd09::",
    "::",
    "::ffff:10.0.0.0",
    "::1",
];
const V6_PREFIXES: [u8; 9] = [0, 1, 32, 33, 64, 96, 104, 120, 128];

/// Addresses flows come from and go to: edges of the networks above, the cluster, others.
const ADDRS: [&str; 20] = [
    "10.0.0.0",
    "10.0.0.1",
    "10.0.0.127",
    "10.0.0.128",
    "10.0.1.5",
    "10.1.2.3",
    "10.9.0.5",
    "10.9.0.6",
    "192.0.2.1",
    "8.8.8.8",
    "0.0.0.0",
    "255.255.255.255",
    "2001:db8::1",
    "2001:db8:8000::1",
    "fd09::5",
    "::1",
    "::ffff:10.0.0.1",
    "::ffff:8.8.8.8",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "128.0.0.0",
];

fn cluster() -> ClusterContext {
    ClusterContext::new(
        "c",
        ["10.9.0.0/24".parse().unwrap(), "fd09::/64".parse().unwrap()],
    )
    .unwrap()
}

/// Strategies draw plain `u64` seeds and decode them: proptest's per-value bookkeeping is
/// what costs in debug builds, and a seed shrinks toward 0, which decodes to the simplest
/// choice (tcp, port 1, the first network, the first address).
struct Seed(u64);

impl Seed {
    /// Takes the next `n` choices' worth of the seed.
    fn pick(&mut self, n: usize) -> usize {
        let n = n as u64;
        let choice = self.0 % n;
        self.0 /= n;
        choice as usize
    }

    /// A well-mixed number from the remaining seed (for random addresses).
    fn mix(&self, salt: u64) -> u64 {
        let mut z = self
            .0
            .wrapping_add(salt.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn decode_protocol(seed: &mut Seed) -> Protocol {
    [
        Protocol::Tcp,
        Protocol::Udp,
        Protocol::Tcp,
        Protocol::Udp,
        Protocol::Icmp,
        Protocol::All,
        Protocol::Tcp,
    ][seed.pick(7)]
}

fn decode_cidr(seed: &mut Seed, salt: u64) -> IpNet {
    match seed.pick(5) {
        0 | 1 => {
            let base = Ipv4Addr::from(V4_BASES[seed.pick(V4_BASES.len())]);
            IpNet::new(base.into(), V4_PREFIXES[seed.pick(V4_PREFIXES.len())]).unwrap()
        }
        2 | 3 => {
            let base: Ipv6Addr = V6_BASES[seed.pick(V6_BASES.len())].parse().unwrap();
            IpNet::new(base.into(), V6_PREFIXES[seed.pick(V6_PREFIXES.len())]).unwrap()
        }
        _ => {
            let prefix = 16 + seed.pick(17) as u8;
            IpNet::new(Ipv4Addr::from(seed.mix(salt) as u32).into(), prefix).unwrap()
        }
    }
}

fn decode_rule(direction: Direction, seed: u64) -> FirewallRule {
    let mut seed = Seed(seed);
    let protocol = decode_protocol(&mut seed);
    let (a, b) = (PORTS[seed.pick(PORTS.len())], PORTS[seed.pick(PORTS.len())]);
    let ports = PortRange::new(u32::from(a.min(b)), u32::from(a.max(b))).unwrap();
    let count = 1 + seed.pick(3);
    let cidrs = (0..count)
        .map(|k| decode_cidr(&mut seed, k as u64))
        .collect();
    FirewallRule::new(
        direction,
        protocol,
        protocol.has_ports().then_some(ports),
        cidrs,
    )
    .unwrap()
}

fn rule_set() -> impl Strategy<Value = FirewallRules> {
    (
        prop::collection::vec(any::<u64>(), 0..8),
        prop::collection::vec(any::<u64>(), 0..4),
    )
        .prop_map(|(ingress, egress)| {
            let mut rules = FirewallRules::default();
            rules.ingress = ingress
                .into_iter()
                .map(|s| decode_rule(Direction::Ingress, s))
                .collect();
            rules.egress = egress
                .into_iter()
                .map(|s| decode_rule(Direction::Egress, s))
                .collect();
            rules
        })
}

/// Drops exact duplicates, which `normalize` refuses.
fn without_duplicates(rules: &FirewallRules) -> FirewallRules {
    let mut out = FirewallRules::default();
    for rule in rules.iter() {
        let list = match rule.direction {
            Direction::Egress => &out.egress,
            _ => &out.ingress,
        };
        if ensure_unique(list, rule).is_ok() {
            out.push(rule.clone());
        }
    }
    out
}

fn decode_addr(seed: &mut Seed, salt: u64) -> IpAddr {
    match seed.pick(6) {
        0 => IpAddr::V4((seed.mix(salt) as u32).into()),
        1 => IpAddr::V6((u128::from(seed.mix(salt)) << 64 | u128::from(seed.mix(salt + 1))).into()),
        _ => ADDRS[seed.pick(ADDRS.len())].parse().unwrap(),
    }
}

fn decode_port(seed: &mut Seed) -> Option<u16> {
    match seed.pick(6) {
        0 => None,
        1 => Some(seed.mix(7) as u16),
        _ => Some(PORTS[seed.pick(PORTS.len())]),
    }
}

fn decode_flow(seed: u64) -> Flow {
    let mut seed = Seed(seed);
    let protocol = decode_protocol(&mut seed);
    let port = decode_port(&mut seed);
    let src = decode_addr(&mut seed, 1);
    let dst = decode_addr(&mut seed, 3);
    Flow::new(src, dst, protocol, port)
}

fn flows() -> impl Strategy<Value = Vec<Flow>> {
    prop::collection::vec(any::<u64>(), 1..12)
        .prop_map(|seeds| seeds.into_iter().map(decode_flow).collect())
}

fn probes() -> impl Strategy<Value = Vec<(Protocol, Option<u16>)>> {
    prop::collection::vec(any::<u64>(), 1..8).prop_map(|seeds| {
        seeds
            .into_iter()
            .map(|s| {
                let mut seed = Seed(s);
                (decode_protocol(&mut seed), decode_port(&mut seed))
            })
            .collect()
    })
}

const DIRECTIONS: [Direction; 2] = [Direction::Ingress, Direction::Egress];

fn large_rule_set() -> impl Strategy<Value = FirewallRules> {
    prop::collection::vec(any::<u64>(), 64..160).prop_map(|seeds| {
        FirewallRules::from_rules(
            seeds
                .into_iter()
                .map(|s| decode_rule(Direction::Ingress, s)),
        )
    })
}

/// Flows from and to just inside and just outside each end of a rule's networks, on its
/// port.
fn edge_flows(rule: &FirewallRule) -> Vec<Flow> {
    let dst: IpAddr = "10.9.0.5".parse().unwrap();
    let port = rule.ports.map(|p| p.to());
    let mut out = Vec::new();
    for net in &rule.cidrs {
        let (first, last) = match net.trunc() {
            IpNet::V4(n) => (
                u128::from(u32::from(n.network())),
                u128::from(u32::from(n.broadcast())),
            ),
            IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
        };
        for value in [first.wrapping_sub(1), first, last, last.wrapping_add(1)] {
            let src = match net {
                IpNet::V4(_) => IpAddr::V4((value as u32).into()),
                IpNet::V6(_) => IpAddr::V6(value.into()),
            };
            out.push(Flow::new(src, dst, rule.protocol, port));
            out.push(Flow::new(dst, src, rule.protocol, port));
        }
    }
    out
}

/// Large sets (where the index adds its radix table) cost about twenty small cases each,
/// so they run a twentieth of the configured cases. `proptest!` would let
/// `PROPTEST_CASES` override any count set here, hence the explicit runner.
#[test]
fn indexed_equals_naive_on_large_sets() {
    let base = ProptestConfig::default();
    let config = ProptestConfig {
        cases: (base.cases / 20).max(16),
        failure_persistence: None,
        ..base
    };
    let mut runner = TestRunner::new(config);

    let result = runner.run(&(large_rule_set(), flows()), |(rules, flows)| {
        let fast = Policy::compile(&cluster(), &rules).unwrap();
        let slow = NaivePolicy::new(&cluster(), &rules).unwrap();
        let edges = rules.ingress.iter().flat_map(edge_flows);
        for flow in flows.iter().copied().chain(edges) {
            let flow = &flow;
            let (got, want) = (
                fast.evaluate(Direction::Ingress, flow),
                slow.evaluate(Direction::Ingress, flow),
            );
            prop_assert_eq!(got, want, "{}", flow);
        }
        Ok(())
    });

    if let Err(e) = result {
        panic!("{e}");
    }
}

proptest! {
    #[test]
    fn indexed_equals_naive(rules in rule_set(), flows in flows()) {
        let fast = Policy::compile(&cluster(), &rules).unwrap();
        let slow = NaivePolicy::new(&cluster(), &rules).unwrap();
        let edges = rules.iter().flat_map(edge_flows);

        for flow in &flows.into_iter().chain(edges).collect::<Vec<_>>() {
            for direction in DIRECTIONS {
                prop_assert_eq!(
                    fast.evaluate(direction, flow),
                    slow.evaluate(direction, flow),
                    "{:?} {}", direction, flow
                );
            }
        }
    }

    #[test]
    fn normalisation_never_changes_a_decision(rules in rule_set(), flows in flows()) {
        let rules = without_duplicates(&rules);
        let normalized = normalize(&rules).unwrap().rules;
        let before = Policy::compile(&cluster(), &rules).unwrap();
        let after = Policy::compile(&cluster(), &normalized).unwrap();

        prop_assert!(normalized.len() <= rules.len());
        prop_assert!(normalize(&normalized).is_ok(), "normalised rules have no duplicates");
        for flow in &flows {
            for direction in DIRECTIONS {
                prop_assert_eq!(
                    before.evaluate(direction, flow).allowed,
                    after.evaluate(direction, flow).allowed,
                    "{:?} {} normalized to {:?}", direction, flow, normalized
                );
            }
        }
    }

    #[test]
    fn applying_a_diff_gives_the_desired_decisions(
        current in rule_set(),
        desired in rule_set(),
        flows in flows(),
    ) {
        let mut with_ids = FirewallRules::default();
        for (i, rule) in current.iter().enumerate() {
            with_ids.push(rule.clone().with_id(FirewallRuleId::new(format!("fw-{i}")).unwrap()));
        }

        let changes = diff(&with_ids, &desired).unwrap();
        let applied = changes.apply(&with_ids);

        let want = Policy::compile(&cluster(), &desired).unwrap();
        let got = Policy::compile(&cluster(), &applied).unwrap();
        prop_assert!(changes.add.len() <= desired.len());
        for flow in &flows {
            for direction in DIRECTIONS {
                prop_assert_eq!(
                    want.evaluate(direction, flow).allowed,
                    got.evaluate(direction, flow).allowed,
                    "{:?} {}", direction, flow
                );
            }
        }
    }

    #[test]
    fn reachability_agrees_with_probe(
        rules_a in rule_set(),
        rules_b in rule_set(),
        ports in probes(),
    ) {
        let mut net = Network::new();
        net.add_cluster("a", "10.0.0.0/24".parse().unwrap(), None).unwrap();
        net.add_cluster("b", "10.0.1.0/24".parse().unwrap(), None).unwrap();
        net.add_instance(InstanceSpec::new("a1", "a").with_rules(rules_a)).unwrap();
        net.add_instance(InstanceSpec::new("b1", "b").with_rules(rules_b)).unwrap();

        let matrix = net.reachability(&[]).unwrap();

        for (from, to, reach) in matrix.iter() {
            let src = net.instance(from).unwrap().private_ips[0];
            let dst = net.instance(to).unwrap().private_ips[0];
            for (protocol, port) in &ports {
                let probe = net.probe(&Flow::new(src, dst, *protocol, *port));
                let reached = reach.allows(*protocol, *port);
                prop_assert_eq!(reached, probe.allowed, "{} -> {}", from, to);
            }
        }
    }

    #[test]
    fn plan_allocations_never_overlap(
        sizes in prop::collection::vec((any::<bool>(), 1u32..3000, 16u8..=30), 1..12),
        release in prop::collection::vec(any::<bool>(), 12),
    ) {
        let mut plan = AddressPlan::new(["10.0.0.0/16".parse().unwrap()])
            .unwrap()
            .with_avoid(["10.0.128.0/20".parse().unwrap()])
            .unwrap();

        for (i, (by_nodes, nodes, prefix)) in sizes.iter().enumerate() {
            let size = match by_nodes {
                true => SubnetSize::Nodes(*nodes),
                false => SubnetSize::Prefix(*prefix),
            };
            let _ = plan.allocate(&format!("c{i}"), size);
            if release[i] {
                let _ = plan.release(&format!("c{}", i / 2));
            }
        }

        let nets: Vec<IpNet> = plan.clusters().map(|(_, s)| IpNet::V4(s.ipv4)).collect();
        let pairs = compute_net::cidr::overlapping(&nets, &nets);
        prop_assert!(pairs.iter().all(|(i, j)| i == j), "{:?}", nets);
        prop_assert!(compute_net::cidr::overlapping(&nets, plan.avoided()).is_empty());
        prop_assert!(compute_net::cidr::covers(plan.supernets(), &nets));
    }
}
