//! The runner cleans up after cases that fail, panic or hang, and never touches
//! instances of other runs.

use std::{sync::Arc, time::Duration};

use compute_conformance::{Case, CaseFuture, Config, Cx, Outcome, run_case};
use compute_fake::FakeProvider;
use compute_provider::{
    CreateInstance, InstanceTypeFilter, ListInstances, Provider, is_gone_or_going,
};
use compute_types::RefId;

fn fake() -> Arc<dyn Provider> {
    let fake = FakeProvider::builder()
        .boot_delay(Duration::from_millis(5))
        .terminate_delay(Duration::from_millis(5))
        .build()
        .expect("the fake builds");
    Arc::new(fake)
}

fn config() -> Config {
    Config::new()
        .with_run_id("cfrunner")
        .with_poll_interval(Duration::from_millis(5))
        .with_running_deadline(Duration::from_secs(2))
        .with_case_deadline(Duration::from_millis(500))
}

/// Creates one instance through the context, then ends as `then` says.
async fn create_then(p: Arc<dyn Provider>, cx: Arc<Cx>, then: &str) -> Outcome {
    let Ok(ty) = cx.instance_type(&*p).await else {
        return Outcome::fail("no type");
    };
    let Ok(request) = cx.request(&ty.id) else {
        return Outcome::fail("no request");
    };
    if cx.create(&*p, &request).await.is_err() {
        return Outcome::fail("create failed");
    }
    match then {
        "panic" => panic!("the case blew up"),
        "hang" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Outcome::Pass
        }
        _ => Outcome::fail("the case failed"),
    }
}

fn panics(p: Arc<dyn Provider>, cx: Arc<Cx>) -> CaseFuture {
    Box::pin(create_then(p, cx, "panic"))
}

fn hangs(p: Arc<dyn Provider>, cx: Arc<Cx>) -> CaseFuture {
    Box::pin(create_then(p, cx, "hang"))
}

fn fails(p: Arc<dyn Provider>, cx: Arc<Cx>) -> CaseFuture {
    Box::pin(create_then(p, cx, "fail"))
}

/// Returns how many instances are neither terminating nor terminated.
async fn alive(p: &dyn Provider) -> usize {
    let listed = p.list_instances(&ListInstances::all()).await.unwrap();
    listed
        .iter()
        .filter(|i| !is_gone_or_going(i.state()))
        .count()
}

#[tokio::test]
async fn instances_are_cleaned_up_after_failure_panic_and_hang() {
    let cases = [
        (Case::__new("fails", fails), "the case failed"),
        (Case::__new("panics", panics), "panicked: the case blew up"),
        (Case::__new("hangs", hangs), "did not finish within"),
    ];

    for (case, expected) in cases {
        let p = fake();

        let report = run_case(&case, Arc::clone(&p), &config()).await;

        match &report.outcome {
            Outcome::Fail(detail) => assert!(detail.starts_with(expected), "{detail}"),
            other => panic!("{}: {other}", case.name()),
        }
        assert_eq!(alive(&*p).await, 0, "{} left an instance", case.name());
    }
}

#[tokio::test]
async fn cleanup_spares_instances_of_other_runs() {
    let p = fake();
    let ty = p
        .instance_types(&InstanceTypeFilter::all())
        .await
        .unwrap()
        .remove(0);
    let mut bystander = CreateInstance::new(RefId::new("someone-else").unwrap(), ty.id.clone());
    bystander.tags = Cx::new(config().with_run_id("cfother"), "fails").run_tags();
    p.create_instance(&bystander).await.unwrap();
    let case = Case::__new("fails", fails);

    let report = run_case(&case, Arc::clone(&p), &config()).await;

    assert!(report.outcome.is_fail());
    assert_eq!(alive(&*p).await, 1, "the other run's instance must survive");
}

async fn must_not_be_built() -> Arc<dyn Provider> {
    panic!("a live test built its provider without COMPUTE_CONFORMANCE_LIVE=1")
}

#[tokio::test]
async fn live_tests_refuse_to_start_without_the_live_variable() {
    let live = std::env::var(compute_conformance::LIVE_ENV).is_ok_and(|v| v == "1");

    if !live {
        compute_conformance::__private::run_test(
            "nobody",
            true,
            "create_echoes_request",
            must_not_be_built,
            Config::new(),
        )
        .await;
    }
}
