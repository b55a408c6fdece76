//! Expands `suite!(live …)` against the fake, so the live branch of the macro is compiled
//! and checked: every case becomes an ignored test, run only with `--ignored` and
//! `COMPUTE_CONFORMANCE_LIVE=1`.

use std::{collections::BTreeSet, process::Command, sync::Arc};

use compute_conformance::{Case, Config, all_cases};
use compute_fake::FakeProvider;
use compute_provider::Provider;

/// The fake standing in for a cloud, with short delays.
fn provider() -> Arc<dyn Provider> {
    let fake = FakeProvider::builder()
        .short_delays()
        .rate_limit(2_000)
        .build()
        .expect("the fake builds");
    Arc::new(fake)
}

fn config() -> Config {
    Config::in_memory().with_rate_limit_burst(10_000)
}

compute_conformance::suite!(live fakecloud, || async { provider() }, config = config());

/// Lists this test binary's ignored tests through libtest and checks they are exactly
/// the suite's cases, in `mod fakecloud`.
#[test]
fn every_case_is_an_ignored_live_test() {
    let exe = std::env::current_exe().expect("the test binary");

    let output = Command::new(exe)
        .args(["--list", "--ignored", "--format", "terse"])
        .output()
        .expect("the test binary lists its tests");

    assert!(output.status.success(), "{output:?}");
    let listed: BTreeSet<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_owned)
        .collect();
    let expected: BTreeSet<String> = all_cases()
        .iter()
        .map(|case| format!("fakecloud::{}", Case::name(case)))
        .collect();
    assert_eq!(listed, expected);
}
