//! The runner cleans up after cases that fail, panic or hang, and never touches
//! instances of other runs.

use std::{sync::Arc, time::Duration};

use compute_conformance::{Case, CaseFuture, Config, Cx, Outcome, run_case};
use compute_fake::FakeProvider;
use compute_provider::{
    CreateInstance, InstanceTypeFilter, ListInstances, Provider, is_gone_or_going,
};
use compute_types::{ErrorKind, RefId};

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
        .expect("a valid run id")
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
    let other_run = config().with_run_id("cfother").unwrap();
    bystander.tags = Cx::new(other_run, "fails").run_tags().unwrap();
    p.create_instance(&bystander).await.unwrap();
    let case = Case::__new("fails", fails);

    let report = run_case(&case, Arc::clone(&p), &config()).await;

    assert!(report.outcome.is_fail());
    assert_eq!(alive(&*p).await, 1, "the other run's instance must survive");
}

async fn must_not_be_built() -> Arc<dyn Provider> {
    panic!("the live test built its provider")
}

/// Without the live variable a live test panics, naming the xtask command, before it
/// builds its provider; with it (under `cargo xtask conformance --live`) it gets as far
/// as building the provider. Either way something is asserted.
#[tokio::test]
async fn live_tests_refuse_to_start_without_the_live_variable() {
    let live = std::env::var(compute_conformance::LIVE_ENV).is_ok_and(|v| v == "1");

    let run = tokio::spawn(compute_conformance::__private::run_test(
        "nobody",
        true,
        "create_echoes_request",
        must_not_be_built,
        Config::new(),
    ));
    let ended = run.await;

    let err = ended.expect_err("a live test must never pass without running its case");
    assert!(err.is_panic());
    let payload = err.into_panic();
    let text = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default();
    if live {
        assert_eq!(text, "the live test built its provider");
    } else {
        assert!(
            text.contains("run them with `cargo xtask conformance --live nobody`"),
            "{text}"
        );
    }
}

/// Cleanup of a case whose tags cannot be built refuses the sweep by tags, so it cannot
/// match other runs' instances, yet still terminates what the case recorded.
#[tokio::test]
async fn cleanup_refuses_to_sweep_without_the_run_tag() {
    let p = fake();
    let ty = p
        .instance_types(&InstanceTypeFilter::all())
        .await
        .unwrap()
        .remove(0);
    let mut bystander = CreateInstance::new(RefId::new("someone-else").unwrap(), ty.id.clone());
    bystander.tags = Cx::new(config(), "fails").run_tags().unwrap();
    p.create_instance(&bystander).await.unwrap();
    let cx = Cx::new(config(), "not a tag value!");
    let own = CreateInstance::new(RefId::new("cfrunner-own").unwrap(), ty.id.clone());
    cx.create(&*p, &own).await.unwrap();

    let problems = cx.cleanup(&*p).await;

    assert!(cx.run_tags().is_err());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("sweep by tags refused"),
        "{problems:?}"
    );
    assert_eq!(
        alive(&*p).await,
        1,
        "only the recorded instance is terminated"
    );
}

#[test]
fn invalid_run_ids_are_refused_naming_the_field() {
    let bad = [
        "",
        "Upper",
        "has space",
        "9starts-with-digit",
        "way-too-long-for-a-run-id",
    ];

    for run_id in bad {
        let err = Config::new().with_run_id(run_id).unwrap_err();

        assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{run_id:?}");
        assert_eq!(err.field(), Some("run_id"), "{run_id:?}");
    }
    assert!(Config::new().with_run_id("cf-ok-1").is_ok());
}
