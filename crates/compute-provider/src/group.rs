//! All-or-nothing group create: every instance reaches `running`, or none remains.
//!
//! [`create_group`] is what a CLI's `up` and every control plane call to bring up a cluster.
//! It runs in four steps:
//!
//! 0. **Preflight**: when the provider reports quota ([`Provider::quota`]), the quota of
//!    each target location is read, and a group needing more instances, GPUs or vCPUs than
//!    remain is refused with `QuotaExceeded` (outcome not applied) before anything is
//!    created ([`QuotaShortfall`] says which). Instances a rerun would adopt are not
//!    counted.
//! 1. **Launch**, at most `concurrency` at a time: for each request, look for a live
//!    instance already carrying its ref id ([`find_by_ref_id`]) and adopt it; otherwise
//!    create one. Adoption makes a rerun idempotent, and finds the instance of an earlier
//!    create whose outcome was unknown. A create that is rate limited (and says it was not
//!    applied, or says nothing) is retried up to `rate_limit_retries` times, waiting at least
//!    the retry-after. Other errors are not retried here: wrap the provider in a
//!    [`Retrying`](crate::Retrying) layer for that. After the first failure no new launch
//!    starts; launches in flight finish.
//! 2. **Wait** for every instance to be `running`, under one deadline.
//! 3. On any failure, **roll back**: terminate every instance this call created, plus any
//!    instance of a failed create (found through the error's cloud id or by ref id, which
//!    covers unknown outcomes), wait for them to be gone, and return a [`GroupError`]
//!    saying what failed, instance by instance what was cleaned up ([`RolledBack`]), and
//!    which adopted instances were kept ([`GroupError::kept`]). The roll-back has its own
//!    time budget
//!    ([`GroupOptions::rollback_timeout`], 10 minutes by default), counted from its start,
//!    so a wait that used up the caller's timeout or deadline does not cut it short. A
//!    terminate that fails with a retryable error is retried within that budget.
//!
//! A caller can stop the group part way with a [`Cancellation`] in
//! [`GroupOptions::with_cancellation`] (a CLI's Ctrl-C): no new launch starts, launches in
//! flight finish (so no create is left with an unknown outcome), the wait for `running`
//! stops, and the roll-back of step 3 runs as after a failure. The roll-back itself is not
//! cut short; [`GroupError::is_cancelled`] tells a cancelled group from a failed one.
//!
//! A roll-back never terminates an adopted instance, running or not: it existed before
//! the call, may hold data, and on a rerun it is a node of a working cluster, which a
//! failed rerun (one recreated node failing, or the wait running out) must not destroy.
//! Adopted instances are reported as kept instead.
//!
//! Adoption goes by ref id alone: an adopted instance is used whatever its type, so reuse
//! a ref id only for the same request. An adopted instance that is stopped or suspended is
//! started when the provider can ([`StopStart`](crate::StopStart)); when it cannot, that is
//! a failure (`Unsupported`), and the instance is kept like every adopted one.

use std::{
    collections::BTreeMap,
    collections::BTreeSet,
    fmt,
    pin::pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::Poll,
    time::Duration,
};

use compute_types::{
    Error, ErrorKind, Instance, InstanceId, InstanceState, Outcome, RefId, Result, Retry,
};

mod quota;

pub use quota::QuotaShortfall;
use tokio::{
    sync::Notify,
    task::{Id, JoinSet},
    time::{Instant, sleep},
};
use tracing::info;

use crate::{
    CreateInstance, Provider, WaitOptions, find_by_ref_id,
    waiter::{wait_for_all_with, wait_until_gone},
};

/// The default of [`GroupOptions::rollback_timeout`]: 10 minutes, about twice what GPU
/// instances take to shut down on the slower clouds.
pub const DEFAULT_ROLLBACK_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// A progress callback; see [`GroupOptions::with_progress`].
pub type ProgressFn = Arc<dyn Fn(&GroupEvent) + Send + Sync>;

/// Settings of [`create_group`].
#[derive(Clone)]
#[non_exhaustive]
pub struct GroupOptions {
    /// Most launches (lookup plus create) in flight at once; at least 1. Default 8.
    pub concurrency: usize,
    /// How to wait for `running`; its poll interval is also used during a roll-back.
    pub wait: WaitOptions,
    /// How long a roll-back may take, from its start, to see every instance it terminates
    /// gone (retrying failed terminates meanwhile). Independent of `wait`'s timeout and
    /// deadline. Default [`DEFAULT_ROLLBACK_TIMEOUT`] (10 minutes).
    pub rollback_timeout: Duration,
    /// How often one rate-limited create is retried. Default 3.
    pub rate_limit_retries: u32,
    /// Called on every [`GroupEvent`], from the calling task.
    pub on_progress: Option<ProgressFn>,
    /// Stops the group part way when cancelled; see [`GroupOptions::with_cancellation`].
    pub cancellation: Option<Cancellation>,
}

impl Default for GroupOptions {
    fn default() -> Self {
        Self {
            concurrency: 8,
            wait: WaitOptions::default(),
            rollback_timeout: DEFAULT_ROLLBACK_TIMEOUT,
            rate_limit_retries: 3,
            on_progress: None,
            cancellation: None,
        }
    }
}

impl fmt::Debug for GroupOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupOptions")
            .field("concurrency", &self.concurrency)
            .field("wait", &self.wait)
            .field("rollback_timeout", &self.rollback_timeout)
            .field("rate_limit_retries", &self.rate_limit_retries)
            .field("on_progress", &self.on_progress.as_ref().map(|_| "Fn"))
            .field("cancellation", &self.cancellation)
            .finish()
    }
}

impl GroupOptions {
    /// The default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the most launches in flight (at least 1).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Sets the wait options.
    pub fn with_wait(mut self, wait: WaitOptions) -> Self {
        self.wait = wait;
        self
    }

    /// Sets how long a roll-back may take to see the instances it terminates gone.
    pub fn with_rollback_timeout(mut self, timeout: Duration) -> Self {
        self.rollback_timeout = timeout;
        self
    }

    /// Sets how often a rate-limited create is retried.
    pub fn with_rate_limit_retries(mut self, retries: u32) -> Self {
        self.rate_limit_retries = retries;
        self
    }

    /// Sets a progress callback. It runs on the calling task and should return quickly.
    pub fn with_progress(
        mut self,
        on_progress: impl Fn(&GroupEvent) + Send + Sync + 'static,
    ) -> Self {
        self.on_progress = Some(Arc::new(on_progress));
        self
    }

    /// Sets a cancellation: once it is cancelled, no new launch starts, the wait for
    /// `running` stops, and everything this call created is rolled back, as after a
    /// failure. The call then returns a [`GroupError`] whose
    /// [`is_cancelled`](GroupError::is_cancelled) is true.
    pub fn with_cancellation(mut self, cancellation: Cancellation) -> Self {
        self.cancellation = Some(cancellation);
        self
    }
}

/// A flag a caller raises to stop a [`create_group`] part way, e.g. on Ctrl-C.
///
/// Clones share the flag. Cancelling is final: a cancelled value stays cancelled.
#[derive(Debug, Clone, Default)]
pub struct Cancellation(Arc<CancelFlag>);

#[derive(Debug, Default)]
struct CancelFlag {
    raised: AtomicBool,
    notify: Notify,
}

impl Cancellation {
    /// A cancellation not yet raised.
    pub fn new() -> Self {
        Self::default()
    }

    /// Raises the flag and wakes every task waiting in [`Cancellation::cancelled`].
    pub fn cancel(&self) {
        self.0.raised.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// Returns true once [`Cancellation::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.raised.load(Ordering::SeqCst)
    }

    /// Completes when the flag is raised (at once when it already is).
    pub async fn cancelled(&self) {
        loop {
            let mut notified = pin!(self.0.notify.notified());
            // Registered before the check, so a cancel in between is not missed.
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// Something [`create_group`] did, reported to [`GroupOptions::on_progress`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupEvent {
    /// A live instance with the ref id already existed and is used.
    Adopted {
        /// The request's ref id.
        ref_id: RefId,
        /// The adopted instance.
        instance_id: InstanceId,
    },
    /// An instance was created.
    Created {
        /// The request's ref id.
        ref_id: RefId,
        /// The new instance.
        instance_id: InstanceId,
    },
    /// A lookup or create failed.
    CreateFailed {
        /// The request's ref id.
        ref_id: RefId,
        /// What went wrong.
        kind: ErrorKind,
        /// Whether the create may have made an instance anyway.
        outcome_unknown: bool,
    },
    /// An instance reached `running`.
    Running {
        /// The request's ref id.
        ref_id: RefId,
        /// The instance.
        instance_id: InstanceId,
    },
    /// An instance failed to reach `running`.
    WaitFailed {
        /// The request's ref id.
        ref_id: RefId,
        /// What went wrong.
        kind: ErrorKind,
    },
    /// The roll-back starts, terminating `instances` instances.
    RollingBack {
        /// How many instances will be terminated.
        instances: usize,
    },
    /// A rolled-back instance is gone.
    Removed {
        /// The instance.
        instance_id: InstanceId,
    },
}

/// What a roll-back did to one instance; see [`GroupError::rolled_back`].
#[derive(Debug)]
#[non_exhaustive]
pub struct RolledBack {
    /// The ref id of the request the instance belongs to.
    pub ref_id: RefId,
    /// The instance's cloud id.
    pub instance_id: InstanceId,
    /// What became of it.
    pub status: RollbackStatus,
}

impl RolledBack {
    /// Returns true unless the instance was seen terminated or gone.
    pub fn may_remain(&self) -> bool {
        !matches!(self.status, RollbackStatus::Terminated)
    }
}

/// What became of one instance a roll-back terminated.
#[non_exhaustive]
#[derive(Debug)]
pub enum RollbackStatus {
    /// The provider accepted the terminate and the instance was seen terminated or gone.
    Terminated,
    /// The provider accepted the terminate, but the instance was not seen terminated or
    /// gone within [`GroupOptions::rollback_timeout`]. It is most likely shutting down,
    /// yet it may remain; `error` says why it was not confirmed (usually a `Timeout`).
    Unconfirmed {
        /// Why termination was not confirmed.
        error: Error,
    },
    /// The terminate call failed (after retries, when its error was retryable): the
    /// instance may remain, running and billing.
    TerminateFailed {
        /// The last error of the terminate call.
        error: Error,
    },
}

/// Why [`create_group`] failed, and what it cleaned up.
///
/// It converts into the standard [`Error`] keeping the kind and retry class of the first
/// failure; the converted error's outcome is `NotApplied` when the roll-back was complete
/// and `Unknown` when something may remain.
#[derive(Debug)]
pub struct GroupError {
    total: usize,
    cause: Error,
    failures: Vec<(RefId, Error)>,
    not_started: Vec<RefId>,
    quota: Option<QuotaShortfall>,
    rollback_timeout: Duration,
    rolled_back: Vec<RolledBack>,
    cleaned_up: Vec<InstanceId>,
    left_behind: Vec<InstanceId>,
    kept: Vec<(RefId, InstanceId)>,
    unresolved: Vec<RefId>,
    cleanup_errors: Vec<Error>,
    cancelled: bool,
}

impl GroupError {
    fn new(total: usize, failures: Vec<(RefId, Error)>) -> Self {
        let cause = failures.first().map_or_else(
            || Error::internal("group create failed without a cause"),
            |(_, e)| e.clone_shallow(),
        );
        Self {
            total,
            cause,
            failures,
            not_started: Vec::new(),
            quota: None,
            rollback_timeout: DEFAULT_ROLLBACK_TIMEOUT,
            rolled_back: Vec::new(),
            cleaned_up: Vec::new(),
            left_behind: Vec::new(),
            kept: Vec::new(),
            unresolved: Vec::new(),
            cleanup_errors: Vec::new(),
            cancelled: false,
        }
    }

    /// A group refused before any launch started: nothing was created.
    fn refused(total: usize, cause: Error, not_started: Vec<RefId>) -> Self {
        let mut group = Self::new(total, Vec::new());
        group.cause = cause;
        group.not_started = not_started;
        group
    }

    /// Records what the roll-back did to one instance.
    fn record(&mut self, ref_id: RefId, instance_id: InstanceId, status: RollbackStatus) {
        match status {
            RollbackStatus::Terminated => self.cleaned_up.push(instance_id.clone()),
            _ => self.left_behind.push(instance_id.clone()),
        }
        self.rolled_back.push(RolledBack {
            ref_id,
            instance_id,
            status,
        });
    }

    /// Returns the kind of the first failure.
    pub fn kind(&self) -> ErrorKind {
        self.cause.kind()
    }

    /// Returns the first failure (without its source), or the reason the group was
    /// refused before any launch.
    pub fn cause(&self) -> &Error {
        &self.cause
    }

    /// Returns every failure, by ref id; empty when the group was refused before any
    /// launch (see [`GroupError::cause`]).
    pub fn failures(&self) -> &[(RefId, Error)] {
        &self.failures
    }

    /// Returns the ref ids that failed.
    pub fn failed_ref_ids(&self) -> Vec<&RefId> {
        self.failures.iter().map(|(r, _)| r).collect()
    }

    /// Returns the ref ids whose launch never started because another one failed first,
    /// or because the group was refused.
    pub fn not_started(&self) -> &[RefId] {
        &self.not_started
    }

    /// Returns the quota that could not hold the group, when the preflight refused it.
    pub fn quota_shortfall(&self) -> Option<&QuotaShortfall> {
        self.quota.as_ref()
    }

    /// Returns what the roll-back did to each instance it terminated, in the order it
    /// terminated them.
    pub fn rolled_back(&self) -> &[RolledBack] {
        &self.rolled_back
    }

    /// Returns the instances the roll-back terminated and saw gone.
    pub fn cleaned_up(&self) -> &[InstanceId] {
        &self.cleaned_up
    }

    /// Returns the instances that may remain: those whose terminate failed, then those
    /// not seen gone within the roll-back budget ([`GroupError::rolled_back`] tells which).
    pub fn left_behind(&self) -> &[InstanceId] {
        &self.left_behind
    }

    /// Returns the adopted instances the roll-back kept, by ref id, in request order.
    ///
    /// They existed before the call (a rerun's running nodes, or stopped ones that may
    /// hold data), so a roll-back never terminates them; they are not counted in
    /// [`GroupError::left_behind`] and do not make the roll-back unclean.
    pub fn kept(&self) -> &[(RefId, InstanceId)] {
        &self.kept
    }

    /// Returns ref ids whose create had an unknown outcome and for which no instance was
    /// found: one may still appear.
    pub fn unresolved(&self) -> &[RefId] {
        &self.unresolved
    }

    /// Returns the errors of looking up, by ref id, what failed creates may have left.
    /// Errors about one instance are in [`GroupError::rolled_back`].
    pub fn cleanup_errors(&self) -> &[Error] {
        &self.cleanup_errors
    }

    /// Returns true when the caller's [`Cancellation`] stopped the group. The cause is then
    /// the first failure when one came before the cancel, else a `Timeout` (never retried)
    /// saying the caller cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled
    }

    /// Returns true when the roll-back left nothing behind of what this call created, as
    /// far as can be known; instances it [kept](GroupError::kept) do not count.
    pub fn is_clean(&self) -> bool {
        self.left_behind.is_empty() && self.unresolved.is_empty() && self.cleanup_errors.is_empty()
    }
}

fn join_ids<T: fmt::Display>(items: &[T]) -> String {
    let texts: Vec<String> = items.iter().map(ToString::to_string).collect();
    texts.join(", ")
}

/// Formats a budget as whole seconds, e.g. `600s`.
fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.failures.is_empty() && !self.cancelled {
            return write!(
                f,
                "refused before creating any of {} instances: {}: {}",
                self.total,
                self.cause.kind(),
                self.cause.message()
            );
        }
        if self.failures.is_empty() {
            write!(f, "cancelled by the caller ({} instances)", self.total)?;
        } else {
            write!(
                f,
                "{} of {} instances failed",
                self.failures.len(),
                self.total
            )?;
        }
        for (i, (ref_id, err)) in self.failures.iter().enumerate() {
            let sep = if i == 0 { ": " } else { "; " };
            write!(f, "{sep}{ref_id}: {}: {}", err.kind(), err.message())?;
            if err.is_outcome_unknown() {
                f.write_str(" (outcome unknown)")?;
            }
        }
        if self.cancelled && !self.failures.is_empty() {
            f.write_str("; then cancelled by the caller")?;
        }
        if !self.not_started.is_empty() {
            write!(f, "; {} not started", self.not_started.len())?;
        }
        write!(
            f,
            "; rolled back {} instances [{}]",
            self.cleaned_up.len(),
            join_ids(&self.cleaned_up)
        )?;

        let remaining = self.rolled_back.iter().filter(|r| r.may_remain());
        for (i, r) in remaining.enumerate() {
            let head = if i == 0 { "; may remain: " } else { ", " };
            write!(f, "{head}{} (ref id {}", r.instance_id, r.ref_id)?;
            match &r.status {
                RollbackStatus::TerminateFailed { error } => write!(
                    f,
                    ", terminate failed: {}: {})",
                    error.kind(),
                    error.message()
                )?,
                RollbackStatus::Unconfirmed { .. } => write!(
                    f,
                    ", terminate requested but not seen gone within {})",
                    secs(self.rollback_timeout)
                )?,
                _ => f.write_str(")")?,
            }
        }
        if !self.unresolved.is_empty() {
            write!(
                f,
                "; may still appear for ref ids [{}]",
                join_ids(&self.unresolved)
            )?;
        }
        if !self.kept.is_empty() {
            let ids: Vec<&InstanceId> = self.kept.iter().map(|(_, id)| id).collect();
            write!(
                f,
                "; kept {} adopted instances [{}]",
                ids.len(),
                join_ids(&ids)
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for GroupError {}

impl From<GroupError> for Error {
    fn from(group: GroupError) -> Self {
        let outcome = if group.is_clean() {
            Outcome::NotApplied
        } else {
            Outcome::Unknown {
                instance_id: group.left_behind.first().cloned(),
            }
        };
        let mut err = Self::new(group.kind(), group.to_string())
            .with_retry(group.cause.retry())
            .with_operation("create_group")
            .with_outcome(outcome);
        if let Some(provider) = group.cause.provider() {
            err = err.with_provider(provider);
        }
        err.with_source(group)
    }
}

/// A failed create that may have left an instance behind.
struct MaybeCreated {
    ref_id: RefId,
    /// The cloud id the error named, when it named one.
    known_id: Option<InstanceId>,
    /// The error said the outcome is unknown (rather than saying nothing).
    unknown: bool,
}

/// What one launch produced.
enum Launched {
    Adopted(Instance),
    Created(Instance),
    /// The lookup, create or start failed; `created_maybe` when a create was sent, and
    /// `adopted` when an existing instance was found (and could not be started).
    Failed {
        error: Error,
        created_maybe: bool,
        adopted: Option<InstanceId>,
    },
}

/// Creates every request's instance and waits until all are `running`; on any failure,
/// terminates everything this call created, keeps what it adopted, and returns what
/// happened.
///
/// Returns the instances in the order of `requests`, as last seen (`running`). Calling it
/// again with the same requests returns the same instances without creating more.
/// See the [module docs](crate::group) for the steps.
///
/// # Errors
/// A [`GroupError`] carrying the first failure's kind: `InvalidRequest` for a request that
/// fails [`CreateInstance::validate`] or a repeated ref id, and `QuotaExceeded` when the
/// preflight finds the quota too small ([`GroupError::quota_shortfall`]), both before
/// anything is created; any error of the preflight's reads
/// ([`QuotaInfo::quotas`](crate::QuotaInfo::quotas), [`Provider::instance_types`]), of
/// [`find_by_ref_id`] or of [`Provider::create_instance`]; `Timeout` or `Internal` from
/// waiting for `running` (see [`WaitError`](crate::WaitError)).
///
/// # Panics
/// When called outside a tokio runtime, since launches run as tokio tasks.
pub async fn create_group(
    provider: Arc<dyn Provider>,
    requests: Vec<CreateInstance>,
    options: GroupOptions,
) -> Result<Vec<Instance>, GroupError> {
    let total = requests.len();
    check_requests(&requests).map_err(|f| GroupError::new(total, vec![f]))?;
    let refs: Vec<RefId> = requests.iter().map(|r| r.ref_id.clone()).collect();
    match quota::preflight(&*provider, &requests).await {
        Ok(None) => {}
        Ok(Some(short)) => {
            let cause = short.to_error(provider.id().as_str());
            let mut group = GroupError::refused(total, cause, refs);
            group.quota = Some(short);
            return Err(group);
        }
        Err(e) => {
            let cause = e.or_context(provider.id().as_str(), "create_group");
            return Err(GroupError::refused(total, cause, refs));
        }
    }
    if is_cancelled(&options) {
        let mut group = GroupError::refused(total, cancelled_error(), refs);
        group.cancelled = true;
        return Err(group);
    }
    let emit = |event: GroupEvent| {
        if let Some(f) = &options.on_progress {
            f(&event);
        }
    };

    let launched = launch_all(&provider, requests, &options, &emit).await;
    let mut sorted = Sorted::new(&refs, launched);
    if sorted.failures.is_empty() && !is_cancelled(&options) {
        let wait = wait_running(&*provider, &sorted.owned, &options, &emit);
        match unless_cancelled(options.cancellation.as_ref(), wait).await {
            Some(Ok(running)) => return Ok(running),
            Some(Err(failure)) => sorted.failures.push(failure),
            None => {}
        }
    }

    let mut group = GroupError::new(total, sorted.failures);
    if is_cancelled(&options) {
        group.cancelled = true;
        if group.failures.is_empty() {
            group.cause = cancelled_error();
        }
    }
    group.not_started = sorted.not_started;
    group.rollback_timeout = options.rollback_timeout;
    group.kept = sorted.adopted;
    roll_back(
        &*provider,
        sorted.created,
        sorted.maybe_created,
        &options,
        &emit,
        &mut group,
    )
    .await;
    Err(group)
}

/// The launches, sorted by what they produced.
struct Sorted {
    /// Created or adopted instances, in request order: what the wait waits for.
    owned: Vec<(RefId, Instance)>,
    /// Instances this call created, in request order: what a roll-back terminates.
    created: Vec<(RefId, InstanceId)>,
    /// Adopted instances (also those that could not be started), in request order: a
    /// roll-back keeps them.
    adopted: Vec<(RefId, InstanceId)>,
    failures: Vec<(RefId, Error)>,
    maybe_created: Vec<MaybeCreated>,
    not_started: Vec<RefId>,
}

impl Sorted {
    fn new(refs: &[RefId], launched: Vec<Option<Launched>>) -> Self {
        let mut sorted = Self {
            owned: Vec::new(),
            created: Vec::new(),
            adopted: Vec::new(),
            failures: Vec::new(),
            maybe_created: Vec::new(),
            not_started: Vec::new(),
        };
        for (ref_id, slot) in refs.iter().cloned().zip(launched) {
            match slot {
                Some(Launched::Adopted(inst)) => {
                    sorted.adopted.push((ref_id.clone(), inst.id().clone()));
                    sorted.owned.push((ref_id, inst));
                }
                Some(Launched::Created(inst)) => {
                    sorted.created.push((ref_id.clone(), inst.id().clone()));
                    sorted.owned.push((ref_id, inst));
                }
                Some(Launched::Failed {
                    error,
                    created_maybe,
                    adopted,
                }) => {
                    if let Some(id) = adopted {
                        sorted.adopted.push((ref_id.clone(), id));
                    }
                    let not_applied = matches!(error.outcome(), Some(Outcome::NotApplied));
                    if created_maybe && !not_applied {
                        sorted.maybe_created.push(MaybeCreated {
                            ref_id: ref_id.clone(),
                            known_id: unknown_id(&error),
                            unknown: error.is_outcome_unknown(),
                        });
                    }
                    sorted.failures.push((ref_id, error));
                }
                None => sorted.not_started.push(ref_id),
            }
        }
        sorted
    }
}

/// Waits for every owned instance to be `running`; a failure names its ref id.
async fn wait_running(
    provider: &dyn Provider,
    owned: &[(RefId, Instance)],
    options: &GroupOptions,
    emit: &(dyn Fn(GroupEvent) + Sync),
) -> Result<Vec<Instance>, (RefId, Error)> {
    let ids: Vec<InstanceId> = owned.iter().map(|(_, inst)| inst.id().clone()).collect();
    let ref_of: BTreeMap<&InstanceId, &RefId> =
        owned.iter().map(|(r, inst)| (inst.id(), r)).collect();
    let on_running = |inst: &Instance| {
        if let Some(ref_id) = ref_of.get(inst.id()) {
            emit(GroupEvent::Running {
                ref_id: (*ref_id).clone(),
                instance_id: inst.id().clone(),
            });
        }
    };

    let target = InstanceState::Running;
    let waited = wait_for_all_with(provider, &ids, target, &options.wait, &on_running).await;
    waited.map_err(|(at, error)| {
        let ref_id = owned[at].0.clone();
        emit(GroupEvent::WaitFailed {
            ref_id: ref_id.clone(),
            kind: error.kind(),
        });
        (ref_id, error)
    })
}

/// Checks every request and that ref ids are unique.
fn check_requests(requests: &[CreateInstance]) -> Result<(), (RefId, Error)> {
    let mut seen = BTreeSet::new();
    for request in requests {
        request
            .validate()
            .map_err(|e| (request.ref_id.clone(), e.with_operation("create_group")))?;
        if !seen.insert(&request.ref_id) {
            let err = Error::invalid(
                "ref_id",
                format!("`{}` appears more than once", request.ref_id),
            )
            .with_operation("create_group");
            return Err((request.ref_id.clone(), err));
        }
    }
    Ok(())
}

/// Runs `work` until it completes (`Some`) or `cancellation` is raised first (`None`).
async fn unless_cancelled<T>(
    cancellation: Option<&Cancellation>,
    work: impl Future<Output = T>,
) -> Option<T> {
    let Some(cancellation) = cancellation else {
        return Some(work.await);
    };
    let mut work = pin!(work);
    let mut stop = pin!(cancellation.cancelled());
    std::future::poll_fn(|cx| {
        if let Poll::Ready(value) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(value));
        }
        stop.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// True when `options` carries a cancellation that was raised.
fn is_cancelled(options: &GroupOptions) -> bool {
    options
        .cancellation
        .as_ref()
        .is_some_and(Cancellation::is_cancelled)
}

/// The cause of a group cancelled before any launch failed.
fn cancelled_error() -> Error {
    Error::new(ErrorKind::Timeout, "cancelled by the caller")
        .with_retry(Retry::Never)
        .with_operation("create_group")
}

fn unknown_id(error: &Error) -> Option<InstanceId> {
    match error.outcome() {
        Some(Outcome::Unknown { instance_id }) => instance_id.clone(),
        _ => None,
    }
}

/// Launches every request with at most `concurrency` in flight; stops starting new ones
/// after the first failure or a cancel, and lets those in flight finish. Returns one slot
/// per request, `None` when it never started.
async fn launch_all(
    provider: &Arc<dyn Provider>,
    requests: Vec<CreateInstance>,
    options: &GroupOptions,
    emit: &(dyn Fn(GroupEvent) + Sync),
) -> Vec<Option<Launched>> {
    let mut slots: Vec<Option<Launched>> = (0..requests.len()).map(|_| None).collect();
    let refs: Vec<RefId> = requests.iter().map(|r| r.ref_id.clone()).collect();
    let mut queue = requests.into_iter().enumerate();
    let mut tasks = JoinSet::new();
    let mut index_of: BTreeMap<Id, usize> = BTreeMap::new();
    let mut failed = false;

    loop {
        while !failed && !is_cancelled(options) && tasks.len() < options.concurrency.max(1) {
            let Some((i, request)) = queue.next() else {
                break;
            };
            let task = launch_one(Arc::clone(provider), request, options.rate_limit_retries);
            index_of.insert(tasks.spawn(task).id(), i);
        }

        let Some(joined) = tasks.join_next_with_id().await else {
            return slots;
        };
        let (i, launched) = match joined {
            Ok((id, launched)) => (index_of.get(&id).copied(), launched),
            Err(join_error) => {
                // A panicking provider: the create may or may not have happened.
                let error = Error::internal("a create task panicked")
                    .with_operation("create_group")
                    .with_outcome(Outcome::Unknown { instance_id: None });
                let launched = Launched::Failed {
                    error,
                    created_maybe: true,
                    adopted: None,
                };
                (index_of.get(&join_error.id()).copied(), launched)
            }
        };
        let Some(i) = i else { continue };
        emit(event_of(&refs[i], &launched));
        failed |= matches!(launched, Launched::Failed { .. });
        slots[i] = Some(launched);
    }
}

fn event_of(ref_id: &RefId, launched: &Launched) -> GroupEvent {
    let ref_id = ref_id.clone();
    match launched {
        Launched::Adopted(inst) => GroupEvent::Adopted {
            ref_id,
            instance_id: inst.id().clone(),
        },
        Launched::Created(inst) => GroupEvent::Created {
            ref_id,
            instance_id: inst.id().clone(),
        },
        Launched::Failed { error, .. } => GroupEvent::CreateFailed {
            ref_id,
            kind: error.kind(),
            outcome_unknown: error.is_outcome_unknown(),
        },
    }
}

/// Adopts the live instance of the request's ref id, or creates one.
async fn launch_one(
    provider: Arc<dyn Provider>,
    request: CreateInstance,
    retries: u32,
) -> Launched {
    match find_by_ref_id(&*provider, &request.ref_id).await {
        Ok(Some(existing)) => return adopt(&*provider, existing).await,
        Ok(None) => {}
        Err(error) => {
            return Launched::Failed {
                error,
                created_maybe: false,
                adopted: None,
            };
        }
    }

    let mut attempt = 0;
    loop {
        let error = match provider.create_instance(&request).await {
            Ok(inst) => {
                info!(ref_id = %request.ref_id, instance_id = %inst.id(), "created instance");
                return Launched::Created(inst);
            }
            Err(error) => error,
        };
        let throttled = matches!(error.retry(), Retry::Throttled { .. });
        if !throttled || error.is_outcome_unknown() || attempt >= retries {
            return Launched::Failed {
                error,
                created_maybe: true,
                adopted: None,
            };
        }
        let floor = Duration::from_secs(1).saturating_mul(2u32.saturating_pow(attempt));
        let delay = match error.retry() {
            Retry::Throttled { after: Some(after) } => after.max(floor),
            _ => floor,
        };
        let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        info!(
            ref_id = %request.ref_id,
            attempt = attempt + 1,
            delay_ms,
            error_kind = %error.kind(),
            "create rate limited, retrying"
        );
        sleep(delay).await;
        attempt += 1;
    }
}

/// Adopts an existing instance, starting it first when it is stopped or suspended.
///
/// A stopped instance the provider cannot start is reported as a failure; like every
/// adopted instance it is kept by a roll-back, since it existed before this call and may
/// hold data.
async fn adopt(provider: &dyn Provider, inst: Instance) -> Launched {
    let asleep = matches!(
        inst.state(),
        InstanceState::Stopped | InstanceState::Suspended
    );
    if !asleep {
        return Launched::Adopted(inst);
    }
    let Some(stop_start) = provider.stop_start() else {
        let message = format!(
            "instance {} of ref id {} is {} and this provider cannot start it",
            inst.id(),
            inst.ref_id(),
            inst.state()
        );
        let error = Error::new(ErrorKind::Unsupported, message)
            .with_provider(provider.id().as_str())
            .with_operation("create_group");
        return Launched::Failed {
            error,
            created_maybe: false,
            adopted: Some(inst.id().clone()),
        };
    };

    match stop_start.start_instance(inst.id()).await {
        Ok(()) => {
            info!(instance_id = %inst.id(), "started adopted instance");
            Launched::Adopted(inst)
        }
        Err(error) => Launched::Failed {
            error,
            created_maybe: false,
            adopted: Some(inst.id().clone()),
        },
    }
}

/// Terminates `created` plus whatever failed creates may have left, waits for them to be
/// gone, and records the result in `group`, all within the roll-back's own budget.
/// Adopted instances are never passed in: a roll-back keeps them.
async fn roll_back(
    provider: &dyn Provider,
    created: Vec<(RefId, InstanceId)>,
    maybe_created: Vec<MaybeCreated>,
    options: &GroupOptions,
    emit: &(dyn Fn(GroupEvent) + Sync),
    group: &mut GroupError,
) {
    // The budget starts now, whatever the wait for `running` used up.
    let budget =
        WaitOptions::new(options.rollback_timeout).with_poll_interval(options.wait.poll_interval);
    let wait = budget.with_deadline(budget.deadline_from(Instant::now()));

    let mut targets: BTreeMap<InstanceId, RefId> =
        created.into_iter().map(|(r, id)| (id, r)).collect();
    for maybe in maybe_created {
        if let Some(id) = maybe.known_id {
            targets.insert(id, maybe.ref_id);
            continue;
        }
        // An unknown outcome gets a few lookups; an error that said nothing gets one.
        let lookups = if maybe.unknown { 3 } else { 1 };
        match find_after_create(provider, &maybe.ref_id, lookups, &wait).await {
            Ok(Some(inst)) => {
                targets.insert(inst.id().clone(), maybe.ref_id);
            }
            Ok(None) if !maybe.unknown => {}
            Ok(None) => group.unresolved.push(maybe.ref_id),
            Err(e) => {
                group.cleanup_errors.push(e);
                group.unresolved.push(maybe.ref_id);
            }
        }
    }
    emit(GroupEvent::RollingBack {
        instances: targets.len(),
    });

    // Terminate everything first so the instances shut down in parallel, then wait for
    // each under the one roll-back deadline.
    let mut terminated = Vec::new();
    for (id, ref_id) in targets {
        match terminate(provider, &id, &wait).await {
            Ok(()) => terminated.push((id, ref_id)),
            Err(error) => {
                let status = RollbackStatus::TerminateFailed { error };
                group.record(ref_id, id, status);
            }
        }
    }

    for (id, ref_id) in terminated {
        match wait_until_gone(provider, &id, &wait).await {
            Ok(()) => {
                info!(instance_id = %id, "rolled back instance");
                emit(GroupEvent::Removed {
                    instance_id: id.clone(),
                });
                group.record(ref_id, id, RollbackStatus::Terminated);
            }
            Err(error) => group.record(ref_id, id, RollbackStatus::Unconfirmed { error }),
        }
    }
}

/// Terminates `id`, retrying a retryable failure (terminate is idempotent) until the
/// roll-back deadline would pass.
async fn terminate(provider: &dyn Provider, id: &InstanceId, wait: &WaitOptions) -> Result<()> {
    let deadline = wait.deadline_from(Instant::now());
    loop {
        let error = match provider.terminate_instance(id).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        let interval = wait.poll_interval.max(Duration::from_millis(1));
        let delay = match error.retry() {
            Retry::Never => return Err(error),
            Retry::Throttled { after: Some(after) } => after.max(interval),
            _ => interval,
        };
        if Instant::now() + delay > deadline {
            return Err(error);
        }
        info!(instance_id = %id, error_kind = %error.kind(), "terminate failed, retrying");
        sleep(delay).await;
    }
}

/// Looks up the instance of a failed create by ref id up to `lookups` times, one poll
/// interval apart, since a cloud may list a new instance only after a short delay.
async fn find_after_create(
    provider: &dyn Provider,
    ref_id: &RefId,
    lookups: u32,
    wait: &WaitOptions,
) -> Result<Option<Instance>> {
    for n in 1..=lookups {
        if let Some(inst) = find_by_ref_id(provider, ref_id).await? {
            return Ok(Some(inst));
        }
        if n < lookups {
            sleep(wait.poll_interval).await;
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use compute_types::{Quota, QuotaUnit};

    use super::*;
    use crate::testing::{Fault, TestProvider, request};

    fn requests(n: usize) -> Vec<CreateInstance> {
        (0..n).map(|i| request(&format!("node-{i}"))).collect()
    }

    fn options() -> GroupOptions {
        let wait =
            WaitOptions::new(Duration::from_secs(600)).with_poll_interval(Duration::from_secs(2));
        GroupOptions::new().with_concurrency(2).with_wait(wait)
    }

    fn dyn_p(p: &Arc<TestProvider>) -> Arc<dyn Provider> {
        Arc::clone(p) as Arc<dyn Provider>
    }

    #[tokio::test(start_paused = true)]
    async fn creates_all_with_bounded_concurrency() {
        let p = TestProvider::new()
            .with_create_delay(Duration::from_secs(3))
            .arc();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&events);
        let options = options().with_progress(move |e| sink.lock().unwrap().push(e.clone()));

        let group = create_group(dyn_p(&p), requests(5), options).await.unwrap();

        let refs: Vec<&str> = group.iter().map(|i| i.ref_id().as_str()).collect();
        assert_eq!(refs, ["node-0", "node-1", "node-2", "node-3", "node-4"]);
        assert!(group.iter().all(|i| i.state() == InstanceState::Running));
        assert_eq!(p.state().max_in_flight, 2);
        let events = events.lock().unwrap();
        let created = events
            .iter()
            .filter(|e| matches!(e, GroupEvent::Created { .. }));
        let running = events
            .iter()
            .filter(|e| matches!(e, GroupEvent::Running { .. }));
        assert_eq!((created.count(), running.count()), (5, 5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_create_rolls_everything_back() {
        let p = TestProvider::new().arc();
        let capacity = Fault::new(ErrorKind::CapacityUnavailable).not_applied();
        p.state().create_faults.insert(3, capacity);

        let err = create_group(dyn_p(&p), requests(5), options())
            .await
            .unwrap_err();

        assert_eq!(err.kind(), ErrorKind::CapacityUnavailable);
        assert_eq!(err.failed_ref_ids(), [&RefId::new("node-2").unwrap()]);
        let created = p.calls("create_instance") as usize - 1;
        assert_eq!(err.cleaned_up().len(), created);
        assert_eq!(created + 1 + err.not_started().len(), 5);
        assert!(err.is_clean(), "{err}");
        assert!(p.live().is_empty(), "left: {:?}", p.live());
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_outcome_is_found_by_ref_id_and_removed() {
        let p = TestProvider::new().arc();
        p.state().create_faults.insert(2, Fault::ambiguous());

        let err = create_group(dyn_p(&p), requests(3), options())
            .await
            .unwrap_err();

        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(err.failures()[0].1.is_outcome_unknown());
        assert!(err.is_clean(), "{err}");
        assert!(p.live().is_empty(), "left: {:?}", p.live());
        let text = err.to_string();
        assert!(
            text.contains("node-1: timeout: injected fault (outcome unknown)"),
            "{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_boot_failure_rolls_everything_back() {
        let p = TestProvider::new().arc();
        p.state().boot_fail.insert("node-1".into());

        let err = create_group(dyn_p(&p), requests(3), options())
            .await
            .unwrap_err();

        assert_eq!(err.kind(), ErrorKind::Internal);
        assert_eq!(err.failed_ref_ids(), [&RefId::new("node-1").unwrap()]);
        assert_eq!(err.cleaned_up().len(), 3);
        assert!(p.live().is_empty(), "left: {:?}", p.live());
    }

    #[tokio::test(start_paused = true)]
    async fn a_rerun_returns_the_same_instances_without_creating_more() {
        let p = TestProvider::new().arc();
        let first = create_group(dyn_p(&p), requests(4), options())
            .await
            .unwrap();
        let creates = p.calls("create_instance");

        let again = create_group(dyn_p(&p), requests(4), options())
            .await
            .unwrap();

        let ids = |g: &[Instance]| g.iter().map(|i| i.id().clone()).collect::<Vec<_>>();
        assert_eq!(ids(&again), ids(&first));
        assert_eq!(p.calls("create_instance"), creates);
        assert_eq!(p.live().len(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_rerun_adopts_what_an_ambiguous_create_left() {
        let p = TestProvider::new().arc();
        let req = request("node-0");
        let lost = p.state().create_faults.insert(1, Fault::ambiguous());
        assert!(lost.is_none());
        assert!(p.create_instance(&req).await.is_err());

        let group = create_group(dyn_p(&p), vec![req], options()).await.unwrap();

        assert_eq!(group[0].id().as_str(), "i-1");
        assert_eq!(p.calls("create_instance"), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stopped_instance_is_started_when_adopted() {
        let p = TestProvider::new().with_stop_start().arc();
        let first = create_group(dyn_p(&p), requests(2), options())
            .await
            .unwrap();
        p.stop_start()
            .unwrap()
            .stop_instance(first[1].id())
            .await
            .unwrap();

        let again = create_group(dyn_p(&p), requests(2), options())
            .await
            .unwrap();

        assert_eq!(again[1].id(), first[1].id());
        assert_eq!(again[1].state(), InstanceState::Running);
        assert_eq!(p.calls("start_instance"), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stopped_instance_that_cannot_start_is_reported_and_kept() {
        let p = TestProvider::new().arc();
        let mut stopped = crate::testing::instance("i-90", "node-0", InstanceState::Stopped);
        stopped.tags = crate::ownership_tags(stopped.ref_id(), None);
        p.insert(stopped);

        let err = create_group(dyn_p(&p), requests(1), options())
            .await
            .unwrap_err();

        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.cause().message().contains("is stopped"), "{err}");
        assert!(err.cleaned_up().is_empty());
        let kept = [(
            RefId::new("node-0").unwrap(),
            InstanceId::new("i-90").unwrap(),
        )];
        assert_eq!(err.kept(), kept);
        assert_eq!(p.live().len(), 1);
        assert_eq!(p.calls("terminate_instance"), 0);
    }

    fn ids_of(instances: &[Instance]) -> Vec<InstanceId> {
        instances.iter().map(|i| i.id().clone()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_rerun_keeps_the_running_instances_it_adopted() {
        let p = TestProvider::new().arc();
        let first = create_group(dyn_p(&p), requests(2), options())
            .await
            .unwrap();
        // The rerun asks for a third node, whose create fails.
        let capacity = Fault::new(ErrorKind::CapacityUnavailable).not_applied();
        p.state().create_faults.insert(3, capacity);

        let err = create_group(dyn_p(&p), requests(3), options())
            .await
            .unwrap_err();

        assert_eq!(err.kind(), ErrorKind::CapacityUnavailable);
        assert_eq!(err.failed_ref_ids(), [&RefId::new("node-2").unwrap()]);
        let kept: Vec<(&str, &InstanceId)> =
            err.kept().iter().map(|(r, id)| (r.as_str(), id)).collect();
        let first_ids = ids_of(&first);
        assert_eq!(kept, [("node-0", &first_ids[0]), ("node-1", &first_ids[1])]);
        assert!(err.rolled_back().is_empty() && err.is_clean(), "{err}");
        assert_eq!(ids_of(&p.live()), first_ids);
        assert!(p.live().iter().all(|i| i.state() == InstanceState::Running));
        assert_eq!(p.calls("terminate_instance"), 0);
        let text = err.to_string();
        assert!(
            text.ends_with("rolled back 0 instances []; kept 2 adopted instances [i-1, i-2]"),
            "{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_rerun_whose_wait_runs_out_removes_only_what_it_created() {
        let p = TestProvider::new().with_polls_to_boot(1_000).arc();
        for (id, ref_id) in [("i-80", "node-0"), ("i-81", "node-1")] {
            let mut running = crate::testing::instance(id, ref_id, InstanceState::Running);
            running.tags = crate::ownership_tags(running.ref_id(), None);
            p.insert(running);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let options = options().with_wait(options().wait.with_deadline(deadline));

        let err = create_group(dyn_p(&p), requests(3), options)
            .await
            .unwrap_err();

        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert_eq!(err.kept().len(), 2);
        assert_eq!(err.rolled_back().len(), 1);
        assert_eq!(err.rolled_back()[0].ref_id.as_str(), "node-2");
        assert!(err.is_clean(), "{err}");
        let live = ids_of(&p.live());
        let kept = [
            InstanceId::new("i-80").unwrap(),
            InstanceId::new("i-81").unwrap(),
        ];
        assert_eq!(live, kept);
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limited_creates_wait_for_retry_after() {
        let p = TestProvider::new().arc();
        let after = Duration::from_secs(30);
        let throttled = Fault::new(ErrorKind::RateLimited)
            .retry(Retry::Throttled { after: Some(after) })
            .not_applied();
        p.fail_next("create_instance", throttled);
        let start = Instant::now();

        let group = create_group(dyn_p(&p), requests(1), options())
            .await
            .unwrap();

        assert_eq!(group.len(), 1);
        assert!(start.elapsed() >= after);
        assert_eq!(p.calls("create_instance"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_group_is_empty() {
        let p = TestProvider::new().arc();

        let group = create_group(dyn_p(&p), Vec::new(), options())
            .await
            .unwrap();

        assert!(group.is_empty());
        assert_eq!(p.calls("list_instances"), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn bad_requests_create_nothing() {
        let p = TestProvider::new().arc();
        let mut dup = requests(2);
        dup.push(request("node-1"));
        let bad = vec![request("a"), request("b").with_cluster("Bad Name")];

        let dup_err = create_group(dyn_p(&p), dup, options()).await.unwrap_err();
        let bad_err = create_group(dyn_p(&p), bad, options()).await.unwrap_err();

        assert_eq!(dup_err.kind(), ErrorKind::InvalidRequest);
        assert_eq!(dup_err.cause().field(), Some("ref_id"));
        assert_eq!(bad_err.cause().field(), Some("cluster"));
        assert_eq!(p.calls("list_instances") + p.calls("create_instance"), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_cleanup_is_reported_and_converts_to_an_unknown_outcome() {
        let p = TestProvider::new().arc();
        p.state().boot_fail.insert("node-0".into());
        p.fail_next(
            "terminate_instance",
            Fault::new(ErrorKind::PermissionDenied),
        );

        let err = create_group(dyn_p(&p), requests(1), options())
            .await
            .unwrap_err();

        assert!(!err.is_clean());
        assert_eq!(err.left_behind(), [InstanceId::new("i-1").unwrap()]);
        assert!(matches!(
            &err.rolled_back()[0].status,
            RollbackStatus::TerminateFailed { error } if error.kind() == ErrorKind::PermissionDenied
        ));
        let text = err.to_string();
        let plain = "may remain: i-1 (ref id node-0, terminate failed: permission denied: ";
        assert!(text.contains(plain), "{text}");
        let std_err: Error = err.into();
        assert_eq!(std_err.kind(), ErrorKind::Internal);
        assert_eq!(std_err.operation(), Some("create_group"));
        assert!(std_err.is_outcome_unknown());
    }

    #[tokio::test(start_paused = true)]
    async fn a_roll_back_after_the_wait_deadline_passed_still_confirms_termination() {
        let p = TestProvider::new().with_polls_to_boot(1_000).arc();
        // The caller's deadline runs out while the nodes are still booting.
        let deadline = Instant::now() + Duration::from_secs(10);
        let wait = options().wait.with_deadline(deadline);
        let options = options().with_wait(wait);

        let err = create_group(dyn_p(&p), requests(3), options)
            .await
            .unwrap_err();

        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(err.is_clean(), "{err}");
        assert_eq!(err.cleaned_up().len(), 3);
        assert_eq!(err.rolled_back().len(), 3);
        for r in err.rolled_back() {
            assert!(matches!(r.status, RollbackStatus::Terminated), "{r:?}");
        }
        assert!(p.live().is_empty(), "left: {:?}", p.live());
    }

    #[tokio::test(start_paused = true)]
    async fn a_termination_not_seen_within_the_roll_back_budget_is_unconfirmed() {
        let p = TestProvider::new().arc();
        p.state().boot_fail.insert("node-0".into());
        p.state().stuck_terminating.insert("node-1".into());
        let options = options().with_rollback_timeout(Duration::from_secs(60));
        let start = Instant::now();

        let err = create_group(dyn_p(&p), requests(2), options)
            .await
            .unwrap_err();

        assert!(start.elapsed() >= Duration::from_secs(60));
        assert!(!err.is_clean());
        assert_eq!(err.cleaned_up(), [InstanceId::new("i-1").unwrap()]);
        assert_eq!(err.left_behind(), [InstanceId::new("i-2").unwrap()]);
        let stuck = &err.rolled_back()[1];
        assert_eq!(stuck.ref_id.as_str(), "node-1");
        assert!(stuck.may_remain());
        assert!(matches!(
            &stuck.status,
            RollbackStatus::Unconfirmed { error } if error.kind() == ErrorKind::Timeout
        ));
        let text = err.to_string();
        let plain = "may remain: i-2 (ref id node-1, terminate requested but not seen gone \
            within 60s)";
        assert!(text.contains(plain), "{text}");
        let std_err: Error = err.into();
        let left = Outcome::Unknown {
            instance_id: Some(InstanceId::new("i-2").unwrap()),
        };
        assert_eq!(std_err.outcome(), Some(&left));
    }

    #[tokio::test(start_paused = true)]
    async fn a_transient_terminate_failure_is_retried_within_the_budget() {
        let p = TestProvider::new().arc();
        p.state().boot_fail.insert("node-0".into());
        p.fail_next("terminate_instance", Fault::new(ErrorKind::Unavailable));

        let err = create_group(dyn_p(&p), requests(1), options())
            .await
            .unwrap_err();

        assert!(err.is_clean(), "{err}");
        assert_eq!(err.cleaned_up().len(), 1);
        assert_eq!(p.calls("terminate_instance"), 2);
    }

    fn gpu_type(gpus: u32) -> compute_types::InstanceType {
        let mut t = compute_types::InstanceType::new(
            crate::testing::type_id(),
            8,
            compute_types::Bytes::gib(64),
        );
        let gpu = compute_types::Gpu::new(gpus, "H100", compute_types::Manufacturer::Nvidia);
        t.gpus.push(gpu);
        t
    }

    fn quota(unit: QuotaUnit, limit: u64) -> Quota {
        Quota::new(unit, limit, 0)
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_beyond_the_instance_quota_is_refused_before_any_create() {
        let p = TestProvider::new()
            .with_quotas(vec![quota(QuotaUnit::Instances, 3)])
            .arc();

        let err = create_group(dyn_p(&p), requests(5), options())
            .await
            .unwrap_err();

        assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
        let short = err.quota_shortfall().unwrap();
        assert_eq!(short.field(), "nodes");
        assert_eq!((short.requested, short.limit, short.used), (5, 3, 0));
        assert_eq!(err.not_started().len(), 5);
        assert!(err.failures().is_empty() && err.is_clean());
        assert_eq!(p.calls("create_instance") + p.calls("list_instances"), 0);
        let text = err.to_string();
        let plain = "refused before creating any of 5 instances: quota exceeded: nodes: \
            5 requested in loc-1, limit 3 with 0 in use (3 left)";
        assert_eq!(text, plain);
        let std_err: Error = err.into();
        assert_eq!(std_err.outcome(), Some(&Outcome::NotApplied));
        assert_eq!(std_err.provider(), Some("test"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_beyond_the_gpu_quota_is_refused_before_any_create() {
        let p = TestProvider::new()
            .with_quotas(vec![
                quota(QuotaUnit::Instances, 10),
                quota(QuotaUnit::Gpus, 5),
            ])
            .arc();
        p.state().types.push(gpu_type(2));

        let err = create_group(dyn_p(&p), requests(3), options())
            .await
            .unwrap_err();

        let short = err.quota_shortfall().unwrap();
        assert_eq!(short.field(), "gpus");
        assert_eq!((short.requested, short.limit), (6, 5));
        assert!(
            err.cause().message().starts_with("gpus: 6 requested"),
            "{err}"
        );
        assert_eq!(p.calls("create_instance"), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_that_fits_its_quota_is_created() {
        let p = TestProvider::new()
            .with_quotas(vec![
                quota(QuotaUnit::Instances, 3),
                quota(QuotaUnit::Gpus, 6),
            ])
            .arc();
        p.state().types.push(gpu_type(2));

        let group = create_group(dyn_p(&p), requests(3), options())
            .await
            .unwrap();

        assert_eq!(group.len(), 3);
        assert_eq!(p.calls("quotas"), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn instances_a_rerun_adopts_do_not_count_against_the_quota() {
        let p = TestProvider::new()
            .with_quotas(vec![quota(QuotaUnit::Instances, 3)])
            .arc();
        let first = create_group(dyn_p(&p), requests(2), options())
            .await
            .unwrap();

        let grown = create_group(dyn_p(&p), requests(3), options())
            .await
            .unwrap();
        let too_big = create_group(dyn_p(&p), requests(5), options())
            .await
            .unwrap_err();

        assert_eq!(grown[1].id(), first[1].id());
        assert_eq!(p.live().len(), 3);
        assert_eq!(too_big.kind(), ErrorKind::QuotaExceeded);
        assert_eq!(too_big.quota_shortfall().unwrap().used, 3);
        assert_eq!(p.calls("create_instance"), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_quota_read_refuses_the_group_and_an_unsupported_one_is_skipped() {
        let p = TestProvider::new()
            .with_quotas(vec![quota(QuotaUnit::Instances, 3)])
            .arc();
        p.fail_next("quotas", Fault::new(ErrorKind::Unavailable));
        p.fail_next("quotas", Fault::new(ErrorKind::Unsupported));

        let err = create_group(dyn_p(&p), requests(2), options())
            .await
            .unwrap_err();
        let skipped = create_group(dyn_p(&p), requests(2), options()).await;

        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.is_clean() && err.quota_shortfall().is_none());
        assert!(
            err.to_string().starts_with("refused before creating any"),
            "{err}"
        );
        assert_eq!(skipped.unwrap().len(), 2);
        assert_eq!(p.calls("create_instance"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn converts_into_the_standard_error_keeping_the_kind() {
        let p = TestProvider::new().arc();
        let quota = Fault::new(ErrorKind::QuotaExceeded).not_applied();
        p.state().create_faults.insert(1, quota);

        let err: Error = create_group(dyn_p(&p), requests(2), options())
            .await
            .unwrap_err()
            .into();

        assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
        assert_eq!(err.outcome(), Some(&Outcome::NotApplied));
        assert_eq!(err.provider(), Some("test"));
        assert!(err.to_string().contains("1 of 2 instances failed"), "{err}");
        let group = std::error::Error::source(&err)
            .unwrap()
            .downcast_ref::<GroupError>();
        assert_eq!(group.unwrap().failed_ref_ids().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancel_before_any_launch_creates_nothing() {
        let p = TestProvider::new().arc();
        let cancellation = Cancellation::new();
        cancellation.cancel();

        let options = options().with_cancellation(cancellation);
        let err = create_group(dyn_p(&p), requests(3), options)
            .await
            .unwrap_err();

        assert!(err.is_cancelled(), "{err}");
        assert_eq!(p.calls("create_instance"), 0);
        assert_eq!(err.not_started().len(), 3);
        assert!(err.is_clean() && err.cleaned_up().is_empty(), "{err}");
        assert!(err.to_string().contains("cancelled by the caller"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancel_during_launch_lets_creates_in_flight_finish_and_rolls_them_back() {
        let p = TestProvider::new()
            .with_create_delay(Duration::from_secs(3))
            .arc();
        let cancellation = Cancellation::new();
        let trigger = cancellation.clone();
        tokio::spawn(async move {
            sleep(Duration::from_secs(1)).await;
            trigger.cancel();
        });

        let options = options().with_cancellation(cancellation);
        let err = create_group(dyn_p(&p), requests(5), options)
            .await
            .unwrap_err();

        // Concurrency 2: the two creates in flight finish, the other three never start.
        assert!(err.is_cancelled(), "{err}");
        assert_eq!(p.calls("create_instance"), 2);
        assert_eq!(err.not_started().len(), 3);
        assert_eq!(err.cleaned_up().len(), 2, "{err}");
        assert!(err.failures().is_empty() && err.is_clean(), "{err}");
        assert!(p.live().is_empty(), "left: {:?}", p.live());
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancel_during_the_wait_rolls_back_everything_created() {
        let p = TestProvider::new().with_polls_to_boot(1_000).arc();
        let cancellation = Cancellation::new();
        let trigger = cancellation.clone();
        let watched = Arc::clone(&p);
        tokio::spawn(async move {
            while watched.calls("create_instance") < 3 {
                sleep(Duration::from_secs(1)).await;
            }
            sleep(Duration::from_secs(5)).await;
            trigger.cancel();
        });

        let options = options().with_cancellation(cancellation);
        let err = create_group(dyn_p(&p), requests(3), options)
            .await
            .unwrap_err();

        assert!(err.is_cancelled(), "{err}");
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert_eq!(err.cleaned_up().len(), 3, "{err}");
        assert!(err.is_clean(), "{err}");
        assert!(p.live().is_empty(), "left: {:?}", p.live());
        let converted = Error::from(err);
        assert_eq!(converted.retry(), Retry::Never);
    }
}
