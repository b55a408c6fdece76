//! Runs the conformance suite against the fake: one test per case, in `mod fake`.
//!
//! `cargo xtask conformance --provider fake` runs this file and prints the report.

use std::sync::Arc;

use compute_conformance::Config;
use compute_fake::FakeProvider;
use compute_provider::Provider;

/// A fake with short, real delays, so every wait is observed but the suite stays fast, and
/// a rate limit well above what the cases send, so only the burst case meets it.
fn provider() -> Arc<dyn Provider> {
    let fake = FakeProvider::builder()
        .short_delays()
        .rate_limit(2_000)
        .build()
        .expect("the fake's configuration is valid");
    Arc::new(fake)
}

/// Deadlines sized for an in-memory provider, so a regression fails in seconds.
fn config() -> Config {
    Config::in_memory().with_rate_limit_burst(10_000)
}

compute_conformance::suite!(fake, || async { provider() }, config = config());
