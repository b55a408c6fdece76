//! End-to-end tests of `types`, `plan` and `locations` on the real catalogs, with the
//! expected answers computed from the CSV files directly (not through compute-catalog).

mod common;

use std::{collections::BTreeMap, fs, path::Path};

use serde_json::Value;

use common::{CATALOGS, Env};

/// One CSV row, reduced to what `types` must show for it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    provider: String,
    location: String,
    zone: String,
    name: String,
    gpus: u32,
    price: Option<String>,
}

/// Rows of every CSV whose accelerator is an H100 (`H100`, or an H100 variant such as
/// GCP's `H100-MEGA`, the A3 Mega machines' 80 GB H100s), with whether their price covers
/// the accelerators only (GCP's accelerator rows, which have no instance type).
fn h100_rows() -> Vec<(Row, bool)> {
    let mut rows = Vec::new();
    let mut files: Vec<_> = fs::read_dir(CATALOGS)
        .expect("catalog dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    for path in files {
        rows.extend(read_rows(&path));
    }
    rows
}

fn read_rows(path: &Path) -> Vec<(Row, bool)> {
    let provider = path.file_stem().unwrap().to_string_lossy().into_owned();
    let mut reader = csv::Reader::from_path(path).expect("csv");
    let headers = reader.headers().expect("header").clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (accel, count, price) = (
        col("AcceleratorName"),
        col("AcceleratorCount"),
        col("Price"),
    );
    let (region, zone, name) = (col("Region"), col("AvailabilityZone"), col("InstanceType"));
    let get = |rec: &csv::StringRecord, i: Option<usize>| {
        i.and_then(|i| rec.get(i)).unwrap_or("").trim().to_owned()
    };

    let mut rows = Vec::new();
    for rec in reader.records() {
        let rec = rec.expect("record");
        let model = get(&rec, accel);
        if model != "H100" && !model.starts_with("H100-") {
            continue;
        }
        let gpus = get(&rec, count).parse::<f64>().expect("count") as u32;
        let price = get(&rec, price);
        let name = get(&rec, name);
        let partial = name.is_empty();
        rows.push((
            Row {
                provider: provider.clone(),
                location: get(&rec, region),
                zone: get(&rec, zone),
                name,
                gpus,
                price: (!price.is_empty()).then(|| cents(&price)),
            },
            partial,
        ));
    }
    rows
}

/// A price rounded to 1/10000 of a dollar, so `33.552` and `33.5520` compare equal.
fn cents(text: &str) -> String {
    format!("{:.4}", text.parse::<f64>().expect("price"))
}

fn shown_row(t: &Value, csv_name_empty: bool) -> Row {
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    Row {
        provider: text(&t["provider"]),
        location: text(&t["location"]),
        zone: text(&t["zone"]),
        name: if csv_name_empty {
            String::new()
        } else {
            text(&t["name"])
        },
        gpus: t["gpu_count"].as_u64().unwrap() as u32,
        price: t["price"]["amount"].as_str().map(cents),
    }
}

#[test]
fn types_gpu_h100_lists_exactly_the_csv_rows() {
    let env = Env::new();
    let expected = h100_rows();

    let out = env.json(&format!("--catalog {CATALOGS} types --gpu H100"));

    let types = out["types"].as_array().unwrap();
    assert_eq!(types.len(), expected.len(), "one line per CSV row");
    let mut shown: Vec<Row> = types
        .iter()
        .map(|t| shown_row(t, t["price_scope"] == "accelerators_only"))
        .collect();
    let mut wanted: Vec<Row> = expected.iter().map(|(r, _)| r.clone()).collect();
    shown.sort();
    wanted.sort();
    assert_eq!(shown, wanted);
}

#[test]
fn partial_prices_are_marked_never_shown_as_instance_prices() {
    let env = Env::new();
    let partial_rows = h100_rows().iter().filter(|(_, partial)| *partial).count();

    let out = env.json(&format!("--catalog {CATALOGS} types --gpu H100"));
    let (table, _) = env.ok(&format!(
        "--catalog {CATALOGS} types --gpu H100 --location us-central1"
    ));

    let marked = out["types"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["price_scope"] == "accelerators_only")
        .count();
    assert!(partial_rows > 0);
    assert_eq!(marked, partial_rows);
    let gcp_lines: Vec<&str> = table.lines().filter(|l| l.starts_with("gcp")).collect();
    assert!(!gcp_lines.is_empty(), "{table}");
    assert!(
        gcp_lines.iter().all(|l| l.contains("(gpus only)")),
        "{table}"
    );
}

#[test]
fn types_filters_and_sorts() {
    let env = Env::new();

    let out = env.json(&format!(
        "--catalog {CATALOGS} types --gpu h100 --gpus 8 --max-price 40 --sort price-per-gpu"
    ));

    let types = out["types"].as_array().unwrap();
    assert!(!types.is_empty());
    let per_gpu: Vec<f64> = types
        .iter()
        .map(|t| {
            t["price_per_gpu"]["amount"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(per_gpu.windows(2).all(|w| w[0] <= w[1]), "{per_gpu:?}");
    for t in types {
        assert_eq!(t["gpu_count"], 8);
        let price: f64 = t["price"]["amount"].as_str().unwrap().parse().unwrap();
        assert!(price <= 40.0);
        assert_eq!(t["price_scope"], "instance");
    }
}

#[test]
fn plan_picks_the_truly_cheapest_offer() {
    let env = Env::new();
    // Whole-instance prices of 8x H100 nodes, straight from the CSVs.
    let cheapest = h100_rows()
        .into_iter()
        .filter(|(r, partial)| !partial && r.gpus == 8)
        .filter_map(|(r, _)| r.price.clone().map(|p| (p.parse::<f64>().unwrap(), r)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .expect("an 8x H100 offer");

    let out = env.json(&format!(
        "--catalog {CATALOGS} plan --gpu H100 --gpus-per-node 8 --nodes 2"
    ));

    let offers = out["offers"].as_array().unwrap();
    let best = &offers[0];
    let per_node: f64 = best["price_per_node"]["amount"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let total: f64 = best["total_price"]["amount"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(per_node, cheapest.0);
    assert!((total - 2.0 * cheapest.0).abs() < 1e-9);
    assert_eq!(
        best["instance_type"]["provider"],
        cheapest.1.provider.as_str()
    );
    assert_eq!(best["instance_type"]["name"], cheapest.1.name.as_str());
    let totals: Vec<f64> = offers
        .iter()
        .map(|o| {
            o["total_price"]["amount"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(
        totals.windows(2).all(|w| w[0] <= w[1]),
        "ranked cheapest first"
    );
    let rejected = out["rejected"].as_array().unwrap();
    assert!(rejected.iter().any(|r| {
        r["reasons"][0]
            .as_str()
            .unwrap()
            .contains("accelerators only")
    }));
}

#[test]
fn plan_table_explains_rejections() {
    let env = Env::new();

    let (out, _) = env.ok(&format!(
        "--catalog {CATALOGS} plan --gpu H100 --gpus-per-node 8 --nodes 2 --max-price 60"
    ));

    assert!(out.lines().nth(1).unwrap().starts_with("1 "), "{out}");
    assert!(out.contains("rejected"), "{out}");
    assert!(out.contains("is over"), "{out}");
}

#[test]
fn unknown_gpu_models_are_usage_errors() {
    let env = Env::new();

    let types = env.fails(&format!("--catalog {CATALOGS} types --gpu H1000"), 2);
    let plan = env.fails("plan --gpu Z9 --gpus-per-node 8 --nodes 1", 2);

    assert!(types.contains("unknown GPU model `H1000`"), "{types}");
    assert!(types.contains("hint: models in this catalog:"), "{types}");
    assert!(plan.contains("unknown GPU model `Z9`"), "{plan}");
    assert!(env.files().is_empty(), "nothing written: {:?}", env.files());
}

#[test]
fn locations_cover_every_provider() {
    let env = Env::new();

    let out = env.json(&format!("--catalog {CATALOGS} locations"));

    let mut by_provider: BTreeMap<String, usize> = BTreeMap::new();
    for loc in out["locations"].as_array().unwrap() {
        *by_provider
            .entry(loc["provider"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let providers: Vec<&str> = by_provider.keys().map(String::as_str).collect();
    assert_eq!(providers, ["aws", "gcp", "lambda", "nebius", "vast"]);
}

#[test]
fn a_missing_catalog_is_a_usage_error() {
    let env = Env::new();
    let missing = env.path("no-such-catalog");

    let err = env.fails(&format!("--catalog {} types", missing.display()), 2);

    assert!(err.contains("no-such-catalog"), "{err}");
}

/// CSV rows of H100 offers (as [`h100_rows`] reads them) that carry a spot price.
fn h100_spot_rows() -> usize {
    let mut count = 0;
    for entry in fs::read_dir(CATALOGS).expect("catalog dir").flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "csv") {
            continue;
        }
        let mut reader = csv::Reader::from_path(&path).expect("csv");
        let headers = reader.headers().expect("header").clone();
        let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
        let (accel, spot) = (col("AcceleratorName"), col("SpotPrice"));
        for rec in reader.records() {
            let rec = rec.expect("record");
            let model = rec.get(accel).unwrap_or("").trim();
            let is_h100 = model == "H100" || model.starts_with("H100-");
            // An empty or zero spot price means no spot offer (Vast writes `0.00`).
            let spot = rec.get(spot).unwrap_or("").trim();
            let has_spot = spot.parse::<f64>().is_ok_and(|p| p > 0.0);
            count += usize::from(is_h100 && has_spot);
        }
    }
    count
}

/// The amounts of `field` in a `types` listing, as numbers (`None` when null).
fn amounts(out: &Value, field: &str) -> Vec<Option<f64>> {
    out["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t[field]["amount"].as_str().map(|a| a.parse().unwrap()))
        .collect()
}

/// Checks that whole-instance prices come first, cheapest first, and the rest after.
fn assert_sorted_by(out: &Value, field: &str) {
    let types = out["types"].as_array().unwrap();
    let priced: Vec<Option<f64>> = types
        .iter()
        .zip(amounts(out, field))
        .map(|(t, amount)| amount.filter(|_| t["price_scope"] == "instance"))
        .collect();
    let first_unpriced = priced
        .iter()
        .position(Option::is_none)
        .unwrap_or(priced.len());
    assert!(
        priced[first_unpriced..].iter().all(Option::is_none),
        "unpriced types come last: {priced:?}"
    );
    let prices: Vec<f64> = priced.iter().flatten().copied().collect();
    assert!(prices.len() > 1, "{priced:?}");
    assert!(
        prices.windows(2).all(|w| w[0] <= w[1]),
        "{field}: {prices:?}"
    );
}

#[test]
fn types_sorts_by_price_by_default_and_spot_lists_and_sorts_spot_prices() {
    let env = Env::new();

    let on_demand = env.json(&format!("--catalog {CATALOGS} types --gpu H100"));
    let spot = env.json(&format!("--catalog {CATALOGS} types --gpu H100 --spot"));

    assert_eq!(on_demand["spot"], false);
    assert_sorted_by(&on_demand, "price");
    assert_eq!(spot["spot"], true);
    let spot_prices = amounts(&spot, "spot_price");
    assert_eq!(
        spot_prices.len(),
        h100_spot_rows(),
        "one line per CSV row with a spot price"
    );
    assert!(spot_prices.iter().all(Option::is_some), "{spot_prices:?}");
    assert_sorted_by(&spot, "spot_price");
    let per_gpu = amounts(&spot, "price_per_gpu");
    for (t, (spot, per_gpu)) in spot["types"]
        .as_array()
        .unwrap()
        .iter()
        .zip(spot_prices.iter().zip(&per_gpu))
    {
        let gpus = t["gpu_count"].as_f64().unwrap();
        let (spot, per_gpu) = (spot.unwrap(), per_gpu.expect("a per-GPU price"));
        assert!(
            (per_gpu * gpus - spot).abs() < 0.01,
            "per GPU from the spot price: {t}"
        );
    }
}

#[test]
fn catalog_commands_need_no_home_or_data_directory() {
    // No --state, no COMPUTECTL_STATE, no HOME and no XDG directories: only commands
    // that touch the fake's world may need the state path.
    let run = |args: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("computectl").unwrap();
        cmd.env_remove("HOME").env_remove("COMPUTECTL_STATE");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("XDG_") {
                cmd.env_remove(key);
            }
        }
        let out = cmd.args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {stderr}");
        out.stdout
    };

    let catalogs = ["--catalog", CATALOGS];
    let types = run(&[&catalogs[..], &["types", "--gpu", "H100", "-o", "json"]].concat());
    let locations = run(&[&catalogs[..], &["locations"]].concat());
    let plan = run(&[
        "plan",
        "--gpu",
        "H100",
        "--gpus-per-node",
        "8",
        "--nodes",
        "1",
    ]);

    let types: Value = serde_json::from_slice(&types).unwrap();
    assert!(!types["types"].as_array().unwrap().is_empty());
    assert!(!locations.is_empty() && !plan.is_empty());
}
