//! End-to-end tests of a cluster's life on the real catalogs (`--catalog` pointing at
//! `shared/data/catalogs`) through one state file, and of bad input there: each bad
//! command gives its exit code and one clear message, and leaves the state file and the
//! cluster inventory byte for byte as they were.

mod common;

use std::path::Path;

use serde_json::Value;

use common::{CATALOGS, Env, PUBLIC_KEY};

/// `--catalog <the real catalogs> <rest>`.
fn real(rest: &str) -> String {
    format!("--catalog {CATALOGS} {rest}")
}

/// The state file and the inventory, as bytes (empty when absent).
fn snapshot(env: &Env) -> (Vec<u8>, Vec<u8>) {
    let read = |p: &Path| std::fs::read(p).unwrap_or_default();
    (read(env.state()), read(&env.inventory()))
}

fn amount(price: &Value) -> f64 {
    price["amount"].as_str().expect("a price").parse().unwrap()
}

#[test]
fn up_ls_show_firewall_down_round_trip_on_the_real_catalogs() {
    let env = Env::new();
    let key = env.path("id_ed25519.pub");
    std::fs::write(&key, PUBLIC_KEY).unwrap();
    let plan = env.json(&real("plan --gpu H100 --gpus-per-node 8 --nodes 2"));
    let best = &plan["offers"][0];

    // Up picks the plan's cheapest offer and records the catalog it came from.
    let up = env.json(&real(&format!(
        "up --cluster real --gpu H100 --gpus-per-node 8 --nodes 2 \
         --allow tcp:22@203.0.113.0/24 --ssh-key {}",
        key.display()
    )));
    let catalog = std::fs::canonicalize(CATALOGS).unwrap();
    assert_eq!(up["cluster"]["catalog"], catalog.display().to_string());
    assert_eq!(up["cluster"]["instance_type"], best["instance_type"]["id"]);
    assert_eq!(amount(&up["total_price"]), amount(&best["total_price"]));
    let nodes = up["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    for node in nodes {
        assert_eq!(node["state"], "running");
        assert_eq!(node["instance_type"], best["instance_type"]["name"]);
        assert_eq!(amount(&node["price"]), amount(&best["price_per_node"]));
    }
    assert!(env.state().exists() && env.inventory().exists());

    // Later runs, with or without --catalog, read the same nodes and prices back.
    for ls in [
        env.json(&real("ls --cluster real")),
        env.json("ls --cluster real"),
    ] {
        let listed = ls["instances"].as_array().unwrap();
        let ids: Vec<&Value> = listed.iter().map(|i| &i["id"]).collect();
        assert_eq!(ids, [&nodes[0]["id"], &nodes[1]["id"]]);
        assert!(
            listed.iter().all(|i| i["price"] == nodes[0]["price"]),
            "{ls}"
        );
    }
    let show = env.json(&real("show real-1"));
    assert_eq!(show["instance"]["id"], nodes[1]["id"]);
    assert_eq!(
        show["instance"]["firewall_rules"][0],
        "tcp:22@203.0.113.0/24"
    );

    // The firewall answers from the recorded rules and subnet.
    let check = |from: &str, port: u16| {
        env.json(&real(&format!(
            "firewall check --cluster real --to real-0 --from {from} --port {port}"
        )))
    };
    let allowed = check("203.0.113.9", 22);
    assert_eq!(allowed["verdict"], "allow");
    assert_eq!(allowed["reason"]["rule"], "tcp:22@203.0.113.0/24");
    assert_eq!(check("198.51.100.7", 22)["verdict"], "deny");
    let peer = nodes[1]["private_ip"].as_str().unwrap();
    assert_eq!(check(peer, 8080)["reason"]["kind"], "cluster_internal");
    let (ruleset, _) = env.ok(&real("firewall render --cluster real --to real-1"));
    assert!(ruleset.contains("tcp dport 22 accept"), "{ruleset}");
    let lint = env.json(&real("firewall lint --cluster real"));
    assert_eq!(lint["findings"], serde_json::json!([]));

    // Down empties the cluster; a second down has nothing to do.
    let down = env.json(&real("down --cluster real"));
    assert_eq!(down["terminated"].as_array().unwrap().len(), 2);
    assert_eq!(env.json(&real("down --cluster real"))["already_down"], true);
    assert_eq!(env.json(&real("ls"))["instances"], serde_json::json!([]));
    assert!(env.instances().iter().all(|i| i["state"] == "terminated"));
}

#[test]
fn bad_input_on_the_real_catalogs_fails_clearly_and_changes_nothing() {
    let env = Env::new();
    env.json(&real(
        "up --cluster real --gpu H100 --gpus-per-node 8 --nodes 1",
    ));
    let before = snapshot(&env);
    let up = "up --cluster other --gpus-per-node 8";

    let cases = [
        (
            real(&format!("{up} --nodes 2 --gpu H1000")),
            2,
            "unknown GPU model `H1000`",
        ),
        (real("types --gpu H1000"), 2, "unknown GPU model `H1000`"),
        (
            real("plan --gpu H1000 --gpus-per-node 8 --nodes 1"),
            2,
            "unknown GPU model",
        ),
        (
            real(&format!("{up} --gpu H100 --nodes 0")),
            2,
            "--nodes must be at least 1",
        ),
        (
            real(&format!(
                "{up} --gpu H100 --nodes 1 --allow tcp:70000@0.0.0.0/0"
            )),
            2,
            "--allow",
        ),
        (
            real(&format!("{up} --gpu H100 --nodes 1 --allow tcp:22@nowhere")),
            2,
            "--allow",
        ),
        (real("ls --cluster nope"), 2, "unknown cluster `nope`"),
        (real("down --cluster nope"), 2, "unknown cluster `nope`"),
        (
            real("firewall check --cluster nope --to x --from 1.2.3.4 --port 22"),
            2,
            "nope",
        ),
        (
            real("firewall lint --cluster nope"),
            2,
            "unknown cluster `nope`",
        ),
        (real("show i-99999999"), 2, "i-99999999"),
    ];

    for (line, code, message) in &cases {
        let err = env.fails(line, *code);
        assert!(err.contains(message), "{line}: {err}");
        assert!(snapshot(&env) == before, "{line} changed the state");
    }
    let ls = env.json(&real("ls"));
    assert_eq!(ls["instances"].as_array().unwrap().len(), 1);
}

#[test]
fn a_corrupt_state_file_on_the_real_catalogs_is_named_and_left_unchanged() {
    let env = Env::new();
    std::fs::write(env.state(), "{ this is not a state file").unwrap();
    let before = snapshot(&env);

    for line in [
        "up --cluster real --gpu H100 --gpus-per-node 8 --nodes 1",
        "ls",
        "show real-0",
        "sweep --yes",
    ] {
        let err = env.fails(&real(line), 1);

        assert!(err.contains("state.json"), "{line}: {err}");
        assert!(
            err.contains("hint: the file was left unchanged"),
            "{line}: {err}"
        );
        assert!(snapshot(&env) == before, "{line} changed the state");
    }
    assert!(!env.inventory().exists(), "no inventory was written");
}

#[test]
fn a_price_for_the_accelerators_only_never_picks_or_prices_a_node() {
    let env = Env::new();
    let line = real("up --cluster v4 --type h100-x8 --nodes 1 -o json");

    let out = env.cmd().args(common::words(&line)).output().unwrap();

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let note = stderr
        .lines()
        .find(|l| l.starts_with("picked h100-x8"))
        .unwrap_or_else(|| panic!("no pick note: {stderr}"));
    assert!(
        !note.contains("cheapest") && !note.contains("USD"),
        "{note}"
    );
    assert!(note.contains("the first by id of 29 places"), "{note}");
    assert!(note.contains("accelerators only"), "{note}");
    assert!(note.contains("price per node is unknown"), "{note}");
    let up: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(up["nodes"][0]["price"], Value::Null, "{up}");
    assert_eq!(up["total_price"], Value::Null, "{up}");
    let ls = env.json(&real("ls --cluster v4"));
    assert_eq!(ls["instances"][0]["price"], Value::Null, "{ls}");
    assert_eq!(env.json("show v4-0")["instance"]["price"], Value::Null);
}
