//! Benchmarks of the fake provider: create throughput through `Arc<dyn Provider>`, `list`
//! with a tag filter over 100,000 instances, and memory per instance.
//!
//! Memory is the bench `memory/fill_100k`: it times filling a fresh world with 100,000
//! instances, and the first fill also prints the growth of the resident set
//! (`/proc/self/statm`) per instance to stderr. It is registered first, so when selected
//! it measures in a fresh process; like every bench, it runs only when selected (a filter
//! that excludes it, or `--list`, creates nothing).

use std::{hint::black_box, sync::Arc, time::Instant};

use compute_fake::FakeProvider;
use compute_provider::{CreateInstance, ListInstances, Provider};
use compute_types::{CredentialRefId, InstanceTypeId, RefId, TAG_CLUSTER, TAG_REF_ID, Tags};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group};
use tokio::runtime::Runtime;

const WORLD: usize = 100_000;
const CLUSTER_SIZE: usize = 250;
/// Instances per job tag; a job spans part of a cluster, as in real workloads.
const JOB_SIZE: usize = 100;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime")
}

/// A fake with room for a large world: no quota (the default holds 64 instances per
/// location), a big public range and no injected latency.
fn provider() -> Arc<dyn Provider> {
    let fake = FakeProvider::builder()
        .unlimited_quota()
        .public_ranges(vec!["100.64.0.0/10".parse().expect("a CIDR")])
        .build()
        .expect("a valid configuration");
    Arc::new(fake)
}

fn type_id() -> InstanceTypeId {
    "fake/us-east-1//gpu-1x-h100-pcie"
        .parse()
        .expect("a type id of the built-in catalog")
}

/// A typical request: a ref id, a cluster of 250, a credential and a job tag shared by
/// 100 instances.
fn request(i: usize, prefix: &str) -> CreateInstance {
    let ref_id = RefId::new(format!("{prefix}-{i}")).expect("a ref id");
    let tags = Tags::from_pairs([("job", format!("j{}", i / JOB_SIZE))]).expect("a tag");
    CreateInstance::new(ref_id, type_id())
        .with_cluster(format!("c{}", i / CLUSTER_SIZE))
        .with_credential_ref_id(CredentialRefId::new("bench").expect("a credential id"))
        .with_tags(tags)
}

async fn fill(fake: &dyn Provider, requests: &[CreateInstance]) {
    for req in requests {
        fake.create_instance(req).await.expect("create succeeds");
    }
}

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Prints the resident-set growth per instance over a 100,000-instance world.
fn report_memory(before: Option<u64>, after: Option<u64>) {
    match (before, after) {
        (Some(before), Some(after)) => {
            let per = after.saturating_sub(before) / WORLD as u64;
            eprintln!("memory_per_instance: {per} bytes (resident set growth over {WORLD})");
        }
        _ => eprintln!("memory_per_instance: /proc/self/statm is not available"),
    }
}

/// Times filling a fresh 100,000-instance world; the first fill reports memory.
fn memory_per_instance(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("memory");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(WORLD as u64));

    // The closure runs only when criterion selects the bench; the first run is the one
    // that sees a fresh process, before any other world was built and freed.
    let mut reported = false;
    group.bench_function("fill_100k", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                let requests: Vec<CreateInstance> = (0..WORLD).map(|i| request(i, "mem")).collect();
                let fake = provider();
                let before = resident_bytes();
                let start = Instant::now();
                rt.block_on(fill(fake.as_ref(), &requests));
                total += start.elapsed();
                if !std::mem::replace(&mut reported, true) {
                    report_memory(before, resident_bytes());
                }
            }
            total
        });
    });
    group.finish();
}

fn create_throughput(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("create");
    group.throughput(Throughput::Elements(1));

    group.bench_function("dyn_provider", |b| {
        b.iter_custom(|iters| {
            let n = usize::try_from(iters).unwrap_or(usize::MAX);
            let requests: Vec<CreateInstance> = (0..n).map(|i| request(i, "tp")).collect();
            let fake = provider();
            let start = Instant::now();
            rt.block_on(fill(fake.as_ref(), &requests));
            start.elapsed()
        });
    });
    group.finish();
}

fn list_with_tag_filter(c: &mut Criterion) {
    let rt = runtime();
    // Filled on first use, so a run that selects none of these benches builds nothing.
    let world = std::cell::OnceCell::new();
    let fake = || {
        world.get_or_init(|| {
            let requests: Vec<CreateInstance> = (0..WORLD).map(|i| request(i, "ls")).collect();
            let fake = provider();
            rt.block_on(fill(fake.as_ref(), &requests));
            fake
        })
    };

    let filters = [
        ("job_tag_100_of_100k", ("job", "j42".to_owned())),
        ("cluster_tag_250_of_100k", (TAG_CLUSTER, "c7".to_owned())),
        ("ref_id_tag_1_of_100k", (TAG_REF_ID, "ls-31337".to_owned())),
    ];
    let mut group = c.benchmark_group("list");
    for (name, (key, value)) in filters {
        let filter = ListInstances::all()
            .with_tag(key, value)
            .expect("a valid tag");
        group.bench_function(name, |b| {
            let fake = fake();
            b.iter(|| {
                let found = rt.block_on(fake.list_instances(black_box(&filter)));
                black_box(found.expect("list succeeds").len())
            });
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    memory_per_instance,
    create_throughput,
    list_with_tag_filter
);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
