//! `FakeProvider`: the `Provider` trait and every capability trait over one shared world.

use std::{
    fmt,
    sync::{Arc, Mutex, MutexGuard},
};

use async_trait::async_trait;
use compute_provider::{
    ChangeInstanceType, CreateInstance, Fault, FaultInjection, Firewall, Images,
    InstanceTypeFilter, ListInstances, LocationsQuery, NetworkProbe, Probe, ProbeResult, Provider,
    QuotaInfo, Reboot, ResizeVolume, StopStart, UpdateTags,
};
use compute_types::{
    Bytes, Capabilities, Capability, Error, FirewallRule, FirewallRuleId, Image, Instance,
    InstanceId, InstanceType, InstanceTypeId, Location, LocationId, ProviderId, Quota, Result,
    Tags,
};

use crate::{
    clock::Clock,
    config::{FakeConfig, Operation},
    faults::FaultState,
    ops::{Created, images},
    persist::{Signature, StateFile},
    world::{CatalogData, World},
};

/// The reference in-memory provider: a careful cloud with a clock-driven lifecycle, an L3
/// network model, quota, capacity and fault injection.
///
/// Cloning is cheap and every clone shares one world. Build one with
/// [`FakeProvider::builder`] or open a shared state file with [`FakeProvider::open`].
///
/// # Behaviour
/// - Lifecycle: a create answers `pending`; after the boot delay the instance is `running`.
///   Stop goes through `stopping`, terminate through `terminating`, each after its delay.
///   Calls the lifecycle table forbids answer `InvalidRequest` naming `state`.
/// - Terminated instances stay visible, in state `terminated`, for the life of the world;
///   [`get_instance`](Provider::get_instance) of an id the world never made is `NotFound`;
///   terminate is idempotent.
/// - Idempotency: a create whose ref id names a live instance returns that instance (or
///   `AlreadyExists` when type or cluster differ). A terminating or terminated instance
///   gives its ref id up, so the same ref id can launch again.
/// - Resources: quota (instances and GPUs per location) is held from create until
///   terminate is accepted; capacity per (location, type) is held while the instance is
///   not stopped or terminated; addresses are released when terminate is accepted, and a
///   stop releases the public address unless the request asked for a persistent one.
/// - Network: instances with a cluster share that cluster's subnet; instances without one
///   sit in a shared *default network* (`vpc-default`) and are not a cluster, so only
///   their firewall rules admit traffic between them. Every instance has a private
///   address, a public address, SSH user `ubuntu` and port 22, and the fingerprint of the
///   request's public key.
/// - Ownership: every instance carries [`TAG_REF_ID`](compute_types::TAG_REF_ID), and
///   [`TAG_CREDENTIAL_REF_ID`](compute_types::TAG_CREDENTIAL_REF_ID) and
///   [`TAG_CLUSTER`](compute_types::TAG_CLUSTER) when the request has them.
///
/// # Limitations
/// The default public pool holds 508 addresses; larger worlds set
/// [`FakeConfig::public_ranges`]. Cluster subnets are never reclaimed.
#[derive(Clone)]
pub struct FakeProvider {
    shared: Arc<Shared>,
}

struct Shared {
    id: ProviderId,
    cfg: Arc<FakeConfig>,
    catalog: Arc<CatalogData>,
    state: Mutex<State>,
    file: Option<StateFile>,
}

pub(crate) struct State {
    pub(crate) world: World,
    faults: FaultState,
    seen: Option<Signature>,
}

impl fmt::Debug for FakeProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeProvider")
            .field("id", &self.shared.id)
            .field("types", &self.shared.catalog.types.len())
            .field(
                "state_file",
                &self.shared.file.as_ref().map(StateFile::path),
            )
            .finish_non_exhaustive()
    }
}

impl FakeProvider {
    /// Returns a configuration with every default, to adjust and [`build`](FakeConfig::build).
    pub fn builder() -> FakeConfig {
        FakeConfig::default()
    }

    /// Opens the world kept in `path` (or an empty one when the file does not exist yet),
    /// configured by `config`; the CLI's entry point.
    ///
    /// # Errors
    /// As [`FakeConfig::build`]: a corrupt or newer state file is an error naming the file;
    /// it is never reset.
    pub fn open(path: impl Into<std::path::PathBuf>, config: FakeConfig) -> Result<Self> {
        config.state_file(path).build()
    }

    pub(crate) fn from_config(cfg: FakeConfig) -> Result<Self> {
        let id = match &cfg.provider_id {
            Some(id) => id.clone(),
            None => ProviderId::new("fake")?,
        };
        let seed = match &cfg.catalog {
            Some(seed) => seed.clone(),
            None => crate::default_catalog(),
        };
        let catalog = Arc::new(CatalogData::new(seed)?);
        let cfg = Arc::new(cfg);
        let file = cfg.state_file.as_deref().map(StateFile::new);

        let mut world = World::new(
            Arc::clone(&cfg),
            Arc::clone(&catalog),
            Clock::starting_now(),
        )?;
        let mut seen = None;
        if let Some(file) = &file {
            let _lock = file.lock()?;
            if let Some((loaded, sig)) = file.load(&cfg, &catalog)? {
                world = loaded;
                seen = Some(sig);
            }
        }

        let state = State {
            world,
            faults: FaultState::new(cfg.seed),
            seen,
        };
        Ok(Self {
            shared: Arc::new(Shared {
                id,
                cfg,
                catalog,
                state: Mutex::new(state),
                file,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs one call: latency, admission (rate limit, transient faults), then `f` on the
    /// settled world, with the state file reloaded before and saved after when one is set.
    async fn call<T>(
        &self,
        op: Operation,
        f: impl FnOnce(&mut World, &mut FaultState) -> Result<T> + Send,
    ) -> Result<T> {
        let latency = self.shared.cfg.faults.latency_of(op);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        self.run(op, f)
            .map_err(|e| e.or_context(self.shared.id.as_str(), op.as_str()))
    }

    fn run<T>(
        &self,
        op: Operation,
        f: impl FnOnce(&mut World, &mut FaultState) -> Result<T>,
    ) -> Result<T> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let now = state.world.clock.now();
        state.faults.admit(&self.shared.cfg.faults, op, now)?;

        let Some(file) = &self.shared.file else {
            state.world.settle();
            return f(&mut state.world, &mut state.faults);
        };
        let _lock = file.lock()?;
        self.reload(file, state)?;
        state.world.settle();
        let out = f(&mut state.world, &mut state.faults);
        if op.is_mutating() {
            state.seen = Some(file.save(&state.world)?);
        }
        out
    }

    fn reload(&self, file: &StateFile, state: &mut State) -> Result<()> {
        let current = file.signature();
        if current == state.seen {
            return Ok(());
        }
        let (cfg, catalog) = (&self.shared.cfg, &self.shared.catalog);
        match file.load(cfg, catalog)? {
            Some((world, sig)) => {
                state.world = world;
                state.seen = Some(sig);
            }
            None => {
                let clock = Clock::starting_now();
                state.world = World::new(Arc::clone(cfg), Arc::clone(catalog), clock)?;
                state.seen = None;
            }
        }
        Ok(())
    }

    /// Runs `f` on the settled world without counting as a provider call (no latency, rate
    /// limit or injected fault); test hooks and the CLI's views use it.
    pub(crate) fn inspect<T>(&self, f: impl FnOnce(&World) -> Result<T>) -> Result<T> {
        let mut guard = self.lock();
        let state = &mut *guard;
        if let Some(file) = &self.shared.file {
            self.reload(file, state)?;
        }
        state.world.settle();
        f(&state.world)
    }

    /// Returns the path of the state file, when the fake keeps one.
    pub fn state_file(&self) -> Option<&std::path::Path> {
        self.shared.file.as_ref().map(StateFile::path)
    }

    /// Returns `compute-net`'s model of the world, for `firewall check`, `render` and
    /// `lint`: every named cluster with its subnet, and every instance holding addresses
    /// (all but terminating and terminated ones) with its private and public address and
    /// its rules, under its cloud id. A cluster-less instance is a single-node cluster named
    /// `solo:<instance id>`. [`Network::probe`](compute_net::Network::probe) on it answers
    /// as [`NetworkProbe::probe`] does for running instances.
    ///
    /// # Errors
    /// Only for a state file that cannot be read (see [`FakeConfig::build`]).
    pub fn network(&self) -> Result<compute_net::Network> {
        self.inspect(|w| crate::network::model(w, None))
    }

    /// Returns the IPv4 subnet of cluster `name`, `None` while no instance ever joined it.
    ///
    /// # Errors
    /// Only for a state file that cannot be read (see [`FakeConfig::build`]).
    pub fn cluster_subnet(&self, name: &str) -> Result<Option<ipnet::Ipv4Net>> {
        self.inspect(|w| {
            let index = w.addresses.find_cluster(name);
            Ok(index.map(|i| w.addresses.subnet(crate::addresses::NetRef::Cluster(i))))
        })
    }

    /// Returns the quotas of one provider's location, for a fake seeded from a multi-cloud
    /// catalog (see [`FakeConfig::from_catalog`]), where
    /// [`QuotaInfo::quotas`] answers for a location name shared by several providers.
    ///
    /// # Errors
    /// `NotFound` when no instance type of `provider` is in `location`; otherwise only for
    /// a state file that cannot be read (see [`FakeConfig::build`]).
    pub fn provider_quotas(
        &self,
        provider: &ProviderId,
        location: &LocationId,
    ) -> Result<Vec<Quota>> {
        self.inspect(|w| w.provider_quotas(provider, location))
    }

    /// Returns how many instances the world holds, terminated ones included.
    ///
    /// # Errors
    /// Only for a state file that cannot be read (see [`FakeConfig::build`]).
    pub fn instance_count(&self) -> Result<usize> {
        self.inspect(|w| Ok(w.records.iter().flatten().count()))
    }
}

#[async_trait]
impl Provider for FakeProvider {
    fn id(&self) -> &ProviderId {
        &self.shared.id
    }

    fn create_features(&self) -> Capabilities {
        Capabilities::new()
            .with(Capability::CreateIdempotentInstance)
            .with(Capability::InstanceUserData)
            .with(Capability::Vpc)
    }

    async fn locations(&self, query: &LocationsQuery) -> Result<Vec<Location>> {
        let catalog = Arc::clone(&self.shared.catalog);
        self.call(Operation::Locations, move |_, _| {
            let all = catalog.locations.iter();
            Ok(all
                .filter(|l| query.include_unavailable || l.available)
                .cloned()
                .collect())
        })
        .await
    }

    async fn instance_types(&self, filter: &InstanceTypeFilter) -> Result<Vec<InstanceType>> {
        let catalog = Arc::clone(&self.shared.catalog);
        self.call(Operation::InstanceTypes, move |_, _| {
            Ok(catalog
                .types
                .iter()
                .filter(|t| filter.matches(t))
                .cloned()
                .collect())
        })
        .await
    }

    async fn create_instance(&self, request: &CreateInstance) -> Result<Instance> {
        self.call(Operation::Create, |w, faults| {
            match w.create(request, faults)? {
                Created::New(inst) => {
                    tracing::info!(instance_id = %inst.id(), ref_id = %inst.ref_id(), "created");
                    Ok(inst)
                }
                Created::Existing(inst) => Ok(inst),
            }
        })
        .await
    }

    async fn get_instance(&self, id: &InstanceId) -> Result<Instance> {
        self.call(Operation::Get, |w, _| w.get(id)).await
    }

    async fn list_instances(&self, filter: &ListInstances) -> Result<Vec<Instance>> {
        self.call(Operation::List, |w, _| w.list(filter)).await
    }

    async fn terminate_instance(&self, id: &InstanceId) -> Result<()> {
        self.call(Operation::Terminate, |w, _| w.terminate(id))
            .await
    }

    fn stop_start(&self) -> Option<&dyn StopStart> {
        Some(self)
    }

    fn reboot(&self) -> Option<&dyn Reboot> {
        Some(self)
    }

    fn resize_volume(&self) -> Option<&dyn ResizeVolume> {
        Some(self)
    }

    fn change_type(&self) -> Option<&dyn ChangeInstanceType> {
        Some(self)
    }

    fn firewall(&self) -> Option<&dyn Firewall> {
        Some(self)
    }

    fn update_tags(&self) -> Option<&dyn UpdateTags> {
        Some(self)
    }

    fn images(&self) -> Option<&dyn Images> {
        Some(self)
    }

    fn quota(&self) -> Option<&dyn QuotaInfo> {
        Some(self)
    }

    fn network_probe(&self) -> Option<&dyn NetworkProbe> {
        Some(self)
    }

    fn fault_injection(&self) -> Option<&dyn FaultInjection> {
        Some(self)
    }
}

#[async_trait]
impl StopStart for FakeProvider {
    async fn stop_instance(&self, id: &InstanceId) -> Result<()> {
        self.call(Operation::Stop, |w, _| w.stop(id)).await
    }

    async fn start_instance(&self, id: &InstanceId) -> Result<()> {
        self.call(Operation::Start, |w, _| w.start(id)).await
    }
}

#[async_trait]
impl Reboot for FakeProvider {
    async fn reboot_instance(&self, id: &InstanceId) -> Result<()> {
        self.call(Operation::Reboot, |w, _| w.reboot(id)).await
    }
}

#[async_trait]
impl ResizeVolume for FakeProvider {
    async fn resize_volume(&self, id: &InstanceId, volume_id: &str, size: Bytes) -> Result<()> {
        self.call(Operation::ResizeVolume, |w, _| {
            w.resize_volume(id, volume_id, size)
        })
        .await
    }
}

#[async_trait]
impl ChangeInstanceType for FakeProvider {
    async fn change_instance_type(&self, id: &InstanceId, new_type: &InstanceTypeId) -> Result<()> {
        self.call(Operation::ChangeType, |w, _| w.change_type(id, new_type))
            .await
    }
}

#[async_trait]
impl Firewall for FakeProvider {
    async fn add_firewall_rules(
        &self,
        id: &InstanceId,
        rules: &[FirewallRule],
    ) -> Result<Vec<FirewallRule>> {
        self.call(Operation::Firewall, |w, _| w.add_rules(id, rules))
            .await
    }

    async fn revoke_firewall_rules(
        &self,
        id: &InstanceId,
        rule_ids: &[FirewallRuleId],
    ) -> Result<()> {
        self.call(Operation::Firewall, |w, _| w.revoke_rules(id, rule_ids))
            .await
    }
}

#[async_trait]
impl UpdateTags for FakeProvider {
    async fn update_tags(&self, id: &InstanceId, tags: &Tags) -> Result<()> {
        self.call(Operation::UpdateTags, |w, _| w.update_tags(id, tags))
            .await
    }
}

#[async_trait]
impl Images for FakeProvider {
    async fn list_images(&self, location: &LocationId) -> Result<Vec<Image>> {
        self.call(Operation::Images, |w, _| {
            if w.knows_location(location) {
                Ok(images())
            } else {
                Err(Error::not_found(format!(
                    "location {location} does not exist"
                )))
            }
        })
        .await
    }
}

#[async_trait]
impl QuotaInfo for FakeProvider {
    async fn quotas(&self, location: &LocationId) -> Result<Vec<Quota>> {
        self.call(Operation::Quota, |w, _| w.quotas(location)).await
    }
}

#[async_trait]
impl NetworkProbe for FakeProvider {
    async fn probe(&self, probe: &Probe) -> Result<ProbeResult> {
        self.inspect(|w| crate::network::probe(w, probe))
            .map_err(|e| e.or_context(self.shared.id.as_str(), "probe"))
    }
}

#[async_trait]
impl FaultInjection for FakeProvider {
    async fn inject(&self, fault: Fault) -> Result<()> {
        match fault {
            Fault::CapacityOnNextCreate
            | Fault::QuotaOnNextCreate
            | Fault::FailMidCreate
            | Fault::AmbiguousNextCreate => {
                self.lock().faults.arm(fault);
                Ok(())
            }
            _ => Err(Error::unsupported(self.shared.id.as_str(), "inject")),
        }
    }

    async fn clear_faults(&self) -> Result<()> {
        self.lock().faults.clear();
        Ok(())
    }
}
