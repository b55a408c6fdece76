//! Creates 100,000 instances and reports resident-set growth per instance and the time
//! taken, then times `list` with a tag filter: `cargo run --release --example memory`.

use std::{sync::Arc, time::Instant};

use compute_fake::FakeProvider;
use compute_provider::{CreateInstance, ListInstances, Provider};
use compute_types::{CredentialRefId, InstanceTypeId, RefId, Tags};

const WORLD: usize = 100_000;

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() -> compute_types::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| compute_types::Error::internal(e.to_string()))?;
    let fake: Arc<dyn Provider> = Arc::new(
        FakeProvider::builder()
            .unlimited_quota()
            .public_ranges(vec![
                "100.64.0.0/10"
                    .parse()
                    .map_err(|_| compute_types::Error::internal("bad range"))?,
            ])
            .build()?,
    );
    let type_id: InstanceTypeId = "fake/us-east-1//gpu-1x-h100-pcie".parse()?;
    let credential = CredentialRefId::new("example")?;
    let requests = (0..WORLD)
        .map(|i| {
            let tags = Tags::from_pairs([("job", format!("j{}", i / 100))])?;
            Ok(
                CreateInstance::new(RefId::new(format!("n-{i}"))?, type_id.clone())
                    .with_cluster(format!("c{}", i / 250))
                    .with_credential_ref_id(credential.clone())
                    .with_tags(tags),
            )
        })
        .collect::<compute_types::Result<Vec<_>>>()?;

    let before = resident_bytes();
    let start = Instant::now();
    rt.block_on(async {
        for req in &requests {
            fake.create_instance(req).await?;
        }
        Ok::<_, compute_types::Error>(())
    })?;
    let took = start.elapsed();
    let grown = resident_bytes().saturating_sub(before);
    eprintln!(
        "created {WORLD} in {took:?} ({:.0}/s); resident set grew {} bytes per instance",
        WORLD as f64 / took.as_secs_f64(),
        grown / WORLD as u64
    );

    let filter = ListInstances::all().with_tag("job", "j42")?;
    let start = Instant::now();
    let found = rt.block_on(fake.list_instances(&filter))?;
    eprintln!(
        "list job=j42: {} instances in {:?}",
        found.len(),
        start.elapsed()
    );
    Ok(())
}
