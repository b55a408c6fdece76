//! Proof that the suite has teeth: the fake passes every case, and the fake with any one
//! defect fails the cases named for that defect.

use std::{sync::Arc, time::Duration};

use compute_conformance::{
    Case, Config, Outcome,
    broken::{Broken, Defect},
    run_all, run_case,
};
use compute_fake::FakeProvider;
use compute_provider::Provider;

/// A fake with short, real delays, so pending and stopping are observable.
fn fake() -> Arc<dyn Provider> {
    let fake = FakeProvider::builder()
        .short_delays()
        .rate_limit(2_000)
        .build()
        .expect("the fake builds");
    Arc::new(fake)
}

/// Deadlines sized for the fake: a broken provider fails within seconds.
fn config() -> Config {
    Config::new()
        .with_poll_interval(Duration::from_millis(10))
        .with_running_deadline(Duration::from_secs(3))
        .with_settle_deadline(Duration::from_millis(500))
        .with_case_deadline(Duration::from_secs(30))
        .with_rate_limit_burst(10_000)
}

/// Which cases must fail for each defect.
fn catching_cases(defect: Defect) -> &'static [&'static str] {
    match defect {
        Defect::DropsRefId => &["create_echoes_request"],
        Defect::DuplicatesRepeatedRefId => &["create_is_idempotent_by_ref_id"],
        Defect::LeavesInstanceAfterFailedCreate => &[
            "capacity_failure_leaves_nothing",
            "quota_failure_leaves_nothing",
            "mid_create_failure_leaves_nothing",
        ],
        Defect::DeclaresUnimplementedCapability => {
            &["declared_capabilities_work", "reboot_returns_to_running"]
        }
        Defect::StaleLists => &["created_instance_is_found", "terminate_reaches_terminated"],
        Defect::WidensFirewallRules => &[
            "firewall_rule_opens_exactly_its_range",
            "revoked_rule_closes_again",
        ],
        Defect::LetsClustersTalk => &["clusters_are_isolated"],
        Defect::RunningBeforeAddress => &["instance_reaches_running_with_access"],
        Defect::UnstableTypeIds => &["instance_types_are_stable"],
        Defect::TerminateNotIdempotent => &["terminate_is_idempotent"],
        Defect::WrongNotFoundKind => &["unknown_instance_is_not_found"],
        Defect::IgnoresLocationFilter => {
            &["created_instance_is_found", "location_filter_narrows_types"]
        }
        Defect::IgnoresUndeclaredUserData => &["undeclared_capabilities_are_unsupported"],
        Defect::DefaultOpenInbound => &["inbound_is_denied_by_default"],
        Defect::IsolatesClusterMembers => {
            &["cluster_members_reach_each_other", "outbound_is_allowed"]
        }
        Defect::StopIsIgnored => &["stop_start_round_trip"],
        Defect::TagUpdateIsIgnored => &["update_tags_replaces_caller_tags"],
        Defect::ResizeIsIgnored => &["resize_volume_grows_the_volume"],
        Defect::TerminateIsIgnored => &["terminate_reaches_terminated"],
        Defect::HidesAmbiguousOutcome => &["ambiguous_create_is_adoptable"],
        Defect::InvalidRequestAsInternal => &["invalid_request_is_rejected"],
        Defect::RateLimitNotThrottled => &["rate_limit_is_throttled"],
        Defect::RebootIsIgnored => &["reboot_returns_to_running"],
        _ => &[],
    }
}

/// Runs the cases named for `defect` against the broken fake and checks each fails on
/// its own account (not only in cleanup), while the same case passes on the plain fake.
///
/// Each case gets a fresh broken provider, so every named case catches the defect alone,
/// not thanks to what an earlier case left in the wrapper's state.
async fn assert_caught(defect: Defect) {
    let names = catching_cases(defect);
    assert!(!names.is_empty(), "{defect:?} names no catching case");

    for name in names {
        let case = Case::find(name).unwrap_or_else(|| panic!("{name} is not a case"));
        let provider: Arc<dyn Provider> = Arc::new(Broken::new(fake(), defect));

        let control = run_case(case, fake(), &config()).await;
        let report = run_case(case, provider, &config()).await;

        assert_eq!(control.outcome, Outcome::Pass, "{name} on the plain fake");
        match &report.outcome {
            Outcome::Fail(detail) => assert!(
                !detail.starts_with("cleanup:"),
                "{defect:?}: {name} failed only in cleanup: {detail}"
            ),
            other => panic!("{defect:?} was not caught by {name}: {other}"),
        }
    }
}

#[tokio::test]
async fn the_fake_passes_every_case() {
    let reports = run_all(fake(), &config()).await;

    let unpassed: Vec<String> = reports
        .iter()
        .filter(|r| r.outcome != Outcome::Pass)
        .map(|r| format!("{}: {}", r.name, r.outcome))
        .collect();
    assert!(unpassed.is_empty(), "{unpassed:#?}");
    assert_eq!(reports.len(), compute_conformance::all_cases().len());
}

#[test]
fn every_defect_names_a_catching_case() {
    for defect in Defect::ALL {
        for name in catching_cases(defect) {
            assert!(
                Case::find(name).is_some(),
                "{defect:?}: {name} is not a case"
            );
        }
        assert!(!catching_cases(defect).is_empty(), "{defect:?}");
    }
}

macro_rules! caught {
    ($($test:ident: $defect:ident,)*) => {
        $(
            #[tokio::test]
            async fn $test() {
                assert_caught(Defect::$defect).await;
            }
        )*
    };
}

caught! {
    dropped_ref_id_is_caught: DropsRefId,
    duplicate_on_repeated_ref_id_is_caught: DuplicatesRepeatedRefId,
    instance_left_after_failed_create_is_caught: LeavesInstanceAfterFailedCreate,
    unimplemented_declared_capability_is_caught: DeclaresUnimplementedCapability,
    stale_lists_are_caught: StaleLists,
    wider_firewall_rule_is_caught: WidensFirewallRules,
    talking_clusters_are_caught: LetsClustersTalk,
    running_before_address_is_caught: RunningBeforeAddress,
    unstable_type_ids_are_caught: UnstableTypeIds,
    non_idempotent_terminate_is_caught: TerminateNotIdempotent,
    wrong_not_found_kind_is_caught: WrongNotFoundKind,
    ignored_location_filter_is_caught: IgnoresLocationFilter,
    silently_dropped_user_data_is_caught: IgnoresUndeclaredUserData,
    default_open_inbound_is_caught: DefaultOpenInbound,
    isolated_cluster_members_are_caught: IsolatesClusterMembers,
    ignored_stop_is_caught: StopIsIgnored,
    ignored_tag_update_is_caught: TagUpdateIsIgnored,
    ignored_resize_is_caught: ResizeIsIgnored,
    ignored_terminate_is_caught: TerminateIsIgnored,
    hidden_ambiguous_outcome_is_caught: HidesAmbiguousOutcome,
    invalid_request_as_internal_is_caught: InvalidRequestAsInternal,
    unthrottled_rate_limit_is_caught: RateLimitNotThrottled,
    ignored_reboot_is_caught: RebootIsIgnored,
}
