//! The retry layer: a provider that retries another provider's calls with backoff.
//!
//! [`Retrying`] wraps any provider and is a provider itself, with every optional
//! capability of the inner one (and only those). A failed call is retried when all hold:
//!
//! 1. its error is retryable ([`Retry::Transient`] or [`Retry::Throttled`]);
//! 2. repeating the call is safe:
//!    - reads (`locations`, `instance_types`, `get_instance`, `list_instances`,
//!      `list_images`, `quotas`, `probe`) and calls that set a target state
//!      (`terminate_instance`, `stop_instance`, `start_instance`, `resize_volume`,
//!      `change_instance_type`, `update_tags`, `revoke_firewall_rules`, `clear_faults`)
//!      are always safe;
//!    - **`create_instance`** is retried only when the error's outcome is
//!      [`Outcome::NotApplied`], or when the error states no outcome and the provider
//!      declares [`Capability::CreateIdempotentInstance`] (a repeat with the same ref id
//!      then returns the first instance). An error whose outcome is
//!      [`Outcome::Unknown`] is **never** retried, whatever the provider declares: the
//!      caller must look the instance up by ref id
//!      ([`find_by_ref_id`](crate::find_by_ref_id)), as
//!      [`create_group`](crate::create_group) does;
//!    - the other calls that are not safe to repeat (`reboot_instance`,
//!      `add_firewall_rules`, `inject`) are retried only on [`Outcome::NotApplied`];
//! 3. attempts remain (`max_attempts` counts the first call) and the next delay still fits
//!    in `max_elapsed`.
//!
//! Delays grow exponentially from `initial_backoff` by `multiplier` up to `max_backoff`,
//! with full jitter (a uniform draw between zero and that bound) from a seedable RNG. A
//! [`Retry::Throttled`] error with a retry-after waits at least that long. When the layer
//! gives up it returns the last error with [`Error::with_attempts`] set. Each retry is
//! logged at `info` with the operation, attempt, delay and error kind, and the attempt
//! number is recorded into the current span's `attempt` field (the span
//! [`Instrumented`](crate::Instrumented) opens, when it wraps this layer).

use std::{
    collections::hash_map::RandomState,
    fmt,
    future::Future,
    hash::{BuildHasher, Hasher},
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use compute_types::{
    Bytes, Capabilities, Capability, Error, FirewallRule, FirewallRuleId, Image, Instance,
    InstanceId, InstanceType, InstanceTypeId, Location, LocationId, Outcome, ProviderId, Quota,
    Result, Retry, Tags,
};
use rand::{Rng, SeedableRng, rngs::SmallRng};
use tokio::time::{Instant, sleep};
use tracing::{Span, info};

use crate::{
    ApiScope, ChangeInstanceType, CreateInstance, Fault, FaultInjection, Firewall, Images,
    InstanceTypeFilter, ListInstances, LocationsQuery, NetworkProbe, Probe, ProbeResult, Provider,
    QuotaInfo, Reboot, ResizeVolume, StopStart, UpdateTags,
};

/// Settings of the retry layer.
///
/// The default makes at most 5 attempts within 2 minutes, with delays bounded by 0.5 s,
/// 1 s, 2 s, 4 s (doubling, capped at 30 s), and a seed drawn from the OS.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Most attempts, the first call included; 1 disables retries.
    pub max_attempts: u32,
    /// Upper bound of the first delay.
    pub initial_backoff: Duration,
    /// Largest upper bound of any delay (a retry-after may exceed it).
    pub max_backoff: Duration,
    /// Growth of the bound per attempt.
    pub multiplier: u32,
    /// Longest time from the first call to the start of the last attempt.
    pub max_elapsed: Duration,
    /// Seed of the jitter RNG; `None` draws one from the OS. Set it for repeatable tests.
    pub seed: Option<u64>,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            multiplier: 2,
            max_elapsed: Duration::from_secs(120),
            seed: None,
        }
    }
}

impl RetryConfig {
    /// The default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the most attempts (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the first and largest delay bounds.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// Sets the growth of the bound per attempt (at least 1).
    pub fn with_multiplier(mut self, multiplier: u32) -> Self {
        self.multiplier = multiplier.max(1);
        self
    }

    /// Sets the longest time spent retrying.
    pub fn with_max_elapsed(mut self, max: Duration) -> Self {
        self.max_elapsed = max;
        self
    }

    /// Seeds the jitter RNG.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Returns the upper bound of the delay after failed attempt `attempt` (1-based).
    pub fn backoff_bound(&self, attempt: u32) -> Duration {
        let factor = self
            .multiplier
            .checked_pow(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Builds [`Retrying`] providers with one configuration.
///
/// ```
/// use std::time::Duration;
///
/// use compute_provider::{RetryConfig, RetryLayer};
///
/// let layer = RetryLayer::new(RetryConfig::new().with_max_attempts(3).with_seed(7));
/// assert_eq!(layer.config().max_attempts, 3);
/// assert_eq!(layer.config().backoff_bound(3), Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Default)]
pub struct RetryLayer {
    config: RetryConfig,
}

impl RetryLayer {
    /// A layer with `config`.
    pub fn new(config: RetryConfig) -> Self {
        Self { config }
    }

    /// Returns the configuration.
    pub fn config(&self) -> &RetryConfig {
        &self.config
    }

    /// Wraps `inner`.
    pub fn layer<P: Provider + ?Sized>(&self, inner: Arc<P>) -> Retrying<P> {
        Retrying::new(inner, self.config.clone())
    }
}

/// A provider that retries the calls of `inner`; see the [module docs](crate::retry) for the rules.
pub struct Retrying<P: ?Sized = dyn Provider> {
    inner: Arc<P>,
    config: RetryConfig,
    rng: Mutex<SmallRng>,
}

impl<P: Provider + ?Sized> fmt::Debug for Retrying<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retrying")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// How safe it is to repeat a call that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Safety {
    /// Reads, and calls that set a target state.
    Repeatable,
    /// `create_instance`: see the module docs.
    Create,
    /// Calls whose repeat does the thing twice.
    Once,
}

impl<P: Provider + ?Sized> Retrying<P> {
    /// Wraps `inner` with `config`.
    pub fn new(inner: Arc<P>, config: RetryConfig) -> Self {
        let seed = config.seed.unwrap_or_else(os_seed);
        Self {
            inner,
            config,
            rng: Mutex::new(SmallRng::seed_from_u64(seed)),
        }
    }

    /// Returns the wrapped provider.
    pub fn inner(&self) -> &Arc<P> {
        &self.inner
    }

    /// Returns the configuration.
    pub fn config(&self) -> &RetryConfig {
        &self.config
    }

    fn unsupported(&self, operation: &str) -> Error {
        Error::unsupported(self.inner.id().as_str(), operation)
    }

    /// Returns true when `err` from an operation of `safety` may be retried.
    fn may_retry(&self, err: &Error, safety: Safety) -> bool {
        if !err.retry().is_retryable() {
            return false;
        }
        match safety {
            Safety::Repeatable => true,
            Safety::Once => matches!(err.outcome(), Some(Outcome::NotApplied)),
            Safety::Create => match err.outcome() {
                Some(Outcome::NotApplied) => true,
                None => self
                    .inner
                    .create_features()
                    .has(Capability::CreateIdempotentInstance),
                Some(_) => false,
            },
        }
    }

    /// Draws the delay after failed attempt `attempt`.
    fn delay(&self, attempt: u32, retry: Retry) -> Duration {
        let bound = self.config.backoff_bound(attempt);
        let bound_nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
        let jittered = {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            Duration::from_nanos(rng.random_range(0..=bound_nanos))
        };
        match retry {
            Retry::Throttled { after: Some(after) } => jittered.max(after),
            _ => jittered,
        }
    }

    /// Runs `call` until it succeeds or may not be retried any more.
    async fn run<T, F, Fut>(
        &self,
        operation: &'static str,
        safety: Safety,
        mut call: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T>> + Send,
        T: Send,
    {
        let start = Instant::now();
        let mut attempt: u32 = 1;
        loop {
            Span::current().record("attempt", attempt);
            let err = match call().await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };

            let elapsed = start.elapsed();
            if !self.may_retry(&err, safety) {
                return Err(if attempt > 1 {
                    err.with_attempts(attempt, elapsed)
                } else {
                    err
                });
            }
            let delay = self.delay(attempt, err.retry());
            let out_of_time = elapsed.saturating_add(delay) > self.config.max_elapsed;
            if attempt >= self.config.max_attempts || out_of_time {
                return Err(err.with_attempts(attempt, elapsed));
            }

            info!(
                operation,
                attempt,
                max_attempts = self.config.max_attempts,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error_kind = %err.kind(),
                "retrying provider call"
            );
            sleep(delay).await;
            attempt += 1;
        }
    }
}

/// Draws a seed from the OS through the standard library's randomly keyed hasher.
fn os_seed() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0x5eed);
    hasher.finish()
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> Provider for Retrying<P> {
    fn id(&self) -> &ProviderId {
        self.inner.id()
    }

    fn api_scope(&self) -> ApiScope {
        self.inner.api_scope()
    }

    fn create_features(&self) -> Capabilities {
        self.inner.create_features()
    }

    async fn locations(&self, query: &LocationsQuery) -> Result<Vec<Location>> {
        let inner = &self.inner;
        self.run("locations", Safety::Repeatable, || inner.locations(query))
            .await
    }

    async fn instance_types(&self, filter: &InstanceTypeFilter) -> Result<Vec<InstanceType>> {
        let inner = &self.inner;
        self.run("instance_types", Safety::Repeatable, || {
            inner.instance_types(filter)
        })
        .await
    }

    async fn create_instance(&self, request: &CreateInstance) -> Result<Instance> {
        let inner = &self.inner;
        self.run("create_instance", Safety::Create, || {
            inner.create_instance(request)
        })
        .await
    }

    async fn get_instance(&self, id: &InstanceId) -> Result<Instance> {
        let inner = &self.inner;
        self.run("get_instance", Safety::Repeatable, || {
            inner.get_instance(id)
        })
        .await
    }

    async fn list_instances(&self, filter: &ListInstances) -> Result<Vec<Instance>> {
        let inner = &self.inner;
        self.run("list_instances", Safety::Repeatable, || {
            inner.list_instances(filter)
        })
        .await
    }

    async fn terminate_instance(&self, id: &InstanceId) -> Result<()> {
        let inner = &self.inner;
        self.run("terminate_instance", Safety::Repeatable, || {
            inner.terminate_instance(id)
        })
        .await
    }

    forward_capability_accessors!();
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> StopStart for Retrying<P> {
    async fn stop_instance(&self, id: &InstanceId) -> Result<()> {
        let op = "stop_instance";
        let cap = self
            .inner
            .stop_start()
            .ok_or_else(|| self.unsupported(op))?;
        self.run(op, Safety::Repeatable, || cap.stop_instance(id))
            .await
    }

    async fn start_instance(&self, id: &InstanceId) -> Result<()> {
        let op = "start_instance";
        let cap = self
            .inner
            .stop_start()
            .ok_or_else(|| self.unsupported(op))?;
        self.run(op, Safety::Repeatable, || cap.start_instance(id))
            .await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> Reboot for Retrying<P> {
    async fn reboot_instance(&self, id: &InstanceId) -> Result<()> {
        let op = "reboot_instance";
        let cap = self.inner.reboot().ok_or_else(|| self.unsupported(op))?;
        self.run(op, Safety::Once, || cap.reboot_instance(id)).await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> ResizeVolume for Retrying<P> {
    async fn resize_volume(&self, id: &InstanceId, volume_id: &str, size: Bytes) -> Result<()> {
        let op = "resize_volume";
        let cap = self
            .inner
            .resize_volume()
            .ok_or_else(|| self.unsupported(op))?;
        self.run(op, Safety::Repeatable, || {
            cap.resize_volume(id, volume_id, size)
        })
        .await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> ChangeInstanceType for Retrying<P> {
    async fn change_instance_type(&self, id: &InstanceId, new_type: &InstanceTypeId) -> Result<()> {
        let op = "change_instance_type";
        let cap = self
            .inner
            .change_type()
            .ok_or_else(|| self.unsupported(op))?;
        self.run(op, Safety::Repeatable, || {
            cap.change_instance_type(id, new_type)
        })
        .await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> Firewall for Retrying<P> {
    async fn add_firewall_rules(
        &self,
        id: &InstanceId,
        rules: &[FirewallRule],
    ) -> Result<Vec<FirewallRule>> {
        let op = "add_firewall_rules";
        let cap = self.inner.firewall().ok_or_else(|| self.unsupported(op))?;
        self.run(op, Safety::Once, || cap.add_firewall_rules(id, rules))
            .await
    }

    async fn revoke_firewall_rules(
        &self,
        id: &InstanceId,
        rule_ids: &[FirewallRuleId],
    ) -> Result<()> {
        let op = "revoke_firewall_rules";
        let cap = self.inner.firewall().ok_or_else(|| self.unsupported(op))?;
        self.run(op, Safety::Repeatable, || {
            cap.revoke_firewall_rules(id, rule_ids)
        })
        .await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> UpdateTags for Retrying<P> {
    async fn update_tags(&self, id: &InstanceId, tags: &Tags) -> Result<()> {
        let op = "update_tags";
        let cap = self
            .inner
            .update_tags()
            .ok_or_else(|| self.unsupported(op))?;
        self.run(op, Safety::Repeatable, || cap.update_tags(id, tags))
            .await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> Images for Retrying<P> {
    async fn list_images(&self, location: &LocationId) -> Result<Vec<Image>> {
        let op = "list_images";
        let cap = self.inner.images().ok_or_else(|| self.unsupported(op))?;
        self.run(op, Safety::Repeatable, || cap.list_images(location))
            .await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> QuotaInfo for Retrying<P> {
    async fn quotas(&self, location: &LocationId) -> Result<Vec<Quota>> {
        let op = "quotas";
        let cap = self.inner.quota().ok_or_else(|| self.unsupported(op))?;
        self.run(op, Safety::Repeatable, || cap.quotas(location))
            .await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> NetworkProbe for Retrying<P> {
    async fn probe(&self, probe: &Probe) -> Result<ProbeResult> {
        let op = "probe";
        let cap = self
            .inner
            .network_probe()
            .ok_or_else(|| self.unsupported(op))?;
        self.run(op, Safety::Repeatable, || cap.probe(probe)).await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> FaultInjection for Retrying<P> {
    async fn inject(&self, fault: Fault) -> Result<()> {
        let op = "inject";
        let cap = self
            .inner
            .fault_injection()
            .ok_or_else(|| self.unsupported(op))?;
        self.run(op, Safety::Once, || cap.inject(fault.clone()))
            .await
    }

    async fn clear_faults(&self) -> Result<()> {
        let op = "clear_faults";
        let cap = self
            .inner
            .fault_injection()
            .ok_or_else(|| self.unsupported(op))?;
        self.run(op, Safety::Repeatable, || cap.clear_faults())
            .await
    }
}

#[cfg(test)]
mod tests {
    use compute_types::{ErrorKind, InstanceState};

    use super::*;
    use crate::{
        ProviderExt,
        testing::{Fault as TestFault, TestProvider, request},
    };

    fn config() -> RetryConfig {
        RetryConfig::new()
            .with_max_attempts(4)
            .with_backoff(Duration::from_millis(100), Duration::from_secs(2))
            .with_seed(42)
    }

    fn wrap(p: &Arc<TestProvider>) -> Retrying<TestProvider> {
        Retrying::new(Arc::clone(p), config())
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_errors_then_succeeds() {
        let p = TestProvider::new().arc();
        p.fail_next("list_instances", TestFault::new(ErrorKind::Unavailable));
        p.fail_next("list_instances", TestFault::new(ErrorKind::Timeout));
        let r = wrap(&p);

        let listed = r.list_instances(&ListInstances::all()).await;

        assert!(listed.unwrap().is_empty());
        assert_eq!(p.calls("list_instances"), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn stops_at_max_attempts_with_the_last_error() {
        let p = TestProvider::new().arc();
        for _ in 0..10 {
            p.fail_next("get_instance", TestFault::new(ErrorKind::Unavailable));
        }
        let r = wrap(&p);

        let err = r
            .get_instance(&InstanceId::new("i-1").unwrap())
            .await
            .unwrap_err();

        assert_eq!(p.calls("get_instance"), 4);
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(err.attempts(), Some(4));
        assert!(err.to_string().ends_with("after 4 attempts"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn stops_when_the_next_delay_exceeds_max_elapsed() {
        let p = TestProvider::new().arc();
        let throttled = TestFault::new(ErrorKind::RateLimited).retry(Retry::Throttled {
            after: Some(Duration::from_secs(300)),
        });
        p.fail_next("locations", throttled);
        let r = wrap(&p);
        let start = Instant::now();

        let err = r.locations(&LocationsQuery::all()).await.unwrap_err();

        assert_eq!(p.calls("locations"), 1);
        assert_eq!(err.attempts(), Some(1));
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn honours_retry_after() {
        let p = TestProvider::new().arc();
        let after = Duration::from_secs(7);
        let throttled =
            TestFault::new(ErrorKind::RateLimited).retry(Retry::Throttled { after: Some(after) });
        p.fail_next("list_instances", throttled);
        let r = wrap(&p);
        let start = Instant::now();

        r.list_instances(&ListInstances::all()).await.unwrap();

        assert!(start.elapsed() >= after, "{:?}", start.elapsed());
        assert_eq!(p.calls("list_instances"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn never_retries_a_create_with_an_unknown_outcome() {
        let p = TestProvider::new().idempotent().arc();
        p.state().create_faults.insert(1, TestFault::ambiguous());
        let r = wrap(&p);

        let err = r.create_instance(&request("a")).await.unwrap_err();

        assert!(err.is_outcome_unknown());
        assert_eq!(p.calls("create_instance"), 1);
        assert_eq!(
            p.live().len(),
            1,
            "the ambiguous create did make an instance"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retries_a_create_only_when_not_applied_or_idempotent() {
        let unstated = TestFault::new(ErrorKind::Unavailable);
        let plain = TestProvider::new().arc();
        plain.fail_next("create_instance", unstated.clone());
        let idempotent = TestProvider::new().idempotent().arc();
        idempotent.fail_next("create_instance", unstated);
        let not_applied = TestProvider::new().arc();
        not_applied.fail_next(
            "create_instance",
            TestFault::new(ErrorKind::Unavailable).not_applied(),
        );

        let plain_result = wrap(&plain).create_instance(&request("a")).await;
        let idem_result = wrap(&idempotent).create_instance(&request("a")).await;
        let not_applied_result = wrap(&not_applied).create_instance(&request("a")).await;

        assert!(plain_result.is_err());
        assert_eq!(plain.calls("create_instance"), 1);
        assert_eq!(idem_result.unwrap().state(), InstanceState::Pending);
        assert_eq!(idempotent.calls("create_instance"), 2);
        assert!(not_applied_result.is_ok());
        assert_eq!(not_applied.calls("create_instance"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn never_retries_invalid_requests() {
        let p = TestProvider::new().arc();
        let invalid = TestFault::new(ErrorKind::InvalidRequest).not_applied();
        p.fail_next("create_instance", invalid.clone());
        p.fail_next("list_instances", invalid);
        let r = wrap(&p);

        let create = r.create_instance(&request("a")).await.unwrap_err();
        let list = r.list_instances(&ListInstances::all()).await.unwrap_err();

        assert_eq!(create.kind(), ErrorKind::InvalidRequest);
        assert_eq!(list.attempts(), None);
        assert_eq!(p.calls("create_instance"), 1);
        assert_eq!(p.calls("list_instances"), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn forwards_exactly_the_inner_capabilities_and_retries_them() {
        let bare = TestProvider::new().arc();
        let able = TestProvider::new().with_stop_start().arc();
        let inst = able.create_instance(&request("a")).await.unwrap();
        able.fail_next("stop_instance", TestFault::new(ErrorKind::Unavailable));
        let r = wrap(&able);

        let stopped = r.stop_start().unwrap().stop_instance(inst.id()).await;

        assert!(wrap(&bare).stop_start().is_none());
        assert_eq!(wrap(&bare).capabilities(), bare.capabilities());
        assert!(r.capabilities().has(Capability::StopStartInstance));
        stopped.unwrap();
        assert_eq!(able.calls("stop_instance"), 2);
        let direct = StopStart::stop_instance(&wrap(&bare), inst.id()).await;
        assert_eq!(direct.unwrap_err().kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn jitter_stays_within_the_bound_and_is_seeded() {
        let p = TestProvider::new().arc();
        let a = wrap(&p);
        let b = wrap(&p);

        let draws_a: Vec<Duration> = (1..=6).map(|n| a.delay(n, Retry::Transient)).collect();
        let draws_b: Vec<Duration> = (1..=6).map(|n| b.delay(n, Retry::Transient)).collect();

        assert_eq!(draws_a, draws_b);
        for (n, d) in (1..=6).zip(&draws_a) {
            assert!(*d <= config().backoff_bound(n), "attempt {n}: {d:?}");
        }
        assert_eq!(config().backoff_bound(1), Duration::from_millis(100));
        assert_eq!(config().backoff_bound(40), Duration::from_secs(2));
    }
}
