//! The loader, normalisation, queries and planning against the five real catalogs.
//!
//! The files live in the shared data folder and are read where they are, never copied.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
    time::SystemTime,
};

use compute_catalog::{
    Catalog, CsvOptions, LoadReport, PlanRequest, Query, RejectReason, SkipReason, SortBy,
    WarningKind, normalize_gpu, plan, try_plan,
};
use compute_types::{Bytes, PriceScope, ProviderId, UsageClass};

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/catalogs"
    ))
}

fn load_all() -> (Catalog, LoadReport) {
    Catalog::load_path(data_dir()).unwrap()
}

/// Every (provider, instance type) in the real files and the GPU keys it normalises to,
/// with the interconnect the GPU ends up with (`-` when unknown). GCP's accelerator-only
/// rows carry the synthetic names the loader makes.
const EXPECTED: &[(&str, &str, &[&str])] = &[
    ("aws", "p3.16xlarge", &["V100-16GB -"]),
    ("aws", "p3.2xlarge", &["V100-16GB -"]),
    ("aws", "p3.8xlarge", &["V100-16GB -"]),
    ("aws", "p3dn.24xlarge", &["V100-32GB -"]),
    ("aws", "p4d.24xlarge", &["A100-40GB -"]),
    ("aws", "p4de.24xlarge", &["A100-80GB -"]),
    ("aws", "p5.48xlarge", &["H100-80GB -"]),
    ("aws", "p5.4xlarge", &["H100-80GB -"]),
    ("aws", "p5e.48xlarge", &["H200-141GB -"]),
    ("aws", "p5en.48xlarge", &["H200-141GB -"]),
    ("aws", "p6-b200.48xlarge", &["B200-180GB-SXM sxm"]),
    ("aws", "p6-b300.48xlarge", &["B300-288GB-SXM sxm"]),
    ("gcp", "a100-80gb-x1", &["A100-80GB -"]),
    ("gcp", "a100-80gb-x2", &["A100-80GB -"]),
    ("gcp", "a100-80gb-x4", &["A100-80GB -"]),
    ("gcp", "a100-80gb-x8", &["A100-80GB -"]),
    ("gcp", "a100-x1", &["A100-40GB -"]),
    ("gcp", "a100-x16", &["A100-40GB -"]),
    ("gcp", "a100-x2", &["A100-40GB -"]),
    ("gcp", "a100-x4", &["A100-40GB -"]),
    ("gcp", "a100-x8", &["A100-40GB -"]),
    ("gcp", "b200-x8", &["B200-180GB-SXM sxm"]),
    ("gcp", "h100-mega-x8", &["H100-MEGA-80GB -"]),
    ("gcp", "h100-x1", &["H100-80GB -"]),
    ("gcp", "h100-x2", &["H100-80GB -"]),
    ("gcp", "h100-x4", &["H100-80GB -"]),
    ("gcp", "h100-x8", &["H100-80GB -"]),
    ("gcp", "h200-x8", &["H200-141GB -"]),
    ("gcp", "l4-x1", &["L4-24GB-PCIE pcie"]),
    ("gcp", "l4-x2", &["L4-24GB-PCIE pcie"]),
    ("gcp", "l4-x4", &["L4-24GB-PCIE pcie"]),
    ("gcp", "l4-x8", &["L4-24GB-PCIE pcie"]),
    ("gcp", "p100-x1", &["P100-16GB -"]),
    ("gcp", "p100-x2", &["P100-16GB -"]),
    ("gcp", "p100-x4", &["P100-16GB -"]),
    ("gcp", "p4-x1", &["P4-8GB-PCIE pcie"]),
    ("gcp", "p4-x2", &["P4-8GB-PCIE pcie"]),
    ("gcp", "p4-x4", &["P4-8GB-PCIE pcie"]),
    ("gcp", "t4-x1", &["T4-16GB-PCIE pcie"]),
    ("gcp", "t4-x2", &["T4-16GB-PCIE pcie"]),
    ("gcp", "t4-x4", &["T4-16GB-PCIE pcie"]),
    ("gcp", "v100-x1", &["V100-16GB -"]),
    ("gcp", "v100-x2", &["V100-16GB -"]),
    ("gcp", "v100-x4", &["V100-16GB -"]),
    ("gcp", "v100-x8", &["V100-16GB -"]),
    ("lambda", "gpu_1x_a10", &["A10-24GB-PCIE pcie"]),
    ("lambda", "gpu_1x_a100", &["A100-40GB -"]),
    ("lambda", "gpu_1x_a100_sxm4", &["A100-40GB-SXM sxm4"]),
    ("lambda", "gpu_1x_a6000", &["RTXA6000-48GB-PCIE pcie"]),
    ("lambda", "gpu_1x_b200_sxm6", &["B200-180GB-SXM sxm6"]),
    ("lambda", "gpu_1x_gh200", &["GH200-96GB -"]),
    ("lambda", "gpu_1x_h100_pcie", &["H100-80GB-PCIE pcie"]),
    ("lambda", "gpu_1x_h100_sxm5", &["H100-80GB-SXM sxm5"]),
    ("lambda", "gpu_1x_rtx6000", &["RTX6000-24GB-PCIE pcie"]),
    ("lambda", "gpu_2x_a100", &["A100-40GB -"]),
    ("lambda", "gpu_2x_a6000", &["RTXA6000-48GB-PCIE pcie"]),
    ("lambda", "gpu_2x_b200_sxm6", &["B200-180GB-SXM sxm6"]),
    ("lambda", "gpu_2x_h100_sxm5", &["H100-80GB-SXM sxm5"]),
    ("lambda", "gpu_4x_a100", &["A100-40GB -"]),
    ("lambda", "gpu_4x_a6000", &["RTXA6000-48GB-PCIE pcie"]),
    ("lambda", "gpu_4x_h100_sxm5", &["H100-80GB-SXM sxm5"]),
    ("lambda", "gpu_8x_a100", &["A100-40GB -"]),
    ("lambda", "gpu_8x_a100_80gb_sxm4", &["A100-80GB-SXM sxm4"]),
    ("lambda", "gpu_8x_b200_sxm6", &["B200-180GB-SXM sxm6"]),
    ("lambda", "gpu_8x_h100_sxm5", &["H100-80GB-SXM sxm5"]),
    ("lambda", "gpu_8x_v100", &["V100-16GB -"]),
    ("lambda", "gpu_8x_v100_n", &["V100-16GB -"]),
    (
        "nebius",
        "gpu-b200-sxm-a_8gpu-160vcpu-1792gb",
        &["B200-180GB-SXM sxm"],
    ),
    (
        "nebius",
        "gpu-b200-sxm_8gpu-160vcpu-1792gb",
        &["B200-180GB-SXM sxm"],
    ),
    (
        "nebius",
        "gpu-h100-sxm_1gpu-16vcpu-200gb",
        &["H100-80GB-SXM sxm"],
    ),
    (
        "nebius",
        "gpu-h100-sxm_8gpu-128vcpu-1600gb",
        &["H100-80GB-SXM sxm"],
    ),
    (
        "nebius",
        "gpu-h200-sxm_1gpu-16vcpu-200gb",
        &["H200-141GB-SXM sxm"],
    ),
    (
        "nebius",
        "gpu-h200-sxm_8gpu-128vcpu-1600gb",
        &["H200-141GB-SXM sxm"],
    ),
    (
        "nebius",
        "gpu-l40s-a_1gpu-16vcpu-64gb",
        &["L40S-48GB-PCIE pcie"],
    ),
    (
        "nebius",
        "gpu-l40s-a_1gpu-24vcpu-96gb",
        &["L40S-48GB-PCIE pcie"],
    ),
    (
        "nebius",
        "gpu-l40s-a_1gpu-32vcpu-128gb",
        &["L40S-48GB-PCIE pcie"],
    ),
    (
        "nebius",
        "gpu-l40s-a_1gpu-40vcpu-160gb",
        &["L40S-48GB-PCIE pcie"],
    ),
    (
        "nebius",
        "gpu-l40s-a_1gpu-8vcpu-32gb",
        &["L40S-48GB-PCIE pcie"],
    ),
    (
        "nebius",
        "gpu-l40s-d_1gpu-16vcpu-96gb",
        &["L40S-48GB-PCIE pcie"],
    ),
    (
        "nebius",
        "gpu-l40s-d_1gpu-32vcpu-192gb",
        &["L40S-48GB-PCIE pcie"],
    ),
    (
        "nebius",
        "gpu-l40s-d_1gpu-48vcpu-288gb",
        &["L40S-48GB-PCIE pcie"],
    ),
    (
        "nebius",
        "gpu-l40s-d_2gpu-64vcpu-384gb",
        &["L40S-48GB-PCIE pcie"],
    ),
    (
        "nebius",
        "gpu-l40s-d_2gpu-96vcpu-576gb",
        &["L40S-48GB-PCIE pcie"],
    ),
    (
        "nebius",
        "gpu-l40s-d_4gpu-128vcpu-768gb",
        &["L40S-48GB-PCIE pcie"],
    ),
    (
        "nebius",
        "gpu-l40s-d_4gpu-192vcpu-1152gb",
        &["L40S-48GB-PCIE pcie"],
    ),
    (
        "vast",
        "1x-A100_SXM4-32-65536",
        &["A100-40GB-SXM sxm4", "A100-80GB-SXM sxm4"],
    ),
    ("vast", "1x-H100_NVL-32-65536", &["H100-94GB-NVLINK nvlink"]),
    ("vast", "1x-H100_SXM-32-65536", &["H100-80GB-SXM sxm"]),
    ("vast", "1x-H200-32-65536", &["H200-141GB -"]),
    ("vast", "1x-L40S-32-65536", &["L40S-48GB-PCIE pcie"]),
    (
        "vast",
        "1x-RTX_3060_Ti-32-65536",
        &["RTX3060Ti-8GB-PCIE pcie"],
    ),
    ("vast", "1x-RTX_3090-32-65536", &["RTX3090-24GB-PCIE pcie"]),
    ("vast", "1x-RTX_4090-32-65536", &["RTX4090-24GB-PCIE pcie"]),
    ("vast", "1x-RTX_5090-32-65536", &["RTX5090-32GB-PCIE pcie"]),
    (
        "vast",
        "1x-RTX_5880Ada-32-65536",
        &["RTX5880Ada-48GB-PCIE pcie"],
    ),
    (
        "vast",
        "1x-RTX_PRO_6000_WS-32-65536",
        &["RTXPRO6000-WS-96GB-PCIE pcie"],
    ),
    ("vast", "1x-Tesla_V100-32-65536", &["V100-16GB -"]),
    ("vast", "2x-A100_PCIE-32-65536", &["A100-40GB-PCIE pcie"]),
    (
        "vast",
        "2x-A100_SXM4-32-65536",
        &["A100-40GB-SXM sxm4", "A100-80GB-SXM sxm4"],
    ),
    ("vast", "2x-H100_SXM-32-65536", &["H100-80GB-SXM sxm"]),
    ("vast", "2x-H200-32-65536", &["H200-141GB -"]),
    ("vast", "2x-L40S-32-65536", &["L40S-48GB-PCIE pcie"]),
    ("vast", "2x-RTX_3090-32-65536", &["RTX3090-24GB-PCIE pcie"]),
    ("vast", "2x-RTX_4090-32-65536", &["RTX4090-24GB-PCIE pcie"]),
    ("vast", "2x-RTX_5090-32-65536", &["RTX5090-32GB-PCIE pcie"]),
    (
        "vast",
        "2x-RTX_6000Ada-32-65536",
        &["RTX6000Ada-48GB-PCIE pcie"],
    ),
    (
        "vast",
        "2x-RTX_A5000-32-65536",
        &["RTXA5000-24GB-PCIE pcie"],
    ),
    (
        "vast",
        "2x-RTX_A6000-32-65536",
        &["RTXA6000-48GB-PCIE pcie"],
    ),
    (
        "vast",
        "2x-RTX_PRO_6000_WS-32-65536",
        &["RTXPRO6000-WS-96GB-PCIE pcie"],
    ),
    ("vast", "2x-Tesla_V100-32-65536", &["V100-16GB -"]),
    ("vast", "4x-H100_SXM-32-65536", &["H100-80GB-SXM sxm"]),
    ("vast", "4x-H200-32-65536", &["H200-141GB -"]),
    ("vast", "4x-L40S-32-65536", &["L40S-48GB-PCIE pcie"]),
    ("vast", "4x-RTX_3060-32-65536", &["RTX3060-12GB-PCIE pcie"]),
    ("vast", "4x-RTX_3090-32-65536", &["RTX3090-24GB-PCIE pcie"]),
    (
        "vast",
        "4x-RTX_4060_Ti-32-65536",
        &["RTX4060Ti-16GB-PCIE pcie"],
    ),
    (
        "vast",
        "4x-RTX_4070S_Ti-32-65536",
        &["RTX4070TiSuper-16GB-PCIE pcie"],
    ),
    ("vast", "4x-RTX_4090-32-65536", &["RTX4090-24GB-PCIE pcie"]),
    ("vast", "4x-RTX_5070-32-65536", &["RTX5070-12GB-PCIE pcie"]),
    ("vast", "4x-RTX_5090-32-65536", &["RTX5090-32GB-PCIE pcie"]),
    (
        "vast",
        "4x-RTX_A5000-32-65536",
        &["RTXA5000-24GB-PCIE pcie"],
    ),
    (
        "vast",
        "4x-RTX_A6000-32-65536",
        &["RTXA6000-48GB-PCIE pcie"],
    ),
    ("vast", "4x-Tesla_V100-32-65536", &["V100-16GB -"]),
    ("vast", "5x-RTX_3090-32-65536", &["RTX3090-24GB-PCIE pcie"]),
    ("vast", "5x-RTX_4090-32-65536", &["RTX4090-24GB-PCIE pcie"]),
    ("vast", "8x-H100_SXM-32-65536", &["H100-80GB-SXM sxm"]),
    ("vast", "8x-H200-32-65536", &["H200-141GB -"]),
    ("vast", "8x-RTX_3090-32-65536", &["RTX3090-24GB-PCIE pcie"]),
    ("vast", "8x-RTX_4090-32-65536", &["RTX4090-24GB-PCIE pcie"]),
    ("vast", "8x-RTX_5090-32-65536", &["RTX5090-32GB-PCIE pcie"]),
];

#[test]
fn all_five_files_load_with_counted_skips_and_warnings() {
    let (catalog, report) = load_all();

    assert_eq!(report.files.len(), 5);
    assert_eq!(report.rows_read, 1424);
    assert_eq!(report.rows_kept, 1423);
    assert_eq!(catalog.len(), 1423);
    assert_eq!(report.skipped, BTreeMap::from([(SkipReason::NoPrice, 1)]));
    assert_eq!(report.partial_price_rows, 753);
    let skipped: Vec<String> = report
        .warnings
        .iter()
        .filter(|w| matches!(w.kind, WarningKind::Skipped(_)))
        .map(|w| format!("{}:{}", w.file.rsplit('/').next().unwrap(), w.line.unwrap()))
        .collect();
    assert_eq!(
        skipped,
        ["aws.csv:177"],
        "p5e.48xlarge in euw2-az2 has no price at all"
    );
    let kinds = report.warnings_by_kind();
    assert_eq!(kinds[&WarningKind::SpotAboveOnDemand], 80);
    assert_eq!(
        kinds[&WarningKind::GpuMemory],
        23,
        "22 Nebius rows of 0 MiB, 1 Vast note"
    );
    assert_eq!(kinds.len(), 3, "{kinds:?}");
}

#[test]
fn every_type_normalises_to_the_expected_gpu() {
    let (catalog, _) = load_all();
    let mut found: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();

    for t in catalog.instance_types() {
        let gpu = catalog.gpu_of(&t.id).unwrap();
        let interconnect = t.gpus[0]
            .interconnect
            .as_ref()
            .map_or("-".into(), |i| i.to_string());
        let key = (t.provider().to_string(), t.name().to_owned());
        found
            .entry(key)
            .or_default()
            .insert(format!("{} {interconnect}", gpu.key()));
    }

    let expected: BTreeMap<(String, String), BTreeSet<String>> = EXPECTED
        .iter()
        .map(|(p, n, keys)| {
            let keys = keys.iter().map(|k| (*k).to_owned()).collect();
            ((p.to_string(), n.to_string()), keys)
        })
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn every_gpu_string_in_the_files_is_a_known_model() {
    let mut names = BTreeSet::new();
    for file in ["aws", "gcp", "lambda", "nebius", "vast"] {
        let mut csv = csv::Reader::from_path(data_dir().join(format!("{file}.csv"))).unwrap();
        let headers = csv.headers().unwrap().clone();
        let col = headers.iter().position(|h| h == "AcceleratorName").unwrap();
        for row in csv.records() {
            names.insert(row.unwrap()[col].to_owned());
        }
    }

    let unknown: Vec<&String> = names.iter().filter(|n| !normalize_gpu(n).known).collect();

    assert_eq!(names.len(), 30, "{names:?}");
    assert!(unknown.is_empty(), "{unknown:?}");
}

#[test]
fn prices_keep_their_quirks() {
    let (catalog, _) = load_all();
    let get = |id: &str| catalog.get(&id.parse().unwrap()).unwrap();

    let spot_only = get("aws/us-east-2/use2-az1/p5e.48xlarge");
    let no_spot = get("lambda/us-east-1//gpu_8x_h100_sxm5");
    let vast = get("vast/Oregon,%20US,%20NA//2x-RTX_4090-32-65536");
    let gcp = get("gcp/asia-northeast1/asia-northeast1-a/a100-x1");

    assert_eq!(spot_only.price, None);
    assert_eq!(spot_only.spot_price, Some("15.476".parse().unwrap()));
    assert_eq!(spot_only.usage_classes, [UsageClass::Spot]);
    assert_eq!(no_spot.spot_price, None);
    assert_eq!(no_spot.price, Some("31.92".parse().unwrap()));
    assert_eq!(vast.spot_price, None, "vast's 0.00 is no spot offer");
    assert_eq!(vast.gpus[0].memory, Some(Bytes::gib(24)));
    assert_eq!(gcp.price_scope, PriceScope::AcceleratorsOnly);
    assert!(gcp.spot_price.unwrap().amount > gcp.price.unwrap().amount);
    assert_eq!(gcp.instance_price(false), None);
}

#[test]
fn one_query_finds_every_h100_80gb_across_clouds() {
    let (catalog, _) = load_all();

    let all = catalog.query(&Query::new().gpu("H100 80GB"));
    let priced = catalog.query(
        &Query::new()
            .gpu("h100-80gb")
            .min_gpu_count(8)
            .max_price("100".parse().unwrap())
            .sort(SortBy::PricePerGpu),
    );
    let nvl = catalog.query(&Query::new().gpu("H100 NVL"));

    let providers: BTreeSet<&str> = all.iter().map(|t| t.provider().as_str()).collect();
    assert_eq!(
        providers,
        BTreeSet::from(["aws", "gcp", "lambda", "nebius", "vast"])
    );
    assert!(priced.iter().all(|t| t.price_scope == PriceScope::Instance));
    let per_gpu: Vec<f64> = priced
        .iter()
        .map(|t| {
            t.price
                .unwrap()
                .per(8)
                .unwrap()
                .amount
                .to_string()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(per_gpu.windows(2).all(|w| w[0] <= w[1]), "{per_gpu:?}");
    assert_eq!(nvl.len(), 1);
    assert_eq!(nvl[0].gpus[0].memory, Some(Bytes::gib(94)));
    assert!(catalog.knows_gpu("RTX4070 Ti Super"));
    assert!(
        !catalog.knows_gpu("MI300X"),
        "a known model, but not in these catalogs"
    );
}

#[test]
fn user_gpu_names_resolve_strictly_on_the_real_catalogs() {
    let (catalog, _) = load_all();

    let mega = catalog.query(&Query::new().gpu("H100-MEGA"));
    let h100 = catalog.query(&Query::new().gpu("H100"));
    let ws = catalog.query(&Query::new().gpu("RTX PRO 6000 Workstation"));

    for name in [
        "H100",
        "h100 sxm5",
        "H100-SXM5-80GB",
        "NVIDIA H100 80GB HBM3",
        "A100-80GB",
        "H100-MEGA",
        "RTXPRO6000WS",
        "RTX5880-Ada",
        "V100-32GB",
    ] {
        assert!(catalog.knows_gpu(name), "{name}");
    }
    for name in ["H200X", "H100-FOO", "A100-MEGA", "A10G-X"] {
        assert!(!catalog.knows_gpu(name), "{name}");
        let err = catalog.try_query(&Query::new().gpu(name)).unwrap_err();
        assert_eq!(err.field(), Some("gpu"), "{name}");
        assert!(PlanRequest::new(name, 8, 1).is_err(), "{name}");
    }
    assert!(!mega.is_empty());
    assert!(
        mega.iter()
            .all(|t| t.provider().as_str() == "gcp" && t.name() == "h100-mega-x8")
    );
    assert!(
        h100.len() > mega.len(),
        "H100 includes the MEGA machines and more"
    );
    assert_eq!(
        ws.len(),
        3,
        "vast: the 1x type in two places, the 2x type in one"
    );
    assert!(ws.iter().all(|t| t.name().contains("RTX_PRO_6000_WS")));
}

#[test]
fn spot_queries_locations_and_currencies_on_the_real_catalogs() {
    let (catalog, _) = load_all();
    let vast = ProviderId::new("vast").unwrap();
    let gcp = ProviderId::new("gcp").unwrap();

    let spot = catalog.query(&Query::new().gpu("H100").spot(true));
    let eur = PlanRequest::new("H100", 8, 1)
        .unwrap()
        .with_max_price_per_hour("40 EUR".parse().unwrap());

    assert!(!spot.is_empty());
    assert!(spot.iter().all(|t| t.spot_price.is_some()));
    assert!(spot.iter().all(|t| t.provider().as_str() != "vast"));
    assert!(catalog.knows_location(Some(&vast), "Oregon, US, NA"));
    assert!(catalog.knows_location(Some(&gcp), "europe-*"));
    assert!(!catalog.knows_location(Some(&gcp), "Oregon, US, NA"));
    assert!(!catalog.knows_location(None, "us-eats-1"));
    let err = try_plan(&catalog, &eur, SystemTime::now()).unwrap_err();
    assert_eq!(err.field(), Some("max_price"));
}

#[test]
fn plan_across_all_clouds_ranks_offers_and_explains_rejections() {
    let (catalog, _) = load_all();
    let request = PlanRequest::new("H100", 8, 2).unwrap();

    let plan = plan(&catalog, &request, SystemTime::now());

    let offered: BTreeSet<&str> = plan
        .offers
        .iter()
        .map(|o| o.id().provider().as_str())
        .collect();
    assert_eq!(offered, BTreeSet::from(["aws", "lambda", "nebius", "vast"]));
    let totals: Vec<_> = plan
        .offers
        .iter()
        .map(|o| o.total_price_per_hour.amount)
        .collect();
    assert!(totals.windows(2).all(|w| w[0] <= w[1]));
    let best = plan.best().unwrap();
    assert_eq!(
        best.id().to_string(),
        "vast/Vietnam,%20VN,%20AS//8x-H100_SXM-32-65536"
    );
    assert_eq!(best.total_price_per_hour.amount.to_string(), "29.88");
    let gcp = plan
        .rejected
        .iter()
        .find(|r| r.instance_type.to_string() == "gcp/us-central1/us-central1-a/h100-x8");
    assert_eq!(gcp.unwrap().reasons, [RejectReason::PartialPrice]);
    assert!(
        plan.rejected
            .iter()
            .any(|r| matches!(r.reasons[0], RejectReason::GpuCount { .. }))
    );
    assert_eq!(
        plan.warnings.len(),
        1,
        "CSV catalogs carry no date: {:?}",
        plan.warnings
    );
}

#[test]
fn locations_have_zones_and_only_sure_countries() {
    let (catalog, _) = load_all();
    let locations = catalog.locations();
    let find = |p: &str, name: &str| {
        locations
            .iter()
            .find(|(provider, l)| provider.as_str() == p && l.name.as_str() == name)
            .map(|(_, l)| l)
            .unwrap()
    };

    let oregon = find("vast", "Oregon, US, NA");
    let aws = find("aws", "us-east-1");
    let gcp = find("gcp", "europe-west4");
    let nebius = find("nebius", "eu-north1");
    let unsure = find("lambda", "asia-northeast-2");

    assert_eq!(oregon.country.unwrap().as_str(), "USA");
    assert_eq!(find("vast", ", CN, AS").country.unwrap().as_str(), "CHN");
    assert_eq!(aws.zones.len(), 7);
    assert_eq!(aws.zones[0].name.as_str(), "use1-atl2-az1");
    assert_eq!(gcp.country.unwrap().as_str(), "NLD");
    assert_eq!(gcp.zones.len(), 3);
    assert_eq!(nebius.country.unwrap().as_str(), "FIN");
    assert_eq!(unsure.country, None);
    assert_eq!(locations.len(), 17 + 31 + 17 + 4 + 34);
}

#[test]
fn the_loaded_catalog_round_trips_through_json() {
    let (catalog, _) = load_all();

    let json = catalog.to_json().unwrap();
    let back = Catalog::from_json(&json).unwrap();

    assert_eq!(back.instance_types(), catalog.instance_types());
    assert_eq!(back.locations(), catalog.locations());
    for t in catalog.instance_types() {
        assert_eq!(back.gpu_of(&t.id), catalog.gpu_of(&t.id), "{}", t.id);
    }
}

#[test]
fn a_file_loads_under_another_provider_name() {
    let file = std::fs::File::open(data_dir().join("nebius.csv")).unwrap();
    let options = CsvOptions::new(ProviderId::new("neb").unwrap()).with_file_name("n.csv");

    let (catalog, report) = Catalog::from_csv_reader(file, &options).unwrap();

    assert_eq!(catalog.len(), 22);
    assert_eq!(report.files, ["n.csv"]);
    assert!(
        catalog
            .instance_types()
            .iter()
            .all(|t| t.provider().as_str() == "neb")
    );
}
