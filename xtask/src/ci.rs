//! `cargo xtask ci`: every check CI runs, in order, stopping at the first failure.

use std::path::Path;

use crate::{
    Result,
    cmd::{self, cargo},
    conformance, tidy,
};

/// Property tests in `compute-net` must run at least this many cases in CI.
const CI_PROPTEST_CASES: &str = "10000";

/// Runs the CI steps in order and returns the first failure.
pub(crate) fn run(root: &Path) -> Result {
    cmd::run(cargo(root).args(["fmt", "--all", "--check"]))?;
    cmd::run(
        cargo(root)
            .args(["clippy", "--workspace", "--all-targets", "--all-features"])
            .args(["--", "-D", "warnings"]),
    )?;

    // An explicit PROPTEST_CASES wins, so a developer can ask for more locally.
    let mut test = cargo(root);
    test.args(["test", "--workspace", "--all-targets"]);
    if std::env::var_os("PROPTEST_CASES").is_none() {
        test.env("PROPTEST_CASES", CI_PROPTEST_CASES);
    }
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

/// `cargo deny check`, only where cargo-deny is installed.
fn deny(root: &Path) -> Result {
    if cmd::succeeds(cargo(root).args(["deny", "--version"])) {
        cmd::run(cargo(root).args(["deny", "check"]))
    } else {
        println!("==> cargo deny check: skipped, cargo-deny is not installed");
        Ok(())
    }
}
