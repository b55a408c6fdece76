//! The conformance suite every compute SDK provider plugs into.
//!
//! The suite is the SDK's contract made executable: a provider that passes it can be
//! trusted by a control plane. Each case is an async function named for the behaviour it
//! checks ([`cases`]), taking `&dyn Provider` and a [`Cx`] and returning an [`Outcome`]:
//! pass, skip (naming the capability the provider lacks) or fail (saying how).
//!
//! # Plugging a provider in
//!
//! A provider crate takes this crate as a dev-dependency and adds one test file,
//! `tests/conformance.rs`, naming a factory:
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use compute_fake::FakeProvider;
//! use compute_provider::Provider;
//!
//! fn provider() -> Arc<dyn Provider> {
//!     Arc::new(FakeProvider::builder().build().expect("valid configuration"))
//! }
//!
//! compute_conformance::suite!(fake, || async { provider() });
//! # fn main() {}
//! ```
//!
//! [`suite!`] expands the one list of cases into a module named after the provider with
//! one `#[tokio::test]` per case, so `cargo test fake::terminate_is_idempotent` runs one.
//! The factory runs once per test, so every case gets a fresh provider. An optional
//! `config = <expr>` argument passes a [`Config`] (deadlines, the type to create).
//!
//! A cloud's suite is generated with `live`: `suite!(live lambda, factory)` marks every
//! test `#[ignore = "needs lambda credentials"]`; `cargo xtask conformance --live lambda`
//! runs them with `--ignored` and `COMPUTE_CONFORMANCE_LIVE=1`; started without it (a
//! bare `cargo test -- --ignored`), each panics, naming that command, before it builds
//! its provider.
//!
//! # What a run creates
//!
//! Every instance a case creates has a fresh ref id `<run>-<case>-<n>` and the tags
//! [`TAG_RUN`] and [`TAG_CASE`]. After the case, whatever happened (failure, panic,
//! deadline), the runner terminates what the case recorded and what the provider lists
//! with both tags, checking the tags itself so it never touches anything else.
//!
//! # Reports
//!
//! When `COMPUTE_CONFORMANCE_REPORT` names a file, each test appends its result to it:
//! `{"provider": "fake", "cases": [{"name", "result": "pass"|"fail"|"skip", "millis",
//! "detail"}]}`. `cargo xtask conformance --provider fake` sets it and prints the table.
//!
//! # Proof of teeth
//!
//! [`broken`] wraps any provider with one deliberate defect; this crate's tests check
//! that every defect fails a named case and that the unmodified fake passes them all.

pub mod broken;
pub mod cases;
mod cx;
mod outcome;
mod runner;
mod wait;

pub use cx::{Config, Cx, TAG_CASE, TAG_RUN};
pub use outcome::{CaseReport, Check, Outcome};
pub use runner::{
    Case, CaseFn, CaseFuture, LIVE_ENV, REPORT_ENV, all_cases, append_report, run_all, run_case,
};

#[doc(hidden)]
pub mod __private {
    pub use tokio;

    pub use crate::runner::__run_test as run_test;
}

/// Expands the suite into one test per case for a provider.
///
/// Forms:
/// - `suite!(name, factory)` — tests in `mod name`, run by plain `cargo test`;
/// - `suite!(name, factory, config = expr)` — with a [`Config`];
/// - `suite!(live name, factory)` and `suite!(live name, factory, config = expr)` — each
///   test `#[ignore = "needs <name> credentials"]`, for `cargo xtask conformance --live`.
///
/// `factory` is a closure returning a future of `Arc<dyn Provider>`, for example
/// `|| async { Arc::new(MyProvider::new()) as Arc<dyn Provider> }`; it runs once per test.
/// The generated module imports the file's items (`use super::*`), so the factory may
/// use them, and reaches tokio through this crate, so no tokio dev-dependency is needed.
#[macro_export]
macro_rules! suite {
    (live $name:ident, $factory:expr, config = $config:expr $(,)?) => {
        $crate::__cases!(tests live $name ($factory) ($config));
    };
    (live $name:ident, $factory:expr $(,)?) => {
        $crate::__cases!(tests live $name ($factory) ($crate::Config::new()));
    };
    ($name:ident, $factory:expr, config = $config:expr $(,)?) => {
        $crate::__cases!(tests local $name ($factory) ($config));
    };
    ($name:ident, $factory:expr $(,)?) => {
        $crate::__cases!(tests local $name ($factory) ($crate::Config::new()));
    };
}

/// Holds the one list of cases and hands it to [`__expand_cases!`] with a mode.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases {
    ($($mode:tt)*) => {
        $crate::__expand_cases! { [$($mode)*]
            locations_are_listed_and_unique,
            available_locations_are_a_subset,
            instance_type_ids_are_unique,
            instance_types_are_stable,
            type_name_filter_finds_the_type,
            location_filter_narrows_types,
            instance_types_have_prices_and_gpus,
            create_echoes_request,
            created_instance_is_found,
            instance_reaches_running_with_access,
            create_is_idempotent_by_ref_id,
            capacity_failure_leaves_nothing,
            quota_failure_leaves_nothing,
            mid_create_failure_leaves_nothing,
            ambiguous_create_is_adoptable,
            terminate_reaches_terminated,
            terminate_is_idempotent,
            unknown_instance_is_not_found,
            invalid_request_is_rejected,
            rate_limit_is_throttled,
            declared_capabilities_work,
            undeclared_capabilities_are_unsupported,
            stop_start_round_trip,
            reboot_returns_to_running,
            resize_volume_grows_the_volume,
            change_type_applies_the_new_type,
            update_tags_replaces_caller_tags,
            inbound_is_denied_by_default,
            firewall_rule_opens_exactly_its_range,
            outbound_is_allowed,
            cluster_members_reach_each_other,
            clusters_are_isolated,
            revoked_rule_closes_again,
        }
    };
}

/// Turns the list of cases into the runner's table or into a provider's tests.
#[doc(hidden)]
#[macro_export]
macro_rules! __expand_cases {
    ([table] $($case:ident,)*) => {
        &[$(
            $crate::Case::__new(stringify!($case), |p, cx| {
                ::std::boxed::Box::pin(async move { $crate::cases::$case(&*p, &cx).await })
            }),
        )*]
    };
    ([tests local $name:ident ($factory:expr) ($config:expr)] $($case:ident,)*) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use $crate::__private::tokio;

            $(
                #[tokio::test(crate = "tokio")]
                async fn $case() {
                    $crate::__private::run_test(
                        stringify!($name), false, stringify!($case), $factory, $config,
                    ).await;
                }
            )*
        }
    };
    ([tests live $name:ident ($factory:expr) ($config:expr)] $($case:ident,)*) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use $crate::__private::tokio;

            $(
                #[tokio::test(crate = "tokio")]
                #[ignore = concat!("needs ", stringify!($name), " credentials")]
                async fn $case() {
                    $crate::__private::run_test(
                        stringify!($name), true, stringify!($case), $factory, $config,
                    ).await;
                }
            )*
        }
    };
}
