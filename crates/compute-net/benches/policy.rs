//! Criterion benches: decisions per second (indexed and linear, side by side), compile time,
//! and the compiled policy's heap estimate at 10,000 rules (printed to stderr).

use std::{hint::black_box, net::IpAddr, time::Duration};

use compute_net::{ClusterContext, Flow, NaivePolicy, Policy};
use compute_types::{Direction, FirewallRule, FirewallRules, PortRange, Protocol};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ipnet::IpNet;

const SIZES: [usize; 3] = [10, 1_000, 10_000];
const FLOWS: usize = 256;
const COMMON_PORTS: [u16; 10] = [22, 53, 80, 123, 443, 3306, 5432, 6379, 8080, 29500];

/// A small deterministic generator (splitmix64), so every run sees the same rules.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn protocol(rng: &mut Rng) -> Protocol {
    match rng.below(100) {
        0..60 => Protocol::Tcp,
        60..85 => Protocol::Udp,
        85..93 => Protocol::Icmp,
        _ => Protocol::All,
    }
}

fn port(rng: &mut Rng) -> u16 {
    if rng.chance(50) {
        COMMON_PORTS[rng.below(COMMON_PORTS.len() as u64) as usize]
    } else {
        1 + rng.below(65535) as u16
    }
}

/// Specific sources, as in a large allow-list of partner ranges: /16 to /32 (IPv4) and
/// /32 to /128 (IPv6). World-open rules would let the linear scan stop at the first of
/// them for most flows; the unit and property tests cover those.
fn cidr(rng: &mut Rng) -> IpNet {
    if rng.chance(85) {
        let prefix = [16, 20, 24, 24, 28, 32, 32, 32][rng.below(8) as usize];
        let addr = IpAddr::V4((rng.next() as u32).into());
        IpNet::new(addr, prefix).unwrap().trunc()
    } else {
        let prefix = [32, 48, 56, 64, 128][rng.below(5) as usize];
        let addr = IpAddr::V6((u128::from(rng.next()) << 64 | u128::from(rng.next())).into());
        IpNet::new(addr, prefix).unwrap().trunc()
    }
}

fn rule(rng: &mut Rng) -> FirewallRule {
    let protocol = protocol(rng);
    let ports = protocol.has_ports().then(|| {
        let from = port(rng);
        let to = if rng.chance(70) {
            from
        } else {
            from.saturating_add(rng.below(1000) as u16)
        };
        PortRange::new(u32::from(from), u32::from(to)).unwrap()
    });
    let cidrs = (0..1 + rng.below(3)).map(|_| cidr(rng)).collect();
    FirewallRule::ingress(protocol, ports, cidrs).unwrap()
}

fn rules(n: usize) -> FirewallRules {
    let mut rng = Rng(n as u64);
    FirewallRules::from_rules((0..n).map(|_| rule(&mut rng)))
}

/// Half the flows come from inside some rule's range on one of its ports, half from
/// anywhere, so both matches and default denials are measured.
fn flows(rules: &FirewallRules) -> Vec<Flow> {
    let mut rng = Rng(7);
    let dst: IpAddr = "10.1.0.5".parse().unwrap();
    (0..FLOWS)
        .map(|_| {
            let near = &rules.ingress[rng.below(rules.ingress.len() as u64) as usize];
            let (src, protocol, port) = if rng.chance(50) {
                let net = near.cidrs[0];
                let span = match net {
                    IpNet::V4(n) => u128::from(u32::MAX >> n.prefix_len().min(31)),
                    IpNet::V6(n) => u128::MAX >> n.prefix_len().min(127),
                };
                let offset = (u128::from(rng.next()) << 64 | u128::from(rng.next())) & span;
                let src = match net {
                    IpNet::V4(n) => IpAddr::V4((u32::from(n.network()) | offset as u32).into()),
                    IpNet::V6(n) => IpAddr::V6((u128::from(n.network()) | offset).into()),
                };
                (src, near.protocol, near.ports.map(|p| p.from()))
            } else {
                let src = IpAddr::V4((rng.next() as u32).into());
                (src, protocol(&mut rng), Some(port(&mut rng)))
            };
            Flow::new(src, dst, protocol, port)
        })
        .collect()
}

fn cluster() -> ClusterContext {
    ClusterContext::new("bench", ["10.1.0.0/24".parse().unwrap()]).unwrap()
}

fn decisions(c: &mut Criterion) {
    let mut group = c.benchmark_group("decisions");
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));

    for n in SIZES {
        let set = rules(n);
        let fast = Policy::compile(&cluster(), &set).unwrap();
        let slow = NaivePolicy::new(&cluster(), &set).unwrap();
        let flows = flows(&set);
        let allowed = flows
            .iter()
            .filter(|f| fast.evaluate(Direction::Ingress, f).allowed);
        eprintln!(
            "decisions/{n}: {} of {FLOWS} flows allowed",
            allowed.count()
        );

        group.throughput(Throughput::Elements(flows.len() as u64));
        group.bench_with_input(BenchmarkId::new("indexed", n), &flows, |b, flows| {
            b.iter(|| {
                let allowed = flows
                    .iter()
                    .filter(|f| fast.evaluate(Direction::Ingress, f).allowed);
                black_box(allowed.count())
            });
        });
        group.bench_with_input(BenchmarkId::new("naive", n), &flows, |b, flows| {
            b.iter(|| {
                let allowed = flows
                    .iter()
                    .filter(|f| slow.evaluate(Direction::Ingress, f).allowed);
                black_box(allowed.count())
            });
        });
    }
    group.finish();
}

fn compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));

    for n in SIZES {
        let set = rules(n);
        let policy = Policy::compile(&cluster(), &set).unwrap();
        let naive = NaivePolicy::new(&cluster(), &set).unwrap();
        eprintln!(
            "memory/{n}: compiled policy ~{} bytes ({:.2} MiB) on the heap; naive ~{} bytes",
            policy.heap_bytes(),
            policy.heap_bytes() as f64 / (1024.0 * 1024.0),
            naive.heap_bytes()
        );

        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &set, |b, set| {
            b.iter(|| Policy::compile(&cluster(), black_box(set)));
        });
    }
    group.finish();
}

criterion_group!(benches, decisions, compile);
criterion_main!(benches);
