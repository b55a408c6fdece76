//! End-to-end test of `sweep`: an instance carrying the SDK's ownership tags that no
//! cluster knows is listed, and terminated only with `--yes`.
//!
//! The orphan is made through the library (compute-fake opened on the same state file),
//! the way a crashed control plane would leave one behind.

mod common;

use common::Env;
use compute_catalog::Catalog;
use compute_fake::FakeProvider;
use compute_provider::{CreateInstance, Provider};
use compute_types::RefId;

/// Creates an instance with ownership tags directly in the fake's state file.
fn leave_an_orphan(env: &Env, ref_id: &str) -> String {
    let catalog = Catalog::builtin();
    let fake = FakeProvider::open(env.state(), FakeProvider::builder().from_catalog(&catalog))
        .expect("open the state file");
    let type_id = catalog.instance_types()[0].id.clone();
    let request = CreateInstance::new(RefId::new(ref_id).unwrap(), type_id);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();

    let orphan = runtime
        .block_on(fake.create_instance(&request))
        .expect("create");

    orphan.id().to_string()
}

fn live_ids(env: &Env) -> Vec<String> {
    env.json("ls")["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn sweep_lists_orphans_and_terminates_them_only_with_yes() {
    let env = Env::new();
    let up = env.json("up --cluster keep --type gpu-1x-h100-sxm --nodes 2");
    let orphan = leave_an_orphan(&env, "crashed-0");

    let listed = env.json("sweep");
    let (table, note) = env.ok("sweep");

    let orphans = listed["orphans"].as_array().unwrap();
    assert_eq!(orphans.len(), 1, "{listed}");
    assert_eq!(orphans[0]["id"], orphan.as_str());
    assert_eq!(orphans[0]["ref_id"], "crashed-0");
    assert_eq!(listed["dry_run"], true);
    assert!(listed["terminated"].as_array().unwrap().is_empty());
    assert!(table.contains("crashed-0"), "{table}");
    assert!(note.contains("nothing was terminated"), "{note}");
    assert!(
        live_ids(&env).contains(&orphan),
        "still alive without --yes"
    );

    let swept = env.json("sweep --yes");

    assert_eq!(swept["terminated"][0], orphan.as_str());
    let live = live_ids(&env);
    assert!(!live.contains(&orphan));
    for node in up["nodes"].as_array().unwrap() {
        assert!(
            live.contains(&node["id"].as_str().unwrap().to_owned()),
            "cluster kept"
        );
    }
    assert!(env.json("sweep")["orphans"].as_array().unwrap().is_empty());
}

#[test]
fn sweep_yes_shows_the_orphans_as_they_are_after_the_terminate() {
    let env = Env::new();
    leave_an_orphan(&env, "crashed-0");
    leave_an_orphan(&env, "crashed-1");

    let (table, note) = env.ok("sweep --yes");
    leave_an_orphan(&env, "crashed-2");
    let swept = env.json("sweep --yes");

    let rows: Vec<&str> = table.lines().filter(|l| l.contains("crashed-")).collect();
    assert_eq!(rows.len(), 2, "{table}");
    for row in rows {
        assert!(
            row.contains("terminated") && !row.contains("running"),
            "{row}"
        );
    }
    assert!(note.contains("terminated 2 orphans"), "{note}");
    let orphans = swept["orphans"].as_array().unwrap();
    assert_eq!(orphans.len(), 1, "{swept}");
    assert_eq!(orphans[0]["ref_id"], "crashed-2");
    assert_eq!(orphans[0]["state"], "terminated", "{swept}");
}
