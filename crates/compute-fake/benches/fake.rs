//! Benchmarks of the fake provider: create throughput through `Arc<dyn Provider>`, `list`
//! with a tag filter over 100,000 instances, and memory per instance.
//!
//! Memory is measured first, in a fresh process, as the growth of the resident set
//! (`/proc/self/statm`) while 100,000 instances are created, and printed to stderr.

use std::{hint::black_box, sync::Arc, time::Instant};

use compute_fake::FakeProvider;
use compute_provider::{CreateInstance, ListInstances, Provider};
use compute_types::{CredentialRefId, InstanceTypeId, RefId, TAG_CLUSTER, TAG_REF_ID, Tags};
use criterion::{Criterion, Throughput, criterion_group};
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
fn memory_per_instance() {
    let rt = runtime();
    let requests: Vec<CreateInstance> = (0..WORLD).map(|i| request(i, "mem")).collect();
    let fake = provider();

    let before = resident_bytes();
    rt.block_on(fill(fake.as_ref(), &requests));
    let after = resident_bytes();

    match (before, after) {
        (Some(before), Some(after)) => {
            let per = after.saturating_sub(before) / WORLD as u64;
            eprintln!("memory_per_instance: {per} bytes (resident set growth over {WORLD})");
        }
        _ => eprintln!("memory_per_instance: /proc/self/statm is not available"),
    }
    drop(fake);
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
    let requests: Vec<CreateInstance> = (0..WORLD).map(|i| request(i, "ls")).collect();
    let fake = provider();
    rt.block_on(fill(fake.as_ref(), &requests));

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
            b.iter(|| {
                let found = rt.block_on(fake.list_instances(black_box(&filter)));
                black_box(found.expect("list succeeds").len())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, create_throughput, list_with_tag_filter);

fn main() {
    memory_per_instance();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
