//! Lifecycle, capabilities, ownership and listing of the fake, under tokio's paused time.

mod common;

use std::{collections::HashSet, sync::Arc, time::Duration};

use common::*;
use compute_fake::{FakeProvider, QuotaLimits};
use compute_provider::{
    CreateInstance, InstanceTypeFilter, ListInstances, LocationsQuery, Provider, ProviderExt,
    PublicKey,
};
use compute_types::{
    Bytes, Capability, CredentialRefId, ErrorKind, FirewallRule, FirewallRuleId, InstanceId,
    InstanceState, ProviderId, Quota, QuotaUnit, RefId, TAG_CLUSTER, TAG_CREDENTIAL_REF_ID,
    TAG_REF_ID, Tags, VolumeSpec, ZoneId,
};

const KEY: &str = "ssh-ed25519 \
    AAAAC3NzaC1lZDI1NTE5AAAAIGVl7ZI9DZVCX8o1Om5aYsOqBE3JixA6VYeBnZ7Ihyi9 user@host";

#[tokio::test(start_paused = true)]
async fn pending_becomes_running_after_the_boot_delay() {
    let fake = fake();

    let inst = fake.create_instance(&req("n0")).await.unwrap();
    advance(BOOT - Duration::from_millis(1)).await;
    let still = fake.get_instance(inst.id()).await.unwrap();
    advance(Duration::from_millis(1)).await;
    let running = fake.get_instance(inst.id()).await.unwrap();

    assert_eq!(inst.state(), InstanceState::Pending);
    assert_eq!(still.state(), InstanceState::Pending);
    assert_eq!(running.state(), InstanceState::Running);
    assert!(running.network.public_ip.is_some() && running.network.private_ip.is_some());
    assert_eq!(running.access.ssh_user.as_deref(), Some("ubuntu"));
    assert_eq!(running.access.ssh_port, Some(22));
}

#[tokio::test(start_paused = true)]
async fn instances_get_addresses_keys_and_placement() {
    let fake = fake();
    let key = PublicKey::parse(KEY).unwrap();

    let a = fake
        .create_instance(&req("a").with_cluster("demo").with_public_key(key.clone()))
        .await
        .unwrap();
    let b = fake
        .create_instance(&req("b").with_cluster("demo"))
        .await
        .unwrap();
    let lone = fake.create_instance(&req("lone")).await.unwrap();

    assert_eq!(a.network.private_ip.unwrap().to_string(), "10.0.0.4");
    assert_eq!(b.network.private_ip.unwrap().to_string(), "10.0.0.5");
    assert_eq!(lone.network.private_ip.unwrap().to_string(), "10.128.0.4");
    assert_eq!(a.network.public_ip.unwrap().to_string(), "198.51.100.1");
    assert_eq!(a.network.vpc_id.as_deref(), Some("vpc-demo"));
    assert_eq!(lone.network.vpc_id.as_deref(), Some("vpc-default"));
    assert_eq!(
        lone.network.subnet_id.as_deref(),
        Some("subnet-10.128.0.0/29")
    );
    assert_eq!(
        a.access.public_key_fingerprint.as_deref(),
        Some(key.fingerprint())
    );
    assert_eq!(b.access.public_key_fingerprint, None);
    assert_eq!(a.placement.zone.as_ref().unwrap().as_str(), "us-east-1a");
    assert_eq!(
        a.compute.image_id.as_ref().unwrap().as_str(),
        "ubuntu-24.04"
    );
    assert_eq!(a.volumes[0].spec.size, Bytes::gib(100));
}

#[tokio::test(start_paused = true)]
async fn zones_are_checked() {
    let fake = fake();
    let zone_b = ZoneId::new("us-east-1b").unwrap();

    let placed = fake
        .create_instance(&req("z").with_zone(zone_b.clone()))
        .await
        .unwrap();
    let err = fake
        .create_instance(&req("bad").with_zone(ZoneId::new("us-east-1z").unwrap()))
        .await
        .unwrap_err();

    assert_eq!(placed.placement.zone, Some(zone_b));
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert_eq!(err.field(), Some("zone"));
    assert!(
        err.to_string().starts_with("fake: create_instance: "),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn ownership_tags_are_on_every_instance() {
    let fake = fake();
    let cred = CredentialRefId::new("cred-1").unwrap();
    let tags = Tags::from_pairs([("team", "ml")]).unwrap();

    let inst = fake
        .create_instance(
            &req("own")
                .with_cluster("demo")
                .with_credential_ref_id(cred)
                .with_tags(tags),
        )
        .await
        .unwrap();
    let bare = fake.create_instance(&req("bare")).await.unwrap();

    assert_eq!(inst.tags.get(TAG_REF_ID), Some("own"));
    assert_eq!(inst.tags.get(TAG_CREDENTIAL_REF_ID), Some("cred-1"));
    assert_eq!(inst.tags.get(TAG_CLUSTER), Some("demo"));
    assert_eq!(inst.tags.get("team"), Some("ml"));
    assert_eq!(
        inst.identity.credential_ref_id.as_ref().unwrap().as_str(),
        "cred-1"
    );
    assert_eq!(bare.tags.len(), 1);
    assert_eq!(bare.tags.get(TAG_REF_ID), Some("bare"));
}

#[tokio::test(start_paused = true)]
async fn reserved_tags_in_requests_are_refused() {
    let fake = fake();
    let mut tags = Tags::new();
    tags.insert_reserved(TAG_CLUSTER, "sneaky").unwrap();

    let err = fake
        .create_instance(&req("r").with_tags(tags))
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert_eq!(err.field(), Some("tags.compute-sdk:cluster"));
    assert!(all(&fake).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn stop_start_and_illegal_transitions() {
    let fake = fake();
    let inst = fake.create_instance(&req("s")).await.unwrap();
    let id = inst.id();
    let ss = fake.stop_start().unwrap();

    let early = ss.stop_instance(id).await.unwrap_err();
    advance(BOOT).await;
    ss.stop_instance(id).await.unwrap();
    let stopping = fake.get_instance(id).await.unwrap();
    let twice = ss.stop_instance(id).await.unwrap_err();
    advance(STOP).await;
    let stopped = fake.get_instance(id).await.unwrap();
    let again = ss.stop_instance(id).await.unwrap_err();
    ss.start_instance(id).await.unwrap();
    let starting = fake.get_instance(id).await.unwrap();
    let start_twice = ss.start_instance(id).await.unwrap_err();
    advance(BOOT).await;

    assert_eq!(early.kind(), ErrorKind::InvalidRequest);
    assert_eq!(early.field(), Some("state"));
    assert_eq!(stopping.state(), InstanceState::Stopping);
    assert_eq!(twice.kind(), ErrorKind::InvalidRequest);
    assert_eq!(stopped.state(), InstanceState::Stopped);
    assert!(stopped.lifecycle.last_stop_transition.is_some());
    assert_eq!(
        stopped.network.public_ip, None,
        "a stop releases the public address"
    );
    assert_eq!(again.kind(), ErrorKind::InvalidRequest);
    assert_eq!(starting.state(), InstanceState::Pending);
    assert_eq!(start_twice.kind(), ErrorKind::InvalidRequest);
    let running = fake.get_instance(id).await.unwrap();
    assert_eq!(running.state(), InstanceState::Running);
    assert!(running.network.public_ip.is_some());
}

/// Asserts a refusal is `InvalidRequest` on `state` naming the operation and, for a step
/// the lifecycle table lacks, that step.
fn assert_refused(err: &compute_types::Error, op: &str, step: &str) {
    assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{op}: {err}");
    assert_eq!(err.field(), Some("state"), "{op}: {err}");
    assert!(err.message().contains(op), "{op}: {err}");
    assert!(err.message().contains(step), "{op}: {err}");
}

#[tokio::test(start_paused = true)]
async fn every_state_change_is_gated_by_the_lifecycle_table() {
    let fake = fake();
    let ss = fake.stop_start().unwrap();
    let reboot = fake.reboot().unwrap();
    let change = fake.change_type().unwrap();
    let bigger = type_id("us-east-1", "gpu_8x");
    let a = fake.create_instance(&req("a")).await.unwrap().id().clone();
    let b = fake.create_instance(&req("b")).await.unwrap().id().clone();
    advance(BOOT).await;

    let start_running = ss.start_instance(&a).await.unwrap_err();
    ss.stop_instance(&a).await.unwrap();
    let reboot_stopping = reboot.reboot_instance(&a).await.unwrap_err();
    let start_stopping = ss.start_instance(&a).await.unwrap_err();
    advance(STOP).await;
    let stop_stopped = ss.stop_instance(&a).await.unwrap_err();
    fake.terminate_instance(&b).await.unwrap();
    advance(TERMINATE).await;
    let stop_gone = ss.stop_instance(&b).await.unwrap_err();
    let start_gone = ss.start_instance(&b).await.unwrap_err();
    let reboot_gone = reboot.reboot_instance(&b).await.unwrap_err();
    let change_gone = change.change_instance_type(&b, &bigger).await.unwrap_err();

    assert_refused(&reboot_stopping, "reboot_instance", "stopping -> pending");
    assert_refused(&start_stopping, "start_instance", "stopping -> pending");
    assert_refused(&stop_stopped, "stop_instance", "stopped -> stopping");
    assert_refused(&stop_gone, "stop_instance", "terminated -> stopping");
    assert_refused(&start_gone, "start_instance", "terminated -> pending");
    assert_refused(&reboot_gone, "reboot_instance", "terminated -> pending");
    assert_refused(
        &change_gone,
        "change_instance_type",
        "terminated -> pending",
    );
    // Running -> pending is in the table (a reboot), but a start needs a stopped instance.
    assert_refused(&start_running, "start_instance", "needs stopped");
    let after = fake.get_instance(&a).await.unwrap();
    assert_eq!(
        after.state(),
        InstanceState::Stopped,
        "refusals change nothing"
    );
}

#[tokio::test(start_paused = true)]
async fn persistent_ip_survives_stop_and_start() {
    let fake = fake();
    let inst = fake
        .create_instance(&req("p").with_persistent_ip(true))
        .await
        .unwrap();
    advance(BOOT).await;
    let ss = fake.stop_start().unwrap();

    ss.stop_instance(inst.id()).await.unwrap();
    advance(STOP).await;
    let stopped = fake.get_instance(inst.id()).await.unwrap();

    assert_eq!(stopped.network.public_ip, inst.network.public_ip);
}

#[tokio::test(start_paused = true)]
async fn types_that_cannot_stop_or_reboot_refuse() {
    let fake = fake();
    let req = CreateInstance::new(RefId::new("f").unwrap(), type_id("us-east-1", "fixed_1x"));
    let inst = fake.create_instance(&req).await.unwrap();
    advance(BOOT).await;

    let stop = fake
        .stop_start()
        .unwrap()
        .stop_instance(inst.id())
        .await
        .unwrap_err();
    let reboot = fake
        .reboot()
        .unwrap()
        .reboot_instance(inst.id())
        .await
        .unwrap_err();

    assert_eq!(stop.kind(), ErrorKind::InvalidRequest);
    assert_eq!(reboot.kind(), ErrorKind::InvalidRequest);
    assert!(!inst.flags.stoppable && !inst.flags.rebootable);
}

#[tokio::test(start_paused = true)]
async fn reboot_passes_through_pending() {
    let fake = fake();
    let inst = fake.create_instance(&req("r")).await.unwrap();
    let reboot = fake.reboot().unwrap();

    let early = reboot.reboot_instance(inst.id()).await.unwrap_err();
    advance(BOOT).await;
    reboot.reboot_instance(inst.id()).await.unwrap();
    let during = fake.get_instance(inst.id()).await.unwrap();
    advance(BOOT).await;
    let after = fake.get_instance(inst.id()).await.unwrap();

    assert_eq!(early.kind(), ErrorKind::InvalidRequest);
    assert_eq!(during.state(), InstanceState::Pending);
    assert_eq!(after.state(), InstanceState::Running);
}

#[tokio::test(start_paused = true)]
async fn terminate_is_idempotent_and_terminated_stays_visible() {
    let fake = fake();
    let inst = fake.create_instance(&req("t")).await.unwrap();

    fake.terminate_instance(inst.id()).await.unwrap();
    let terminating = fake.get_instance(inst.id()).await.unwrap();
    fake.terminate_instance(inst.id()).await.unwrap();
    advance(TERMINATE).await;
    fake.terminate_instance(inst.id()).await.unwrap();
    let gone = fake.get_instance(inst.id()).await.unwrap();
    let unknown = InstanceId::new("i-000000ff").unwrap();
    let foreign = InstanceId::new("not-ours").unwrap();

    assert_eq!(terminating.state(), InstanceState::Terminating);
    assert_eq!(terminating.network.public_ip, None);
    assert_eq!(gone.state(), InstanceState::Terminated);
    assert_eq!(all(&fake).await.len(), 1);
    for id in [&unknown, &foreign] {
        let err = fake.get_instance(id).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{id}");
        fake.terminate_instance(id).await.unwrap();
    }
    let start = fake
        .stop_start()
        .unwrap()
        .start_instance(inst.id())
        .await
        .unwrap_err();
    assert_eq!(start.kind(), ErrorKind::InvalidRequest);
}

#[tokio::test(start_paused = true)]
async fn retire_timeout_terminates_the_instance() {
    let fake = fake();
    let req = req("ret").with_retire_timeout(Duration::from_secs(60));
    let inst = fake.create_instance(&req).await.unwrap();

    advance(Duration::from_secs(60)).await;
    let retiring = fake.get_instance(inst.id()).await.unwrap();
    advance(TERMINATE).await;
    let retired = fake.get_instance(inst.id()).await.unwrap();

    assert_eq!(retiring.state(), InstanceState::Terminating);
    assert_eq!(retired.state(), InstanceState::Terminated);
    assert!(retired.lifecycle.retired_at.is_some());
    let quotas = fake
        .quota()
        .unwrap()
        .quotas(&loc("us-east-1"))
        .await
        .unwrap();
    assert!(quotas.iter().all(|q| q.used == 0), "{quotas:?}");
}

#[tokio::test(start_paused = true)]
async fn long_gaps_apply_every_transition_in_order() {
    let fake = fake();
    let inst = fake.create_instance(&req("gap")).await.unwrap();
    advance(BOOT).await;
    fake.stop_start()
        .unwrap()
        .stop_instance(inst.id())
        .await
        .unwrap();

    advance(Duration::from_secs(3600)).await;
    let later = fake.get_instance(inst.id()).await.unwrap();

    assert_eq!(later.state(), InstanceState::Stopped);
}

#[tokio::test(start_paused = true)]
async fn change_type_only_when_stopped() {
    let fake = fake();
    let inst = fake.create_instance(&req("c")).await.unwrap();
    let id = inst.id();
    let change = fake.change_type().unwrap();
    let bigger = type_id("us-east-1", "gpu_8x");

    let running = change.change_instance_type(id, &bigger).await.unwrap_err();
    advance(BOOT).await;
    fake.stop_start().unwrap().stop_instance(id).await.unwrap();
    advance(STOP).await;
    let elsewhere = change
        .change_instance_type(id, &type_id("eu-west-1", "gpu_8x"))
        .await
        .unwrap_err();
    let unknown = change
        .change_instance_type(id, &type_id("us-east-1", "nope"))
        .await
        .unwrap_err();
    change.change_instance_type(id, &bigger).await.unwrap();
    let changed = fake.get_instance(id).await.unwrap();

    assert_eq!(running.kind(), ErrorKind::InvalidRequest);
    assert_eq!(elsewhere.kind(), ErrorKind::InvalidRequest);
    assert_eq!(unknown.kind(), ErrorKind::NotFound);
    assert_eq!(changed.instance_type(), "gpu_8x");
    let quotas = fake
        .quota()
        .unwrap()
        .quotas(&loc("us-east-1"))
        .await
        .unwrap();
    let gpus = quotas.iter().find(|q| q.unit == QuotaUnit::Gpus).unwrap();
    assert_eq!(gpus.used, 8);
}

#[tokio::test(start_paused = true)]
async fn volumes_only_grow() {
    let fake = fake();
    let req = req("v").with_volume(VolumeSpec::additional(Bytes::gib(10), "/data"));
    let inst = fake.create_instance(&req).await.unwrap();
    let resize = fake.resize_volume().unwrap();
    let root = inst.volumes[0].id.clone().unwrap();
    let data = inst.volumes[1].id.clone().unwrap();

    resize
        .resize_volume(inst.id(), &root, Bytes::gib(200))
        .await
        .unwrap();
    resize
        .resize_volume(inst.id(), &data, Bytes::gib(20))
        .await
        .unwrap();
    let shrink = resize
        .resize_volume(inst.id(), &data, Bytes::gib(5))
        .await
        .unwrap_err();
    let same = resize
        .resize_volume(inst.id(), &data, Bytes::gib(20))
        .await
        .unwrap_err();
    let missing = resize
        .resize_volume(inst.id(), "vol-x", Bytes::gib(50))
        .await
        .unwrap_err();
    let grown = fake.get_instance(inst.id()).await.unwrap();

    assert_eq!(grown.volumes[0].spec.size, Bytes::gib(200));
    assert_eq!(grown.volumes[1].spec.size, Bytes::gib(20));
    assert_eq!(shrink.kind(), ErrorKind::InvalidRequest);
    assert_eq!(same.kind(), ErrorKind::InvalidRequest);
    assert_eq!(missing.kind(), ErrorKind::NotFound);
}

#[tokio::test(start_paused = true)]
async fn fixed_root_volumes_do_not_resize() {
    let fake = fake();
    let req = CreateInstance::new(RefId::new("f").unwrap(), type_id("us-east-1", "fixed_1x"));
    let inst = fake.create_instance(&req).await.unwrap();
    let root = inst.volumes[0].id.clone().unwrap();

    let err = fake
        .resize_volume()
        .unwrap()
        .resize_volume(inst.id(), &root, Bytes::gib(500))
        .await
        .unwrap_err();

    assert!(!inst.volumes[0].spec.elastic);
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
}

#[tokio::test(start_paused = true)]
async fn firewall_rules_get_ids_and_refuse_duplicates() {
    let fake = fake();
    let ssh: FirewallRule = "tcp:22@203.0.113.0/24".parse().unwrap();
    let inst = fake
        .create_instance(&req("fw").with_firewall_rule(ssh.clone()))
        .await
        .unwrap();
    let fw = fake.firewall().unwrap();
    let https: FirewallRule = "tcp:443@0.0.0.0/0".parse().unwrap();

    let added = fw
        .add_firewall_rules(inst.id(), std::slice::from_ref(&https))
        .await
        .unwrap();
    let dup = fw
        .add_firewall_rules(inst.id(), std::slice::from_ref(&ssh))
        .await
        .unwrap_err();
    let twice = fw
        .add_firewall_rules(inst.id(), &[https.clone(), https.clone()])
        .await
        .unwrap_err();
    let unknown = FirewallRuleId::new("fwr-nope").unwrap();
    let missing = fw
        .revoke_firewall_rules(inst.id(), &[unknown])
        .await
        .unwrap_err();
    let new_id = added[0].id.clone().unwrap();
    fw.revoke_firewall_rules(inst.id(), std::slice::from_ref(&new_id))
        .await
        .unwrap();
    let after = fake.get_instance(inst.id()).await.unwrap();

    assert!(inst.network.firewall_rules.ingress[0].id.is_some());
    assert_ne!(
        inst.network.firewall_rules.ingress[0].id.as_ref(),
        Some(&new_id)
    );
    assert_eq!(added[0].without_id(), https);
    assert_eq!(dup.kind(), ErrorKind::AlreadyExists);
    assert_eq!(twice.kind(), ErrorKind::InvalidRequest);
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert_eq!(after.network.firewall_rules.len(), 1);
    assert_eq!(after.network.firewall_rules.ingress[0].without_id(), ssh);
}

#[tokio::test(start_paused = true)]
async fn tag_updates_keep_ownership_and_move_the_index() {
    let fake = fake();
    let old = Tags::from_pairs([("team", "ml")]).unwrap();
    let inst = fake
        .create_instance(&req("tg").with_cluster("demo").with_tags(old))
        .await
        .unwrap();
    let new = Tags::from_pairs([("team", "infra"), ("env", "prod")]).unwrap();

    fake.update_tags()
        .unwrap()
        .update_tags(inst.id(), &new)
        .await
        .unwrap();
    let updated = fake.get_instance(inst.id()).await.unwrap();
    let by_old = ListInstances::all().with_tag("team", "ml").unwrap();
    let by_new = ListInstances::all().with_tag("team", "infra").unwrap();
    let mut reserved = Tags::new();
    reserved.insert_reserved(TAG_REF_ID, "x").unwrap();
    let err = fake
        .update_tags()
        .unwrap()
        .update_tags(inst.id(), &reserved)
        .await
        .unwrap_err();

    assert_eq!(updated.tags.get("team"), Some("infra"));
    assert_eq!(updated.tags.get("env"), Some("prod"));
    assert_eq!(updated.tags.get(TAG_CLUSTER), Some("demo"));
    assert_eq!(updated.tags.get(TAG_REF_ID), Some("tg"));
    assert!(fake.list_instances(&by_old).await.unwrap().is_empty());
    assert_eq!(fake.list_instances(&by_new).await.unwrap().len(), 1);
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
}

#[tokio::test(start_paused = true)]
async fn list_filters_by_ids_tags_and_locations() {
    let fake = fake();
    let eu = CreateInstance::new(RefId::new("eu").unwrap(), type_id("eu-west-1", "gpu_1x"))
        .with_cluster("demo");
    let a = fake
        .create_instance(&req("a").with_cluster("demo"))
        .await
        .unwrap();
    let b = fake.create_instance(&req("b")).await.unwrap();
    let c = fake.create_instance(&eu).await.unwrap();

    let by_id = ListInstances::all().with_id(b.id().clone());
    let by_cluster = ListInstances::all().with_tag(TAG_CLUSTER, "demo").unwrap();
    let cluster_east = by_cluster.clone().with_location(loc("us-east-1"));
    let by_ref = ListInstances::all().with_tag(TAG_REF_ID, "eu").unwrap();
    let by_east = ListInstances::all().with_location(loc("us-east-1"));
    let nothing = ListInstances::all().with_tag("team", "none").unwrap();
    let ids =
        |v: Vec<compute_types::Instance>| v.into_iter().map(|i| i.id().clone()).collect::<Vec<_>>();

    assert_eq!(
        ids(fake.list_instances(&by_id).await.unwrap()),
        [b.id().clone()]
    );
    assert_eq!(
        ids(fake.list_instances(&by_cluster).await.unwrap()),
        [a.id().clone(), c.id().clone()]
    );
    assert_eq!(
        ids(fake.list_instances(&cluster_east).await.unwrap()),
        [a.id().clone()]
    );
    assert_eq!(
        ids(fake.list_instances(&by_ref).await.unwrap()),
        [c.id().clone()]
    );
    assert_eq!(
        ids(fake.list_instances(&by_east).await.unwrap()),
        [a.id().clone(), b.id().clone()]
    );
    assert!(fake.list_instances(&nothing).await.unwrap().is_empty());
    for filter in [&by_id, &by_cluster, &cluster_east, &by_ref, &by_east] {
        for inst in fake.list_instances(filter).await.unwrap() {
            assert!(filter.matches(&inst), "{filter:?} returned {}", inst.id());
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_repeated_ref_id_returns_the_same_instance() {
    let fake = fake();

    let first = fake.create_instance(&req("idem")).await.unwrap();
    let second = fake.create_instance(&req("idem")).await.unwrap();
    let other_type =
        CreateInstance::new(RefId::new("idem").unwrap(), type_id("us-east-1", "gpu_8x"));
    let mismatch = fake.create_instance(&other_type).await.unwrap_err();

    assert_eq!(first.id(), second.id());
    assert_eq!(mismatch.kind(), ErrorKind::AlreadyExists);
    assert_eq!(all(&fake).await.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_terminated_instance_gives_its_ref_id_up() {
    let fake = fake();
    let first = fake.create_instance(&req("again")).await.unwrap();
    fake.terminate_instance(first.id()).await.unwrap();

    let second = fake.create_instance(&req("again")).await.unwrap();
    let by_ref = ListInstances::all().with_tag(TAG_REF_ID, "again").unwrap();

    assert_ne!(first.id(), second.id());
    assert_eq!(fake.list_instances(&by_ref).await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_creates_make_one_instance() {
    let fake: Arc<dyn Provider> = Arc::new(common::config().seed(1).build().unwrap());

    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let fake = Arc::clone(&fake);
            tokio::spawn(async move { fake.create_instance(&req("once")).await })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap().unwrap().id().clone());
    }

    assert_eq!(ids.len(), 1);
    assert_eq!(all(fake.as_ref()).await.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn quota_is_consumed_and_freed() {
    let fake = common::config()
        .quota(loc("us-east-1"), QuotaLimits::new(2, 9))
        .build()
        .unwrap();
    let big = |r: &str| CreateInstance::new(RefId::new(r).unwrap(), type_id("us-east-1", "gpu_8x"));

    let a = fake.create_instance(&big("a")).await.unwrap();
    let gpu_err = fake.create_instance(&big("b")).await.unwrap_err();
    fake.create_instance(&req("c")).await.unwrap();
    let count_err = fake.create_instance(&req("d")).await.unwrap_err();
    fake.terminate_instance(a.id()).await.unwrap();
    let after = fake.create_instance(&req("e")).await;
    let eu = fake
        .quota()
        .unwrap()
        .quotas(&loc("eu-west-1"))
        .await
        .unwrap();

    assert_eq!(gpu_err.kind(), ErrorKind::QuotaExceeded);
    assert_eq!(count_err.kind(), ErrorKind::QuotaExceeded);
    assert!(after.is_ok());
    assert_eq!((eu[0].unit, eu[0].limit), (QuotaUnit::Instances, 64));
    assert_eq!((eu[1].unit, eu[1].limit), (QuotaUnit::Gpus, 256));
    assert_eq!(live(&fake).await.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn the_default_quota_is_a_fresh_accounts_and_can_be_lifted() {
    let limited = fake();
    let unlimited = common::config().unlimited_quota().build().unwrap();
    let big =
        |r: String| CreateInstance::new(RefId::new(r).unwrap(), type_id("us-east-1", "gpu_8x"));

    let mut refused = None;
    for i in 0..33 {
        if let Err(e) = limited.create_instance(&big(format!("n{i}"))).await {
            refused = Some((i, e));
            break;
        }
    }
    for i in 0..100 {
        unlimited
            .create_instance(&req(&format!("n{i}")))
            .await
            .unwrap();
    }
    let quotas = unlimited.quota().unwrap();
    let reported = quotas.quotas(&loc("us-east-1")).await.unwrap();

    // 32 nodes of 8 GPUs fill the 256-GPU quota; the 33rd is refused.
    let (at, err) = refused.expect("the default quota refuses a create");
    assert_eq!(at, 32);
    assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
    assert!(err.message().contains("256 GPUs"), "{err}");
    assert_eq!((reported[0].limit, reported[0].used), (u64::MAX, 100));
}

#[tokio::test(start_paused = true)]
async fn capacity_is_consumed_by_running_and_freed_by_stop() {
    let fake = common::config()
        .capacity(loc("us-east-1"), "gpu_1x", 1)
        .build()
        .unwrap();
    let a = fake.create_instance(&req("a")).await.unwrap();
    advance(BOOT).await;

    let full = fake.create_instance(&req("b")).await.unwrap_err();
    fake.stop_start()
        .unwrap()
        .stop_instance(a.id())
        .await
        .unwrap();
    let b = fake.create_instance(&req("b")).await.unwrap();
    advance(STOP).await;
    let start = fake
        .stop_start()
        .unwrap()
        .start_instance(a.id())
        .await
        .unwrap_err();
    fake.terminate_instance(b.id()).await.unwrap();
    fake.stop_start()
        .unwrap()
        .start_instance(a.id())
        .await
        .unwrap();

    assert_eq!(full.kind(), ErrorKind::CapacityUnavailable);
    assert_eq!(start.kind(), ErrorKind::CapacityUnavailable);
}

#[tokio::test(start_paused = true)]
async fn running_out_of_public_addresses_is_a_typed_error() {
    let fake = common::config()
        .public_ranges(vec!["192.0.2.0/30".parse().unwrap()])
        .build()
        .unwrap();
    fake.create_instance(&req("a")).await.unwrap();
    fake.create_instance(&req("b")).await.unwrap();

    let err = fake
        .create_instance(&req("c").with_cluster("new"))
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::CapacityUnavailable);
    assert!(err.message().contains("192.0.2.0/30"), "{err}");
    assert_eq!(all(&fake).await.len(), 2);
    let quotas = fake
        .quota()
        .unwrap()
        .quotas(&loc("us-east-1"))
        .await
        .unwrap();
    assert_eq!(quotas[0].used, 2);
}

#[tokio::test(start_paused = true)]
async fn unknown_types_and_images_are_not_found() {
    let fake = fake();
    let bad_type = CreateInstance::new(RefId::new("x").unwrap(), type_id("us-east-1", "nope"));
    let bad_image = req("y").with_image(compute_types::ImageId::new("windows-95").unwrap());

    let t = fake.create_instance(&bad_type).await.unwrap_err();
    let i = fake.create_instance(&bad_image).await.unwrap_err();

    assert_eq!(t.kind(), ErrorKind::NotFound);
    assert_eq!(i.kind(), ErrorKind::NotFound);
    assert!(all(&fake).await.is_empty());
}

#[tokio::test]
async fn catalog_queries_images_and_capabilities() {
    let fake = fake();

    let locations = fake.locations(&LocationsQuery::all()).await.unwrap();
    let h100x8 = InstanceTypeFilter::all().with_min_gpu_count(8);
    let big = fake.instance_types(&h100x8).await.unwrap();
    let images = fake
        .images()
        .unwrap()
        .list_images(&loc("eu-west-1"))
        .await
        .unwrap();
    let nowhere = fake
        .images()
        .unwrap()
        .list_images(&loc("mars-1"))
        .await
        .unwrap_err();
    let caps = fake.capabilities();

    assert_eq!(locations.len(), 2);
    assert_eq!(big.len(), 2);
    assert!(images.iter().any(|i| i.id.as_str() == "ubuntu-24.04"));
    assert_eq!(nowhere.kind(), ErrorKind::NotFound);
    for cap in [
        Capability::CreateIdempotentInstance,
        Capability::StopStartInstance,
        Capability::RebootInstance,
        Capability::ResizeInstanceVolume,
        Capability::ChangeInstanceType,
        Capability::ModifyFirewall,
        Capability::UpdateTags,
        Capability::MachineImage,
        Capability::Quota,
        Capability::NetworkProbe,
        Capability::FaultInjection,
    ] {
        assert!(caps.has(cap), "{cap}");
    }
}

#[tokio::test]
async fn the_default_catalog_seeds_a_usable_fake() {
    let fake = FakeProvider::builder().instant().build().unwrap();

    let types = fake
        .instance_types(&InstanceTypeFilter::all())
        .await
        .unwrap();
    let req = CreateInstance::new(RefId::new("d").unwrap(), types[0].id.clone());
    let inst = fake.create_instance(&req).await.unwrap();

    assert!(!types.is_empty());
    assert_eq!(inst.state(), InstanceState::Running);
}

#[tokio::test(start_paused = true)]
async fn real_catalogs_seed_the_fake() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/catalogs");
    let (catalog, _report) = compute_catalog::Catalog::load_path(dir).unwrap();
    let fake = FakeProvider::builder()
        .from_catalog(&catalog)
        .boot_delay(BOOT)
        .build()
        .unwrap();
    let filter = InstanceTypeFilter::all()
        .with_gpu_model("H100")
        .with_min_gpu_count(8);

    let h100s = fake.instance_types(&filter).await.unwrap();
    let locations = fake.locations(&LocationsQuery::all()).await.unwrap();
    let pick = h100s
        .iter()
        .find(|t| t.provider().as_str() == "aws")
        .unwrap();
    let req = CreateInstance::new(RefId::new("real").unwrap(), pick.id.clone()).with_cluster("p5");
    let inst = fake.create_instance(&req).await.unwrap();
    advance(BOOT).await;

    assert!(h100s.len() > 5, "{}", h100s.len());
    assert!(
        locations
            .iter()
            .any(|l| l.name.as_str() == pick.location().as_str())
    );
    assert_eq!(inst.placement.location, *pick.location());
    let running = fake.get_instance(inst.id()).await.unwrap();
    assert_eq!(running.state(), InstanceState::Running);
}

/// AWS and Lambda both have a `us-east-1`: each launch lands only in a zone its own type
/// offers, and each cloud keeps its own quota there.
#[tokio::test(start_paused = true)]
async fn real_catalogs_keep_clouds_apart_in_a_shared_location() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/catalogs");
    let (catalog, _report) = compute_catalog::Catalog::load_path(dir).unwrap();
    let fake = FakeProvider::builder()
        .from_catalog(&catalog)
        .default_quota(QuotaLimits::new(1, 64))
        .provider_quota(
            ProviderId::new("aws").unwrap(),
            loc("us-east-1"),
            QuotaLimits::new(3, 64),
        )
        .build()
        .unwrap();
    let east = loc("us-east-1");
    let types = fake
        .instance_types(&InstanceTypeFilter::all())
        .await
        .unwrap();
    let pick = |provider: &str| {
        types
            .iter()
            .find(|t| t.provider().as_str() == provider && t.location() == &east)
            .unwrap()
            .clone()
    };
    let (lambda, aws) = (pick("lambda"), pick("aws"));
    let aws_zones: HashSet<ZoneId> = types
        .iter()
        .filter(|t| t.provider().as_str() == "aws" && t.location() == &east)
        .flat_map(|t| {
            t.id.zone()
                .cloned()
                .into_iter()
                .chain(t.available_zones.clone())
        })
        .collect();
    let launch = |ref_id: &str, t: &compute_types::InstanceType| {
        CreateInstance::new(RefId::new(ref_id).unwrap(), t.id.clone())
    };

    let on_lambda = fake.create_instance(&launch("l1", &lambda)).await.unwrap();
    let on_aws = fake.create_instance(&launch("a1", &aws)).await.unwrap();
    let second_lambda = fake
        .create_instance(&launch("l2", &lambda))
        .await
        .unwrap_err();
    let aws_zone = aws_zones.iter().next().unwrap().clone();
    let borrowed_zone = fake
        .create_instance(&launch("l3", &lambda).with_zone(aws_zone))
        .await
        .unwrap_err();
    let lambda_quota = fake.provider_quotas(lambda.provider(), &east).unwrap();
    let aws_quota = fake.provider_quotas(aws.provider(), &east).unwrap();
    let listed = fake.locations(&LocationsQuery::all()).await.unwrap();
    let shared = fake.quota().unwrap().quotas(&east).await.unwrap();

    assert!(aws_zones.len() > 1, "{aws_zones:?}");
    assert!(lambda.available_zones.is_empty() && lambda.id.zone().is_none());
    assert_eq!(on_lambda.placement.zone, None, "lambda offers no zone here");
    let zone = on_aws.placement.zone.as_ref().unwrap();
    assert_eq!(Some(zone), aws.id.zone());
    assert_eq!(second_lambda.kind(), ErrorKind::QuotaExceeded);
    assert!(
        second_lambda.message().contains("lambda"),
        "{second_lambda}"
    );
    assert_eq!(borrowed_zone.kind(), ErrorKind::InvalidRequest);
    assert_eq!(borrowed_zone.field(), Some("zone"));
    let instances = |quotas: &[Quota]| {
        let q = quotas
            .iter()
            .find(|q| q.unit == QuotaUnit::Instances)
            .unwrap();
        (q.limit, q.used)
    };
    assert_eq!(instances(&lambda_quota), (1, 1), "{lambda_quota:?}");
    assert_eq!(instances(&aws_quota), (3, 1), "{aws_quota:?}");
    assert_eq!(
        instances(&shared),
        (1, 1),
        "the name answers with the tightest"
    );
    assert_eq!(listed.iter().filter(|l| l.name == east).count(), 1);
    let listed_east = listed.iter().find(|l| l.name == east).unwrap();
    assert!(aws_zones.iter().all(|z| listed_east.zone(z).is_some()));
}
