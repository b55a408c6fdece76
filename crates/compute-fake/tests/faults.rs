//! Fault injection: every fault, its determinism, and that no failed create leaves anything.

mod common;

use std::{collections::BTreeSet, net::IpAddr, time::Duration};

use common::*;
use compute_fake::{FakeConfig, FakeProvider, Operation, QuotaLimits};
use compute_provider::{CreateInstance, Fault, ListInstances, LocationsQuery, Provider};
use compute_types::{
    ErrorKind, Instance, InstanceState, Outcome, RefId, Retry, TAG_CLUSTER, TAG_REF_ID,
};
use tokio::time::Instant;

/// Asserts the world holds no live instance and no quota of `us-east-1` is in use.
///
/// This is what a fake whose faults keep refusing creates can show; a failed create with
/// a next create that can succeed is checked fully by [`assert_failed_create_left_nothing`].
async fn assert_nothing_held(fake: &FakeProvider) {
    fake.fault_injection()
        .unwrap()
        .clear_faults()
        .await
        .unwrap();

    let live = live(fake).await;
    let used = used_quota(fake).await;

    assert!(live.is_empty(), "left behind: {live:?}");
    assert_eq!(used, [0, 0], "instances and GPUs in use");
}

/// Returns the instances and GPUs in use in `us-east-1`.
async fn used_quota(fake: &FakeProvider) -> Vec<u64> {
    let quotas = fake
        .quota()
        .unwrap()
        .quotas(&loc("us-east-1"))
        .await
        .unwrap();
    quotas.iter().map(|q| q.used).collect()
}

/// What a create got from the network: cluster subnet, private and public address.
type Taken = (Option<String>, IpAddr, IpAddr);

fn taken(fake: &FakeProvider, inst: &Instance) -> Taken {
    let cluster = inst.tags.get(TAG_CLUSTER);
    let subnet = cluster.and_then(|c| fake.cluster_subnet(c).unwrap());
    let net = &inst.network;
    (
        subnet.map(|s| s.to_string()),
        net.private_ip.unwrap(),
        net.public_ip.unwrap(),
    )
}

/// Asserts that a failed create left `fake` exactly as its `twin`, built alike with the
/// same history but never asked the failed create: the same live instances, quota usage
/// and cluster networks, and `next` (which needs the quota and capacity the failed create
/// held) succeeds on both, handed the same addresses, those the failed create took.
async fn assert_failed_create_left_nothing(
    fake: &FakeProvider,
    twin: &FakeProvider,
    next: &CreateInstance,
) {
    let ids = |all: Vec<Instance>| all.iter().map(|i| i.id().clone()).collect::<Vec<_>>();
    let subnet = |p: &FakeProvider| {
        next.cluster
            .as_deref()
            .map(|c| p.cluster_subnet(c).unwrap())
    };
    let live = (ids(live(fake).await), ids(live(twin).await));
    let used = (used_quota(fake).await, used_quota(twin).await);
    let subnets = (subnet(fake), subnet(twin));

    let created = fake.create_instance(next).await;
    let twin_created = twin.create_instance(next).await.unwrap();

    assert_eq!(live.0, live.1, "no instance is left behind");
    assert_eq!(used.0, used.1, "the quota is given back");
    assert_eq!(subnets.0, subnets.1, "a cluster the create made is dropped");
    let created = created.expect("the quota and capacity are given back");
    assert_eq!(
        taken(fake, &created),
        taken(twin, &twin_created),
        "the next create gets the addresses the failed one took"
    );
}

#[tokio::test(start_paused = true)]
async fn capacity_errors_for_chosen_pairs() {
    let fake = config()
        .capacity_error(loc("us-east-1"), "gpu_1x")
        .build()
        .unwrap();
    let eu = CreateInstance::new(RefId::new("eu").unwrap(), type_id("eu-west-1", "gpu_1x"));

    let err = fake.create_instance(&req("a")).await.unwrap_err();
    let elsewhere = fake.create_instance(&eu).await;

    assert_eq!(err.kind(), ErrorKind::CapacityUnavailable);
    assert_eq!(err.outcome(), Some(&Outcome::NotApplied));
    assert_eq!(err.retry(), Retry::Never);
    assert!(elsewhere.is_ok());
    fake.terminate_instance(elsewhere.unwrap().id())
        .await
        .unwrap();
    assert_nothing_held(&fake).await;
}

#[tokio::test(start_paused = true)]
async fn capacity_errors_with_a_probability_follow_the_seed() {
    let run = |seed| async move {
        let fake = config()
            .seed(seed)
            .capacity_error_probability(0.5)
            .build()
            .unwrap();
        let mut outcomes = Vec::new();
        for i in 0..40 {
            let res = fake.create_instance(&req(&format!("r{i}"))).await;
            outcomes.push(res.map(|_| ()).map_err(|e| e.kind()));
        }
        (outcomes, fake.instance_count().unwrap())
    };

    let (a, stored) = run(42).await;
    let (b, _) = run(42).await;
    let (c, _) = run(43).await;

    assert_eq!(a, b);
    assert_ne!(a, c);
    let failed = a.iter().filter(|r| r.is_err()).count();
    assert!((8..=32).contains(&failed), "{failed} of 40 failed");
    assert_eq!(
        stored,
        40 - failed,
        "each success made one instance, no failure any"
    );
    assert!(
        a.iter()
            .filter_map(|r| r.err())
            .all(|k| k == ErrorKind::CapacityUnavailable)
    );
}

#[tokio::test(start_paused = true)]
async fn quota_exhaustion() {
    let fake = config()
        .quota(loc("us-east-1"), compute_fake::QuotaLimits::new(0, 0))
        .build()
        .unwrap();

    let err = fake.create_instance(&req("q")).await.unwrap_err();

    assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
    assert_eq!(err.outcome(), Some(&Outcome::NotApplied));
    assert_nothing_held(&fake).await;
}

#[tokio::test(start_paused = true)]
async fn rate_limit_answers_with_a_retry_after() {
    let fake = config().rate_limit(3).build().unwrap();
    let id = fake.create_instance(&req("rl")).await.unwrap().id().clone();
    fake.get_instance(&id).await.unwrap();
    advance(Duration::from_millis(250)).await;
    fake.get_instance(&id).await.unwrap();

    let err = fake.get_instance(&id).await.unwrap_err();
    advance(Duration::from_millis(750)).await;
    let later = fake.get_instance(&id).await;

    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(
        err.retry(),
        Retry::Throttled {
            after: Some(Duration::from_millis(750))
        }
    );
    assert!(later.is_ok());
}

#[tokio::test(start_paused = true)]
async fn rate_limit_window_slides_across_a_second_boundary() {
    let fake = config().rate_limit(3).build().unwrap();
    let query = LocationsQuery::all();
    fake.locations(&query).await.unwrap();
    advance(Duration::from_millis(990)).await;
    fake.locations(&query).await.unwrap();
    fake.locations(&query).await.unwrap();
    advance(Duration::from_millis(10)).await;

    let replaces_the_oldest = fake.locations(&query).await;
    let fourth_within_a_second = fake.locations(&query).await.unwrap_err();
    advance(Duration::from_millis(990)).await;
    let later = [
        fake.locations(&query).await.is_ok(),
        fake.locations(&query).await.is_ok(),
    ];

    assert!(
        replaces_the_oldest.is_ok(),
        "the call at 0 ms has left the window"
    );
    assert_eq!(fourth_within_a_second.kind(), ErrorKind::RateLimited);
    assert_eq!(
        fourth_within_a_second.retry(),
        Retry::Throttled {
            after: Some(Duration::from_millis(990))
        },
        "until the calls at 990 ms leave"
    );
    assert_eq!(later, [true, true]);
}

#[tokio::test(start_paused = true)]
async fn transient_unavailable_applies_nothing() {
    let fake = config().unavailable_probability(1.0).build().unwrap();

    let create = fake.create_instance(&req("u")).await.unwrap_err();
    let list = fake
        .list_instances(&ListInstances::all())
        .await
        .unwrap_err();

    assert_eq!(create.kind(), ErrorKind::Unavailable);
    assert_eq!(create.retry(), Retry::Transient);
    assert_eq!(create.outcome(), Some(&Outcome::NotApplied));
    assert_eq!(list.kind(), ErrorKind::Unavailable);
    assert_eq!(fake.instance_count().unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn transient_unavailable_with_a_probability_is_retryable() {
    let fake = config()
        .seed(9)
        .unavailable_probability(0.3)
        .build()
        .unwrap();

    let mut failures = 0;
    let inst = loop {
        match fake.create_instance(&req("retry")).await {
            Ok(inst) => break inst,
            Err(e) if e.retry().is_retryable() => failures += 1,
            Err(e) => panic!("{e}"),
        }
    };
    let again = loop {
        if let Ok(i) = fake.create_instance(&req("retry")).await {
            break i;
        }
    };

    assert!(failures < 20);
    assert_eq!(inst.id(), again.id());
    assert_eq!(fake.instance_count().unwrap(), 1);
}

#[tokio::test(start_paused = true)]
async fn latency_per_operation() {
    let fake = config()
        .latency(Operation::Create, Duration::from_millis(800))
        .default_latency(Duration::from_millis(50))
        .build()
        .unwrap();

    let start = Instant::now();
    let inst = fake.create_instance(&req("slow")).await.unwrap();
    let create_took = start.elapsed();
    let start = Instant::now();
    fake.get_instance(inst.id()).await.unwrap();
    let get_took = start.elapsed();

    assert_eq!(create_took, Duration::from_millis(800));
    assert_eq!(get_took, Duration::from_millis(50));
}

#[tokio::test(start_paused = true)]
async fn ambiguous_create_leaks_an_instance_the_caller_can_find() {
    let fake = config().ambiguous_create_probability(1.0).build().unwrap();

    let err = fake.create_instance(&req("amb")).await.unwrap_err();
    let by_ref = ListInstances::all().with_tag(TAG_REF_ID, "amb").unwrap();
    let found = fake.list_instances(&by_ref).await.unwrap();
    let retried = fake.create_instance(&req("amb")).await.unwrap();

    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.is_outcome_unknown());
    assert!(err.retry().is_retryable());
    assert_eq!(found.len(), 1);
    assert_eq!(retried.id(), found[0].id());
}

#[tokio::test(start_paused = true)]
async fn delayed_failure_after_a_successful_create() {
    let fake = config()
        .delayed_failure(1.0, Duration::from_secs(90))
        .build()
        .unwrap();
    let inst = fake.create_instance(&req("df")).await.unwrap();

    advance(BOOT).await;
    let running = fake.get_instance(inst.id()).await.unwrap();
    advance(Duration::from_secs(60)).await;
    let failed = fake.get_instance(inst.id()).await.unwrap();
    let stop = fake
        .stop_start()
        .unwrap()
        .stop_instance(inst.id())
        .await
        .unwrap_err();
    fake.terminate_instance(inst.id()).await.unwrap();
    advance(TERMINATE).await;

    assert_eq!(running.state(), InstanceState::Running);
    assert_eq!(failed.state(), InstanceState::Failed);
    assert!(!failed.lifecycle.status.messages.is_empty());
    assert_eq!(stop.kind(), ErrorKind::InvalidRequest);
    let gone = fake.get_instance(inst.id()).await.unwrap();
    assert_eq!(gone.state(), InstanceState::Terminated);
    assert_nothing_held(&fake).await;
}

#[tokio::test(start_paused = true)]
async fn mid_create_failure_rolls_back_every_step() {
    let mut messages = std::collections::BTreeSet::new();
    for seed in 0..24 {
        let cfg = config().seed(seed).mid_create_failure_probability(1.0);
        let fake = cfg.clone().build().unwrap();

        let err = fake
            .create_instance(&req("mid").with_cluster("fresh"))
            .await
            .unwrap_err();

        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(err.outcome(), Some(&Outcome::NotApplied));
        assert_eq!(fake.instance_count().unwrap(), 0);
        assert_nothing_held(&fake).await;
        let after = fake
            .create_instance(&req("next").with_cluster("fresh"))
            .await;
        let after = after.expect_err("the probability is 1");
        assert_eq!(after.kind(), ErrorKind::Unavailable);
        messages.insert(err.message().to_owned());
    }

    assert_eq!(
        messages.len(),
        4,
        "every step failed at least once: {messages:?}"
    );
}

/// Returns the step a mid-create failure names: `create failed after step `<step>`…`.
fn step_of(message: &str) -> String {
    message.split('`').nth(1).unwrap_or(message).to_owned()
}

#[tokio::test(start_paused = true)]
async fn a_create_failing_at_any_step_leaves_the_same_fake_as_before() {
    // Room for two instances: the next create needs what the failed one held.
    let cfg = |seed| {
        config()
            .seed(seed)
            .quota(loc("us-east-1"), QuotaLimits::new(2, 2))
            .capacity(loc("us-east-1"), "gpu_1x", 2)
    };
    let mut hit = BTreeSet::new();

    for seed in 0..32 {
        for network in [Some("c"), Some("fresh"), None] {
            let in_network = |r: CreateInstance| match network {
                Some(name) => r.with_cluster(name),
                None => r,
            };
            let (fake, twin) = (cfg(seed).build().unwrap(), cfg(seed).build().unwrap());
            for p in [&fake, &twin] {
                let first = req("first").with_cluster("c");
                p.create_instance(&first).await.unwrap();
            }
            let faults = fake.fault_injection().unwrap();
            faults.inject(Fault::FailMidCreate).await.unwrap();

            let err = fake
                .create_instance(&in_network(req("mid")))
                .await
                .unwrap_err();

            assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
            assert_eq!(err.outcome(), Some(&Outcome::NotApplied));
            assert_failed_create_left_nothing(&fake, &twin, &in_network(req("next"))).await;
            hit.insert((network, step_of(err.message())));
        }
    }

    let steps: BTreeSet<&str> = hit.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(steps.len(), 4, "every step failed: {steps:?}");
    assert_eq!(hit.len(), 12, "at every step in every network: {hit:?}");
}

#[tokio::test(start_paused = true)]
async fn a_failed_create_frees_its_addresses_for_the_next() {
    let fake = config().build().unwrap();
    let faults = fake.fault_injection().unwrap();
    faults.inject(Fault::FailMidCreate).await.unwrap();

    fake.create_instance(&req("x").with_cluster("c1"))
        .await
        .unwrap_err();
    let next = fake
        .create_instance(&req("y").with_cluster("c1"))
        .await
        .unwrap();

    assert_eq!(next.network.private_ip.unwrap().to_string(), "10.0.0.4");
    assert_eq!(next.network.public_ip.unwrap().to_string(), "198.51.100.1");
}

#[tokio::test(start_paused = true)]
async fn armed_faults_hit_the_next_creates_in_order() {
    let fake = fake();
    let faults = fake.fault_injection().unwrap();
    for fault in [
        Fault::CapacityOnNextCreate,
        Fault::QuotaOnNextCreate,
        Fault::FailMidCreate,
        Fault::AmbiguousNextCreate,
    ] {
        faults.inject(fault).await.unwrap();
    }

    let kinds: Vec<_> = [
        fake.create_instance(&req("f1")).await,
        fake.create_instance(&req("f2")).await,
        fake.create_instance(&req("f3")).await,
        fake.create_instance(&req("f4")).await,
    ]
    .into_iter()
    .map(|r| r.unwrap_err().kind())
    .collect();
    let fine = fake.create_instance(&req("f5")).await;

    assert_eq!(
        kinds,
        [
            ErrorKind::CapacityUnavailable,
            ErrorKind::QuotaExceeded,
            ErrorKind::Unavailable,
            ErrorKind::Timeout,
        ]
    );
    assert!(fine.is_ok());
    let refs: Vec<String> = live(&fake)
        .await
        .iter()
        .map(|i| i.ref_id().to_string())
        .collect();
    assert_eq!(
        refs,
        ["f4", "f5"],
        "only the ambiguous create leaves an instance"
    );
}

#[tokio::test(start_paused = true)]
async fn cleared_faults_do_not_fire() {
    let fake = fake();
    let faults = fake.fault_injection().unwrap();
    faults.inject(Fault::CapacityOnNextCreate).await.unwrap();

    faults.clear_faults().await.unwrap();

    assert!(fake.create_instance(&req("ok")).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn an_idempotent_repeat_does_not_consume_an_armed_fault() {
    let fake = fake();
    let first = fake.create_instance(&req("same")).await.unwrap();
    fake.fault_injection()
        .unwrap()
        .inject(Fault::CapacityOnNextCreate)
        .await
        .unwrap();

    let repeat = fake.create_instance(&req("same")).await.unwrap();
    let fresh = fake.create_instance(&req("other")).await.unwrap_err();

    assert_eq!(repeat.id(), first.id());
    assert_eq!(fresh.kind(), ErrorKind::CapacityUnavailable);
}

/// Every kind of failed create leaves no instance (the ambiguous one, whose outcome is
/// unknown, is covered above: it leaves one the caller can find by ref id).
#[tokio::test(start_paused = true)]
async fn no_instance_remains_after_any_failed_create() {
    let cases: Vec<(&str, FakeConfig, CreateInstance)> = vec![
        ("invalid", config(), req("bad").with_name("  ")),
        ("unknown type", config(), {
            CreateInstance::new(RefId::new("t").unwrap(), type_id("us-east-1", "nope"))
        }),
        (
            "capacity pair",
            config().capacity_error(loc("us-east-1"), "gpu_1x"),
            req("c"),
        ),
        (
            "capacity chance",
            config().capacity_error_probability(1.0),
            req("c"),
        ),
        (
            "capacity limit",
            config().capacity(loc("us-east-1"), "gpu_1x", 0),
            req("c"),
        ),
        (
            "quota",
            config().quota(loc("us-east-1"), compute_fake::QuotaLimits::new(5, 0)),
            req("q"),
        ),
        (
            "unavailable",
            config().unavailable_probability(1.0),
            req("u"),
        ),
        (
            "mid-create",
            config().mid_create_failure_probability(1.0),
            req("m"),
        ),
        ("rate limit", config().rate_limit(1), req("r")),
        (
            "public pool",
            config().public_ranges(vec!["192.0.2.0/31".parse().unwrap()]),
            req("p"),
        ),
    ];

    for (name, cfg, request) in cases {
        let fake = cfg.build().unwrap();
        if name == "rate limit" {
            fake.list_instances(&ListInstances::all()).await.unwrap();
        }

        let err = fake
            .create_instance(&request.with_cluster("c"))
            .await
            .expect_err(name);
        let stored = fake.instance_count().unwrap();

        assert!(!err.is_outcome_unknown(), "{name}: {err}");
        assert_eq!(stored, 0, "{name} left an instance");
        advance(Duration::from_secs(1)).await;
        if !matches!(name, "unavailable" | "rate limit") {
            assert_nothing_held(&fake).await;
        }
    }
}
