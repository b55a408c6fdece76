//! End-to-end tests of what the commands print besides their results: the stale-catalog
//! warning, prices from the catalog a cluster was launched with, money and plurals, and
//! the log levels of `-v`.

mod common;

use chrono::{TimeZone, Utc};
use compute_catalog::Catalog;

use common::Env;

/// Writes the built-in catalog to `name` in the test's directory, dated `as_of`, with
/// every price multiplied by `factor`; returns the path.
fn catalog_file(env: &Env, name: &str, as_of: chrono::DateTime<Utc>, factor: u64) -> String {
    let builtin = Catalog::builtin();
    let mut catalog = Catalog::new("test catalog", Some(as_of));
    for t in builtin.instance_types() {
        let mut t = t.clone();
        t.price = t.price.map(|p| times(p, factor));
        t.spot_price = t.spot_price.map(|p| times(p, factor));
        catalog.insert(t);
    }
    let path = env.path(name);
    std::fs::write(&path, catalog.to_json().unwrap()).unwrap();
    path.display().to_string()
}

fn times(price: compute_types::Price, factor: u64) -> compute_types::Price {
    (1..factor).fold(price, |sum, _| sum.checked_add(price).unwrap())
}

#[test]
fn types_and_up_warn_on_stderr_about_a_stale_catalog() {
    let env = Env::new();
    let old = catalog_file(
        &env,
        "old.json",
        Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap(),
        1,
    );
    let fresh = catalog_file(&env, "fresh.json", Utc::now(), 1);

    let (types_json, types_err) = env.ok(&format!("--catalog {old} types --gpu H100 -o json"));
    let (_, up_err) = env.ok(&format!(
        "--catalog {old} up --cluster old --type gpu-1x-l4 --nodes 1"
    ));
    let (_, plan_err) = env.ok(&format!(
        "--catalog {old} plan --gpu H100 --gpus-per-node 1 --nodes 1"
    ));
    let (_, fresh_types) = env.ok(&format!("--catalog {fresh} types --gpu H100"));
    let (_, fresh_up) = env.ok(&format!(
        "--catalog {fresh} up --cluster new --type gpu-1x-l4 --nodes 1"
    ));

    let warning = "warning: catalog data from 2020-01-01 is";
    assert!(types_err.contains(warning), "{types_err}");
    assert!(up_err.contains(warning), "{up_err}");
    assert!(plan_err.contains(warning), "{plan_err}");
    let json: serde_json::Value = serde_json::from_str(&types_json).expect("stdout stays JSON");
    assert!(!json["types"].as_array().unwrap().is_empty());
    assert!(!fresh_types.contains("warning: catalog"), "{fresh_types}");
    assert!(!fresh_up.contains("warning: catalog"), "{fresh_up}");
}

#[test]
fn ls_and_show_price_nodes_from_the_catalog_up_used() {
    let env = Env::new();
    let doubled = catalog_file(&env, "doubled.json", Utc::now(), 2);
    let builtin_l4 =
        env.json("types --gpu L4 --gpus 1 --location us-east-1")["types"][0]["price"].clone();

    let up = env.json(&format!(
        "--catalog {doubled} up --cluster c --type gpu-1x-l4 --location us-east-1 --nodes 1"
    ));
    let ls = env.json("ls");
    let show = env.json("show c-0");

    let launched = &up["nodes"][0]["price"];
    assert_eq!(
        up["cluster"]["catalog"].as_str().unwrap(),
        std::fs::canonicalize(&doubled)
            .unwrap()
            .display()
            .to_string()
    );
    assert_ne!(launched, &builtin_l4, "the test catalog has other prices");
    assert_eq!(&ls["instances"][0]["price"], launched);
    assert_eq!(&show["instance"]["price"], launched);
}

#[test]
fn money_and_counts_read_the_same_everywhere() {
    let env = Env::new();

    let (one, _) = env.ok("up --cluster one --type gpu-1x-l4 --location us-east-1 --nodes 1");
    let (two, _) = env.ok("up --cluster two --type gpu-1x-l4 --location us-east-1 --nodes 2");
    let (ls, _) = env.ok("ls");
    let (show, _) = env.ok("show one-0");
    let (types, _) = env.ok("types --gpu L4 --location us-east-1");
    let (plan, _) = env.ok("plan --gpu L4 --gpus-per-node 1 --nodes 2 --location us-east-1");
    let (down, _) = env.ok("down --cluster one");

    assert!(
        one.contains("cluster one: 1 node, 0.80 USD/h in total"),
        "{one}"
    );
    assert!(
        two.contains("cluster two: 2 nodes, 1.60 USD/h in total"),
        "{two}"
    );
    assert!(down.contains("terminated 1 node:"), "{down}");
    assert!(
        show.contains("price:") && show.contains("0.80 USD/h"),
        "{show}"
    );
    for text in [&ls, &types, &plan] {
        assert!(text.contains("0.80 USD/h"), "{text}");
    }
    assert!(plan.contains("1.60 USD/h"), "{plan}");
    assert!(!format!("{one}{two}{down}{plan}").contains("(s)"));
}

#[test]
fn each_v_adds_a_log_level_up_to_trace() {
    let env = Env::new();

    let (_, quiet) = env.ok("ls");
    let (_, debug) = env.ok("-vv ls");
    let (_, trace) = env.ok("-vvv ls");

    assert!(
        !quiet.contains("DEBUG") && !quiet.contains("TRACE"),
        "{quiet}"
    );
    assert!(
        debug.contains("DEBUG") && !debug.contains("TRACE"),
        "{debug}"
    );
    assert!(trace.contains("TRACE"), "{trace}");
}
