//! The state file: shared worlds, real-time lifecycles across openers, atomic writes,
//! locking, and clear errors for files it cannot trust.

mod common;

use std::{fs, path::Path, sync::Arc, time::Duration};

use common::*;
use compute_fake::{FORMAT_VERSION, FakeProvider};
use compute_provider::{ListInstances, Provider};
use compute_types::{ErrorKind, InstanceState, Tags};

fn open(path: &Path) -> FakeProvider {
    FakeProvider::open(path, config()).unwrap()
}

#[tokio::test]
async fn a_second_opener_sees_the_same_world() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let first = open(&path);
    let tags = Tags::from_pairs([("team", "ml")]).unwrap();
    let inst = first
        .create_instance(&req("shared").with_cluster("demo").with_tags(tags))
        .await
        .unwrap();

    let second = open(&path);
    let seen = second.get_instance(inst.id()).await.unwrap();
    let next = second
        .create_instance(&req("next").with_cluster("demo"))
        .await
        .unwrap();
    let from_first = first.get_instance(next.id()).await.unwrap();
    let by_tag = ListInstances::all().with_tag("team", "ml").unwrap();

    assert_eq!(seen, inst);
    assert_eq!(next.network.private_ip.unwrap().to_string(), "10.0.0.5");
    assert_eq!(from_first.id(), next.id());
    assert_eq!(first.list_instances(&by_tag).await.unwrap().len(), 1);
    assert_eq!(
        second
            .create_instance(&req("shared").with_cluster("demo"))
            .await
            .unwrap()
            .id(),
        inst.id()
    );
}

#[tokio::test]
async fn lifecycles_continue_in_real_time_across_openers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let cfg = || config().boot_delay(Duration::from_millis(300));
    let inst = FakeProvider::open(&path, cfg())
        .unwrap()
        .create_instance(&req("boot"))
        .await
        .unwrap();

    let early = FakeProvider::open(&path, cfg()).unwrap();
    let early_state = early.get_instance(inst.id()).await.unwrap().state();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let late = FakeProvider::open(&path, cfg()).unwrap();
    let late_state = late.get_instance(inst.id()).await.unwrap().state();

    assert_eq!(inst.state(), InstanceState::Pending);
    assert_eq!(early_state, InstanceState::Pending);
    assert_eq!(late_state, InstanceState::Running);
    assert_eq!(
        early.get_instance(inst.id()).await.unwrap().state(),
        InstanceState::Running
    );
}

#[tokio::test]
async fn every_part_of_the_world_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let fake = FakeProvider::open(&path, config().instant()).unwrap();
    let a = fake
        .create_instance(
            &req("a")
                .with_cluster("demo")
                .with_firewall_rule("tcp:22@0.0.0.0/0".parse().unwrap())
                .with_retire_timeout(Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    let b = fake.create_instance(&req("b")).await.unwrap();
    fake.stop_start()
        .unwrap()
        .stop_instance(a.id())
        .await
        .unwrap();
    fake.terminate_instance(b.id()).await.unwrap();
    let before = fake.list_instances(&ListInstances::all()).await.unwrap();
    let quotas = fake
        .quota()
        .unwrap()
        .quotas(&loc("us-east-1"))
        .await
        .unwrap();

    let again = FakeProvider::open(&path, config().instant()).unwrap();
    let after = again.list_instances(&ListInstances::all()).await.unwrap();
    let quotas_after = again
        .quota()
        .unwrap()
        .quotas(&loc("us-east-1"))
        .await
        .unwrap();
    let c = again.create_instance(&req("c")).await.unwrap();

    assert_eq!(after, before);
    assert_eq!(quotas_after, quotas);
    assert_eq!(after[0].state(), InstanceState::Stopped);
    assert_eq!(after[1].state(), InstanceState::Terminated);
    assert_eq!(c.id().as_str(), "i-00000003");
    assert_eq!(
        c.network.private_ip, b.network.private_ip,
        "freed addresses are reused"
    );
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains(&format!("\"format_version\": {FORMAT_VERSION}")));
}

#[tokio::test]
async fn writes_are_atomic_and_leave_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let fake = open(&path);

    for i in 0..5 {
        fake.create_instance(&req(&format!("n{i}"))).await.unwrap();
    }
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();

    assert_eq!(names, ["state.json", "state.json.lock"]);
    let parsed: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(parsed["instances"].as_array().unwrap().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_openers_lose_nothing_and_create_once_per_ref_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let openers: Vec<Arc<dyn Provider>> = (0..4).map(|_| Arc::new(open(&path)) as _).collect();

    let mut tasks = Vec::new();
    for (n, fake) in openers.iter().enumerate() {
        for i in 0..10 {
            let fake = Arc::clone(fake);
            tasks.push(tokio::spawn(async move {
                fake.create_instance(&req(&format!("o{n}-{i}")))
                    .await
                    .unwrap();
                fake.create_instance(&req("same"))
                    .await
                    .unwrap()
                    .id()
                    .clone()
            }));
        }
    }
    let mut same_ids = std::collections::HashSet::new();
    for task in tasks {
        same_ids.insert(task.await.unwrap());
    }
    let total = open(&path)
        .list_instances(&ListInstances::all())
        .await
        .unwrap();

    assert_eq!(same_ids.len(), 1);
    assert_eq!(total.len(), 41);
}

#[tokio::test]
async fn a_corrupt_file_is_an_error_naming_it_and_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    fs::write(&path, "{ not json").unwrap();

    let err = FakeProvider::open(&path, config()).unwrap_err();

    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert_eq!(err.field(), Some("state_file"));
    assert!(err.message().contains(&path.display().to_string()), "{err}");
    assert_eq!(fs::read_to_string(&path).unwrap(), "{ not json");
}

#[tokio::test]
async fn an_empty_file_starts_a_new_world_and_is_then_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    fs::write(&path, "").unwrap();

    let fake = FakeProvider::open(&path, config()).unwrap();
    let created = fake.create_instance(&req("empty-0")).await.unwrap();

    let written = fs::read_to_string(&path).unwrap();
    assert!(written.contains("format_version"), "{written}");
    let again = FakeProvider::open(&path, config()).unwrap();
    assert_eq!(
        again.get_instance(created.id()).await.unwrap().id(),
        created.id()
    );
}

#[tokio::test]
async fn a_newer_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let newer = FORMAT_VERSION + 1;
    fs::write(
        &path,
        format!("{{\"format_version\": {newer}, \"galaxies\": []}}"),
    )
    .unwrap();

    let err = FakeProvider::open(&path, config()).unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.message().contains(&path.display().to_string()), "{err}");
    assert!(
        err.message().contains(&format!("format_version {newer}")),
        "{err}"
    );
    assert!(fs::read_to_string(&path).unwrap().contains("galaxies"));
}

#[tokio::test]
async fn an_inconsistent_world_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    open(&path).create_instance(&req("x")).await.unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["usage"]["us-east-1"]["instances"] = 7.into();
    fs::write(&path, json.to_string()).unwrap();

    let err = FakeProvider::open(&path, config()).unwrap_err();

    assert_eq!(err.field(), Some("state_file"));
    assert!(err.message().contains("quota usage"), "{err}");
}

#[tokio::test]
async fn corruption_after_open_fails_calls_without_resetting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let fake = open(&path);
    fake.create_instance(&req("x")).await.unwrap();
    fs::write(&path, "garbage").unwrap();

    let err = fake.create_instance(&req("y")).await.unwrap_err();

    assert_eq!(err.field(), Some("state_file"));
    assert_eq!(fs::read_to_string(&path).unwrap(), "garbage");
}

#[tokio::test]
async fn a_missing_file_starts_an_empty_world() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("state.json");

    let fake = open(&path);
    let empty = fake.list_instances(&ListInstances::all()).await.unwrap();
    fake.create_instance(&req("first")).await.unwrap();

    assert!(empty.is_empty());
    assert!(path.exists());
    assert_eq!(fake.state_file(), Some(path.as_path()));
}
