//! Queries over a catalog: filters by GPU, count, memory, place, provider, architecture,
//! price and availability, and sorts by price, price per GPU or price per GPU-GiB.

use std::cmp::Ordering;

use compute_types::{
    Architecture, Bytes, Currency, Error, InstanceType, Price, ProviderId, Result,
};
use rust_decimal::Decimal;

use crate::{
    catalog::Catalog,
    gpu::{GpuModel, NormalizedGpu, normalize_gpu},
};

/// How to order query results. Every order is ascending, types without a price come last,
/// and ties go by instance type id so results are stable.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortBy {
    /// Price per hour of the instance.
    Price,
    /// Price per hour divided by the number of GPUs.
    PricePerGpu,
    /// Price per hour divided by total GPU memory in GiB (nominal sizes).
    PricePerGpuGib,
}

/// A location filter: one name exactly, or every name starting with a prefix.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LocationFilter {
    /// Exactly this location name.
    Exact(String),
    /// Any location whose name starts with this.
    Prefix(String),
}

impl LocationFilter {
    /// Reads `us-east-1` as exact and `us-*` (trailing `*`) as a prefix.
    pub fn parse(text: &str) -> Self {
        match text.strip_suffix('*') {
            Some(prefix) => Self::Prefix(prefix.to_owned()),
            None => Self::Exact(text.to_owned()),
        }
    }

    /// Returns true when `location` passes.
    pub fn matches(&self, location: &str) -> bool {
        match self {
            Self::Exact(name) => location == name,
            Self::Prefix(prefix) => location.starts_with(prefix.as_str()),
        }
    }
}

/// A catalog query, built step by step; every filter left unset lets everything through.
///
/// Prices are the instance's own price for the chosen market (on-demand unless
/// [`spot`](Self::spot)); a type whose price covers the accelerators only has no instance
/// price, so it fails [`max_price`](Self::max_price) and sorts last. A spot query keeps only
/// types offered as spot (with a spot price). A price in another currency than
/// `max_price` is never compared: such types fail the filter, and
/// [`Catalog::try_query`] reports a `max_price` in a currency the catalog does not use.
/// Memory filters use the nominal per-GPU size (an H100 80GB counts 80 GiB on every
/// cloud), and a type whose GPU memory is unknown fails them. An architecture filter passes only types that list it.
///
/// ```
/// use compute_catalog::{Catalog, Query, SortBy};
///
/// let catalog = Catalog::builtin();
/// let query = Query::new()
///     .gpu("H100")
///     .min_gpu_count(8)
///     .max_price("30".parse().unwrap())
///     .location("us-*")
///     .sort(SortBy::PricePerGpu);
/// for t in catalog.query(&query) {
///     assert!(t.location().as_str().starts_with("us-"));
/// }
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Query {
    /// The GPU model (with optional memory and form factor).
    pub gpu: Option<GpuModel>,
    /// Exactly this many GPUs.
    pub gpu_count: Option<u32>,
    /// At least this many GPUs.
    pub min_gpu_count: Option<u32>,
    /// At least this much memory per GPU.
    pub min_gpu_memory: Option<Bytes>,
    /// At least this much GPU memory in total.
    pub min_total_gpu_memory: Option<Bytes>,
    /// Any of these locations; empty for all.
    pub locations: Vec<LocationFilter>,
    /// Any of these providers; empty for all.
    pub providers: Vec<ProviderId>,
    /// This CPU architecture.
    pub architecture: Option<Architecture>,
    /// At most this price per hour.
    pub max_price: Option<Price>,
    /// Keep only types offered as spot, and use their spot prices.
    pub spot: bool,
    /// Only types marked available.
    pub available_only: bool,
    /// The order of results.
    pub sort: Option<SortBy>,
    /// At most this many results.
    pub limit: Option<usize>,
    /// Set when a GPU name held no model: the query then matches nothing.
    no_gpu: bool,
    /// The GPU name as given to [`gpu`](Self::gpu), for [`Catalog::try_query`]'s check.
    gpu_text: Option<String>,
}

impl Query {
    /// A query that matches everything, in catalog order.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps types with this GPU, in any spelling of a known model (`"h100"`, `"A100-80GB"`,
    /// `"H100 SXM"`); `"H100-MEGA"` keeps only that edition.
    ///
    /// A name that is not a known model (`H200X`) matches only a catalog GPU of exactly that
    /// name, so usually nothing; [`Catalog::try_query`] reports it as invalid input, as
    /// [`Catalog::gpu_model`] does.
    pub fn gpu(mut self, model: &str) -> Self {
        let key = GpuModel::parse(model).unwrap_or_else(|_| normalize_gpu(model).key());
        self.no_gpu = key.name.is_empty();
        self.gpu = Some(key);
        self.gpu_text = Some(model.to_owned());
        self
    }

    /// Keeps types with this GPU key.
    pub fn gpu_model(mut self, model: GpuModel) -> Self {
        self.no_gpu = false;
        self.gpu = Some(model);
        self.gpu_text = None;
        self
    }

    /// Keeps types with exactly `n` GPUs.
    pub fn gpu_count(mut self, n: u32) -> Self {
        self.gpu_count = Some(n);
        self
    }

    /// Keeps types with at least `n` GPUs.
    pub fn min_gpu_count(mut self, n: u32) -> Self {
        self.min_gpu_count = Some(n);
        self
    }

    /// Keeps types with at least `memory` per GPU.
    pub fn min_gpu_memory(mut self, memory: Bytes) -> Self {
        self.min_gpu_memory = Some(memory);
        self
    }

    /// Keeps types with at least `memory` of GPU memory in total.
    pub fn min_total_gpu_memory(mut self, memory: Bytes) -> Self {
        self.min_total_gpu_memory = Some(memory);
        self
    }

    /// Keeps types in this location; `us-*` is a prefix. Repeat for any of several.
    pub fn location(mut self, pattern: &str) -> Self {
        self.locations.push(LocationFilter::parse(pattern));
        self
    }

    /// Keeps types of this provider. Repeat for any of several.
    pub fn provider(mut self, provider: ProviderId) -> Self {
        self.providers.push(provider);
        self
    }

    /// Keeps types that list this CPU architecture.
    pub fn architecture(mut self, arch: Architecture) -> Self {
        self.architecture = Some(arch);
        self
    }

    /// Keeps types priced at most `price` per hour in the chosen market.
    pub fn max_price(mut self, price: Price) -> Self {
        self.max_price = Some(price);
        self
    }

    /// With `true`, keeps only types offered as spot (those with a spot price) and uses
    /// spot prices for filtering and sorting.
    pub fn spot(mut self, spot: bool) -> Self {
        self.spot = spot;
        self
    }

    /// Keeps only types marked available.
    pub fn available_only(mut self) -> Self {
        self.available_only = true;
        self
    }

    /// Orders the results.
    pub fn sort(mut self, sort: SortBy) -> Self {
        self.sort = Some(sort);
        self
    }

    /// Returns at most `n` results.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Returns true when `t` (with its normalised GPU) passes every filter.
    pub(crate) fn accepts(&self, t: &InstanceType, gpu: Option<&NormalizedGpu>) -> bool {
        if self.no_gpu {
            return false;
        }
        if let Some(key) = &self.gpu
            && !gpu.is_some_and(|g| key.matches(g))
        {
            return false;
        }
        let count = t.gpu_count();
        if self.gpu_count.is_some_and(|n| count != n)
            || self.min_gpu_count.is_some_and(|n| count < n)
        {
            return false;
        }
        if !self.memory_ok(gpu, count) {
            return false;
        }
        let location = t.location().as_str();
        if !self.locations.is_empty() && !self.locations.iter().any(|l| l.matches(location)) {
            return false;
        }
        if !self.providers.is_empty() && !self.providers.contains(t.provider()) {
            return false;
        }
        if self
            .architecture
            .is_some_and(|a| !t.architectures.contains(&a))
        {
            return false;
        }
        if self.available_only && !t.available {
            return false;
        }
        if self.spot && t.spot_price.is_none() {
            return false;
        }
        match (self.max_price, t.instance_price(self.spot)) {
            (Some(max), Some(p)) => p.compare(&max).is_some_and(Ordering::is_le),
            (Some(_), None) => false,
            (None, _) => true,
        }
    }

    fn memory_ok(&self, gpu: Option<&NormalizedGpu>, count: u32) -> bool {
        if self.min_gpu_memory.is_none() && self.min_total_gpu_memory.is_none() {
            return true;
        }
        let Some(per_gpu) = gpu.and_then(NormalizedGpu::memory) else {
            return false;
        };
        let total = per_gpu
            .checked_mul(u64::from(count))
            .unwrap_or(Bytes::new(u64::MAX));
        self.min_gpu_memory.is_none_or(|m| per_gpu >= m)
            && self.min_total_gpu_memory.is_none_or(|m| total >= m)
    }

    /// Returns the sort key of `t`: its price in the chosen market, scaled as `sort` says.
    fn sort_key(&self, t: &InstanceType, gpu: Option<&NormalizedGpu>) -> Option<(String, Decimal)> {
        let price = t.instance_price(self.spot)?;
        let divisor = match self.sort? {
            SortBy::Price => 1,
            SortBy::PricePerGpu => u64::from(t.gpu_count()),
            SortBy::PricePerGpuGib => {
                let per_gpu = u64::from(gpu?.memory_gib?);
                per_gpu.checked_mul(u64::from(t.gpu_count()))?
            }
        };
        let scaled = price.per(divisor)?;
        Some((scaled.currency.to_string(), scaled.amount))
    }
}

impl Catalog {
    /// Returns the instance types that pass every filter of `query`, in its order.
    ///
    /// Input the catalog cannot answer (an unknown GPU name, a price cap in a currency no
    /// type uses) simply matches nothing here; [`try_query`](Self::try_query) reports it.
    pub fn query(&self, query: &Query) -> Vec<&InstanceType> {
        let hits = self.entries().filter(|(t, g)| query.accepts(t, *g));
        if query.sort.is_none() {
            return hits
                .map(|(t, _)| t)
                .take(query.limit.unwrap_or(usize::MAX))
                .collect();
        }

        let mut keyed: Vec<_> = hits.map(|(t, g)| (query.sort_key(t, g), t)).collect();
        keyed.sort_by(|(ka, a), (kb, b)| match (ka, kb) {
            (Some(ka), Some(kb)) => ka.cmp(kb).then_with(|| a.id.cmp(&b.id)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => a.id.cmp(&b.id),
        });
        keyed
            .into_iter()
            .map(|(_, t)| t)
            .take(query.limit.unwrap_or(usize::MAX))
            .collect()
    }

    /// Answers `query` as [`query`](Self::query) does, after checking its input.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](compute_types::ErrorKind::InvalidRequest) naming
    /// - `gpu` when the GPU name given to [`Query::gpu`] does not resolve as
    ///   [`Catalog::gpu_model`] says (`H200X`); the message lists a few of the catalog's
    ///   models;
    /// - `max_price` when the catalog has prices in the chosen market but none in the
    ///   currency of [`Query::max_price`]: currencies are never converted.
    pub fn try_query(&self, query: &Query) -> Result<Vec<&InstanceType>> {
        if let Some(text) = &query.gpu_text {
            self.gpu_model(text)?;
        }
        if let Some(max) = &query.max_price {
            let types = self.instance_types().iter();
            let prices = types.filter_map(|t| t.instance_price(query.spot));
            check_currency(max, prices)?;
        }
        Ok(self.query(query))
    }
}

/// Checks that a price cap can be compared with at least one of `prices`.
///
/// # Errors
/// [`ErrorKind::InvalidRequest`](compute_types::ErrorKind::InvalidRequest) naming
/// `max_price` when there are prices and none is in the cap's currency.
pub(crate) fn check_currency(max: &Price, prices: impl Iterator<Item = Price>) -> Result<()> {
    let mut seen: Vec<Currency> = Vec::new();
    for price in prices {
        if price.currency == max.currency {
            return Ok(());
        }
        if !seen.contains(&price.currency) {
            seen.push(price.currency);
        }
    }
    if seen.is_empty() {
        return Ok(());
    }
    let used: Vec<String> = seen.iter().map(ToString::to_string).collect();
    Err(Error::invalid(
        "max_price",
        format!(
            "is in {} but the prices are in {}; currencies differ and are not converted",
            max.currency,
            used.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(found: &[&InstanceType]) -> Vec<String> {
        found.iter().map(|t| t.name().to_owned()).collect()
    }

    #[test]
    fn gpu_filters_use_normalised_models() {
        let catalog = Catalog::builtin();

        let h100 = catalog.query(&Query::new().gpu("nvidia h100").location("us-east-1"));
        let pcie = catalog.query(&Query::new().gpu("H100 PCIe").location("us-east-1"));
        let a100_80 = catalog.query(&Query::new().gpu("A100-80GB"));
        let none = catalog.query(&Query::new().gpu("--"));

        assert_eq!(
            ids(&h100),
            ["gpu-8x-h100-sxm", "gpu-1x-h100-sxm", "gpu-1x-h100-pcie"]
        );
        assert_eq!(ids(&pcie), ["gpu-1x-h100-pcie"]);
        assert!(!a100_80.is_empty());
        assert!(a100_80.iter().all(|t| t.name() == "gpu-8x-a100-80gb-sxm"));
        assert!(none.is_empty());
    }

    #[test]
    fn count_memory_place_and_availability() {
        let catalog = Catalog::builtin();
        let fake = ProviderId::new("fake").unwrap();

        let big = catalog.query(
            &Query::new()
                .min_gpu_count(8)
                .min_gpu_memory(Bytes::gib(141))
                .location("eu-*")
                .provider(fake.clone()),
        );
        let available = catalog.query(
            &Query::new()
                .min_total_gpu_memory(Bytes::gib(1000))
                .location("eu-central-1")
                .available_only(),
        );
        let exact = catalog.query(&Query::new().gpu_count(4).location("us-west-2"));
        let arm = catalog.query(&Query::new().architecture(Architecture::Arm64));
        let other = catalog.query(&Query::new().provider(ProviderId::new("aws").unwrap()));

        assert_eq!(ids(&big), ["gpu-8x-h200-sxm", "gpu-8x-b200-sxm"]);
        assert_eq!(ids(&available), ["gpu-8x-h200-sxm"]);
        assert_eq!(ids(&exact), ["gpu-4x-l40s"]);
        assert!(arm.is_empty() && other.is_empty());
    }

    #[test]
    fn prices_filter_and_sort() {
        let catalog = Catalog::builtin();
        let base = Query::new().location("us-east-1");

        let by_price = catalog.query(&base.clone().sort(SortBy::Price).limit(2));
        let cheap_spot = catalog.query(&base.clone().spot(true).max_price("0.30".parse().unwrap()));
        let per_gpu = catalog.query(&base.clone().min_gpu_count(8).sort(SortBy::PricePerGpu));
        let per_gib = catalog.query(
            &base
                .clone()
                .gpu_count(1)
                .sort(SortBy::PricePerGpuGib)
                .limit(1),
        );
        let spot_a10 = catalog.query(&base.clone().gpu("A10").spot(true).sort(SortBy::Price));
        let on_demand_a10 = catalog.query(&base.clone().gpu("A10"));

        assert_eq!(ids(&by_price), ["gpu-1x-rtx4090", "gpu-1x-rtx5090"]);
        assert_eq!(ids(&cheap_spot), ["gpu-1x-rtx4090"]);
        assert_eq!(per_gpu[0].name(), "gpu-8x-a100-40gb-sxm");
        assert_eq!(per_gpu.last().unwrap().name(), "gpu-8x-b200-sxm");
        assert_eq!(ids(&per_gib), ["gpu-1x-rtx4090"]);
        assert_eq!(ids(&on_demand_a10), ["gpu-1x-a10"]);
        assert!(spot_a10.is_empty(), "the A10 has no spot price");
    }

    #[test]
    fn spot_queries_keep_only_types_offered_as_spot() {
        let catalog = Catalog::builtin();
        let without_spot = catalog
            .instance_types()
            .iter()
            .filter(|t| t.spot_price.is_none())
            .count();

        let spot = catalog.query(&Query::new().spot(true));
        let sorted = catalog.query(&Query::new().spot(true).sort(SortBy::PricePerGpu));
        let all = catalog.query(&Query::new());

        assert!(
            without_spot > 0,
            "the test needs types without a spot price"
        );
        assert!(!spot.is_empty());
        assert!(spot.iter().all(|t| t.spot_price.is_some()));
        assert_eq!(spot.len() + without_spot, all.len());
        assert_eq!(sorted.len(), spot.len());
    }

    #[test]
    fn unknown_gpu_names_match_nothing_and_try_query_reports_them() {
        let catalog = Catalog::builtin();

        let h200x = Query::new().gpu("H200X");
        let mega = Query::new().gpu("H100-MEGA");
        let known_absent = Query::new().gpu("MI300X");

        assert!(catalog.query(&h200x).is_empty());
        assert!(!catalog.query(&Query::new().gpu("H200")).is_empty());
        assert!(catalog.query(&mega).is_empty(), "no MEGA machines here");
        let err = catalog.try_query(&h200x).unwrap_err();
        assert_eq!(err.field(), Some("gpu"));
        assert!(err.message().contains("did you mean H200?"), "{err}");
        assert!(
            err.message().contains("A100"),
            "names the catalog's models: {err}"
        );
        assert!(catalog.try_query(&mega).unwrap().is_empty());
        assert!(catalog.try_query(&known_absent).unwrap().is_empty());
    }

    #[test]
    fn try_query_rejects_a_price_cap_in_an_unused_currency() {
        let catalog = Catalog::builtin();

        let eur = Query::new().max_price("10 EUR".parse().unwrap());
        let usd = Query::new().max_price("10".parse().unwrap());

        let err = catalog.try_query(&eur).unwrap_err();
        assert_eq!(err.field(), Some("max_price"));
        assert!(
            err.message()
                .contains("is in EUR but the prices are in USD"),
            "{err}"
        );
        assert!(catalog.query(&eur).is_empty());
        assert!(!catalog.try_query(&usd).unwrap().is_empty());
    }

    #[test]
    fn location_filters() {
        assert!(LocationFilter::parse("us-*").matches("us-west-2"));
        assert!(!LocationFilter::parse("us-*").matches("eu-west-2"));
        assert!(LocationFilter::parse("us-east-1").matches("us-east-1"));
        assert!(!LocationFilter::parse("us-east-1").matches("us-east-10"));
        assert!(LocationFilter::parse("*").matches("Oregon, US, NA"));
    }
}
