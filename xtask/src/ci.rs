//! `cargo xtask ci`: every check CI runs, in order, stopping at the first failure.

use std::path::Path;

use crate::{
    Result,
    cmd::{self, cargo},
    conformance, tidy,
};

/// Property tests in `compute-net` must run at least this many cases in CI.
const CI_PROPTEST_CASES: u64 = 10_000;

/// Runs the CI steps in order and returns the first failure.
pub(crate) fn run(root: &Path) -> Result {
    cmd::run(cargo(root).args(["fmt", "--all", "--check"]))?;
    cmd::run(
        cargo(root)
            .args(["clippy", "--workspace", "--all-targets", "--all-features"])
            .args(["--", "-D", "warnings"]),
    )?;

    let asked = std::env::var("PROPTEST_CASES").ok();
    let cases = proptest_cases(asked.as_deref());
    if asked.is_some_and(|a| a.trim() != cases.to_string()) {
        println!("==> PROPTEST_CASES below {CI_PROPTEST_CASES} is ignored in ci; using {cases}");
    }
    let mut test = cargo(root);
    test.args(["test", "--workspace", "--all-targets"]);
    test.env("PROPTEST_CASES", cases.to_string());
    cmd::run(&mut test)?;

    cmd::run(cargo(root).args(["test", "--workspace", "--doc"]))?;
    let mut doc = cargo(root);
    doc.env("RUSTDOCFLAGS", "-D warnings");
    cmd::run(doc.args(["doc", "--workspace", "--no-deps"]))?;

    println!("==> cargo xtask tidy");
    tidy::run(root)?;

    println!("==> cargo xtask conformance --provider fake");
    conformance::run_suite(root, "fake", conformance::Mode::Local)?;

    deny(root)?;
    println!("==> ci passed");
    Ok(())
}

/// The property case count for CI: an explicit `PROPTEST_CASES` counts only when it asks
/// for at least [`CI_PROPTEST_CASES`], so a developer can ask for more but CI never runs
/// fewer.
fn proptest_cases(asked: Option<&str>) -> u64 {
    asked
        .and_then(|text| text.trim().parse::<u64>().ok())
        .filter(|&n| n >= CI_PROPTEST_CASES)
        .unwrap_or(CI_PROPTEST_CASES)
}

/// `cargo deny check`, only where cargo-deny is installed.
fn deny(root: &Path) -> Result {
    if cmd::succeeds(cargo(root).args(["deny", "--version"])) {
        cmd::run(cargo(root).args(["deny", "check"]))
    } else {
        println!("==> cargo deny check: skipped, cargo-deny is not installed");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proptest_cases_never_drop_below_the_ci_floor() {
        let cases = [
            (None, 10_000),
            (Some("100"), 10_000),
            (Some("9999"), 10_000),
            (Some("lots"), 10_000),
            (Some("10000"), 10_000),
            (Some(" 50000 "), 50_000),
        ];

        for (asked, expected) in cases {
            assert_eq!(proptest_cases(asked), expected, "{asked:?}");
        }
    }
}
