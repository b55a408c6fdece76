//! End-to-end tests of a cluster's life through one state file: `up`, `ls`, `show`,
//! `firewall check|render|lint`, `down`, `up` run twice, and a failed rerun.

mod common;

use compute_catalog::Catalog;
use compute_fake::FakeProvider;
use compute_provider::Provider;
use compute_types::InstanceId;
use serde_json::Value;

use common::{Env, PUBLIC_KEY, words};

/// `up` of the two-node H100 cluster `demo`, with `extra` arguments.
fn up_demo(env: &Env, extra: &str) -> Value {
    env.json(&format!(
        "up --cluster demo --gpu H100 --gpus-per-node 8 --nodes 2 {extra}"
    ))
}

fn node_ids(up: &Value) -> Vec<String> {
    up["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn up_ls_show_firewall_down_round_trip() {
    let env = Env::new();
    let key = env.path("id_ed25519.pub");
    std::fs::write(&key, PUBLIC_KEY).unwrap();

    // Up: two running nodes with addresses, type and price.
    let up = up_demo(
        &env,
        &format!("--allow tcp:22@203.0.113.0/24 --ssh-key {}", key.display()),
    );
    let nodes = up["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    for (i, node) in nodes.iter().enumerate() {
        assert_eq!(node["name"], format!("demo-{i}"));
        assert_eq!(node["state"], "running");
        assert_eq!(node["cluster"], "demo");
        assert!(node["private_ip"].is_string() && node["public_ip"].is_string());
        assert!(node["price"]["amount"].is_string());
        assert_eq!(node["firewall_rules"][0], "tcp:22@203.0.113.0/24");
        assert!(
            node["ssh_key_fingerprint"]
                .as_str()
                .unwrap()
                .starts_with("SHA256:")
        );
    }
    assert_eq!(up["changed"], true);
    assert_eq!(up["version"], 1);
    assert_eq!(up["cluster"]["state"], "up");
    assert_eq!(up["cluster"]["rules"][0], "tcp:22@203.0.113.0/24");
    assert!(up["total_price"]["amount"].is_string());

    // ls and show read the same nodes back from the state file.
    let ls = env.json("ls --cluster demo");
    assert_eq!(ls["instances"].as_array().unwrap().len(), 2);
    let (table, _) = env.ok("ls");
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.contains("demo-0") && table.contains("running"),
        "{table}"
    );
    let show = env.json("show demo-1");
    assert_eq!(show["instance"]["id"], nodes[1]["id"]);
    let (text, _) = env.ok(&format!("show {}", nodes[0]["id"].as_str().unwrap()));
    assert!(
        text.contains("demo-0") && text.contains("tcp:22@203.0.113.0/24"),
        "{text}"
    );

    // An allowed flow names the matched rule; a denied one the default deny.
    let allowed =
        env.json("firewall check --cluster demo --to demo-0 --from 203.0.113.9 --port 22");
    assert_eq!(allowed["verdict"], "allow");
    assert_eq!(allowed["reason"]["kind"], "rule");
    assert_eq!(allowed["reason"]["rule"], "tcp:22@203.0.113.0/24");
    let denied =
        env.json("firewall check --cluster demo --to demo-0 --from 198.51.100.7 --port 22");
    assert_eq!(denied["verdict"], "deny");
    assert_eq!(denied["reason"]["kind"], "default_deny_inbound");
    let (text, _) =
        env.ok("firewall check --cluster demo --to demo-0 --from 198.51.100.7 --port 443");
    assert!(
        text.starts_with("deny: tcp 198.51.100.7 -> demo-0:443"),
        "{text}"
    );

    // Cluster members reach each other on every port.
    let peer = nodes[1]["private_ip"].as_str().unwrap();
    let internal = env.json(&format!(
        "firewall check --cluster demo --to demo-0 --from {peer} --port 8080 --proto udp"
    ));
    assert_eq!(internal["verdict"], "allow");
    assert_eq!(internal["reason"]["kind"], "cluster_internal");

    // Render and lint.
    let (ruleset, _) = env.ok("firewall render --cluster demo --to demo-1");
    assert!(ruleset.contains("table inet computectl"), "{ruleset}");
    assert!(ruleset.contains("tcp dport 22 accept"), "{ruleset}");
    assert!(ruleset.contains("policy drop"), "{ruleset}");
    let lint = env.json("firewall lint --cluster demo");
    assert_eq!(lint["cluster"], "demo");
    assert_eq!(
        lint["findings"],
        serde_json::json!([]),
        "tcp:22 from a /24 is fine"
    );

    // Down terminates both nodes; a second down succeeds with nothing to do.
    let down = env.json("down --cluster demo");
    assert_eq!(down["terminated"].as_array().unwrap().len(), 2);
    let again = env.json("down --cluster demo");
    assert_eq!(again["already_down"], true);
    let ls = env.json("ls");
    assert!(ls["instances"].as_array().unwrap().is_empty(), "{ls}");
    assert!(env.instances().iter().all(|i| i["state"] == "terminated"));
}

#[test]
fn up_twice_is_a_no_op() {
    let env = Env::new();
    let first = up_demo(&env, "");

    let second = up_demo(&env, "");

    assert_eq!(node_ids(&first), node_ids(&second));
    assert_eq!(second["changed"], false);
    assert_eq!(env.instances().len(), 2, "no third instance was created");
}

#[test]
fn up_with_another_spec_is_refused_and_changes_nothing() {
    let env = Env::new();
    let first = up_demo(&env, "");
    let inventory = std::fs::read(env.inventory()).unwrap();

    let err = env.fails(
        "up --cluster demo --gpu H100 --gpus-per-node 8 --nodes 3",
        2,
    );

    assert!(
        err.contains("exists with a different spec: nodes 2 -> 3"),
        "{err}"
    );
    assert!(err.contains("hint: tear it down first"), "{err}");
    assert_eq!(std::fs::read(env.inventory()).unwrap(), inventory);
    let now = env.json("ls --cluster demo");
    let ids: Vec<&str> = now["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, node_ids(&first));
}

#[test]
fn without_a_key_the_output_says_ssh_is_denied() {
    let env = Env::new();

    let (out, err) = env.ok("up --cluster solo --type gpu-1x-h100-sxm --nodes 1");
    let (_, web_err) =
        env.ok("up --cluster web --type gpu-1x-h100-sxm --nodes 1 --allow tcp:443@0.0.0.0/0");

    assert!(out.contains("solo-0"), "{out}");
    assert!(err.contains("SSH from outside is denied"), "{err}");
    assert!(err.contains("--ssh-key"), "{err}");
    assert!(web_err.contains("SSH from outside is denied"), "{web_err}");
    for cluster in ["solo", "web"] {
        let check = env.json(&format!(
            "firewall check --cluster {cluster} --to {cluster}-0 --from 203.0.113.9 --port 22"
        ));
        assert_eq!(check["verdict"], "deny", "{cluster}");
    }
}

#[test]
fn a_rule_opening_ssh_without_a_key_says_the_port_is_open_but_no_key_is_authorised() {
    let env = Env::new();
    // The second rule opens 22 only as part of a range: no text says "22".

    let up = env.json(
        "up --cluster open --type gpu-1x-h100-sxm --nodes 1 --allow tcp:22@203.0.113.0/24 \
         --allow tcp:20-30@198.51.100.0/24 --allow tcp:443@192.0.2.0/24",
    );
    let (_, err) = env.ok(
        "up --cluster open --type gpu-1x-h100-sxm --nodes 1 --allow tcp:22@203.0.113.0/24 \
         --allow tcp:20-30@198.51.100.0/24 --allow tcp:443@192.0.2.0/24",
    );

    let notes: Vec<&str> = up["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let open = "no --ssh-key given: tcp port 22 is open to 203.0.113.0/24, 198.51.100.0/24 \
        (rules tcp:22@203.0.113.0/24, tcp:20-30@198.51.100.0/24), but no key is authorised, \
        so SSH logins will fail";
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].starts_with(open), "{notes:?}");
    assert!(err.contains(&format!("note: {open}")), "{err}");
    assert!(!err.contains("SSH from outside is denied"), "{err}");
    for from in ["203.0.113.9", "198.51.100.7"] {
        let check = env.json(&format!(
            "firewall check --cluster open --to open-0 --from {from} --port 22"
        ));
        assert_eq!(check["verdict"], "allow", "{from}");
    }
    let web = env.json("firewall check --cluster open --to open-0 --from 192.0.2.1 --port 22");
    assert_eq!(web["verdict"], "deny");
}

#[test]
fn up_picks_and_names_the_cheapest_type() {
    let env = Env::new();

    let (_, err) = env.ok("up --cluster demo --gpu H100 --gpus-per-node 8 --nodes 1");
    let plan = env.json("plan --gpu H100 --gpus-per-node 8 --nodes 1");

    let best = &plan["offers"][0]["instance_type"];
    let ls = env.json("ls --cluster demo");
    assert_eq!(ls["instances"][0]["instance_type_id"], best["id"]);
    assert!(
        err.contains(&format!("picked {}", best["name"].as_str().unwrap())),
        "{err}"
    );

    // A rerun keeps the cluster's type, so it has nothing to say about picking one.
    let (_, again) = env.ok("up --cluster demo --gpu H100 --gpus-per-node 8 --nodes 1");
    assert!(again.contains("already up with this spec"), "{again}");
    assert!(!again.contains("picked"), "{again}");
}

#[test]
fn two_clusters_are_isolated() {
    let env = Env::new();
    let a = env.json("up --cluster a --type gpu-1x-h100-sxm --nodes 1");
    let b = env.json("up --cluster b --type gpu-1x-h100-sxm --nodes 1");

    let from_b = b["nodes"][0]["private_ip"].as_str().unwrap();
    let check = env.json(&format!(
        "firewall check --cluster a --to a-0 --from {from_b} --port 22"
    ));

    assert_ne!(a["cluster"]["subnets"], b["cluster"]["subnets"]);
    assert_eq!(check["verdict"], "deny");
}

#[test]
fn progress_is_not_drawn_when_stderr_is_not_a_terminal() {
    let env = Env::new();

    let (_, err) = env.ok("up --cluster quiet --type gpu-1x-h100-sxm --nodes 2");

    assert!(!err.contains('\r') && !err.contains('\u{1b}'), "{err:?}");
}

#[test]
fn a_failed_up_rolls_back_everything_and_forgets_the_cluster() {
    let env = Env::new();
    // The nodes take a minute to boot and `up` waits one second, so the wait fails after
    // every node was created: the roll-back must terminate all three.

    let out = env
        .cmd()
        .env("COMPUTECTL_FAKE_BOOT_MS", "60000")
        .args(words(
            "up --cluster big --type gpu-1x-h100-sxm --nodes 3 --timeout 1",
        ))
        .output()
        .unwrap();

    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cluster big is not up: "), "{err}");
    assert!(err.contains("timeout"), "{err}");
    assert!(err.contains("rolled back 3 nodes"), "{err}");
    assert!(err.contains("hint: nothing was left behind"), "{err}");
    assert!(env.json("ls")["instances"].as_array().unwrap().is_empty());
    assert!(
        env.instances().iter().all(|i| i["state"] == "terminated"),
        "{:?}",
        env.instances()
    );
    env.fails("ls --cluster big", 2);
}

#[test]
fn an_up_beyond_the_quota_fails_fast_and_creates_nothing() {
    let env = Env::new();

    let err = env.fails("up --cluster huge --type gpu-1x-l4 --nodes 100000", 1);

    assert!(err.contains("quota"), "{err}");
    assert!(err.contains("nothing was created"), "{err}");
    assert!(
        err.contains("hint: ask the provider for more quota"),
        "{err}"
    );
    assert!(env.instances().is_empty());
    env.fails("ls --cluster huge", 2);
}

#[test]
fn lint_reports_a_rule_opening_every_port_to_the_world_as_an_error() {
    let env = Env::new();
    env.json("up --cluster wide --type gpu-1x-h100-sxm --nodes 2 --allow tcp:1-65535@0.0.0.0/0");

    let lint = env.json("firewall lint --cluster wide");
    let (table, _) = env.ok("firewall lint --cluster wide");

    let findings = lint["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    let finding = &findings[0];
    assert_eq!(finding["severity"], "error");
    assert_eq!(finding["code"], "world-open-all");
    assert_eq!(finding["direction"], "ingress");
    assert_eq!(finding["rule_index"], 0);
    assert_eq!(finding["rule"], "tcp:1-65535@0.0.0.0/0");
    assert_eq!(finding["nodes"], serde_json::json!(["wide-0", "wide-1"]));
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.starts_with("`tcp:1-65535@0.0.0.0/0` opens every tcp port to the world"),
        "{message}"
    );
    let row = table.lines().nth(1).unwrap_or_default();
    assert!(
        row.starts_with("error") && row.contains("world-open-all"),
        "{table}"
    );
}

/// Terminates one instance behind computectl's back, through the library on the same
/// state file, as a cloud's own console (or a spot reclaim) would.
fn terminate_behind_the_back(env: &Env, id: &str) {
    let catalog = Catalog::builtin();
    let config = FakeProvider::builder().from_catalog(&catalog).instant();
    let fake = FakeProvider::open(env.state(), config).expect("open the state file");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();

    runtime
        .block_on(fake.terminate_instance(&InstanceId::new(id).unwrap()))
        .expect("terminate");
}

#[test]
fn a_failed_rerun_keeps_the_nodes_that_already_existed() {
    let env = Env::new();
    let first = up_demo(&env, "");
    let ids = node_ids(&first);
    terminate_behind_the_back(&env, &ids[1]);

    // The rerun recreates demo-1, which boots too slowly for `--timeout 1`.
    let out = env
        .cmd()
        .env("COMPUTECTL_FAKE_BOOT_MS", "60000")
        .args(words(
            "up --cluster demo --gpu H100 --gpus-per-node 8 --nodes 2 --timeout 1",
        ))
        .output()
        .unwrap();

    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cluster demo is not fully up: 1 node failed, first demo-1: timeout"),
        "{err}"
    );
    assert!(err.contains("; rolled back 1 node ["), "{err}");
    let kept = format!("; kept 1 node [{}] that already existed", ids[0]);
    assert!(err.contains(&kept), "{err}");
    assert!(
        err.contains("hint: the nodes that already existed were kept"),
        "{err}"
    );
    let ls = env.json("ls --cluster demo");
    let live: Vec<(&str, &str)> = ls["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_str().unwrap(), i["state"].as_str().unwrap()))
        .collect();
    assert_eq!(live, [(ids[0].as_str(), "running")]);
    let check = env.json("firewall check --cluster demo --to demo-0 --from 203.0.113.9 --port 22");
    assert_eq!(check["to"]["id"], ids[0].as_str());

    // A rerun that succeeds adopts the kept node and replaces the lost one.
    let again = up_demo(&env, "");
    let again_ids = node_ids(&again);
    assert_eq!(again["changed"], true);
    assert_eq!(again_ids[0], ids[0]);
    assert_ne!(again_ids[1], ids[1]);
}

/// The state the cluster inventory records for `name`.
fn recorded_state(env: &common::Env, name: &str) -> Value {
    let text = std::fs::read_to_string(env.inventory()).unwrap();
    let inventory: Value = serde_json::from_str(&text).unwrap();
    inventory["clusters"][name]["state"].clone()
}

#[test]
fn a_down_that_gives_up_waiting_records_the_cluster_as_terminating_and_a_rerun_ends_it() {
    let env = Env::new();
    let up = env.json("up --cluster slow --type gpu-1x-h100-sxm --nodes 2");
    // The nodes take two seconds to terminate and `down` does not wait at all.

    let out = env
        .cmd()
        .env("COMPUTECTL_FAKE_TERMINATE_MS", "2000")
        .args(words("down --cluster slow --timeout 0"))
        .output()
        .unwrap();

    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error: cluster slow is not down yet: "),
        "{err}"
    );
    assert!(
        err.contains("run `computectl down --cluster slow` again"),
        "{err}"
    );
    assert_eq!(recorded_state(&env, "slow"), "terminating");
    assert!(
        env.json("ls --cluster slow")["instances"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    env.fails("up --cluster slow --type gpu-1x-h100-sxm --nodes 2", 2);

    // The rerun waits for the nodes still terminating, then records the cluster as down.
    let down = env.json("down --cluster slow --timeout 60");

    assert_eq!(down["already_down"], false);
    assert_eq!(down["terminated"], serde_json::json!(node_ids(&up)));
    assert_eq!(recorded_state(&env, "slow"), "down");
    assert!(env.instances().iter().all(|i| i["state"] == "terminated"));
}
