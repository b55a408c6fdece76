//! The `Provider` trait and its optional capability traits.

use std::{fmt, net::IpAddr};

use async_trait::async_trait;
use compute_types::{
    Bytes, Capabilities, Capability, FirewallRule, FirewallRuleId, Image, Instance, InstanceId,
    InstanceType, InstanceTypeId, Location, LocationId, Protocol, ProviderId, Quota, Result, Tags,
};

use crate::{CreateInstance, InstanceTypeFilter, ListInstances, LocationsQuery};

/// Whether one API endpoint serves every location or each location has its own.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiScope {
    /// One endpoint for all locations.
    Global,
    /// A provider value is bound to one location; connect once per location.
    PerLocation,
}

/// A compute provider: a cloud, a local test environment, or the in-memory fake.
///
/// The trait is object safe: callers hold `Arc<dyn Provider>` and choose a vendor at run
/// time. Optional abilities are separate traits reached through the accessor methods
/// ([`Provider::stop_start`], [`Provider::firewall`], …), which return `None` by default.
/// The capability set ([`ProviderExt::capabilities`]) is derived from those accessors, so a
/// provider can never declare a capability it does not implement.
///
/// # Contract
/// - [`create_instance`](Provider::create_instance): on any error, either no instance
///   remains, or the error's [`Outcome`](compute_types::Outcome) is `Unknown` (carrying the
///   cloud id when known) and the caller must look the instance up by ref id.
/// - [`terminate_instance`](Provider::terminate_instance) is idempotent.
/// - [`get_instance`](Provider::get_instance) of an unknown id is
///   [`ErrorKind::NotFound`](compute_types::ErrorKind::NotFound).
/// - Every instance the provider creates carries the SDK's ownership tags
///   ([`TAG_REF_ID`](compute_types::TAG_REF_ID) and
///   [`TAG_CREDENTIAL_REF_ID`](compute_types::TAG_CREDENTIAL_REF_ID)); a provider without
///   tags encodes them another way and documents how.
#[async_trait]
pub trait Provider: Send + Sync + fmt::Debug + 'static {
    /// Returns the provider's name, e.g. `fake`.
    fn id(&self) -> &ProviderId;

    /// Returns whether the API is global or per location.
    fn api_scope(&self) -> ApiScope {
        ApiScope::Global
    }

    /// Returns the behavioural capabilities of create that no accessor can show:
    /// [`Capability::CreateIdempotentInstance`], [`Capability::InstanceUserData`],
    /// [`Capability::Vpc`] and [`Capability::ManagedKubernetes`]. Anything else returned here
    /// is ignored by [`ProviderExt::capabilities`].
    fn create_features(&self) -> Capabilities {
        Capabilities::new()
    }

    /// Lists locations.
    ///
    /// # Errors
    /// `Unauthenticated`, `PermissionDenied`, `RateLimited`, `Unavailable`, `Timeout`.
    ///
    /// # Provider differences
    /// Providers without zones return locations with empty `zones`.
    async fn locations(&self, query: &LocationsQuery) -> Result<Vec<Location>>;

    /// Lists instance types matching `filter`.
    ///
    /// # Errors
    /// `InvalidRequest` for a malformed filter; `Unauthenticated`, `RateLimited`,
    /// `Unavailable`, `Timeout`.
    ///
    /// # Provider differences
    /// Prices and availability may change between calls; ids must not.
    async fn instance_types(&self, filter: &InstanceTypeFilter) -> Result<Vec<InstanceType>>;

    /// Creates an instance. This starts billing.
    ///
    /// A repeated call with the same ref id returns the instance the first call created
    /// (when the provider declares [`Capability::CreateIdempotentInstance`]).
    ///
    /// # Errors
    /// `InvalidRequest` naming the field; `NotFound` for an unknown type or image;
    /// `CapacityUnavailable`; `QuotaExceeded`; `RateLimited`; `Unavailable`; `Timeout` (with
    /// an `Unknown` outcome when the request may have been applied).
    ///
    /// # Provider differences
    /// Some providers ignore zone, VPC or key pair name; they document which.
    async fn create_instance(&self, request: &CreateInstance) -> Result<Instance>;

    /// Returns one instance.
    ///
    /// # Errors
    /// `NotFound` for an unknown id; `RateLimited`, `Unavailable`, `Timeout`.
    ///
    /// # Provider differences
    /// A terminated instance may be returned in state `terminated` for a while or be
    /// `NotFound` at once.
    async fn get_instance(&self, id: &InstanceId) -> Result<Instance>;

    /// Lists instances matching `filter`.
    ///
    /// # Errors
    /// `RateLimited`, `Unavailable`, `Timeout`.
    ///
    /// # Provider differences
    /// Terminated instances may or may not be listed.
    async fn list_instances(&self, filter: &ListInstances) -> Result<Vec<Instance>>;

    /// Terminates an instance. Idempotent: terminating a terminated or unknown instance
    /// succeeds.
    ///
    /// # Errors
    /// `RateLimited`, `Unavailable`, `Timeout`.
    ///
    /// # Provider differences
    /// The instance may pass through `terminating` or disappear at once.
    async fn terminate_instance(&self, id: &InstanceId) -> Result<()>;

    /// Returns the stop/start ability.
    fn stop_start(&self) -> Option<&dyn StopStart> {
        None
    }

    /// Returns the reboot ability.
    fn reboot(&self) -> Option<&dyn Reboot> {
        None
    }

    /// Returns the volume resize ability.
    fn resize_volume(&self) -> Option<&dyn ResizeVolume> {
        None
    }

    /// Returns the change-type ability.
    fn change_type(&self) -> Option<&dyn ChangeInstanceType> {
        None
    }

    /// Returns the firewall ability.
    fn firewall(&self) -> Option<&dyn Firewall> {
        None
    }

    /// Returns the tag update ability.
    fn update_tags(&self) -> Option<&dyn UpdateTags> {
        None
    }

    /// Returns the image listing ability.
    fn images(&self) -> Option<&dyn Images> {
        None
    }

    /// Returns the quota reporting ability.
    fn quota(&self) -> Option<&dyn QuotaInfo> {
        None
    }

    /// Returns the reachability probe (a test hook).
    fn network_probe(&self) -> Option<&dyn NetworkProbe> {
        None
    }

    /// Returns the fault injection hook (a test hook).
    fn fault_injection(&self) -> Option<&dyn FaultInjection> {
        None
    }
}

/// Methods every provider gets, which implementors cannot override.
pub trait ProviderExt {
    /// Returns the capabilities, derived from the accessors and create features.
    fn capabilities(&self) -> Capabilities;
}

impl<P: Provider + ?Sized> ProviderExt for P {
    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::new()
            .with(Capability::CreateInstance)
            .with(Capability::TerminateInstance);
        let behavioural = [
            Capability::CreateIdempotentInstance,
            Capability::InstanceUserData,
            Capability::Vpc,
            Capability::ManagedKubernetes,
        ];
        let declared = self.create_features();
        for cap in behavioural.into_iter().filter(|c| declared.has(*c)) {
            caps.insert(cap);
        }
        let accessors = [
            (self.stop_start().is_some(), Capability::StopStartInstance),
            (self.reboot().is_some(), Capability::RebootInstance),
            (
                self.resize_volume().is_some(),
                Capability::ResizeInstanceVolume,
            ),
            (self.change_type().is_some(), Capability::ChangeInstanceType),
            (self.firewall().is_some(), Capability::ModifyFirewall),
            (self.update_tags().is_some(), Capability::UpdateTags),
            (self.images().is_some(), Capability::MachineImage),
            (self.quota().is_some(), Capability::Quota),
            (self.network_probe().is_some(), Capability::NetworkProbe),
            (self.fault_injection().is_some(), Capability::FaultInjection),
        ];
        for (present, cap) in accessors {
            if present {
                caps.insert(cap);
            }
        }
        caps
    }
}

/// Stops and starts instances.
#[async_trait]
pub trait StopStart: Send + Sync {
    /// Stops a running instance; it passes through `stopping` to `stopped`.
    ///
    /// # Errors
    /// `NotFound`; `InvalidRequest` when the state does not allow stopping.
    ///
    /// # Provider differences
    /// Some providers keep billing storage (or the whole instance) while stopped, and some
    /// release the public address unless it was created with a persistent IP.
    async fn stop_instance(&self, id: &InstanceId) -> Result<()>;

    /// Starts a stopped instance; it passes through `pending` to `running`.
    ///
    /// # Errors
    /// `NotFound`; `InvalidRequest` when the state does not allow starting;
    /// `CapacityUnavailable`.
    ///
    /// # Provider differences
    /// A started instance may come back on another host, with new addresses.
    async fn start_instance(&self, id: &InstanceId) -> Result<()>;
}

/// Reboots instances.
#[async_trait]
pub trait Reboot: Send + Sync {
    /// Reboots a running instance; it returns to `running`.
    ///
    /// # Errors
    /// `NotFound`; `InvalidRequest` when the instance is not running.
    ///
    /// # Provider differences
    /// Some providers report `pending` during the reboot, others stay `running`.
    async fn reboot_instance(&self, id: &InstanceId) -> Result<()>;
}

/// Grows volumes.
#[async_trait]
pub trait ResizeVolume: Send + Sync {
    /// Grows the volume `volume_id` of an instance to `size`. Shrinking is refused.
    ///
    /// # Errors
    /// `NotFound` for an unknown instance or volume; `InvalidRequest` for a smaller size or a
    /// volume that is not elastic.
    ///
    /// # Provider differences
    /// Some providers grow a volume only while the instance is stopped; the file system
    /// inside may need growing separately.
    async fn resize_volume(&self, id: &InstanceId, volume_id: &str, size: Bytes) -> Result<()>;
}

/// Changes an instance's type.
#[async_trait]
pub trait ChangeInstanceType: Send + Sync {
    /// Changes the type of a stopped instance.
    ///
    /// # Errors
    /// `NotFound`; `InvalidRequest` when the instance is not stopped or the type is in
    /// another location; `CapacityUnavailable`.
    ///
    /// # Provider differences
    /// Providers limit which types an instance may change to (same family, same GPU
    /// count); others are refused with `InvalidRequest`.
    async fn change_instance_type(&self, id: &InstanceId, new_type: &InstanceTypeId) -> Result<()>;
}

/// Changes firewall rules after launch.
#[async_trait]
pub trait Firewall: Send + Sync {
    /// Adds rules to an instance and returns them with their new ids.
    ///
    /// # Errors
    /// `NotFound`; `AlreadyExists` for a rule identical to an existing one; `InvalidRequest`.
    ///
    /// # Provider differences
    /// Some providers apply rules to a security group shared by several instances, so a
    /// rule added to one instance may open others in the same group; they document it.
    async fn add_firewall_rules(
        &self,
        id: &InstanceId,
        rules: &[FirewallRule],
    ) -> Result<Vec<FirewallRule>>;

    /// Revokes rules by id.
    ///
    /// # Errors
    /// `NotFound` for an unknown instance or rule id.
    ///
    /// # Provider differences
    /// Revocation may take a few seconds to reach established connections.
    async fn revoke_firewall_rules(
        &self,
        id: &InstanceId,
        rule_ids: &[FirewallRuleId],
    ) -> Result<()>;
}

/// Updates tags after launch.
#[async_trait]
pub trait UpdateTags: Send + Sync {
    /// Replaces the caller tags of an instance; the SDK's reserved tags are kept.
    ///
    /// # Errors
    /// `NotFound`; `InvalidRequest` for tags that break the limits.
    ///
    /// # Provider differences
    /// Providers without native tags store them another way (for example in the instance
    /// name or metadata) and document how.
    async fn update_tags(&self, id: &InstanceId, tags: &Tags) -> Result<()>;
}

/// Lists machine images.
#[async_trait]
pub trait Images: Send + Sync {
    /// Lists images usable in `location`.
    ///
    /// # Errors
    /// `NotFound` for an unknown location.
    ///
    /// # Provider differences
    /// Providers with global images return the same list for every location.
    async fn list_images(&self, location: &LocationId) -> Result<Vec<Image>>;
}

/// Reports quotas.
#[async_trait]
pub trait QuotaInfo: Send + Sync {
    /// Returns the quotas that apply in `location`.
    ///
    /// # Errors
    /// `NotFound` for an unknown location.
    ///
    /// # Provider differences
    /// Some providers count quota in GPUs, others in vCPUs or instances
    /// ([`QuotaUnit`](compute_types::QuotaUnit)); account-wide quotas are returned for
    /// every location.
    async fn quotas(&self, location: &LocationId) -> Result<Vec<Quota>>;
}

/// Where a probed flow comes from.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeSource {
    /// Another instance of this provider.
    Instance(InstanceId),
    /// An address outside the provider.
    External(IpAddr),
}

/// A flow to probe: would a packet from `from` reach `to` on `protocol`/`port`?
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Probe {
    /// The sender.
    pub from: ProbeSource,
    /// The receiving instance.
    pub to: InstanceId,
    /// The protocol.
    pub protocol: Protocol,
    /// The destination port, for TCP and UDP.
    pub port: Option<u16>,
}

impl Probe {
    /// A probe of `protocol`/`port` from `from` to `to`.
    pub fn new(from: ProbeSource, to: InstanceId, protocol: Protocol, port: Option<u16>) -> Self {
        Self {
            from,
            to,
            protocol,
            port,
        }
    }
}

/// The answer to a [`Probe`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProbeResult {
    /// Whether the flow is delivered.
    pub delivered: bool,
    /// Why: the matched rule, `cluster internal`, `default deny inbound`, …
    pub reason: String,
}

impl ProbeResult {
    /// A result.
    pub fn new(delivered: bool, reason: impl Into<String>) -> Self {
        Self {
            delivered,
            reason: reason.into(),
        }
    }
}

/// Answers whether flows would be delivered (the fake from its model, a local provider with
/// real packets). A test hook for the conformance suite.
#[async_trait]
pub trait NetworkProbe: Send + Sync {
    /// Probes one flow.
    ///
    /// # Errors
    /// `NotFound` when an instance is unknown; `InvalidRequest` for a port on ICMP.
    ///
    /// # Provider differences
    /// The fake answers from its model; a local provider sends real packets.
    async fn probe(&self, probe: &Probe) -> Result<ProbeResult>;
}

/// A fault to inject into the next matching call (a test hook).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The next create fails with `CapacityUnavailable` and leaves nothing.
    CapacityOnNextCreate,
    /// The next create fails with `QuotaExceeded` and leaves nothing.
    QuotaOnNextCreate,
    /// The next create fails half way through its steps and must roll back.
    FailMidCreate,
    /// The next create succeeds but reports a `Timeout` with an `Unknown` outcome.
    AmbiguousNextCreate,
}

/// Injects faults (a test hook for the conformance suite).
#[async_trait]
pub trait FaultInjection: Send + Sync {
    /// Arms a fault.
    ///
    /// # Errors
    /// `Unsupported` for a fault this provider cannot inject.
    ///
    /// # Provider differences
    /// Test providers support different subsets of [`Fault`].
    async fn inject(&self, fault: Fault) -> Result<()>;

    /// Disarms every fault.
    ///
    /// # Errors
    /// None in practice; the signature leaves room for remote hooks.
    ///
    /// # Provider differences
    /// None known.
    async fn clear_faults(&self) -> Result<()>;
}
