//! A small scriptable provider for this crate's unit tests (compiled only under `cfg(test)`).
//!
//! Instances boot from `pending` to `running` after a set number of `get` calls; terminate
//! moves them to `terminating`, the next `get` shows `terminated`, and after that they are
//! gone (`NotFound`). Faults are queued per operation, or armed for the n-th create.

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use async_trait::async_trait;
use compute_types::{
    Capabilities, Capability, Error, ErrorKind, Instance, InstanceId, InstanceState,
    InstanceStatus, InstanceType, InstanceTypeId, Location, LocationId, Outcome, ProviderId, Quota,
    RefId, Result, Retry,
};

use crate::{
    CreateInstance, InstanceTypeFilter, ListInstances, LocationsQuery, Provider, QuotaInfo,
    StopStart, ownership::tags_for_create,
};

/// A fault to return from a call, described as data so it can be queued and cloned.
#[derive(Debug, Clone)]
pub(crate) struct Fault {
    pub(crate) kind: ErrorKind,
    pub(crate) retry: Retry,
    pub(crate) outcome: Option<Outcome>,
    /// For create: make the instance anyway before failing (an ambiguous create).
    pub(crate) applied: bool,
}

impl Fault {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self {
            kind,
            retry: kind.default_retry(),
            outcome: None,
            applied: false,
        }
    }

    pub(crate) fn not_applied(mut self) -> Self {
        self.outcome = Some(Outcome::NotApplied);
        self
    }

    pub(crate) fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// A create that succeeds at the cloud but reports a timeout with an unknown outcome.
    pub(crate) fn ambiguous() -> Self {
        Self {
            kind: ErrorKind::Timeout,
            retry: Retry::Transient,
            outcome: Some(Outcome::Unknown { instance_id: None }),
            applied: true,
        }
    }

    fn to_error(&self, op: &str) -> Error {
        let mut err = Error::new(self.kind, "injected fault")
            .with_retry(self.retry)
            .with_provider("test")
            .with_operation(op);
        if let Some(outcome) = &self.outcome {
            err = err.with_outcome(outcome.clone());
        }
        err
    }
}

/// What the provider remembers; tests read and arm it through [`TestProvider::state`].
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) instances: BTreeMap<InstanceId, Instance>,
    /// `get` calls left before a pending instance is running.
    pub(crate) boot_polls: BTreeMap<InstanceId, u32>,
    /// Calls per operation.
    pub(crate) calls: BTreeMap<&'static str, u32>,
    /// Faults for the next calls of an operation, in order.
    pub(crate) faults: BTreeMap<&'static str, VecDeque<Fault>>,
    /// Faults for the n-th create (1-based).
    pub(crate) create_faults: BTreeMap<u32, Fault>,
    /// Ref ids whose instances boot into `failed`.
    pub(crate) boot_fail: BTreeSet<String>,
    /// Ref ids whose instances never leave `terminating`.
    pub(crate) stuck_terminating: BTreeSet<String>,
    /// The instance types `instance_types` lists (filtered).
    pub(crate) types: Vec<InstanceType>,
    pub(crate) next_id: u32,
    pub(crate) creates_started: u32,
    pub(crate) in_flight: u32,
    pub(crate) max_in_flight: u32,
}

/// The in-test provider.
#[derive(Debug)]
pub(crate) struct TestProvider {
    id: ProviderId,
    idempotent: bool,
    stop_start: bool,
    /// Each create sleeps this long (virtual time), to observe concurrency.
    create_delay: Duration,
    polls_to_boot: u32,
    /// The quotas reported for every location; `None` leaves the capability out.
    quotas: Option<Vec<Quota>>,
    state: Mutex<State>,
}

impl TestProvider {
    pub(crate) fn new() -> Self {
        Self {
            id: ProviderId::new("test").unwrap(),
            idempotent: false,
            stop_start: false,
            create_delay: Duration::ZERO,
            polls_to_boot: 1,
            quotas: None,
            state: Mutex::new(State::default()),
        }
    }

    pub(crate) fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    pub(crate) fn with_stop_start(mut self) -> Self {
        self.stop_start = true;
        self
    }

    pub(crate) fn with_create_delay(mut self, delay: Duration) -> Self {
        self.create_delay = delay;
        self
    }

    pub(crate) fn with_polls_to_boot(mut self, polls: u32) -> Self {
        self.polls_to_boot = polls;
        self
    }

    /// Reports `quotas` for every location, with quota use counted from live instances
    /// (each holds one instance and its type's GPUs).
    pub(crate) fn with_quotas(mut self, quotas: Vec<Quota>) -> Self {
        self.quotas = Some(quotas);
        self
    }

    pub(crate) fn arc(self) -> Arc<Self> {
        Arc::new(self)
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a fault for the next call of `op`.
    pub(crate) fn fail_next(&self, op: &'static str, fault: Fault) {
        self.state().faults.entry(op).or_default().push_back(fault);
    }

    pub(crate) fn calls(&self, op: &str) -> u32 {
        self.state().calls.get(op).copied().unwrap_or(0)
    }

    /// Instances that still exist and are not terminated.
    pub(crate) fn live(&self) -> Vec<Instance> {
        let state = self.state();
        let live = state
            .instances
            .values()
            .filter(|i| i.state() != InstanceState::Terminated);
        live.cloned().collect()
    }

    /// Puts an instance in place directly, bypassing create.
    pub(crate) fn insert(&self, instance: Instance) {
        self.state()
            .instances
            .insert(instance.id().clone(), instance);
    }

    /// Counts a call and pops a queued fault for it.
    fn enter(&self, op: &'static str) -> Result<()> {
        let mut state = self.state();
        *state.calls.entry(op).or_default() += 1;
        match state.faults.get_mut(op).and_then(VecDeque::pop_front) {
            Some(fault) => Err(fault.to_error(op)),
            None => Ok(()),
        }
    }

    fn make_instance(&self, state: &mut State, request: &CreateInstance) -> Instance {
        state.next_id += 1;
        let id = InstanceId::new(format!("i-{}", state.next_id)).unwrap();
        let mut inst = Instance::new(
            request.display_name(),
            request.ref_id.clone(),
            id.clone(),
            request.instance_type.clone(),
            "2026-01-01T00:00:00Z".parse().unwrap(),
        );
        inst.identity.credential_ref_id = request.credential_ref_id.clone();
        inst.tags = tags_for_create(request).unwrap();
        state.boot_polls.insert(id.clone(), self.polls_to_boot);
        state.instances.insert(id, inst.clone());
        inst
    }

    fn existing_by_ref(&self, state: &State, ref_id: &RefId) -> Option<Instance> {
        let mut live = state
            .instances
            .values()
            .filter(|i| i.ref_id() == ref_id && !crate::ownership::is_gone_or_going(i.state()));
        live.next().cloned()
    }
}

/// An instance for tests, placed in `test/loc-1`.
pub(crate) fn instance(id: &str, ref_id: &str, state: InstanceState) -> Instance {
    let mut inst = Instance::new(
        ref_id,
        RefId::new(ref_id).unwrap(),
        InstanceId::new(id).unwrap(),
        type_id(),
        "2026-01-01T00:00:00Z".parse().unwrap(),
    );
    inst.lifecycle.status = InstanceStatus::new(state);
    inst
}

pub(crate) fn type_id() -> InstanceTypeId {
    "test/loc-1//gpu_1x".parse().unwrap()
}

pub(crate) fn request(ref_id: &str) -> CreateInstance {
    CreateInstance::new(RefId::new(ref_id).unwrap(), type_id())
}

#[async_trait]
impl Provider for TestProvider {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    fn create_features(&self) -> Capabilities {
        let mut caps = Capabilities::new();
        if self.idempotent {
            caps.insert(Capability::CreateIdempotentInstance);
        }
        caps
    }

    async fn locations(&self, _query: &LocationsQuery) -> Result<Vec<Location>> {
        self.enter("locations")?;
        Ok(vec![Location::new(LocationId::new("loc-1").unwrap())])
    }

    async fn instance_types(&self, filter: &InstanceTypeFilter) -> Result<Vec<InstanceType>> {
        self.enter("instance_types")?;
        let state = self.state();
        Ok(state
            .types
            .iter()
            .filter(|t| filter.matches(t))
            .cloned()
            .collect())
    }

    async fn create_instance(&self, request: &CreateInstance) -> Result<Instance> {
        let nth = {
            let mut state = self.state();
            state.in_flight += 1;
            state.max_in_flight = state.max_in_flight.max(state.in_flight);
            state.creates_started += 1;
            state.creates_started
        };
        tokio::time::sleep(self.create_delay).await;
        let queued = self.enter("create_instance");

        let mut state = self.state();
        state.in_flight -= 1;
        let armed = state.create_faults.remove(&nth);
        if self.idempotent
            && let Some(existing) = self.existing_by_ref(&state, &request.ref_id)
        {
            return Ok(existing);
        }
        if let Some(fault) = armed {
            if fault.applied {
                self.make_instance(&mut state, request);
            }
            return Err(fault.to_error("create_instance"));
        }
        queued?;
        Ok(self.make_instance(&mut state, request))
    }

    async fn get_instance(&self, id: &InstanceId) -> Result<Instance> {
        self.enter("get_instance")?;

        let mut state = self.state();
        let boot_fail = state.boot_fail.clone();
        let stuck = state.stuck_terminating.clone();
        let polls = state.boot_polls.get(id).copied().unwrap_or(0);
        let Some(inst) = state.instances.get_mut(id) else {
            return Err(Error::not_found(format!("instance {id} not found")));
        };
        let shown = inst.clone();
        let next = match inst.state() {
            InstanceState::Pending if polls <= 1 => {
                if boot_fail.contains(inst.ref_id().as_str()) {
                    InstanceState::Failed
                } else {
                    InstanceState::Running
                }
            }
            InstanceState::Terminating if stuck.contains(inst.ref_id().as_str()) => {
                InstanceState::Terminating
            }
            InstanceState::Terminating => InstanceState::Terminated,
            InstanceState::Terminated => {
                state.instances.remove(id);
                return Ok(shown);
            }
            other => other,
        };
        inst.lifecycle.status = InstanceStatus::new(next);
        if let Some(p) = state.boot_polls.get_mut(id) {
            *p = p.saturating_sub(1);
        }
        Ok(shown)
    }

    async fn list_instances(&self, filter: &ListInstances) -> Result<Vec<Instance>> {
        self.enter("list_instances")?;

        let state = self.state();
        let found = state.instances.values().filter(|i| filter.matches(i));
        Ok(found.cloned().collect())
    }

    async fn terminate_instance(&self, id: &InstanceId) -> Result<()> {
        self.enter("terminate_instance")?;

        let mut state = self.state();
        if let Some(inst) = state.instances.get_mut(id)
            && inst.state() != InstanceState::Terminated
        {
            inst.lifecycle.status = InstanceStatus::new(InstanceState::Terminating);
        }
        Ok(())
    }

    fn stop_start(&self) -> Option<&dyn StopStart> {
        self.stop_start.then_some(self as &dyn StopStart)
    }

    fn quota(&self) -> Option<&dyn QuotaInfo> {
        self.quotas.as_ref().map(|_| self as &dyn QuotaInfo)
    }
}

#[async_trait]
impl QuotaInfo for TestProvider {
    async fn quotas(&self, _location: &LocationId) -> Result<Vec<Quota>> {
        self.enter("quotas")?;
        let state = self.state();
        let live = state
            .instances
            .values()
            .filter(|i| !crate::ownership::is_gone_or_going(i.state()));
        let (mut instances, mut gpus) = (0, 0);
        for inst in live {
            let t = state
                .types
                .iter()
                .find(|t| t.id == inst.compute.instance_type_id);
            instances += 1;
            gpus += t.map_or(0, |t| u64::from(t.gpu_count()));
        }
        let limits = self.quotas.iter().flatten();
        Ok(limits
            .map(|q| {
                let used = match q.unit {
                    compute_types::QuotaUnit::Instances => instances,
                    compute_types::QuotaUnit::Gpus => gpus,
                    _ => q.used,
                };
                Quota::new(q.unit, q.limit, used)
            })
            .collect())
    }
}

#[async_trait]
impl StopStart for TestProvider {
    async fn stop_instance(&self, id: &InstanceId) -> Result<()> {
        self.enter("stop_instance")?;

        let mut state = self.state();
        match state.instances.get_mut(id) {
            Some(inst) => {
                inst.lifecycle.status = InstanceStatus::new(InstanceState::Stopped);
                Ok(())
            }
            None => Err(Error::not_found(format!("instance {id} not found"))),
        }
    }

    async fn start_instance(&self, id: &InstanceId) -> Result<()> {
        self.enter("start_instance")?;

        let mut state = self.state();
        match state.instances.get_mut(id) {
            Some(inst) => {
                inst.lifecycle.status = InstanceStatus::new(InstanceState::Running);
                Ok(())
            }
            None => Err(Error::not_found(format!("instance {id} not found"))),
        }
    }
}
