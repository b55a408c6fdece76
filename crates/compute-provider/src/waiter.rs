//! Waiters: poll a provider until instances reach a lifecycle state, or are gone.
//!
//! Time goes through `tokio::time` (`sleep` and `Instant`), so tests drive it with
//! `#[tokio::test(start_paused = true)]` and a ten-minute wait takes no real time.
//!
//! A wait ends in one of three ways:
//! - the target state is seen: the instance is returned;
//! - the deadline passes: [`ErrorKind::Timeout`] naming the instance, the target and the
//!   last state seen ([`WaitError::TimedOut`]);
//! - the instance reaches a terminal state other than the target, from which it never
//!   moves by itself (waiting for `running` and seeing `failed`): [`ErrorKind::Internal`]
//!   naming the state reached ([`WaitError::TerminalState`]). `Internal` is used because
//!   the provider gave up on the instance, which is neither the caller's fault nor a passing
//!   condition; the error's retry class is [`Retry::Never`].
//!
//! Both typed cases are reachable from the returned [`Error`] with [`WaitError::of`].

use std::time::Duration;

use compute_types::{Error, ErrorKind, Instance, InstanceId, InstanceState, Result, Retry};
use tokio::time::{Instant, sleep};
use tracing::debug;

use crate::Provider;

/// How often to poll and how long to wait.
///
/// The default polls every 5 seconds for at most 15 minutes (GPU instances often take
/// several minutes to boot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitOptions {
    /// Time between two polls of one instance.
    pub poll_interval: Duration,
    /// Longest time to wait, counted from the start of the wait.
    pub timeout: Duration,
    /// A fixed point in time to stop at, when it comes before `timeout` runs out. Useful
    /// to share one deadline across several waits.
    pub deadline: Option<Instant>,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(5),
            timeout: Duration::from_secs(15 * 60),
            deadline: None,
        }
    }
}

impl WaitOptions {
    /// Waits at most `timeout`, polling at the default interval.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            ..Self::default()
        }
    }

    /// Sets the poll interval. A zero interval is raised to one millisecond so a wait never
    /// spins.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Sets the timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets a fixed deadline.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Returns the deadline of a wait starting at `start`: the earlier of `start + timeout`
    /// and the fixed deadline.
    pub fn deadline_from(&self, start: Instant) -> Instant {
        // A century stands in for "no timeout" and keeps the addition from overflowing.
        let by_timeout = start + self.timeout.min(Duration::from_secs(100 * 365 * 24 * 3600));
        match self.deadline {
            Some(fixed) => fixed.min(by_timeout),
            None => by_timeout,
        }
    }

    fn interval(&self) -> Duration {
        self.poll_interval.max(Duration::from_millis(1))
    }
}

/// Why a wait failed, reachable from the returned [`Error`] through [`WaitError::of`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    /// The deadline passed before the instance reached the target state.
    #[error("instance {id} did not reach {target} in time (last seen: {})", seen(*last_seen))]
    TimedOut {
        /// The instance.
        id: InstanceId,
        /// The state waited for.
        target: InstanceState,
        /// The last state seen, or `None` when no poll succeeded.
        last_seen: Option<InstanceState>,
    },
    /// The instance reached a terminal state other than the target.
    #[error("instance {id} reached {reached} instead of {target}")]
    TerminalState {
        /// The instance.
        id: InstanceId,
        /// The state waited for.
        target: InstanceState,
        /// The terminal state it reached.
        reached: InstanceState,
        /// The provider's messages about the instance, e.g. why it failed.
        messages: Vec<String>,
    },
}

fn seen(state: Option<InstanceState>) -> &'static str {
    state.map_or("never", InstanceState::as_str)
}

impl WaitError {
    /// Returns the wait failure inside `err`, when `err` came from a waiter.
    pub fn of(err: &Error) -> Option<&Self> {
        std::error::Error::source(err).and_then(|s| s.downcast_ref::<Self>())
    }

    fn into_error(self, operation: &str) -> Error {
        let (kind, message) = match &self {
            Self::TimedOut { .. } => (ErrorKind::Timeout, self.to_string()),
            Self::TerminalState { messages, .. } if !messages.is_empty() => {
                let why = messages.join("; ");
                (ErrorKind::Internal, format!("{self}: {why}"))
            }
            Self::TerminalState { .. } => (ErrorKind::Internal, self.to_string()),
        };
        let retry = match kind {
            ErrorKind::Timeout => Retry::Transient,
            _ => Retry::Never,
        };
        Error::new(kind, message)
            .with_retry(retry)
            .with_operation(operation)
            .with_source(self)
    }
}

/// Polls `id` until it reaches `target`, and returns it as last seen.
///
/// Retryable errors from `get_instance` (rate limits, outages, timeouts) are absorbed and
/// polling goes on until the deadline. To wait for termination use [`wait_until_gone`],
/// which also accepts the instance disappearing.
///
/// # Errors
/// - [`ErrorKind::Timeout`] ([`WaitError::TimedOut`]) when the deadline passes;
/// - [`ErrorKind::Internal`] ([`WaitError::TerminalState`]) when the instance reaches
///   `terminated` or `failed` and that is not `target`;
/// - any non-retryable error of `get_instance`, e.g. [`ErrorKind::NotFound`].
pub async fn wait_for_state(
    provider: &dyn Provider,
    id: &InstanceId,
    target: InstanceState,
    options: &WaitOptions,
) -> Result<Instance> {
    let mut all = wait_for_all(provider, std::slice::from_ref(id), target, options).await?;
    all.pop()
        .ok_or_else(|| Error::internal("waiter lost the instance it waited for"))
}

/// Polls every instance in `ids` until each reaches `target`, under one shared deadline,
/// and returns them in the order of `ids`.
///
/// Each round polls the instances that have not arrived yet, one after another, then
/// sleeps one poll interval. The first failure ends the wait.
///
/// # Errors
/// As [`wait_for_state`], for the first instance that fails.
pub async fn wait_for_all(
    provider: &dyn Provider,
    ids: &[InstanceId],
    target: InstanceState,
    options: &WaitOptions,
) -> Result<Vec<Instance>> {
    let waited = wait_for_all_with(provider, ids, target, options, &|_| {}).await;
    waited.map_err(|(_, err)| err)
}

/// As [`wait_for_all`], calling `on_reached` once for each instance as it arrives; a
/// failure comes with the index in `ids` of the instance that failed.
pub(crate) async fn wait_for_all_with(
    provider: &dyn Provider,
    ids: &[InstanceId],
    target: InstanceState,
    options: &WaitOptions,
    on_reached: &(dyn Fn(&Instance) + Send + Sync),
) -> Result<Vec<Instance>, (usize, Error)> {
    let deadline = options.deadline_from(Instant::now());
    let mut reached: Vec<Option<Instance>> = vec![None; ids.len()];
    let mut last_seen: Vec<Option<InstanceState>> = vec![None; ids.len()];

    loop {
        for (i, id) in ids.iter().enumerate() {
            if reached[i].is_some() {
                continue;
            }
            let polled = poll(provider, id, "wait_for_state").await;
            let Some(inst) = polled.map_err(|e| (i, e))? else {
                continue;
            };
            last_seen[i] = Some(inst.state());
            check_state(&inst, target, "wait_for_state").map_err(|e| (i, e))?;
            if inst.state() == target {
                on_reached(&inst);
                reached[i] = Some(inst);
            }
        }

        if reached.iter().all(Option::is_some) {
            return Ok(reached.into_iter().flatten().collect());
        }
        if Instant::now() >= deadline {
            let i = reached.iter().position(Option::is_none).unwrap_or(0);
            let failure = WaitError::TimedOut {
                id: ids[i].clone(),
                target,
                last_seen: last_seen[i],
            };
            return Err((i, failure.into_error("wait_for_state")));
        }
        sleep_until_next(options, deadline).await;
    }
}

/// Polls `id` until it is terminated or gone: a `terminated` state and
/// [`ErrorKind::NotFound`] both count. Call it after
/// [`Provider::terminate_instance`].
///
/// An instance seen in `failed` is polled on, since terminate moves it on from there.
///
/// # Errors
/// [`ErrorKind::Timeout`] ([`WaitError::TimedOut`] with target `terminated`) when the
/// deadline passes; any non-retryable error of `get_instance` other than `NotFound`.
pub async fn wait_until_gone(
    provider: &dyn Provider,
    id: &InstanceId,
    options: &WaitOptions,
) -> Result<()> {
    wait_until_all_gone(provider, std::slice::from_ref(id), options).await
}

/// As [`wait_until_gone`] for many instances, under one shared deadline.
///
/// # Errors
/// As [`wait_until_gone`], for the first instance that fails.
pub async fn wait_until_all_gone(
    provider: &dyn Provider,
    ids: &[InstanceId],
    options: &WaitOptions,
) -> Result<()> {
    let deadline = options.deadline_from(Instant::now());
    let mut gone = vec![false; ids.len()];
    let mut last_seen: Vec<Option<InstanceState>> = vec![None; ids.len()];

    loop {
        for (i, id) in ids.iter().enumerate() {
            if gone[i] {
                continue;
            }
            match provider.get_instance(id).await {
                Ok(inst) if inst.state() == InstanceState::Terminated => gone[i] = true,
                Ok(inst) => last_seen[i] = Some(inst.state()),
                Err(e) if e.kind() == ErrorKind::NotFound => gone[i] = true,
                Err(e) if e.retry().is_retryable() => {
                    debug!(instance_id = %id, error_kind = %e.kind(), "poll failed, polling on");
                }
                Err(e) => return Err(e.or_context(provider.id().as_str(), "wait_until_gone")),
            }
        }

        if gone.iter().all(|g| *g) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let i = gone.iter().position(|g| !g).unwrap_or(0);
            let failure = WaitError::TimedOut {
                id: ids[i].clone(),
                target: InstanceState::Terminated,
                last_seen: last_seen[i],
            };
            return Err(failure.into_error("wait_until_gone"));
        }
        sleep_until_next(options, deadline).await;
    }
}

/// Gets one instance; `None` for a retryable failure that polling should ride out.
async fn poll(provider: &dyn Provider, id: &InstanceId, op: &str) -> Result<Option<Instance>> {
    match provider.get_instance(id).await {
        Ok(inst) => Ok(Some(inst)),
        Err(e) if e.retry().is_retryable() => {
            debug!(instance_id = %id, error_kind = %e.kind(), "poll failed, polling on");
            Ok(None)
        }
        Err(e) => Err(e.or_context(provider.id().as_str(), op)),
    }
}

/// Fails when `inst` sits in a terminal state that is not `target`.
fn check_state(inst: &Instance, target: InstanceState, op: &str) -> Result<()> {
    let state = inst.state();
    if state == target || !state.is_terminal() {
        return Ok(());
    }
    let failure = WaitError::TerminalState {
        id: inst.id().clone(),
        target,
        reached: state,
        messages: inst.lifecycle.status.messages.clone(),
    };
    Err(failure.into_error(op))
}

/// Sleeps one poll interval, but not past the deadline, so the last poll happens at it.
async fn sleep_until_next(options: &WaitOptions, deadline: Instant) {
    let now = Instant::now();
    let left = deadline.saturating_duration_since(now);
    sleep(options.interval().min(left).max(Duration::from_millis(1))).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Fault, TestProvider, instance, request};

    fn fast() -> WaitOptions {
        WaitOptions::new(Duration::from_secs(60)).with_poll_interval(Duration::from_secs(1))
    }

    #[tokio::test(start_paused = true)]
    async fn waits_until_running() {
        let p = TestProvider::new().with_polls_to_boot(3);
        let inst = p.create_instance(&request("a")).await.unwrap();
        let start = Instant::now();

        let got = wait_for_state(&p, inst.id(), InstanceState::Running, &fast())
            .await
            .unwrap();

        assert_eq!(got.state(), InstanceState::Running);
        assert_eq!(p.calls("get_instance"), 4);
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn times_out_naming_instance_target_and_last_state() {
        let p = TestProvider::new().with_polls_to_boot(1_000);
        let inst = p.create_instance(&request("a")).await.unwrap();
        let start = Instant::now();

        let err = wait_for_state(&p, inst.id(), InstanceState::Running, &fast())
            .await
            .unwrap_err();

        assert_eq!(err.kind(), ErrorKind::Timeout);
        let text = err.to_string();
        assert!(text.contains("i-1") && text.contains("running"), "{text}");
        assert!(text.contains("last seen: pending"), "{text}");
        assert!(matches!(
            WaitError::of(&err),
            Some(WaitError::TimedOut {
                last_seen: Some(InstanceState::Pending),
                ..
            })
        ));
        assert_eq!(start.elapsed(), Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn terminal_state_instead_of_target_fails_at_once() {
        let p = TestProvider::new();
        p.state().boot_fail.insert("a".into());
        let inst = p.create_instance(&request("a")).await.unwrap();

        let err = wait_for_state(&p, inst.id(), InstanceState::Running, &fast())
            .await
            .unwrap_err();

        assert_eq!(err.kind(), ErrorKind::Internal);
        assert_eq!(err.retry(), Retry::Never);
        assert!(
            err.to_string()
                .contains("reached failed instead of running")
        );
        assert!(matches!(
            WaitError::of(&err),
            Some(WaitError::TerminalState {
                reached: InstanceState::Failed,
                ..
            })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn transient_poll_errors_are_ridden_out() {
        let p = TestProvider::new();
        let inst = p.create_instance(&request("a")).await.unwrap();
        p.fail_next("get_instance", Fault::new(ErrorKind::Unavailable));
        p.fail_next("get_instance", Fault::new(ErrorKind::RateLimited));

        let got = wait_for_state(&p, inst.id(), InstanceState::Running, &fast()).await;

        assert_eq!(got.unwrap().state(), InstanceState::Running);
    }

    #[tokio::test(start_paused = true)]
    async fn final_poll_errors_end_the_wait() {
        let p = TestProvider::new();
        let missing = InstanceId::new("i-404").unwrap();

        let err = wait_for_state(&p, &missing, InstanceState::Running, &fast())
            .await
            .unwrap_err();

        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(p.calls("get_instance"), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn waits_for_many_under_one_deadline() {
        let p = TestProvider::new().with_polls_to_boot(2);
        let a = p.create_instance(&request("a")).await.unwrap();
        let b = p.create_instance(&request("b")).await.unwrap();
        let ids = [b.id().clone(), a.id().clone()];

        let got = wait_for_all(&p, &ids, InstanceState::Running, &fast())
            .await
            .unwrap();

        assert_eq!(got.len(), 2);
        assert_eq!(got[0].id(), b.id());
        assert!(got.iter().all(|i| i.state() == InstanceState::Running));
    }

    #[tokio::test(start_paused = true)]
    async fn gone_accepts_terminated_and_not_found() {
        let p = TestProvider::new();
        let a = p.create_instance(&request("a")).await.unwrap();
        p.terminate_instance(a.id()).await.unwrap();
        let vanished = InstanceId::new("i-404").unwrap();
        let ids = [a.id().clone(), vanished];

        wait_until_all_gone(&p, &ids, &fast()).await.unwrap();

        assert!(p.live().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn gone_times_out_on_a_stuck_instance() {
        let p = TestProvider::new();
        p.insert(instance("i-9", "stuck", InstanceState::Running));
        let options = fast().with_timeout(Duration::from_secs(10));

        let err = wait_until_gone(&p, &InstanceId::new("i-9").unwrap(), &options)
            .await
            .unwrap_err();

        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(
            err.to_string().contains("did not reach terminated"),
            "{err}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_fixed_deadline_wins_over_a_longer_timeout() {
        let p = TestProvider::new().with_polls_to_boot(1_000);
        let inst = p.create_instance(&request("a")).await.unwrap();
        let start = Instant::now();
        let options = fast().with_deadline(start + Duration::from_secs(5));

        let err = wait_for_state(&p, inst.id(), InstanceState::Running, &options).await;

        assert_eq!(err.unwrap_err().kind(), ErrorKind::Timeout);
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }
}
