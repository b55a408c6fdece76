//! End-to-end tests of what a new user's first session ran into: `ls -a --cluster`, plan's
//! rejection counts, `firewall lint --fail-on`, price and node-count input, help layout,
//! and table rounding and notes.

mod common;

use std::collections::BTreeMap;

use serde_json::Value;

use common::{CATALOGS, Env, words};

const UP: &str = "up --cluster demo --gpu H100 --gpus-per-node 8 --nodes 2";

/// Runs `args` (which may hold spaces) and returns exit code, stdout and stderr.
fn run(env: &Env, args: &[&str]) -> (i32, String, String) {
    let out = env.cmd().args(args).output().expect("run");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

fn names(doc: &Value) -> Vec<String> {
    let mut out: Vec<String> = doc["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{} {}",
                i["name"].as_str().unwrap(),
                i["state"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn ls_all_with_a_cluster_lists_its_terminated_nodes() {
    let env = Env::new();
    env.json(UP);
    env.json("down --cluster demo");

    let all = env.json("ls -a");
    let cluster_all = env.json("ls -a --cluster demo");
    let cluster_live = env.json("ls --cluster demo");

    assert_eq!(
        names(&cluster_all),
        ["demo-0 terminated", "demo-1 terminated"]
    );
    assert_eq!(names(&cluster_all), names(&all));
    assert!(names(&cluster_live).is_empty());
}

#[test]
fn ls_all_with_a_cluster_lists_old_and_new_nodes_after_a_relaunch() {
    let env = Env::new();
    env.json(UP);
    env.json("down --cluster demo");
    env.json(UP);

    let all = env.json("ls --all --cluster demo");
    let live = env.json("ls --cluster demo");

    assert_eq!(names(&all).len(), 4, "{:?}", names(&all));
    assert_eq!(names(&live), ["demo-0 running", "demo-1 running"]);
}

/// The `rejected N ...:` header and each `count  reason (e.g. ...)` line of plan's table.
fn rejection_summary(table: &str) -> (usize, String, BTreeMap<String, usize>) {
    let (_, tail) = table
        .split_once("\nrejected ")
        .expect("a rejection summary");
    let mut lines = tail.lines();
    let header = lines.next().unwrap().to_owned();
    let total = header.split(' ').next().unwrap().parse().unwrap();
    let counts = lines
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (count, rest) = l.split_once("  ").unwrap();
            let reason = rest.trim().rsplit_once(" (e.g. ").unwrap().0;
            (reason.to_owned(), count.trim().parse().unwrap())
        })
        .collect();
    (total, header, counts)
}

#[test]
fn plan_rejection_counts_agree_with_the_json() {
    let env = Env::new();
    let line = format!("--catalog {CATALOGS} plan --gpu H100 --gpus-per-node 8 --nodes 2");

    let (table, _) = env.ok(&line);
    let doc = env.json(&line);

    let rejected = doc["rejected"].as_array().unwrap();
    let mut wanted: BTreeMap<String, usize> = BTreeMap::new();
    for candidate in rejected {
        for reason in candidate["reasons"].as_array().unwrap() {
            *wanted
                .entry(reason.as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    let (total, header, counts) = rejection_summary(&table);
    assert_eq!(total, rejected.len(), "{header}");
    assert_eq!(counts, wanted, "{table}");
    let lines: usize = counts.values().sum();
    assert!(
        lines > total,
        "the real catalogs have candidates failing several checks"
    );
    assert!(header.contains("can fail several checks"), "{header}");
}

#[test]
fn plan_counts_add_up_when_each_candidate_fails_one_check() {
    let env = Env::new();

    let (table, _) = env.ok("plan --gpu H100 --gpus-per-node 8 --nodes 2 --max-price 30");

    let (total, header, counts) = rejection_summary(&table);
    assert_eq!(counts.values().sum::<usize>(), total, "{table}");
    assert!(!header.contains("several"), "{header}");
}

#[test]
fn gpu_counts_in_reasons_are_pluralised() {
    let env = Env::new();

    let (table, _) = env.ok("plan --gpu H100 --gpus-per-node 8 --nodes 1");
    let doc = env.json("plan --gpu H100 --gpus-per-node 8 --nodes 1");

    assert!(table.contains("has 1 GPU per node, not 8"), "{table}");
    assert!(!table.contains("1 GPUs"), "{table}");
    assert!(!doc.to_string().contains("1 GPUs"), "{doc}");
}

#[test]
fn firewall_lint_fails_only_when_asked_to() {
    let env = Env::new();
    env.json(&format!("{UP} --allow tcp:1-65535@0.0.0.0/0"));
    let lint = "firewall lint --cluster demo";

    let (plain, _) = env.ok(lint);
    let err = env.fails(&format!("{lint} --fail-on error"), 1);
    let (code, stdout, _) = run(&env, &words(&format!("{lint} --fail-on warning -o json")));

    assert!(plain.contains("world-open-all"), "{plain}");
    assert!(err.contains("1 finding at severity error"), "{err}");
    assert!(err.contains("--fail-on error"), "{err}");
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&stdout).expect("findings still printed as JSON");
    assert_eq!(doc["findings"][0]["severity"], "error");
}

#[test]
fn firewall_lint_fail_on_ignores_lesser_findings() {
    let env = Env::new();
    env.json(&format!("{UP} --allow tcp:8888@0.0.0.0/0"));
    let lint = "firewall lint --cluster demo";

    let (table, _) = env.ok(&format!("{lint} --fail-on error"));
    let err = env.fails(&format!("{lint} --fail-on warning"), 1);
    env.fails(&format!("{lint} --fail-on info"), 1);
    let bad = env.fails(&format!("{lint} --fail-on severe"), 2);

    assert!(table.contains("world-open-port"), "{table}");
    assert!(err.contains("at severity warning or above"), "{err}");
    assert!(bad.contains("--fail-on"), "{bad}");
}

#[test]
fn firewall_lint_fail_on_passes_a_clean_cluster() {
    let env = Env::new();
    env.json(&format!("{UP} --allow tcp:22@203.0.113.0/24"));

    let (table, _) = env.ok("firewall lint --cluster demo --fail-on info");

    assert!(table.contains("no findings"), "{table}");
}

#[test]
fn a_price_cap_in_another_currency_is_a_usage_error() {
    let env = Env::new();

    let types = env.fails(&format!("--catalog {CATALOGS} types --max-price 5EUR"), 2);
    let plan = env.fails(
        "plan --gpu H100 --gpus-per-node 8 --nodes 2 --max-price 5EUR",
        2,
    );

    for err in [&types, &plan] {
        assert!(err.contains("--max-price"), "{err}");
        assert!(err.contains("EUR"), "{err}");
        assert!(err.contains("prices are in USD"), "{err}");
        assert!(err.contains("hint: currencies are not converted"), "{err}");
    }
}

#[test]
fn negative_values_name_their_field() {
    let env = Env::new();

    let price = env.fails("types --max-price -5", 2);
    let plan_price = env.fails(
        "plan --gpu H100 --gpus-per-node 8 --nodes 1 --max-price -5",
        2,
    );
    let memory = env.fails("types --min-gpu-memory -1GiB", 2);

    assert!(
        price.contains("--max-price") && price.contains("negative"),
        "{price}"
    );
    assert!(plan_price.contains("--max-price"), "{plan_price}");
    assert!(
        memory.contains("--min-gpu-memory") && memory.contains("negative"),
        "{memory}"
    );
    for err in [&price, &plan_price, &memory] {
        assert!(!err.contains("unexpected argument"), "{err}");
    }
}

#[test]
fn a_word_is_not_a_price() {
    let env = Env::new();

    let err = env.fails("types --max-price abc", 2);

    assert!(err.contains("--max-price: `abc` is not a price"), "{err}");
    assert!(!err.contains("ISO 4217"), "{err}");
    assert!(
        err.contains("hint: prices look like 30, 30 USD or 2.5EUR"),
        "{err}"
    );
}

#[test]
fn node_counts_are_checked_the_same_everywhere() {
    let env = Env::new();
    let up = "up --cluster demo --gpu H100 --gpus-per-node 8 --nodes";
    let plan = "plan --gpu H100 --gpus-per-node 8 --nodes";

    let cases = [
        (format!("{up} 0"), "0"),
        (format!("{plan} 0"), "0"),
        (format!("{up} -1"), "-1"),
        (format!("{plan} 4294967296"), "4294967296"),
        (format!("{up} 4294967296"), "4294967296"),
        (format!("{plan} two"), "two"),
        (format!("{plan} 100001"), "100001"),
    ];

    for (line, value) in &cases {
        let err = env.fails(line, 2);
        let rule = format!("--nodes must be at least 1 and at most 100000, not `{value}`");
        assert!(err.contains(&rule), "{line}: {err}");
    }
    assert!(env.files().is_empty(), "{:?}", env.files());
}

/// The long names of the options a help text lists under `heading`, up to the next one.
fn section(help: &str, heading: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim_end() != heading)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .filter(|l| l.trim_start().starts_with('-'))
        .filter_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("--")))
        .map(|name| name.trim_end_matches([',', '.']).to_owned())
        .collect()
}

#[test]
fn global_options_have_their_own_heading() {
    let env = Env::new();

    for path in ["types", "plan", "up", "ls", "firewall lint"] {
        let (help, _) = env.ok(&format!("{path} --help"));

        let own = section(&help, "Options:");
        let global = section(&help, "Global options:");
        for name in ["provider", "catalog", "state", "output", "verbose"] {
            assert!(
                global.iter().any(|g| g == name),
                "{path}: {global:?}\n{help}"
            );
            assert!(!own.iter().any(|o| o == name), "{path}: {own:?}");
        }
    }
}

#[test]
fn up_help_says_gpus_per_node_goes_with_gpu() {
    let env = Env::new();

    let (help, _) = env.ok("up --help");
    let err = env.fails("up --cluster demo --nodes 1 --gpu H100", 2);

    let usage = help.split_once("Usage:").unwrap().1;
    assert!(
        usage.contains("--gpu <MODEL> --gpus-per-node <G>"),
        "{help}"
    );
    assert!(help.contains("required with --gpu"), "{help}");
    assert!(err.contains("--gpus-per-node"), "{err}");
    assert!(env.files().is_empty(), "{:?}", env.files());
}

#[test]
fn help_examples_say_where_the_catalogs_live() {
    let env = Env::new();

    for command in ["types", "locations"] {
        let (help, _) = env.ok(&format!("{command} --help"));

        assert!(help.contains("../shared/data/catalogs"), "{help}");
        assert!(
            help.contains("in the SDK's repository layout"),
            "{command}: {help}"
        );
    }
}

#[test]
fn table_prices_are_rounded_and_json_stays_exact() {
    let env = Env::new();
    let line = format!("--catalog {CATALOGS} types --gpu H100");

    let (table, _) = env.ok(&line);
    let doc = env.json(&line);

    let amounts: Vec<&str> = table
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[1].ends_with("/h"))
        .map(|w| w[0])
        .collect();
    assert!(!amounts.is_empty(), "{table}");
    for amount in &amounts {
        let (whole, cents) = amount.split_once('.').unwrap();
        let most = if whole == "0" { 4 } else { 2 };
        assert!(
            cents.len() >= 2 && cents.len() <= most,
            "{amount} in\n{table}"
        );
    }
    let exact = doc["types"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["price_per_gpu"]["amount"].as_str())
        .any(|a| a.split_once('.').is_some_and(|(_, d)| d.len() > 2));
    assert!(exact, "JSON keeps more than cents: {doc}");
}

/// How many H100 types `--gpu <model>` lists, and what it says on stderr.
fn h100s(env: &Env, model: &str) -> (usize, String) {
    let args = ["--catalog", CATALOGS, "types", "--gpu", model, "-o", "json"];
    let (code, stdout, stderr) = run(env, &args);
    assert_eq!(code, 0, "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    (doc["types"].as_array().unwrap().len(), stderr)
}

#[test]
fn a_form_factor_filter_says_what_it_left_out() {
    let env = Env::new();

    let (all, all_note) = h100s(&env, "H100");
    let (sxm, sxm_note) = h100s(&env, "H100 SXM");
    let (pcie, _) = h100s(&env, "H100 PCIe");
    let (nvl, _) = h100s(&env, "H100 NVL");

    let unknown = all - sxm - pcie - nvl;
    assert!(
        unknown > 0,
        "the real catalogs have H100 rows of unknown form factor"
    );
    let note = format!(
        "note: {unknown} H100 types of unknown form factor are not shown; ask for --gpu H100 \
         to see them"
    );
    assert!(sxm_note.contains(&note), "{sxm_note}");
    assert!(!all_note.contains("note:"), "{all_note}");
}

#[test]
fn plan_says_what_a_form_factor_filter_left_out_too() {
    let env = Env::new();
    let count = |model: &str| {
        let args = [
            "--catalog",
            CATALOGS,
            "types",
            "--gpu",
            model,
            "--gpus",
            "8",
            "-o",
            "json",
        ];
        let (code, stdout, stderr) = run(&env, &args);
        assert_eq!(code, 0, "{stderr}");
        let doc: Value = serde_json::from_str(&stdout).unwrap();
        doc["types"].as_array().unwrap().len()
    };
    let unknown = count("H100") - count("H100 SXM") - count("H100 PCIe") - count("H100 NVL");

    let plan = [
        "--catalog",
        CATALOGS,
        "plan",
        "--gpu",
        "H100 SXM",
        "--gpus-per-node",
        "8",
        "--nodes",
        "1",
    ];
    let (code, _, stderr) = run(&env, &plan);

    assert_eq!(code, 0, "{stderr}");
    assert!(
        unknown > 0,
        "the real catalogs have 8-GPU H100 rows of unknown form factor"
    );
    let note = format!("note: {unknown} H100 types of unknown form factor are not shown");
    assert!(stderr.contains(&note), "{stderr}");
}

#[test]
fn over_budget_candidates_share_one_line_whatever_their_totals() {
    let env = Env::new();
    let line =
        format!("--catalog {CATALOGS} plan --gpu H100 --gpus-per-node 8 --nodes 1 --max-price 9");

    let (table, _) = env.ok(&line);
    let doc = env.json(&line);

    let over = doc["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["reasons"].to_string().contains("is over 9 USD/h"))
        .count();
    let (_, _, counts) = rejection_summary(&table);
    let lines: Vec<&String> = counts.keys().filter(|r| r.contains("is over")).collect();
    assert!(
        over > 1,
        "several H100x8 types cost more than 9 USD/h: {doc}"
    );
    assert_eq!(lines, ["on-demand total is over 9 USD/h"], "{table}");
    assert_eq!(counts["on-demand total is over 9 USD/h"], over, "{table}");
}
