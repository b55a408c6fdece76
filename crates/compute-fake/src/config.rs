//! The fake's configuration: seed, catalog, delays, quota, capacity, faults and state file.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    path::{Path, PathBuf},
    time::Duration,
};

use compute_types::{Error, InstanceType, Location, LocationId, ProviderId, Result};
use ipnet::IpNet;

use crate::{FakeProvider, world::Seed};

/// One kind of provider call, used to set per-operation latency.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// `locations`.
    Locations,
    /// `instance_types`.
    InstanceTypes,
    /// `create_instance`.
    Create,
    /// `get_instance`.
    Get,
    /// `list_instances`.
    List,
    /// `terminate_instance`.
    Terminate,
    /// `stop_instance`.
    Stop,
    /// `start_instance`.
    Start,
    /// `reboot_instance`.
    Reboot,
    /// `resize_volume`.
    ResizeVolume,
    /// `change_instance_type`.
    ChangeType,
    /// `add_firewall_rules` and `revoke_firewall_rules`.
    Firewall,
    /// `update_tags`.
    UpdateTags,
    /// `list_images`.
    Images,
    /// `quotas`.
    Quota,
}

impl Operation {
    /// Returns the operation name used in errors, e.g. `create_instance`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Locations => "locations",
            Self::InstanceTypes => "instance_types",
            Self::Create => "create_instance",
            Self::Get => "get_instance",
            Self::List => "list_instances",
            Self::Terminate => "terminate_instance",
            Self::Stop => "stop_instance",
            Self::Start => "start_instance",
            Self::Reboot => "reboot_instance",
            Self::ResizeVolume => "resize_volume",
            Self::ChangeType => "change_instance_type",
            Self::Firewall => "firewall",
            Self::UpdateTags => "update_tags",
            Self::Images => "list_images",
            Self::Quota => "quotas",
        }
    }

    /// Returns true for calls that change the world (and so write the state file).
    pub fn is_mutating(self) -> bool {
        !matches!(
            self,
            Self::Locations
                | Self::InstanceTypes
                | Self::Get
                | Self::List
                | Self::Images
                | Self::Quota
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Quota limits of one location.
///
/// The fake's default, [`QuotaLimits::DEFAULT`], is what a fresh cloud account typically
/// gets: 64 instances and 256 GPUs per location, enough for 32 nodes of 8 GPUs or 64
/// smaller ones. [`QuotaLimits::UNLIMITED`] turns the quota off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuotaLimits {
    /// How many instances may exist (every state but terminating and terminated counts).
    pub instances: u64,
    /// How many GPUs those instances may hold together.
    pub gpus: u64,
}

impl QuotaLimits {
    /// The default limits of every location: 64 instances and 256 GPUs.
    pub const DEFAULT: Self = Self::new(64, 256);

    /// No limit: the quota is reported as `u64::MAX` and never refuses a create.
    pub const UNLIMITED: Self = Self::new(u64::MAX, u64::MAX);

    /// Limits of `instances` instances and `gpus` GPUs.
    pub const fn new(instances: u64, gpus: u64) -> Self {
        Self { instances, gpus }
    }

    /// Returns true when neither limit can ever be reached.
    pub fn is_unlimited(&self) -> bool {
        *self == Self::UNLIMITED
    }
}

impl Default for QuotaLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The faults the fake injects on its own, drawn from the seeded random generator.
///
/// Every probability is between 0 and 1; 0 (the default) turns the fault off.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FaultConfig {
    pub(crate) capacity_pairs: BTreeSet<(LocationId, String)>,
    pub(crate) capacity_probability: f64,
    pub(crate) unavailable_probability: f64,
    pub(crate) rate_limit: Option<u32>,
    pub(crate) latency: BTreeMap<Operation, Duration>,
    pub(crate) default_latency: Duration,
    pub(crate) ambiguous_probability: f64,
    pub(crate) delayed_failure: Option<(f64, Duration)>,
    pub(crate) mid_create_probability: f64,
}

impl FaultConfig {
    /// Returns the latency configured for `op`.
    pub(crate) fn latency_of(&self, op: Operation) -> Duration {
        self.latency
            .get(&op)
            .copied()
            .unwrap_or(self.default_latency)
    }
}

/// How the fake behaves: build one with [`FakeProvider::builder`], then call
/// [`FakeConfig::build`] (or pass it to [`FakeProvider::open`]).
///
/// Defaults: seed 0, the built-in catalog
/// ([`Catalog::builtin`](compute_catalog::Catalog::builtin)), boot 10 s, stop 5 s,
/// terminate 5 s, reboot 5 s, a fresh account's quota of 64 instances and 256 GPUs per
/// location ([`QuotaLimits::DEFAULT`]; [`FakeConfig::unlimited_quota`] lifts it),
/// capacity for 1,000,000 instances per (location, type), public addresses from
/// `198.51.100.0/24` then `203.0.113.0/24`, no faults, no state file.
///
/// ```
/// use std::time::Duration;
///
/// use compute_fake::{FakeProvider, Operation};
///
/// let fake = FakeProvider::builder()
///     .seed(7)
///     .boot_delay(Duration::from_secs(30))
///     .latency(Operation::Create, Duration::from_millis(200))
///     .unavailable_probability(0.05)
///     .build()
///     .unwrap();
/// # drop(fake);
/// ```
#[derive(Clone)]
pub struct FakeConfig {
    pub(crate) provider_id: Option<ProviderId>,
    pub(crate) seed: u64,
    pub(crate) catalog: Option<Seed>,
    pub(crate) boot_delay: Duration,
    pub(crate) stop_delay: Duration,
    pub(crate) terminate_delay: Duration,
    pub(crate) reboot_delay: Duration,
    pub(crate) default_quota: QuotaLimits,
    pub(crate) quotas: BTreeMap<LocationId, QuotaLimits>,
    pub(crate) provider_quotas: BTreeMap<(ProviderId, LocationId), QuotaLimits>,
    pub(crate) default_capacity: u64,
    pub(crate) capacity: BTreeMap<(LocationId, String), u64>,
    pub(crate) public_ranges: Vec<IpNet>,
    pub(crate) cluster_prefix: u8,
    pub(crate) faults: FaultConfig,
    pub(crate) state_file: Option<PathBuf>,
}

impl fmt::Debug for FakeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let types = self.catalog.as_ref().map(|seed| seed.types.len());
        f.debug_struct("FakeConfig")
            .field("provider_id", &self.provider_id)
            .field("seed", &self.seed)
            .field("catalog_types", &types)
            .field("boot_delay", &self.boot_delay)
            .field("stop_delay", &self.stop_delay)
            .field("terminate_delay", &self.terminate_delay)
            .field("reboot_delay", &self.reboot_delay)
            .field("default_quota", &self.default_quota)
            .field("quotas", &self.quotas)
            .field("provider_quotas", &self.provider_quotas)
            .field("default_capacity", &self.default_capacity)
            .field("capacity", &self.capacity)
            .field("public_ranges", &self.public_ranges)
            .field("cluster_prefix", &self.cluster_prefix)
            .field("faults", &self.faults)
            .field("state_file", &self.state_file)
            .finish()
    }
}

/// The documentation ranges public addresses come from by default (RFC 5737).
pub const DEFAULT_PUBLIC_RANGES: [&str; 2] = ["198.51.100.0/24", "203.0.113.0/24"];

impl Default for FakeConfig {
    fn default() -> Self {
        let public_ranges = DEFAULT_PUBLIC_RANGES
            .iter()
            .filter_map(|r| r.parse().ok())
            .collect();
        Self {
            provider_id: None,
            seed: 0,
            catalog: None,
            boot_delay: Duration::from_secs(10),
            stop_delay: Duration::from_secs(5),
            terminate_delay: Duration::from_secs(5),
            reboot_delay: Duration::from_secs(5),
            default_quota: QuotaLimits::DEFAULT,
            quotas: BTreeMap::new(),
            provider_quotas: BTreeMap::new(),
            default_capacity: 1_000_000,
            capacity: BTreeMap::new(),
            public_ranges,
            cluster_prefix: 24,
            faults: FaultConfig::default(),
            state_file: None,
        }
    }
}

impl FakeConfig {
    /// Sets the provider id the fake reports (default `fake`).
    pub fn provider_id(mut self, id: ProviderId) -> Self {
        self.provider_id = Some(id);
        self
    }

    /// Sets the seed of the random generator behind every probabilistic fault.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Seeds the fake with these instance types and locations instead of the built-in
    /// catalog. Locations named only by a type are added with no zones.
    ///
    /// These locations name no provider, so a location's zones are offered to the types
    /// of every provider in it that declare no zones of their own. To keep the clouds of
    /// a multi-cloud catalog apart, use [`FakeConfig::from_catalog`].
    pub fn catalog(mut self, types: Vec<InstanceType>, locations: Vec<Location>) -> Self {
        let locations = locations.into_iter().map(|l| (None, l)).collect();
        self.catalog = Some(Seed { types, locations });
        self
    }

    /// Seeds the fake from a loaded catalog: its instance types, and each provider's
    /// locations.
    ///
    /// # Multi-cloud catalogs
    /// Clouds are kept apart by (provider, location), even where their location names
    /// collide (AWS and Lambda both have a `us-east-1`):
    /// - an instance is placed only in a zone its own type offers: the zone in its id,
    ///   else its `available_zones`, else the zones its own provider declares for the
    ///   location, else none;
    /// - quota, its usage and capacity are kept per (provider, location), so launches of
    ///   one cloud never use up another's; [`FakeProvider::provider_quotas`] reports each;
    /// - [`Provider::locations`](compute_provider::Provider::locations) lists each name
    ///   once, with the zones of every provider there united and available when any
    ///   provider's is, because a location listing names no provider.
    pub fn from_catalog(mut self, catalog: &compute_catalog::Catalog) -> Self {
        let locations = catalog
            .locations()
            .into_iter()
            .map(|(provider, loc)| (Some(provider), loc))
            .collect();
        let types = catalog.instance_types().to_vec();
        self.catalog = Some(Seed { types, locations });
        self
    }

    /// Sets how long a new or started instance stays `pending` before `running`.
    pub fn boot_delay(mut self, delay: Duration) -> Self {
        self.boot_delay = delay;
        self
    }

    /// Sets how long an instance stays `stopping` before `stopped`.
    pub fn stop_delay(mut self, delay: Duration) -> Self {
        self.stop_delay = delay;
        self
    }

    /// Sets how long an instance stays `terminating` before `terminated`.
    pub fn terminate_delay(mut self, delay: Duration) -> Self {
        self.terminate_delay = delay;
        self
    }

    /// Sets how long a rebooting instance stays `pending` before `running` again.
    pub fn reboot_delay(mut self, delay: Duration) -> Self {
        self.reboot_delay = delay;
        self
    }

    /// Sets every delay to zero: instances reach `running`, `stopped` and `terminated` as
    /// soon as they are next looked at.
    pub fn instant(self) -> Self {
        self.boot_delay(Duration::ZERO)
            .stop_delay(Duration::ZERO)
            .terminate_delay(Duration::ZERO)
            .reboot_delay(Duration::ZERO)
    }

    /// Sets short, real delays (20 ms to boot, 10 ms to stop, reboot or terminate): fast
    /// enough for test suites, slow enough that `pending` and `stopping` can be observed,
    /// as the conformance suite's lifecycle cases need.
    pub fn short_delays(self) -> Self {
        self.boot_delay(Duration::from_millis(20))
            .stop_delay(Duration::from_millis(10))
            .reboot_delay(Duration::from_millis(10))
            .terminate_delay(Duration::from_millis(10))
    }

    /// Sets the quota of every location without its own (default
    /// [`QuotaLimits::DEFAULT`]: 64 instances and 256 GPUs).
    pub fn default_quota(mut self, limits: QuotaLimits) -> Self {
        self.default_quota = limits;
        self
    }

    /// Lifts the quota of every location without its own: load tests and benchmarks
    /// that need more than a fresh account's 64 instances per location use this.
    pub fn unlimited_quota(self) -> Self {
        self.default_quota(QuotaLimits::UNLIMITED)
    }

    /// Sets the quota of one location, for each provider there separately (two clouds
    /// with a location of this name each get `limits`). A limit of zero models an
    /// exhausted quota.
    pub fn quota(mut self, location: LocationId, limits: QuotaLimits) -> Self {
        self.quotas.insert(location, limits);
        self
    }

    /// Sets the quota of one provider's location, taking precedence over
    /// [`FakeConfig::quota`]; for multi-cloud catalogs (see [`FakeConfig::from_catalog`]).
    pub fn provider_quota(
        mut self,
        provider: ProviderId,
        location: LocationId,
        limits: QuotaLimits,
    ) -> Self {
        self.provider_quotas.insert((provider, location), limits);
        self
    }

    /// Returns the quota limits of a provider's location.
    pub(crate) fn quota_of(&self, provider: &ProviderId, location: &LocationId) -> QuotaLimits {
        let own = self
            .provider_quotas
            .iter()
            .find(|((p, l), _)| p == provider && l == location);
        own.map(|(_, q)| q)
            .or_else(|| self.quotas.get(location))
            .copied()
            .unwrap_or(self.default_quota)
    }

    /// Sets how many live instances of one type each (location, type) pair can hold when no
    /// pair-specific capacity is set; each provider's pair is counted on its own.
    pub fn default_capacity(mut self, instances: u64) -> Self {
        self.default_capacity = instances;
        self
    }

    /// Sets how many live instances of `type_name` fit in `location` (for each provider
    /// with such a type there separately).
    pub fn capacity(mut self, location: LocationId, type_name: &str, instances: u64) -> Self {
        self.capacity
            .insert((location, type_name.to_owned()), instances);
        self
    }

    /// Sets the ranges public addresses are drawn from, in order.
    pub fn public_ranges(mut self, ranges: Vec<IpNet>) -> Self {
        self.public_ranges = ranges;
        self
    }

    /// Sets the prefix length of each cluster's subnet (default 24: 251 nodes, since
    /// the first three hosts are reserved), between 9 and 29.
    pub fn cluster_prefix(mut self, prefix: u8) -> Self {
        self.cluster_prefix = prefix;
        self
    }

    /// Makes every create (and start) of `type_name` in `location` fail with
    /// `CapacityUnavailable`.
    pub fn capacity_error(mut self, location: LocationId, type_name: &str) -> Self {
        self.faults
            .capacity_pairs
            .insert((location, type_name.to_owned()));
        self
    }

    /// Makes each create fail with `CapacityUnavailable` with probability `p`.
    pub fn capacity_error_probability(mut self, p: f64) -> Self {
        self.faults.capacity_probability = p;
        self
    }

    /// Makes each call fail with a transient `Unavailable` with probability `p`; nothing
    /// is applied.
    pub fn unavailable_probability(mut self, p: f64) -> Self {
        self.faults.unavailable_probability = p;
        self
    }

    /// Answers `RateLimited` (with a retry-after) to calls beyond `per_second` in any
    /// one-second window of the fake's clock.
    ///
    /// The window slides: a call counts for exactly one second after it came in, so no
    /// second of the clock, wherever it starts, admits more than `per_second` calls. The
    /// retry-after is the time until the oldest counted call leaves the window. Refused
    /// calls are not counted.
    pub fn rate_limit(mut self, per_second: u32) -> Self {
        self.faults.rate_limit = Some(per_second);
        self
    }

    /// Adds `latency` before every call of `op` answers.
    pub fn latency(mut self, op: Operation, latency: Duration) -> Self {
        self.faults.latency.insert(op, latency);
        self
    }

    /// Adds `latency` before every call without an operation-specific latency.
    pub fn default_latency(mut self, latency: Duration) -> Self {
        self.faults.default_latency = latency;
        self
    }

    /// Makes each create, with probability `p`, create the instance but answer `Timeout`
    /// with an unknown outcome, the way real clouds leak instances.
    pub fn ambiguous_create_probability(mut self, p: f64) -> Self {
        self.faults.ambiguous_probability = p;
        self
    }

    /// Makes each successful create, with probability `p`, move its instance to `failed`
    /// `after` the create.
    pub fn delayed_failure(mut self, p: f64, after: Duration) -> Self {
        self.faults.delayed_failure = Some((p, after));
        self
    }

    /// Makes each create, with probability `p`, fail half way through its steps; the steps
    /// already done are rolled back.
    pub fn mid_create_failure_probability(mut self, p: f64) -> Self {
        self.faults.mid_create_probability = p;
        self
    }

    /// Keeps the world in a JSON file shared by every fake opened on it, so separate
    /// processes (CLI invocations) see the same instances.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// Returns the state file, when one is set.
    pub fn state_file_path(&self) -> Option<&Path> {
        self.state_file.as_deref()
    }

    /// Builds the fake. With a state file, loads it when it exists, else starts empty.
    ///
    /// # Errors
    /// `InvalidRequest` naming the option for a probability outside 0..=1, a rate limit of
    /// zero or a duplicate instance type; for the state file, `InvalidRequest` naming
    /// `state_file` when it is corrupt, `Unsupported` when it has a newer format, and
    /// `PermissionDenied` or `Internal` when it cannot be read.
    pub fn build(self) -> Result<FakeProvider> {
        self.validate()?;
        FakeProvider::from_config(self)
    }

    fn validate(&self) -> Result<()> {
        let f = &self.faults;
        let probabilities = [
            ("capacity_error_probability", f.capacity_probability),
            ("unavailable_probability", f.unavailable_probability),
            ("ambiguous_create_probability", f.ambiguous_probability),
            ("mid_create_failure_probability", f.mid_create_probability),
            ("delayed_failure", f.delayed_failure.map_or(0.0, |(p, _)| p)),
        ];
        for (field, p) in probabilities {
            if !(0.0..=1.0).contains(&p) {
                return Err(Error::invalid(
                    field,
                    "must be a probability between 0 and 1",
                ));
            }
        }

        if f.rate_limit == Some(0) {
            return Err(Error::invalid(
                "rate_limit",
                "must allow at least one request",
            ));
        }
        if self.public_ranges.is_empty() {
            return Err(Error::invalid(
                "public_ranges",
                "must name at least one range",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use compute_types::ErrorKind;

    #[test]
    fn bad_probabilities_name_the_option() {
        let cfg = FakeConfig::default().unavailable_probability(1.5);

        let err = cfg.validate().unwrap_err();

        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert_eq!(err.field(), Some("unavailable_probability"));
        assert!(FakeConfig::default().rate_limit(0).validate().is_err());
        assert!(
            FakeConfig::default()
                .delayed_failure(-0.1, Duration::ZERO)
                .validate()
                .is_err()
        );
    }

    #[test]
    fn defaults_are_documented_values() {
        let cfg = FakeConfig::default();

        let ranges: Vec<String> = cfg.public_ranges.iter().map(ToString::to_string).collect();

        assert_eq!(ranges, DEFAULT_PUBLIC_RANGES);
        assert_eq!(cfg.provider_id, None);
        assert_eq!(cfg.boot_delay, Duration::from_secs(10));
        assert_eq!(cfg.default_quota, QuotaLimits::new(64, 256));
        assert!(cfg.unlimited_quota().default_quota.is_unlimited());
        assert!(Operation::Create.is_mutating() && !Operation::List.is_mutating());
    }
}
