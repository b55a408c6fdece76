//! The async provider contract of the compute SDK, with credentials, waiters, retry and
//! tracing layers.
//!
//! - [`Provider`] is the object-safe trait every cloud implements (`Arc<dyn Provider>`
//!   works). Optional abilities are separate traits ([`StopStart`], [`Firewall`], …)
//!   reached through accessors, and [`ProviderExt::capabilities`] is derived from them, so
//!   a provider cannot claim what it does not implement. Requests are built with
//!   [`CreateInstance`], [`ListInstances`], [`InstanceTypeFilter`] and [`LocationsQuery`].
//! - [`Credential`] connects to a provider; secret values live in [`Secret`], which never
//!   prints.
//! - Layers wrap any provider and are providers themselves: [`Retrying`] (backoff with
//!   jitter, retry-after, and never a repeat of a create whose outcome is unknown) and
//!   [`Instrumented`] (one tracing span per call, no secrets). Stack them as
//!   `Instrumented(Retrying(provider))` so one span covers every attempt.
//! - [`waiter`] polls until instances reach a state or are gone, on tokio's clock.
//! - [`ownership`] tags what the SDK creates, adopts instances by ref id after an
//!   ambiguous create, and sweeps orphans.
//! - [`create_group`] brings up a set of instances all-or-nothing (refusing up front what
//!   the reported quota cannot hold), and [`merge_instance`]
//!   folds a control plane's fresh report into a stored instance.
//!
//! # Examples
//!
//! A tiny provider whose instances boot at once, layered, used for an all-or-nothing
//! group create, adoption by ref id and teardown:
//!
//! ```
//! use std::sync::{Arc, Mutex};
//!
//! use async_trait::async_trait;
//! use compute_provider::{
//!     CreateInstance, GroupOptions, InstanceTypeFilter, Instrumented, ListInstances,
//!     LocationsQuery, Provider, ProviderExt, RetryConfig, Retrying, WaitOptions,
//!     create_group, find_by_ref_id, tags_for_create, wait_until_gone,
//! };
//! use compute_types::{
//!     Capability, Error, Instance, InstanceId, InstanceState, InstanceStatus, InstanceType,
//!     InstanceTypeId, Location, ProviderId, RefId, Result, TAG_CLUSTER,
//! };
//!
//! #[derive(Debug)]
//! struct Tiny {
//!     id: ProviderId,
//!     instances: Mutex<Vec<Instance>>,
//! }
//!
//! #[async_trait]
//! impl Provider for Tiny {
//!     fn id(&self) -> &ProviderId {
//!         &self.id
//!     }
//!
//!     async fn locations(&self, _: &LocationsQuery) -> Result<Vec<Location>> {
//!         Ok(Vec::new())
//!     }
//!
//!     async fn instance_types(&self, _: &InstanceTypeFilter) -> Result<Vec<InstanceType>> {
//!         Ok(Vec::new())
//!     }
//!
//!     async fn create_instance(&self, req: &CreateInstance) -> Result<Instance> {
//!         req.validate()?;
//!         let mut all = self.instances.lock().unwrap();
//!         let cloud_id = InstanceId::new(format!("i-{}", all.len() + 1))?;
//!         let mut inst = Instance::new(req.display_name(), req.ref_id.clone(), cloud_id,
//!             req.instance_type.clone(), "2026-01-01T00:00:00Z".parse().unwrap());
//!         inst.tags = tags_for_create(req)?;
//!         inst.lifecycle.status = InstanceStatus::new(InstanceState::Running);
//!         all.push(inst.clone());
//!         Ok(inst)
//!     }
//!
//!     async fn get_instance(&self, id: &InstanceId) -> Result<Instance> {
//!         let all = self.instances.lock().unwrap();
//!         let found = all.iter().find(|i| i.id() == id).cloned();
//!         found.ok_or_else(|| Error::not_found(format!("instance {id} not found")))
//!     }
//!
//!     async fn list_instances(&self, filter: &ListInstances) -> Result<Vec<Instance>> {
//!         let all = self.instances.lock().unwrap();
//!         Ok(all.iter().filter(|i| filter.matches(i)).cloned().collect())
//!     }
//!
//!     async fn terminate_instance(&self, id: &InstanceId) -> Result<()> {
//!         self.instances.lock().unwrap().retain(|i| i.id() != id);
//!         Ok(())
//!     }
//! }
//!
//! # fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
//! runtime.block_on(async {
//!     let tiny = Tiny { id: ProviderId::new("tiny")?, instances: Mutex::default() };
//!     let retrying = Retrying::new(Arc::new(tiny), RetryConfig::new());
//!     let provider: Arc<dyn Provider> = Arc::new(Instrumented::new(Arc::new(retrying)));
//!     assert!(!provider.capabilities().has(Capability::StopStartInstance));
//!
//!     // Bring up three nodes: all reach `running`, or none remains.
//!     let type_id: InstanceTypeId = "tiny/lab//gpu_1x".parse()?;
//!     let mut requests = Vec::new();
//!     for i in 0..3 {
//!         let ref_id = RefId::new(format!("demo-{i}"))?;
//!         requests.push(CreateInstance::new(ref_id, type_id.clone()).with_cluster("demo"));
//!     }
//!     let nodes = create_group(Arc::clone(&provider), requests.clone(), GroupOptions::new())
//!         .await?;
//!     assert_eq!(nodes[0].tags.get(TAG_CLUSTER), Some("demo"));
//!
//!     // A rerun adopts the same instances by ref id instead of creating more.
//!     let again = create_group(Arc::clone(&provider), requests, GroupOptions::new()).await?;
//!     assert_eq!(again[2].id(), nodes[2].id());
//!     let found = find_by_ref_id(&*provider, &RefId::new("demo-1")?).await?;
//!     assert_eq!(found.map(|i| i.id().clone()).as_ref(), Some(nodes[1].id()));
//!
//!     for node in &nodes {
//!         provider.terminate_instance(node.id()).await?;
//!         wait_until_gone(&*provider, node.id(), &WaitOptions::default()).await?;
//!     }
//!     Ok::<_, Error>(())
//! })?;
//! # Ok(())
//! # }
//! ```

#[macro_use]
mod forward;

mod credential;
pub mod group;
pub mod instrument;
pub mod merge;
pub mod ownership;
mod provider;
mod request;
pub mod retry;
mod secret;
pub mod waiter;

#[cfg(test)]
mod testing;

pub use credential::Credential;
pub use group::{
    DEFAULT_ROLLBACK_TIMEOUT, GroupError, GroupEvent, GroupOptions, ProgressFn, QuotaShortfall,
    RollbackStatus, RolledBack, create_group,
};
pub use instrument::Instrumented;
pub use merge::merge_instance;
pub use ownership::{
    SweepOptions, SweepReport, find_by_ref_id, find_orphans, is_gone_or_going, owned_ref_id,
    ownership_tags, sweep_orphans, tags_for_create,
};
pub use provider::{
    ApiScope, ChangeInstanceType, Fault, FaultInjection, Firewall, Images, NetworkProbe, Probe,
    ProbeResult, ProbeSource, Provider, ProviderExt, QuotaInfo, Reboot, ResizeVolume, StopStart,
    UpdateTags,
};
pub use request::{
    CreateInstance, InstanceTypeFilter, ListInstances, LocationsQuery, MAX_CLUSTER_NAME_LEN,
    PublicKey, validate_cluster_name,
};
pub use retry::{RetryConfig, RetryLayer, Retrying};
pub use secret::Secret;
pub use waiter::{
    WaitError, WaitOptions, wait_for_all, wait_for_state, wait_until_all_gone, wait_until_gone,
};
