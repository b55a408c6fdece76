//! `create_group` against the fake: roll-back after the wait budget is spent, and the
//! quota preflight that refuses a group before anything is created.

mod common;

use std::{sync::Arc, time::Duration};

use common::*;
use compute_fake::{FakeProvider, QuotaLimits};
use compute_provider::{
    CreateInstance, GroupOptions, Provider, RollbackStatus, WaitOptions, create_group,
};
use compute_types::{Error, ErrorKind, InstanceState, Outcome, QuotaUnit, RefId};
use tokio::time::Instant;

fn requests(n: usize, type_name: &str) -> Vec<CreateInstance> {
    let type_id = type_id("us-east-1", type_name);
    (0..n)
        .map(|i| CreateInstance::new(RefId::new(format!("node-{i}")).unwrap(), type_id.clone()))
        .collect()
}

fn dyn_fake(fake: &FakeProvider) -> Arc<dyn Provider> {
    Arc::new(fake.clone())
}

#[tokio::test(start_paused = true)]
async fn a_spent_wait_deadline_does_not_cut_the_roll_back_short() {
    let fake = fake();
    // The caller's deadline passes before any node boots (boot takes 30 s).
    let wait = WaitOptions::new(Duration::from_secs(600))
        .with_poll_interval(Duration::from_secs(1))
        .with_deadline(Instant::now() + Duration::from_secs(20));
    let options = GroupOptions::new().with_wait(wait);

    let err = create_group(dyn_fake(&fake), requests(3, "gpu_1x"), options)
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.is_clean(), "{err}");
    assert_eq!(err.cleaned_up().len(), 3, "{err}");
    for r in err.rolled_back() {
        assert!(matches!(r.status, RollbackStatus::Terminated), "{r:?}");
        let inst = fake.get_instance(&r.instance_id).await.unwrap();
        assert_eq!(inst.state(), InstanceState::Terminated);
    }
    assert!(live(&fake).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_short_wait_timeout_does_not_cut_the_roll_back_short() {
    let fake = common::config()
        .terminate_delay(Duration::from_secs(90))
        .build()
        .unwrap();
    let wait = WaitOptions::new(Duration::from_secs(10)).with_poll_interval(Duration::from_secs(1));
    let options = GroupOptions::new().with_wait(wait);

    let err = create_group(dyn_fake(&fake), requests(2, "gpu_1x"), options)
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.is_clean(), "{err}");
    assert_eq!(err.cleaned_up().len(), 2, "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_roll_back_longer_than_its_budget_says_what_may_remain() {
    let fake = common::config()
        .terminate_delay(Duration::from_secs(900))
        .build()
        .unwrap();
    let wait = WaitOptions::new(Duration::from_secs(10)).with_poll_interval(Duration::from_secs(5));
    let options = GroupOptions::new()
        .with_wait(wait)
        .with_rollback_timeout(Duration::from_secs(120));

    let err = create_group(dyn_fake(&fake), requests(2, "gpu_1x"), options)
        .await
        .unwrap_err();

    assert!(!err.is_clean());
    assert_eq!(err.left_behind().len(), 2);
    for r in err.rolled_back() {
        assert!(
            matches!(r.status, RollbackStatus::Unconfirmed { .. }),
            "{r:?}"
        );
        let inst = fake.get_instance(&r.instance_id).await.unwrap();
        assert_eq!(inst.state(), InstanceState::Terminating);
    }
    let text = err.to_string();
    let plain = "may remain: i-00000001 (ref id node-0, terminate requested but not seen \
        gone within 120s), i-00000002 (ref id node-1, ";
    assert!(text.contains(plain), "{text}");
}

#[tokio::test(start_paused = true)]
async fn too_many_nodes_are_refused_before_any_is_created() {
    let fake = common::config()
        .quota(loc("us-east-1"), QuotaLimits::new(4, 100))
        .build()
        .unwrap();

    let err = create_group(dyn_fake(&fake), requests(6, "gpu_1x"), GroupOptions::new())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
    let text = err.to_string();
    assert!(text.contains("nodes"), "{text}");
    assert!(
        text.contains("6 requested") && text.contains("limit 4"),
        "{text}"
    );
    assert_eq!(fake.instance_count().unwrap(), 0);
    let short = err.quota_shortfall().unwrap();
    assert_eq!(
        (short.unit, short.requested, short.limit),
        (QuotaUnit::Instances, 6, 4)
    );
    let std_err: Error = err.into();
    assert_eq!(std_err.outcome(), Some(&Outcome::NotApplied));
}

#[tokio::test(start_paused = true)]
async fn too_many_gpus_are_refused_before_any_is_created() {
    let fake = common::config()
        .quota(loc("us-east-1"), QuotaLimits::new(10, 16))
        .build()
        .unwrap();

    let err = create_group(dyn_fake(&fake), requests(3, "gpu_8x"), GroupOptions::new())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
    let text = err.to_string();
    assert!(text.contains("gpus"), "{text}");
    assert!(
        text.contains("24 requested") && text.contains("limit 16"),
        "{text}"
    );
    assert_eq!(fake.instance_count().unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_hundred_thousand_nodes_on_a_default_fake_create_nothing() {
    let fake = FakeProvider::builder().build().unwrap();
    let gpu = fake.instance_types(&Default::default()).await.unwrap();
    let type_id = gpu[0].id.clone();
    let requests: Vec<CreateInstance> = (0..100_000)
        .map(|i| CreateInstance::new(RefId::new(format!("n-{i}")).unwrap(), type_id.clone()))
        .collect();

    let err = create_group(dyn_fake(&fake), requests, GroupOptions::new())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
    let text = err.to_string();
    assert!(text.contains("nodes: 100000 requested"), "{text}");
    assert!(text.contains("limit 64 with 0 in use"), "{text}");
    assert_eq!(fake.instance_count().unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_rerun_that_fills_the_quota_exactly_is_not_refused() {
    let fake = common::config()
        .quota(loc("us-east-1"), QuotaLimits::new(4, 100))
        .build()
        .unwrap();
    let options = || {
        let wait = WaitOptions::new(Duration::from_secs(600));
        GroupOptions::new().with_wait(wait.with_poll_interval(Duration::from_secs(1)))
    };
    let first = create_group(dyn_fake(&fake), requests(2, "gpu_1x"), options())
        .await
        .unwrap();

    // Two of the four already exist and are adopted, so two more fit.
    let grown = create_group(dyn_fake(&fake), requests(4, "gpu_1x"), options())
        .await
        .unwrap();
    let again = create_group(dyn_fake(&fake), requests(4, "gpu_1x"), options())
        .await
        .unwrap();

    assert_eq!(grown[0].id(), first[0].id());
    assert_eq!(grown.len(), 4);
    assert_eq!(again[3].id(), grown[3].id());
    assert_eq!(fake.instance_count().unwrap(), 4);
}
