//! Deliberately broken providers: wrappers with one defect each, which prove the suite
//! has teeth.
//!
//! [`Broken`] wraps any `Arc<dyn Provider>` and forwards every call, except that it
//! breaks the contract in the one way its [`Defect`] names. This crate's tests wrap the
//! fake with each defect and check that a named case fails; a provider engineer can do
//! the same with a new provider to see which cases guard which promise.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex, MutexGuard},
};

use async_trait::async_trait;
use tokio::time::{Duration, Instant};

use compute_provider::{
    ApiScope, ChangeInstanceType, CreateInstance, FaultInjection, Firewall, Images,
    InstanceTypeFilter, ListInstances, LocationsQuery, NetworkProbe, Probe, ProbeResult,
    ProbeSource, Provider, QuotaInfo, Reboot, ResizeVolume, StopStart, UpdateTags,
};
use compute_types::{
    Bytes, Capabilities, Capability, Error, ErrorKind, FirewallRule, FirewallRuleId, FirewallRules,
    Instance, InstanceId, InstanceState, InstanceType, InstanceTypeId, Location, PortRange,
    ProviderId, RefId, Result, Retry, TAG_REF_ID, Tags,
};

/// One way to break the provider contract.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Defect {
    /// Instances come back without the caller's ref id or its ownership tag.
    DropsRefId,
    /// A repeated create with the same ref id makes a second instance.
    DuplicatesRepeatedRefId,
    /// A create that fails (without an unknown outcome) leaves an instance behind.
    LeavesInstanceAfterFailedCreate,
    /// Declares reboot, but the call returns `Unsupported`.
    DeclaresUnimplementedCapability,
    /// Lists come from a cache of the whole list, taken at the first listing and
    /// refreshed hourly: instances created since are missing, and instances terminated
    /// since are still shown as they were.
    StaleLists,
    /// Opens every port of a rule's protocol, while reporting the rule as asked.
    WidensFirewallRules,
    /// The probe says instances of different clusters reach each other.
    LetsClustersTalk,
    /// Reports pending instances as running, before they have an address (the
    /// addresses of a pending instance are hidden, as a cloud assigning them on boot would).
    RunningBeforeAddress,
    /// Mints new instance type ids on every listing.
    UnstableTypeIds,
    /// A second terminate fails with `NotFound`.
    TerminateNotIdempotent,
    /// An unknown instance is `Internal`, not `NotFound`.
    WrongNotFoundKind,
    /// Ignores the location filter of instance and type listings.
    IgnoresLocationFilter,
    /// Does not declare user data, yet accepts it on create and silently drops it.
    IgnoresUndeclaredUserData,
    /// The probe says every outside address reaches every port.
    DefaultOpenInbound,
    /// The probe says instances of one cluster cannot reach each other.
    IsolatesClusterMembers,
    /// Stop answers success but the instance keeps running.
    StopIsIgnored,
    /// A tag update answers success but changes nothing.
    TagUpdateIsIgnored,
    /// A volume resize answers success but changes nothing.
    ResizeIsIgnored,
    /// Terminate answers success but the instance keeps running.
    TerminateIsIgnored,
    /// An ambiguous create is reported as a plain failure that applied nothing.
    HidesAmbiguousOutcome,
    /// Bad input is `Internal`, not `InvalidRequest`.
    InvalidRequestAsInternal,
    /// Rate limits are marked never retryable instead of throttled.
    RateLimitNotThrottled,
    /// Reboot answers success but does nothing: the instance never leaves running.
    RebootIsIgnored,
}

impl Defect {
    /// Every defect.
    pub const ALL: [Self; 23] = [
        Self::DropsRefId,
        Self::DuplicatesRepeatedRefId,
        Self::LeavesInstanceAfterFailedCreate,
        Self::DeclaresUnimplementedCapability,
        Self::StaleLists,
        Self::WidensFirewallRules,
        Self::LetsClustersTalk,
        Self::RunningBeforeAddress,
        Self::UnstableTypeIds,
        Self::TerminateNotIdempotent,
        Self::WrongNotFoundKind,
        Self::IgnoresLocationFilter,
        Self::IgnoresUndeclaredUserData,
        Self::DefaultOpenInbound,
        Self::IsolatesClusterMembers,
        Self::StopIsIgnored,
        Self::TagUpdateIsIgnored,
        Self::ResizeIsIgnored,
        Self::TerminateIsIgnored,
        Self::HidesAmbiguousOutcome,
        Self::InvalidRequestAsInternal,
        Self::RateLimitNotThrottled,
        Self::RebootIsIgnored,
    ];
}

#[derive(Debug, Default)]
struct State {
    /// Ref ids already created, for [`Defect::DuplicatesRepeatedRefId`].
    seen_ref_ids: BTreeSet<RefId>,
    /// Listings so far, for [`Defect::UnstableTypeIds`].
    type_listings: u64,
    /// The rules each instance was asked for, for [`Defect::WidensFirewallRules`].
    asked_rules: BTreeMap<InstanceId, FirewallRules>,
    /// The cached list [`Defect::StaleLists`] serves, with when it was taken.
    snapshot: Option<(Instant, Vec<Instance>)>,
}

/// How long [`Defect::StaleLists`] keeps serving one cached list.
const STALE_FOR: Duration = Duration::from_secs(60 * 60);

/// A provider that forwards to `inner` but has one [`Defect`].
///
/// ```
/// # fn demo(inner: std::sync::Arc<dyn compute_provider::Provider>) {
/// use std::sync::Arc;
///
/// use compute_conformance::broken::{Broken, Defect};
/// use compute_provider::Provider;
///
/// let broken: Arc<dyn Provider> = Arc::new(Broken::new(inner, Defect::StaleLists));
/// # let _ = broken;
/// # }
/// ```
#[derive(Debug)]
pub struct Broken {
    inner: Arc<dyn Provider>,
    defect: Defect,
    state: Mutex<State>,
}

impl Broken {
    /// Wraps `inner` with `defect`.
    pub fn new(inner: Arc<dyn Provider>, defect: Defect) -> Self {
        Self {
            inner,
            defect,
            state: Mutex::new(State::default()),
        }
    }

    /// Returns the defect.
    pub fn defect(&self) -> Defect {
        self.defect
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies the defect to an instance on its way out.
    fn distort(&self, mut instance: Instance) -> Result<Instance> {
        match self.defect {
            Defect::DropsRefId => {
                instance.identity.ref_id = RefId::new("unset")?;
                instance.tags.remove(TAG_REF_ID);
            }
            Defect::RunningBeforeAddress if instance.state() == InstanceState::Pending => {
                // A cloud that assigns addresses on boot, but says running at once.
                instance.lifecycle.status.state = InstanceState::Running;
                instance.network.public_ip = None;
                instance.network.private_ip = None;
            }
            Defect::WidensFirewallRules => {
                if let Some(rules) = self.state().asked_rules.get(instance.id()) {
                    instance.network.firewall_rules = rules.clone();
                }
            }
            _ => {}
        }
        Ok(instance)
    }

    /// Opens every port of a TCP or UDP rule.
    fn widen(rule: &FirewallRule) -> FirewallRule {
        let mut wide = rule.clone();
        if wide.protocol.has_ports() {
            wide.ports = Some(PortRange::ALL);
        }
        wide
    }

    async fn create(&self, request: &CreateInstance) -> Result<Instance> {
        match self.defect {
            Defect::DuplicatesRepeatedRefId => {
                let repeat = !self.state().seen_ref_ids.insert(request.ref_id.clone());
                if !repeat {
                    return self.inner.create_instance(request).await;
                }
                let mut twin = request.clone();
                twin.ref_id = RefId::new(format!("{}-twin", request.ref_id))?;
                let mut instance = self.inner.create_instance(&twin).await?;
                instance.identity.ref_id = request.ref_id.clone();
                instance
                    .tags
                    .insert_reserved(TAG_REF_ID, request.ref_id.as_str())?;
                Ok(instance)
            }
            Defect::LeavesInstanceAfterFailedCreate => {
                match self.inner.create_instance(request).await {
                    Err(err) if !err.is_outcome_unknown() => {
                        // The half-made instance of a real cloud, made here by retrying.
                        let _ = self.inner.create_instance(request).await;
                        Err(err)
                    }
                    other => other,
                }
            }
            Defect::WidensFirewallRules => {
                let mut wide = request.clone();
                wide.firewall_rules.ingress = request
                    .firewall_rules
                    .ingress
                    .iter()
                    .map(Self::widen)
                    .collect();
                let instance = self.inner.create_instance(&wide).await?;
                self.state()
                    .asked_rules
                    .insert(instance.id().clone(), request.firewall_rules.clone());
                Ok(instance)
            }
            Defect::IgnoresUndeclaredUserData => {
                let mut stripped = request.clone();
                stripped.user_data = None;
                self.inner.create_instance(&stripped).await
            }
            Defect::HidesAmbiguousOutcome => match self.inner.create_instance(request).await {
                Err(err) if err.is_outcome_unknown() => {
                    Err(Error::new(ErrorKind::Unavailable, "create failed")
                        .with_outcome(compute_types::Outcome::NotApplied))
                }
                other => other,
            },
            Defect::InvalidRequestAsInternal => match self.inner.create_instance(request).await {
                Err(err) if err.kind() == ErrorKind::InvalidRequest => {
                    Err(Error::internal(err.message().to_owned()))
                }
                other => other,
            },
            _ => self.inner.create_instance(request).await,
        }
    }

    /// Serves `filter` from the cached whole list, taking it first if it is missing or
    /// an hour old.
    async fn stale_list(&self, filter: &ListInstances) -> Result<Vec<Instance>> {
        let fresh = self
            .state()
            .snapshot
            .as_ref()
            .is_some_and(|(taken, _)| taken.elapsed() < STALE_FOR);
        if !fresh {
            let all = self.inner.list_instances(&ListInstances::all()).await?;
            self.state().snapshot = Some((Instant::now(), all));
        }

        let state = self.state();
        let cached = state.snapshot.as_ref().map(|(_, list)| list.as_slice());
        Ok(cached
            .unwrap_or_default()
            .iter()
            .filter(|i| filter.matches(i))
            .cloned()
            .collect())
    }

    /// Returns the inner ability, or an `Unsupported` error naming `operation`.
    fn inner_ability<'a, T: ?Sized>(
        &self,
        ability: Option<&'a T>,
        operation: &str,
    ) -> Result<&'a T> {
        ability.ok_or_else(|| Error::unsupported(self.inner.id().as_str(), operation))
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl Provider for Broken {
    fn id(&self) -> &ProviderId {
        self.inner.id()
    }

    fn api_scope(&self) -> ApiScope {
        self.inner.api_scope()
    }

    fn create_features(&self) -> Capabilities {
        let features = self.inner.create_features();
        if self.defect != Defect::IgnoresUndeclaredUserData {
            return features;
        }
        features
            .iter()
            .filter(|c| *c != Capability::InstanceUserData)
            .collect()
    }

    async fn locations(&self, query: &LocationsQuery) -> Result<Vec<Location>> {
        match self.inner.locations(query).await {
            Err(e) if self.defect == Defect::RateLimitNotThrottled => {
                Err(if e.kind() == ErrorKind::RateLimited {
                    e.with_retry(Retry::Never)
                } else {
                    e
                })
            }
            other => other,
        }
    }

    async fn instance_types(&self, filter: &InstanceTypeFilter) -> Result<Vec<InstanceType>> {
        let mut filter = filter.clone();
        if self.defect == Defect::IgnoresLocationFilter {
            filter.locations.clear();
        }
        let types = self.inner.instance_types(&filter).await?;
        if self.defect != Defect::UnstableTypeIds {
            return Ok(types);
        }

        let listing = {
            let mut state = self.state();
            state.type_listings += 1;
            state.type_listings
        };
        types
            .into_iter()
            .map(|mut t| {
                let name = format!("{}.r{listing}", t.name());
                t.id = InstanceTypeId::from_parts(
                    t.provider().clone(),
                    t.location().clone(),
                    t.id.zone().cloned(),
                    name,
                )?;
                Ok(t)
            })
            .collect()
    }

    async fn create_instance(&self, request: &CreateInstance) -> Result<Instance> {
        let instance = self.create(request).await?;
        self.distort(instance)
    }

    async fn get_instance(&self, id: &InstanceId) -> Result<Instance> {
        match self.inner.get_instance(id).await {
            Ok(instance) => self.distort(instance),
            Err(e)
                if self.defect == Defect::WrongNotFoundKind && e.kind() == ErrorKind::NotFound =>
            {
                Err(Error::internal("lookup failed"))
            }
            Err(e) => Err(e),
        }
    }

    async fn list_instances(&self, filter: &ListInstances) -> Result<Vec<Instance>> {
        let listed = match self.defect {
            Defect::StaleLists => self.stale_list(filter).await?,
            Defect::IgnoresLocationFilter => {
                let mut loose = filter.clone();
                loose.locations.clear();
                self.inner.list_instances(&loose).await?
            }
            _ => self.inner.list_instances(filter).await?,
        };
        listed.into_iter().map(|i| self.distort(i)).collect()
    }

    async fn terminate_instance(&self, id: &InstanceId) -> Result<()> {
        if self.defect == Defect::TerminateNotIdempotent {
            let gone = match self.inner.get_instance(id).await {
                Ok(instance) => matches!(
                    instance.state(),
                    InstanceState::Terminating | InstanceState::Terminated
                ),
                Err(e) => e.kind() == ErrorKind::NotFound,
            };
            if gone {
                return Err(Error::not_found(format!("instance {id} is already gone")));
            }
        }
        if self.defect == Defect::TerminateIsIgnored {
            return Ok(());
        }
        self.inner.terminate_instance(id).await
    }

    fn stop_start(&self) -> Option<&dyn StopStart> {
        match self.inner.stop_start() {
            Some(_) if self.defect == Defect::StopIsIgnored => Some(self),
            other => other,
        }
    }

    fn reboot(&self) -> Option<&dyn Reboot> {
        match self.inner.reboot() {
            _ if self.defect == Defect::DeclaresUnimplementedCapability => Some(self),
            Some(_) if self.defect == Defect::RebootIsIgnored => Some(self),
            other => other,
        }
    }

    fn resize_volume(&self) -> Option<&dyn ResizeVolume> {
        match self.inner.resize_volume() {
            Some(_) if self.defect == Defect::ResizeIsIgnored => Some(self),
            other => other,
        }
    }

    fn change_type(&self) -> Option<&dyn ChangeInstanceType> {
        self.inner.change_type()
    }

    fn firewall(&self) -> Option<&dyn Firewall> {
        match self.inner.firewall() {
            Some(_) if self.defect == Defect::WidensFirewallRules => Some(self),
            other => other,
        }
    }

    fn update_tags(&self) -> Option<&dyn UpdateTags> {
        match self.inner.update_tags() {
            Some(_) if self.defect == Defect::TagUpdateIsIgnored => Some(self),
            other => other,
        }
    }

    fn images(&self) -> Option<&dyn Images> {
        self.inner.images()
    }

    fn quota(&self) -> Option<&dyn QuotaInfo> {
        self.inner.quota()
    }

    fn network_probe(&self) -> Option<&dyn NetworkProbe> {
        let lies = [
            Defect::LetsClustersTalk,
            Defect::DefaultOpenInbound,
            Defect::IsolatesClusterMembers,
        ];
        match self.inner.network_probe() {
            Some(_) if lies.contains(&self.defect) => Some(self),
            other => other,
        }
    }

    fn fault_injection(&self) -> Option<&dyn FaultInjection> {
        self.inner.fault_injection()
    }
}

/// Reached only under [`Defect::DeclaresUnimplementedCapability`] and
/// [`Defect::RebootIsIgnored`].
#[async_trait]
impl Reboot for Broken {
    async fn reboot_instance(&self, id: &InstanceId) -> Result<()> {
        if self.defect != Defect::RebootIsIgnored {
            return Err(Error::unsupported(
                self.inner.id().as_str(),
                "reboot_instance",
            ));
        }
        self.inner_ability(self.inner.reboot(), "reboot_instance")?;
        self.inner.get_instance(id).await.map(|_| ())
    }
}

/// Reached only under [`Defect::WidensFirewallRules`].
#[async_trait]
impl Firewall for Broken {
    async fn add_firewall_rules(
        &self,
        id: &InstanceId,
        rules: &[FirewallRule],
    ) -> Result<Vec<FirewallRule>> {
        let inner = self.inner_ability(self.inner.firewall(), "add_firewall_rules")?;
        let wide: Vec<_> = rules.iter().map(Self::widen).collect();
        let added = inner.add_firewall_rules(id, &wide).await?;

        // Report the rules as asked, with the ids the inner provider gave.
        let reported: Vec<_> = added
            .iter()
            .zip(rules)
            .map(|(made, asked)| match &made.id {
                Some(rule_id) => asked.clone().with_id(rule_id.clone()),
                None => asked.clone(),
            })
            .collect();
        let current = self.inner.get_instance(id).await?;
        let mut state = self.state();
        let asked = state
            .asked_rules
            .entry(id.clone())
            .or_insert_with(|| current.network.firewall_rules.clone());
        for rule in &reported {
            asked.push(rule.clone());
        }
        Ok(reported)
    }

    async fn revoke_firewall_rules(
        &self,
        id: &InstanceId,
        rule_ids: &[FirewallRuleId],
    ) -> Result<()> {
        let inner = self.inner_ability(self.inner.firewall(), "revoke_firewall_rules")?;
        inner.revoke_firewall_rules(id, rule_ids).await?;

        if let Some(asked) = self.state().asked_rules.get_mut(id) {
            let keep = |r: &FirewallRule| r.id.as_ref().is_none_or(|x| !rule_ids.contains(x));
            asked.ingress.retain(keep);
            asked.egress.retain(keep);
        }
        Ok(())
    }
}

/// Reached only under the probe defects: [`Defect::LetsClustersTalk`],
/// [`Defect::DefaultOpenInbound`] and [`Defect::IsolatesClusterMembers`].
#[async_trait]
impl NetworkProbe for Broken {
    async fn probe(&self, probe: &Probe) -> Result<ProbeResult> {
        let inner = self.inner_ability(self.inner.network_probe(), "probe")?;
        let truth = inner.probe(probe).await?;
        let from_instance = matches!(probe.from, ProbeSource::Instance(_));
        Ok(match self.defect {
            Defect::LetsClustersTalk if from_instance => ProbeResult::new(true, "cluster internal"),
            Defect::IsolatesClusterMembers if from_instance => {
                ProbeResult::new(false, "default deny inbound")
            }
            Defect::DefaultOpenInbound if !from_instance => ProbeResult::new(true, "open"),
            _ => truth,
        })
    }
}

/// Reached only under [`Defect::StopIsIgnored`].
#[async_trait]
impl StopStart for Broken {
    async fn stop_instance(&self, id: &InstanceId) -> Result<()> {
        self.inner_ability(self.inner.stop_start(), "stop_instance")?;
        self.inner.get_instance(id).await.map(|_| ())
    }

    async fn start_instance(&self, id: &InstanceId) -> Result<()> {
        let inner = self.inner_ability(self.inner.stop_start(), "start_instance")?;
        inner.start_instance(id).await
    }
}

/// Reached only under [`Defect::TagUpdateIsIgnored`].
#[async_trait]
impl UpdateTags for Broken {
    async fn update_tags(&self, id: &InstanceId, _tags: &Tags) -> Result<()> {
        self.inner_ability(self.inner.update_tags(), "update_tags")?;
        self.inner.get_instance(id).await.map(|_| ())
    }
}

/// Reached only under [`Defect::ResizeIsIgnored`].
#[async_trait]
impl ResizeVolume for Broken {
    async fn resize_volume(&self, id: &InstanceId, _volume_id: &str, _size: Bytes) -> Result<()> {
        self.inner_ability(self.inner.resize_volume(), "resize_volume")?;
        self.inner.get_instance(id).await.map(|_| ())
    }
}
