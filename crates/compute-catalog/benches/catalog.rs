//! Catalog benchmarks on the five real catalogs: cold load, a filtered sorted query, a plan.
//!
//! Goals (not asserted): a cold load of all five files under 20 ms, a query under 1 ms.

use std::{hint::black_box, path::PathBuf, time::SystemTime};

use compute_catalog::{Catalog, PlanRequest, Query, SortBy, plan};
use criterion::{Criterion, criterion_group, criterion_main};

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/catalogs"
    ))
}

fn real_catalog() -> Catalog {
    Catalog::load_path(data_dir())
        .expect("the shared catalogs load")
        .0
}

fn load(c: &mut Criterion) {
    let dir = data_dir();
    let builtin = Catalog::builtin()
        .to_json()
        .expect("the built-in catalog serialises");

    c.bench_function("catalog/load_five_real_csv", |b| {
        b.iter(|| Catalog::load_path(black_box(&dir)))
    });
    c.bench_function("catalog/parse_builtin_json", |b| {
        b.iter(|| Catalog::from_json(black_box(&builtin)))
    });
}

fn query(c: &mut Criterion) {
    let catalog = real_catalog();
    let query = Query::new()
        .gpu("H100 80GB")
        .min_gpu_count(8)
        .max_price("100".parse().expect("a price"))
        .location("us-*")
        .sort(SortBy::PricePerGpu);

    c.bench_function("catalog/query_h100x8_us_by_price_per_gpu", |b| {
        b.iter(|| catalog.query(black_box(&query)).len())
    });
}

fn plan_cluster(c: &mut Criterion) {
    let catalog = real_catalog();
    let request = PlanRequest::new("H100", 8, 4).expect("a valid request");
    let now = SystemTime::now();

    c.bench_function("catalog/plan_4x_h100x8_all_clouds", |b| {
        b.iter(|| plan(&catalog, black_box(&request), now).offers.len())
    });
}

criterion_group!(benches, load, query, plan_cluster);
criterion_main!(benches);
