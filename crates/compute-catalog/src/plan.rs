//! Offer planning: where to launch N nodes of G GPUs, cheapest first, with every rejection
//! explained and a warning when the catalog is stale.

use std::{
    fmt,
    time::{Duration, SystemTime},
};

use chrono::{DateTime, Utc};
use compute_types::{Currency, Error, InstanceType, InstanceTypeId, Price, ProviderId, Result};

use crate::{
    catalog::Catalog,
    failover::Failover,
    gpu::{GpuModel, unknown_gpu},
    query::{LocationFilter, check_currency},
};

/// Catalog age after which every plan warns, unless the request says otherwise: 30 days.
pub const DEFAULT_MAX_CATALOG_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// Which price to plan with.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Market {
    /// On-demand prices only.
    #[default]
    OnDemand,
    /// Spot prices only.
    Spot,
    /// Both: a type with both prices yields two offers.
    Any,
}

impl Market {
    fn spots(self) -> &'static [bool] {
        match self {
            Self::OnDemand => &[false],
            Self::Spot => &[true],
            Self::Any => &[false, true],
        }
    }
}

/// "N nodes of G GPUs of model M, at most $P per hour, in these places, spot or not."
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PlanRequest {
    /// The GPU model (optionally with memory and form factor).
    pub gpu: GpuModel,
    /// GPUs per node; a node type must have exactly this many.
    pub gpus_per_node: u32,
    /// Nodes in the cluster.
    pub nodes: u32,
    /// The most the whole cluster may cost per hour.
    pub max_price_per_hour: Option<Price>,
    /// Allowed locations (exact or `prefix*`); empty for all.
    pub locations: Vec<LocationFilter>,
    /// Allowed providers; empty for all.
    pub providers: Vec<ProviderId>,
    /// On-demand, spot or both.
    pub market: Market,
    /// Reject types not marked available (default true).
    pub require_available: bool,
    /// Warn when the catalog is older than this (default [`DEFAULT_MAX_CATALOG_AGE`]).
    pub max_catalog_age: Duration,
}

impl PlanRequest {
    /// Asks for `nodes` nodes of `gpus_per_node` GPUs of `gpu`, on demand, anywhere.
    ///
    /// `gpu` is any spelling of a known model ([`GpuModel::parse`]). To plan a model only a
    /// catalog knows, set [`gpu`](Self::gpu) to a key from [`Catalog::gpu_model`].
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](compute_types::ErrorKind::InvalidRequest) naming `gpu`
    /// when the name is not a known model (`H200X`, `H100-FOO`), `gpus_per_node` or `nodes`
    /// when zero.
    pub fn new(gpu: &str, gpus_per_node: u32, nodes: u32) -> Result<Self> {
        let gpu = GpuModel::parse(gpu)?;
        if gpus_per_node == 0 {
            return Err(Error::invalid("gpus_per_node", "must be at least 1"));
        }
        if nodes == 0 {
            return Err(Error::invalid("nodes", "must be at least 1"));
        }
        Ok(Self {
            gpu,
            gpus_per_node,
            nodes,
            max_price_per_hour: None,
            locations: Vec::new(),
            providers: Vec::new(),
            market: Market::OnDemand,
            require_available: true,
            max_catalog_age: DEFAULT_MAX_CATALOG_AGE,
        })
    }

    /// Caps the price of the whole cluster per hour.
    ///
    /// Prices in another currency are never converted: [`plan`] rejects such offers with
    /// [`RejectReason::Currency`], and [`try_plan`] fails when no candidate is priced in the
    /// cap's currency.
    pub fn with_max_price_per_hour(mut self, price: Price) -> Self {
        self.max_price_per_hour = Some(price);
        self
    }

    /// Allows a location (`us-east-1`, or `us-*` for a prefix); repeat for several.
    pub fn with_location(mut self, pattern: &str) -> Self {
        self.locations.push(LocationFilter::parse(pattern));
        self
    }

    /// Allows a provider; repeat for several.
    pub fn with_provider(mut self, provider: ProviderId) -> Self {
        self.providers.push(provider);
        self
    }

    /// Chooses on-demand, spot or both.
    pub fn with_market(mut self, market: Market) -> Self {
        self.market = market;
        self
    }

    /// Plans with spot prices (`true`) or on-demand ones (`false`).
    pub fn spot(self, spot: bool) -> Self {
        self.with_market(if spot { Market::Spot } else { Market::OnDemand })
    }

    /// Also offers types the catalog marks unavailable.
    pub fn allow_unavailable(mut self) -> Self {
        self.require_available = false;
        self
    }

    /// Sets the catalog age after which the plan warns.
    pub fn with_max_catalog_age(mut self, age: Duration) -> Self {
        self.max_catalog_age = age;
        self
    }
}

/// One way to launch the cluster: a type, how many nodes, and what it costs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Offer {
    /// The node type.
    pub instance_type: InstanceType,
    /// How many nodes.
    pub nodes: u32,
    /// The price of one node per hour.
    pub price_per_node: Price,
    /// The price of all nodes per hour.
    pub total_price_per_hour: Price,
    /// Whether the prices are spot prices.
    pub spot: bool,
}

impl Offer {
    /// Returns the node type's id.
    pub fn id(&self) -> &InstanceTypeId {
        &self.instance_type.id
    }
}

/// The broad class of a rejection: price, region, availability, count or blocked.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectKind {
    /// No usable price, or over budget.
    Price,
    /// Location or provider not allowed.
    Region,
    /// Not marked available.
    Availability,
    /// Wrong number of GPUs per node.
    Count,
    /// Blocked by the failover helper after a capacity or quota error.
    Blocked,
}

/// Why a candidate of the right GPU model was not offered.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectReason {
    /// The type has another number of GPUs per node.
    GpuCount {
        /// GPUs per node asked for.
        wanted: u32,
        /// GPUs per node the type has.
        offered: u32,
    },
    /// The provider is not among those allowed.
    Provider,
    /// The location is not among those allowed.
    Region,
    /// The catalog marks the type unavailable.
    Unavailable,
    /// The failover helper blocks this (provider, location, type) until then.
    Blocked {
        /// When the block ends.
        until: SystemTime,
    },
    /// The type has no price in this market.
    NoPrice {
        /// The market: spot (`true`) or on-demand.
        spot: bool,
    },
    /// The listed price covers the accelerators only, not the instance.
    PartialPrice,
    /// The price is in another currency than the most allowed; currencies are not converted.
    Currency {
        /// The currency of the type's price.
        offered: Currency,
        /// The currency of the most allowed.
        max: Currency,
        /// The market: spot (`true`) or on-demand.
        spot: bool,
    },
    /// The cluster would cost more than allowed.
    OverBudget {
        /// What the cluster would cost per hour.
        total: Price,
        /// The most allowed.
        max: Price,
        /// The market: spot (`true`) or on-demand.
        spot: bool,
    },
}

impl RejectReason {
    /// Returns the broad class of the reason.
    pub fn kind(&self) -> RejectKind {
        match self {
            Self::GpuCount { .. } => RejectKind::Count,
            Self::Provider | Self::Region => RejectKind::Region,
            Self::Unavailable => RejectKind::Availability,
            Self::Blocked { .. } => RejectKind::Blocked,
            Self::NoPrice { .. }
            | Self::PartialPrice
            | Self::Currency { .. }
            | Self::OverBudget { .. } => RejectKind::Price,
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let market = |spot: bool| if spot { "spot" } else { "on-demand" };
        match self {
            Self::GpuCount { wanted, offered } => {
                let unit = if *offered == 1 { "GPU" } else { "GPUs" };
                write!(f, "has {offered} {unit} per node, not {wanted}")
            }
            Self::Provider => f.write_str("provider not allowed"),
            Self::Region => f.write_str("location not allowed"),
            Self::Unavailable => f.write_str("not available"),
            Self::Blocked { until } => {
                let until: DateTime<Utc> = (*until).into();
                write!(f, "blocked after a capacity or quota error until {until}")
            }
            Self::NoPrice { spot } => write!(f, "no {} price", market(*spot)),
            Self::PartialPrice => f.write_str("price covers the accelerators only"),
            Self::Currency { offered, max, spot } => write!(
                f,
                "{} price is in {offered}, the most allowed in {max}; currencies differ",
                market(*spot)
            ),
            Self::OverBudget { total, max, spot } => {
                write!(f, "{} total {total} is over {max}", market(*spot))
            }
        }
    }
}

/// A candidate that was not offered, with every reason.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejected {
    /// The candidate type.
    pub instance_type: InstanceTypeId,
    /// Why it was rejected; never empty.
    pub reasons: Vec<RejectReason>,
}

/// Something the caller should know about a plan as a whole.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanWarning {
    /// The catalog is older than the request allows; prices may have changed.
    StaleCatalog {
        /// When the catalog's data was fetched.
        as_of: DateTime<Utc>,
        /// How old it is.
        age: Duration,
        /// The age the request allows.
        max_age: Duration,
    },
    /// The catalog does not say when its data was fetched.
    UnknownCatalogAge,
    /// No type in the catalog has this GPU model.
    NoSuchGpu {
        /// The model asked for.
        gpu: GpuModel,
    },
}

impl fmt::Display for PlanWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StaleCatalog {
                as_of,
                age,
                max_age,
            } => write!(
                f,
                "catalog data from {} is {} days old (more than {}); prices may have changed",
                as_of.date_naive(),
                age.as_secs() / 86_400,
                max_age.as_secs() / 86_400,
            ),
            Self::UnknownCatalogAge => {
                f.write_str("the catalog does not say when it was fetched; prices may be stale")
            }
            Self::NoSuchGpu { gpu } => write!(f, "no instance type in the catalog has a {gpu}"),
        }
    }
}

/// The answer to a [`PlanRequest`]: offers cheapest first, rejections, warnings.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Plan {
    /// Offers ranked by total price per hour (on-demand before spot on a tie, then by id).
    pub offers: Vec<Offer>,
    /// Candidates of the right GPU model that were not offered, in catalog order.
    pub rejected: Vec<Rejected>,
    /// Warnings about the plan as a whole (a stale catalog, an absent GPU model).
    pub warnings: Vec<PlanWarning>,
}

impl Plan {
    /// Returns the cheapest offer.
    pub fn best(&self) -> Option<&Offer> {
        self.offers.first()
    }
}

/// Plans a cluster from `catalog` as of `now`.
///
/// Candidates are the types whose GPU matches the request's model. Each is offered once per
/// market in the request when it has exactly the GPUs per node asked for, an allowed
/// provider and location, is available (unless allowed otherwise) and has a whole-instance
/// price within budget; otherwise it is listed in [`Plan::rejected`] with every reason.
///
/// # Limitations
/// Availability comes from the catalog, not from the provider. Lambda's catalog lists every
/// type in every region, so its offers say nothing about real capacity; the
/// [`Failover`] helper handles what a launch then reports.
///
/// ```
/// use std::time::SystemTime;
///
/// use compute_catalog::{Catalog, PlanRequest, plan};
///
/// let request = PlanRequest::new("H100", 8, 2).unwrap().with_location("us-*");
/// let plan = plan(&Catalog::builtin(), &request, SystemTime::now());
/// let best = plan.best().unwrap();
/// assert_eq!(best.total_price_per_hour, best.price_per_node.checked_mul(2).unwrap());
/// ```
pub fn plan(catalog: &Catalog, request: &PlanRequest, now: SystemTime) -> Plan {
    plan_with(catalog, request, now, None)
}

/// Plans as [`plan`] does, after checking that the request makes sense for `catalog`.
///
/// Use it where a request comes from a user: a price cap in a currency that no candidate
/// uses would otherwise reject every candidate one by one.
///
/// # Errors
/// [`ErrorKind::InvalidRequest`](compute_types::ErrorKind::InvalidRequest) naming
/// - `gpu` when the request's model is neither a known model nor one the catalog lists;
/// - `max_price` when candidates of the model have prices in the chosen market but none in
///   the cap's currency (10 EUR against offers in USD). When candidates mix currencies,
///   the plan is made and those in another currency are rejected with
///   [`RejectReason::Currency`].
///
/// ```
/// use std::time::SystemTime;
///
/// use compute_catalog::{Catalog, PlanRequest, try_plan};
///
/// let request = PlanRequest::new("H100", 8, 1)
///     .unwrap()
///     .with_max_price_per_hour("10 EUR".parse().unwrap());
/// let err = try_plan(&Catalog::builtin(), &request, SystemTime::now()).unwrap_err();
/// assert_eq!(err.field(), Some("max_price"));
/// ```
pub fn try_plan(catalog: &Catalog, request: &PlanRequest, now: SystemTime) -> Result<Plan> {
    let listed = catalog
        .gpu_models()
        .iter()
        .any(|m| m.name == request.gpu.name);
    if !request.gpu.is_known() && !listed {
        let text = request.gpu.to_string();
        return Err(unknown_gpu(&text, None, &catalog.gpu_examples()));
    }

    if let Some(max) = &request.max_price_per_hour {
        let candidates = catalog
            .entries()
            .filter(|(_, g)| g.is_some_and(|g| request.gpu.matches(g)));
        let prices = candidates.flat_map(|(t, _)| {
            let spots = request.market.spots().iter();
            spots.filter_map(|&spot| t.instance_price(spot))
        });
        check_currency(max, prices)?;
    }
    Ok(plan_with(catalog, request, now, None))
}

pub(crate) fn plan_with(
    catalog: &Catalog,
    request: &PlanRequest,
    now: SystemTime,
    failover: Option<&Failover>,
) -> Plan {
    let mut plan = Plan::default();
    let mut candidates = 0usize;
    for (t, gpu) in catalog.entries() {
        if !gpu.is_some_and(|g| request.gpu.matches(g)) {
            continue;
        }
        candidates += 1;
        let blocked = failover.and_then(|f| f.blocked_until(&t.id, now));
        consider(t, request, blocked, &mut plan);
    }

    plan.offers.sort_by(|a, b| {
        let (pa, pb) = (&a.total_price_per_hour, &b.total_price_per_hour);
        (pa.currency, pa.amount, a.spot, &a.instance_type.id).cmp(&(
            pb.currency,
            pb.amount,
            b.spot,
            &b.instance_type.id,
        ))
    });
    if candidates == 0 {
        plan.warnings.push(PlanWarning::NoSuchGpu {
            gpu: request.gpu.clone(),
        });
    }
    plan.warnings.extend(staleness(catalog, request, now));
    plan
}

fn consider(t: &InstanceType, request: &PlanRequest, blocked: Option<SystemTime>, plan: &mut Plan) {
    let mut reasons = Vec::new();
    let offered = t.gpu_count();
    if offered != request.gpus_per_node {
        reasons.push(RejectReason::GpuCount {
            wanted: request.gpus_per_node,
            offered,
        });
    }
    if !request.providers.is_empty() && !request.providers.contains(t.provider()) {
        reasons.push(RejectReason::Provider);
    }
    let location = t.location().as_str();
    if !request.locations.is_empty() && !request.locations.iter().any(|l| l.matches(location)) {
        reasons.push(RejectReason::Region);
    }
    if request.require_available && !t.available {
        reasons.push(RejectReason::Unavailable);
    }
    if let Some(until) = blocked {
        reasons.push(RejectReason::Blocked { until });
    }

    let mut offers = Vec::new();
    for &spot in request.market.spots() {
        match price_offer(t, request, spot) {
            Ok(offer) => offers.push(offer),
            Err(reason) if !reasons.contains(&reason) => reasons.push(reason),
            Err(_) => {}
        }
    }
    let placed_ok = reasons.iter().all(|r| r.kind() == RejectKind::Price);
    if placed_ok && !offers.is_empty() {
        plan.offers.extend(offers);
    } else {
        plan.rejected.push(Rejected {
            instance_type: t.id.clone(),
            reasons,
        });
    }
}

fn price_offer(
    t: &InstanceType,
    request: &PlanRequest,
    spot: bool,
) -> std::result::Result<Offer, RejectReason> {
    if t.price_scope != compute_types::PriceScope::Instance {
        return Err(RejectReason::PartialPrice);
    }
    let per_node = t
        .instance_price(spot)
        .ok_or(RejectReason::NoPrice { spot })?;
    let over = |total: Price| RejectReason::OverBudget {
        total,
        max: request.max_price_per_hour.unwrap_or(total),
        spot,
    };
    let total = per_node
        .checked_mul(u64::from(request.nodes))
        .map_err(|_| over(per_node))?;
    if let Some(max) = request.max_price_per_hour {
        match total.compare(&max) {
            None => {
                return Err(RejectReason::Currency {
                    offered: total.currency,
                    max: max.currency,
                    spot,
                });
            }
            Some(o) if o.is_gt() => return Err(over(total)),
            Some(_) => {}
        }
    }
    Ok(Offer {
        instance_type: t.clone(),
        nodes: request.nodes,
        price_per_node: per_node,
        total_price_per_hour: total,
        spot,
    })
}

fn staleness(catalog: &Catalog, request: &PlanRequest, now: SystemTime) -> Option<PlanWarning> {
    let Some(as_of) = catalog.as_of() else {
        return Some(PlanWarning::UnknownCatalogAge);
    };
    let age = catalog.age(now)?;
    (age > request.max_catalog_age).then_some(PlanWarning::StaleCatalog {
        as_of,
        age,
        max_age: request.max_catalog_age,
    })
}

#[cfg(test)]
mod tests {
    use compute_types::ErrorKind;

    use super::*;

    #[test]
    fn gpu_count_reasons_agree_in_number() {
        let one = RejectReason::GpuCount {
            wanted: 8,
            offered: 1,
        };
        let many = RejectReason::GpuCount {
            wanted: 1,
            offered: 8,
        };

        assert_eq!(one.to_string(), "has 1 GPU per node, not 8");
        assert_eq!(many.to_string(), "has 8 GPUs per node, not 1");
    }

    /// A moment one day after the built-in catalog's date, so it is fresh.
    fn fresh() -> SystemTime {
        let as_of = Catalog::builtin().as_of().unwrap();
        SystemTime::from(as_of) + Duration::from_secs(86_400)
    }

    #[test]
    fn offers_are_ranked_cheapest_first_with_totals() {
        let request = PlanRequest::new("H100", 8, 2).unwrap();

        let plan = plan(&Catalog::builtin(), &request, fresh());

        let totals: Vec<String> = plan
            .offers
            .iter()
            .map(|o| format!("{} {}", o.id().location(), o.total_price_per_hour.amount))
            .collect();
        assert_eq!(
            totals,
            [
                "us-east-1 47.84",
                "us-west-2 47.84",
                "eu-central-1 52.62",
                "asia-northeast-1 55.02"
            ]
        );
        assert!(plan.offers.iter().all(|o| o.nodes == 2 && !o.spot));
        assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
        let counts: Vec<_> = plan.rejected.iter().map(|r| r.reasons[0].kind()).collect();
        assert!(counts.iter().all(|k| *k == RejectKind::Count), "{counts:?}");
    }

    #[test]
    fn every_rejection_has_its_reasons() {
        let request = PlanRequest::new("B200", 8, 1)
            .unwrap()
            .with_location("us-east-1")
            .with_location("eu-*")
            .with_max_price_per_hour("40".parse().unwrap())
            .spot(true);

        let plan = plan(&Catalog::builtin(), &request, fresh());

        assert!(plan.offers.is_empty());
        let reasons: Vec<(String, Vec<RejectKind>)> = plan
            .rejected
            .iter()
            .map(|r| {
                let kinds = r.reasons.iter().map(RejectReason::kind).collect();
                (r.instance_type.location().to_string(), kinds)
            })
            .collect();
        assert_eq!(
            reasons,
            [
                ("us-east-1".into(), vec![RejectKind::Price]),
                (
                    "us-west-2".into(),
                    vec![RejectKind::Region, RejectKind::Price]
                ),
                (
                    "eu-central-1".into(),
                    vec![RejectKind::Availability, RejectKind::Price]
                ),
            ]
        );
        assert_eq!(plan.rejected[0].reasons[0].to_string(), "no spot price");
    }

    #[test]
    fn budget_market_and_unavailable_types() {
        let catalog = Catalog::builtin();
        let budget = PlanRequest::new("H100", 8, 2)
            .unwrap()
            .with_max_price_per_hour("50".parse().unwrap());
        let any = budget.clone().with_market(Market::Any);
        let unavailable = PlanRequest::new("B200", 8, 1).unwrap().allow_unavailable();

        let on_demand = plan(&catalog, &budget, fresh());
        let either = plan(&catalog, &any, fresh());
        let all = plan(&catalog, &unavailable, fresh());

        assert_eq!(on_demand.offers.len(), 2);
        let over = on_demand
            .rejected
            .iter()
            .flat_map(|r| &r.reasons)
            .find(|r| matches!(r, RejectReason::OverBudget { .. }))
            .unwrap();
        assert_eq!(
            over.to_string(),
            "on-demand total 52.62 USD/h is over 50 USD/h"
        );
        let offered: Vec<(String, bool)> = either
            .offers
            .iter()
            .map(|o| (o.total_price_per_hour.amount.to_string(), o.spot))
            .collect();
        assert_eq!(offered[0], ("28.7".to_owned(), true));
        assert_eq!(offered.iter().filter(|(_, spot)| !spot).count(), 2);
        assert_eq!(offered.iter().filter(|(_, spot)| *spot).count(), 4);
        assert_eq!(all.offers.len(), 3);
    }

    #[test]
    fn stale_or_undated_catalogs_warn_on_every_plan() {
        let catalog = Catalog::builtin();
        let request = PlanRequest::new("L4", 1, 1).unwrap();
        let late = fresh() + Duration::from_secs(60 * 86_400);
        let undated = Catalog::new("t", None);

        let stale = plan(&catalog, &request, late);
        let strict = plan(
            &catalog,
            &request
                .clone()
                .with_max_catalog_age(Duration::from_secs(3600)),
            fresh(),
        );
        let unknown = plan(&undated, &request, late);

        assert!(matches!(
            stale.warnings[..],
            [PlanWarning::StaleCatalog { .. }]
        ));
        assert!(
            stale.warnings[0]
                .to_string()
                .contains("61 days old (more than 30)")
        );
        assert!(matches!(
            strict.warnings[..],
            [PlanWarning::StaleCatalog { .. }]
        ));
        assert_eq!(
            unknown.warnings,
            [
                PlanWarning::NoSuchGpu {
                    gpu: GpuModel::parse("L4").unwrap()
                },
                PlanWarning::UnknownCatalogAge
            ]
        );
    }

    #[test]
    fn a_cap_in_an_unused_currency_is_invalid_input() {
        let catalog = Catalog::builtin();
        let request = PlanRequest::new("H100", 8, 1)
            .unwrap()
            .with_max_price_per_hour("10 EUR".parse().unwrap());

        let err = try_plan(&catalog, &request, fresh()).unwrap_err();
        let lenient = plan(&catalog, &request, fresh());

        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert_eq!(err.field(), Some("max_price"));
        assert!(
            err.message()
                .contains("is in EUR but the prices are in USD"),
            "{err}"
        );
        assert!(err.message().contains("currencies differ"), "{err}");
        assert!(lenient.offers.is_empty());
        let reasons: Vec<&RejectReason> =
            lenient.rejected.iter().flat_map(|r| &r.reasons).collect();
        assert!(
            !reasons
                .iter()
                .any(|r| matches!(r, RejectReason::OverBudget { .. })),
            "{reasons:?}"
        );
        let currency = reasons
            .iter()
            .find(|r| matches!(r, RejectReason::Currency { .. }))
            .unwrap();
        assert_eq!(currency.kind(), RejectKind::Price);
        assert_eq!(
            currency.to_string(),
            "on-demand price is in USD, the most allowed in EUR; currencies differ"
        );
    }

    #[test]
    fn mixed_currencies_reject_only_the_other_currency() {
        let csv = "InstanceType,AcceleratorName,AcceleratorCount,Price,Region\n\
                   eu-box,H100,8,20 EUR,eu\n\
                   us-box,H100,8,18,us\n\
                   dear-eu-box,H100,8,90 EUR,eu\n";
        let options = crate::CsvOptions::new(ProviderId::new("x").unwrap());
        let (catalog, _) = Catalog::from_csv_reader(csv.as_bytes(), &options).unwrap();
        let request = PlanRequest::new("H100", 8, 2)
            .unwrap()
            .with_max_price_per_hour("50 EUR".parse().unwrap());

        let plan = try_plan(&catalog, &request, fresh()).unwrap();

        let offered: Vec<&str> = plan.offers.iter().map(|o| o.id().type_name()).collect();
        assert_eq!(offered, ["eu-box"]);
        let rejected: Vec<(&str, &RejectReason)> = plan
            .rejected
            .iter()
            .map(|r| (r.instance_type.type_name(), &r.reasons[0]))
            .collect();
        assert!(matches!(
            rejected[..],
            [
                ("us-box", RejectReason::Currency { .. }),
                ("dear-eu-box", RejectReason::OverBudget { .. })
            ]
        ));
    }

    #[test]
    fn spot_plans_offer_only_spot_priced_types() {
        let catalog = Catalog::builtin();
        let request = PlanRequest::new("A10", 1, 1).unwrap().spot(true);
        let on_demand = PlanRequest::new("A10", 1, 1).unwrap();

        let spot = plan(&catalog, &request, fresh());
        let normal = plan(&catalog, &on_demand, fresh());

        assert!(!normal.offers.is_empty());
        assert!(spot.offers.is_empty(), "the A10 has no spot price");
        assert!(
            spot.rejected
                .iter()
                .all(|r| r.reasons.contains(&RejectReason::NoPrice { spot: true }))
        );
        let h100 = plan(
            &catalog,
            &PlanRequest::new("H100", 8, 1).unwrap().spot(true),
            fresh(),
        );
        assert!(!h100.offers.is_empty());
        assert!(
            h100.offers
                .iter()
                .all(|o| o.spot && o.instance_type.spot_price.is_some())
        );
    }

    #[test]
    fn unknown_gpu_names_are_invalid_input() {
        for name in ["H200X", "H100-MEGA-X", "H100 turbo"] {
            let err = PlanRequest::new(name, 8, 1).unwrap_err();

            assert_eq!(err.field(), Some("gpu"), "{name}");
            assert!(err.message().contains("known models include"), "{err}");
        }
        let mega = PlanRequest::new("H100-MEGA", 8, 1).unwrap();
        let plan = try_plan(&Catalog::builtin(), &mega, fresh()).unwrap();
        assert!(
            plan.offers.is_empty(),
            "no MEGA machines in the built-in catalog"
        );
        assert!(matches!(plan.warnings[..], [PlanWarning::NoSuchGpu { .. }]));

        let mut odd = PlanRequest::new("H100", 8, 1).unwrap();
        odd.gpu.name = "H200X".to_owned();
        let err = try_plan(&Catalog::builtin(), &odd, fresh()).unwrap_err();
        assert_eq!(err.field(), Some("gpu"));
    }

    #[test]
    fn bad_requests_are_invalid_input() {
        for (gpu, per_node, nodes, field) in [
            ("", 8, 1, "gpu"),
            ("H100", 0, 1, "gpus_per_node"),
            ("H100", 8, 0, "nodes"),
        ] {
            let err = PlanRequest::new(gpu, per_node, nodes).unwrap_err();

            assert_eq!(err.kind(), ErrorKind::InvalidRequest);
            assert_eq!(err.field(), Some(field));
        }
    }
}
