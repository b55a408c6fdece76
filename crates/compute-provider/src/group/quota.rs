//! The quota preflight of [`create_group`](crate::create_group): refuse a group the
//! provider's reported quota cannot hold, before anything is created.
//!
//! For each location the group targets, the provider's quotas are read once. When every
//! quota has room for the whole group, the check costs one quota call and one
//! instance-type call per location. When a quota is short, requests whose ref id already
//! names a live instance (a rerun that will adopt them) are looked up and taken off the
//! demand before deciding, so an idempotent rerun is never refused. The check is advisory
//! against concurrent creators: a create can still fail with `QuotaExceeded` later.

use std::{collections::BTreeMap, fmt};

use compute_types::{Error, ErrorKind, LocationId, Outcome, Quota, QuotaUnit, Result};

use crate::{CreateInstance, InstanceTypeFilter, Provider, find_by_ref_id};

/// A quota that cannot hold a group, as found by [`create_group`](crate::create_group)'s
/// preflight.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuotaShortfall {
    /// The location the quota applies to.
    pub location: LocationId,
    /// What the quota counts.
    pub unit: QuotaUnit,
    /// How many units the group would add (instances it would create, or their GPUs or
    /// vCPUs).
    pub requested: u64,
    /// The quota's limit.
    pub limit: u64,
    /// How many units were in use when the quota was read.
    pub used: u64,
}

impl QuotaShortfall {
    /// Returns the name of the field that is short: `nodes`, `gpus` or `vcpus`.
    pub fn field(&self) -> &'static str {
        match self.unit {
            QuotaUnit::Instances => "nodes",
            QuotaUnit::Gpus => "gpus",
            QuotaUnit::Vcpus => "vcpus",
            _ => "quota",
        }
    }

    /// Returns how many units were left when the quota was read.
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }

    /// Returns the `QuotaExceeded` error (outcome not applied) that reports the shortfall.
    pub(crate) fn to_error(&self, provider: &str) -> Error {
        Error::new(ErrorKind::QuotaExceeded, self.to_string())
            .with_outcome(Outcome::NotApplied)
            .with_provider(provider)
            .with_operation("create_group")
    }
}

impl fmt::Display for QuotaShortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} requested in {}, limit {} with {} in use ({} left)",
            self.field(),
            self.requested,
            self.location,
            self.limit,
            self.used,
            self.remaining()
        )
    }
}

/// What a set of requests would add to each quota unit.
#[derive(Debug, Clone, Copy, Default)]
struct Demand {
    instances: u64,
    gpus: u64,
    vcpus: u64,
}

impl Demand {
    fn of(&self, unit: QuotaUnit) -> Option<u64> {
        match unit {
            QuotaUnit::Instances => Some(self.instances),
            QuotaUnit::Gpus => Some(self.gpus),
            QuotaUnit::Vcpus => Some(self.vcpus),
            _ => None,
        }
    }

    fn add(&mut self, (gpus, vcpus): (u64, u64)) {
        self.instances += 1;
        self.gpus = self.gpus.saturating_add(gpus);
        self.vcpus = self.vcpus.saturating_add(vcpus);
    }

    fn remove(&mut self, (gpus, vcpus): (u64, u64)) {
        self.instances = self.instances.saturating_sub(1);
        self.gpus = self.gpus.saturating_sub(gpus);
        self.vcpus = self.vcpus.saturating_sub(vcpus);
    }
}

/// Checks the requests against the quotas the provider reports, location by location.
///
/// Returns the first shortfall found, or `None` when every quota has room (or the provider
/// reports no quota). A location whose quota call answers `Unsupported` is not checked.
///
/// # Errors
/// Any other error of [`QuotaInfo::quotas`](crate::QuotaInfo::quotas),
/// [`Provider::instance_types`] or [`find_by_ref_id`].
pub(crate) async fn preflight(
    provider: &dyn Provider,
    requests: &[CreateInstance],
) -> Result<Option<QuotaShortfall>> {
    let Some(quota) = provider.quota() else {
        return Ok(None);
    };
    let mut by_location: BTreeMap<&LocationId, Vec<&CreateInstance>> = BTreeMap::new();
    for request in requests {
        by_location
            .entry(&request.location)
            .or_default()
            .push(request);
    }

    for (location, requests) in by_location {
        let quotas = match quota.quotas(location).await {
            Ok(quotas) => quotas,
            Err(e) if e.kind() == ErrorKind::Unsupported => continue,
            Err(e) => return Err(e),
        };
        if let Some(short) = check_location(provider, location, &requests, &quotas).await? {
            return Ok(Some(short));
        }
    }
    Ok(None)
}

async fn check_location(
    provider: &dyn Provider,
    location: &LocationId,
    requests: &[&CreateInstance],
    quotas: &[Quota],
) -> Result<Option<QuotaShortfall>> {
    let counted = |q: &&Quota| matches!(q.unit, QuotaUnit::Gpus | QuotaUnit::Vcpus);
    let sizes = if quotas.iter().any(|q| counted(&q)) {
        type_sizes(provider, location, requests).await?
    } else {
        BTreeMap::new()
    };
    let size_of = |r: &CreateInstance| {
        let name = r.instance_type.type_name();
        sizes.get(name).copied().unwrap_or((0, 0))
    };
    let mut demand = Demand::default();
    for request in requests {
        demand.add(size_of(request));
    }

    let Some(short) = shortfall(location, quotas, demand) else {
        return Ok(None);
    };
    // Instances this group already owns are counted in `used`; even if every one were
    // adopted, the group needs at least `requested - used` more. When that does not fit,
    // no lookup can help.
    if short.requested.saturating_sub(short.used) > short.remaining() {
        return Ok(Some(short));
    }

    for request in requests {
        if find_by_ref_id(provider, &request.ref_id).await?.is_some() {
            demand.remove(size_of(request));
        }
    }
    Ok(shortfall(location, quotas, demand))
}

/// Returns the first quota the demand does not fit in.
fn shortfall(location: &LocationId, quotas: &[Quota], demand: Demand) -> Option<QuotaShortfall> {
    quotas.iter().find_map(|q| {
        let requested = demand.of(q.unit)?;
        (requested > q.remaining()).then(|| QuotaShortfall {
            location: location.clone(),
            unit: q.unit,
            requested,
            limit: q.limit,
            used: q.used,
        })
    })
}

/// Returns the GPU and vCPU count of each type the requests name, by type name. Types the
/// provider does not list count as zero; their creates will fail on their own.
async fn type_sizes(
    provider: &dyn Provider,
    location: &LocationId,
    requests: &[&CreateInstance],
) -> Result<BTreeMap<String, (u64, u64)>> {
    let mut filter = InstanceTypeFilter::all().with_location(location.clone());
    for request in requests {
        let name = request.instance_type.type_name();
        if !filter.type_names.iter().any(|n| n == name) {
            filter = filter.with_type_name(name);
        }
    }

    let types = provider.instance_types(&filter).await?;
    let mut sizes = BTreeMap::new();
    for t in types.iter().filter(|t| t.location() == location) {
        let size = (u64::from(t.gpu_count()), u64::from(t.vcpus));
        sizes.entry(t.name().to_owned()).or_insert(size);
    }
    Ok(sizes)
}
