//! Cases on what a provider sells: locations and instance types.

use std::collections::{BTreeMap, BTreeSet};

use crate::{
    Check, Cx, Outcome,
    outcome::{Context, bail, ensure},
};
use compute_provider::{InstanceTypeFilter, LocationsQuery, Provider};
use compute_types::{CountryCode, InstanceType, Location};

/// How many locations or type names the filter cases try, to bound live API calls.
const SAMPLE: usize = 8;

async fn all_locations(p: &dyn Provider) -> Check<Vec<Location>> {
    p.locations(&LocationsQuery::all())
        .await
        .context("locations")
}

async fn all_types(p: &dyn Provider) -> Check<Vec<InstanceType>> {
    p.instance_types(&InstanceTypeFilter::all())
        .await
        .context("instance_types")
}

fn first_duplicate<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut seen = BTreeSet::new();
    names.into_iter().find(|n| !seen.insert(*n))
}

/// There is at least one location and one available location; names are unique, zone
/// names are unique within their location, and country codes are ISO 3166-1 alpha-3.
pub async fn locations_are_listed_and_unique(p: &dyn Provider, _cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let all = all_locations(p).await?;

            ensure!(!all.is_empty(), "no locations are listed");
            ensure!(
                all.iter().any(|l| l.available),
                "none of {} locations is available",
                all.len()
            );
            if let Some(dup) = first_duplicate(all.iter().map(|l| l.name.as_str())) {
                bail!("location {dup} is listed twice");
            }
            for location in &all {
                let zones = location.zones.iter().map(|z| z.name.as_str());
                if let Some(dup) = first_duplicate(zones) {
                    bail!("zone {dup} is listed twice in {}", location.name);
                }
                if let Some(country) = location.country {
                    ensure!(
                        CountryCode::new(country.as_str()).is_ok(),
                        "location {} has the country code {country}",
                        location.name
                    );
                }
            }
            Ok(())
        }
        .await,
    )
}

/// Listing available locations returns exactly the available ones of the full list.
pub async fn available_locations_are_a_subset(p: &dyn Provider, _cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let all = all_locations(p).await?;
            let available = p
                .locations(&LocationsQuery::available())
                .await
                .context("locations")?;

            if let Some(closed) = available.iter().find(|l| !l.available) {
                bail!(
                    "the available query returned {}, which is unavailable",
                    closed.name
                );
            }
            let listed: BTreeSet<_> = available.iter().map(|l| l.name.as_str()).collect();
            let expected: BTreeSet<_> = all
                .iter()
                .filter(|l| l.available)
                .map(|l| l.name.as_str())
                .collect();
            ensure!(
                listed == expected,
                "the available query returned {listed:?}, the full list has {expected:?} available"
            );
            Ok(())
        }
        .await,
    )
}

/// Type ids are unique, name this provider, and lie in listed locations.
pub async fn instance_type_ids_are_unique(p: &dyn Provider, _cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let types = all_types(p).await?;
            let locations = all_locations(p).await?;

            ensure!(!types.is_empty(), "no instance types are listed");
            let ids: Vec<String> = types.iter().map(|t| t.id.to_string()).collect();
            if let Some(dup) = first_duplicate(ids.iter().map(String::as_str)) {
                bail!("instance type {dup} is listed twice");
            }
            for t in &types {
                ensure!(
                    t.provider() == p.id(),
                    "type {} names provider {}, not {}",
                    t.id,
                    t.provider(),
                    p.id()
                );
                ensure!(
                    locations.iter().any(|l| &l.name == t.location()),
                    "type {} is in {}, which is not a listed location",
                    t.id,
                    t.location()
                );
            }
            Ok(())
        }
        .await,
    )
}

/// Returns a type with the fields that may change between calls cleared.
fn without_market(t: &InstanceType) -> InstanceType {
    let mut t = t.clone();
    t.price = None;
    t.spot_price = None;
    t.available = false;
    t.available_zones.clear();
    t.quota = Default::default();
    t
}

/// Two listings return the same ids and, price and availability aside, the same types.
pub async fn instance_types_are_stable(p: &dyn Provider, _cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let first = all_types(p).await?;
            let second = all_types(p).await?;

            let index = |types: &[InstanceType]| -> BTreeMap<String, InstanceType> {
                types
                    .iter()
                    .map(|t| (t.id.to_string(), without_market(t)))
                    .collect()
            };
            let (a, b) = (index(&first), index(&second));
            let only_a: Vec<_> = a.keys().filter(|k| !b.contains_key(*k)).collect();
            let only_b: Vec<_> = b.keys().filter(|k| !a.contains_key(*k)).collect();
            ensure!(
                only_a.is_empty() && only_b.is_empty(),
                "type ids changed between two calls: {only_a:?} became {only_b:?}"
            );
            if let Some((id, _)) = a.iter().find(|(id, t)| b.get(*id) != Some(t)) {
                bail!("type {id} changed between two calls");
            }
            Ok(())
        }
        .await,
    )
}

/// Filtering by a type name returns that type and only types of that name; an unknown
/// name returns nothing.
pub async fn type_name_filter_finds_the_type(p: &dyn Provider, _cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let types = all_types(p).await?;
            let names: BTreeSet<&str> = types.iter().map(InstanceType::name).collect();

            for name in names.into_iter().take(SAMPLE) {
                let filter = InstanceTypeFilter::all().with_type_name(name);
                let found = p.instance_types(&filter).await.context("instance_types")?;
                let expected: BTreeSet<String> = types
                    .iter()
                    .filter(|t| t.name() == name)
                    .map(|t| t.id.to_string())
                    .collect();
                let got: BTreeSet<String> = found.iter().map(|t| t.id.to_string()).collect();
                ensure!(
                    got == expected,
                    "filtering by type name {name} returned {got:?}, expected {expected:?}"
                );
            }

            let filter = InstanceTypeFilter::all().with_type_name("conformance-no-such-type");
            let found = p.instance_types(&filter).await.context("instance_types")?;
            ensure!(
                found.is_empty(),
                "an unknown type name returned {} types",
                found.len()
            );
            Ok(())
        }
        .await,
    )
}

/// One location's types are exactly the types of the full list in that location.
pub async fn location_filter_narrows_types(p: &dyn Provider, _cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let types = all_types(p).await?;
            let locations = all_locations(p).await?;

            for location in locations.iter().take(SAMPLE) {
                let filter = InstanceTypeFilter::all().with_location(location.name.clone());
                let found = p.instance_types(&filter).await.context("instance_types")?;
                if let Some(stray) = found.iter().find(|t| t.location() != &location.name) {
                    bail!(
                        "filtering by location {} returned {}",
                        location.name,
                        stray.id
                    );
                }
                let got: BTreeSet<String> = found.iter().map(|t| t.id.to_string()).collect();
                let expected: BTreeSet<String> = types
                    .iter()
                    .filter(|t| t.location() == &location.name)
                    .map(|t| t.id.to_string())
                    .collect();
                ensure!(
                    got == expected,
                    "filtering by location {} returned {got:?}, the full list has {expected:?}",
                    location.name
                );
            }
            Ok(())
        }
        .await,
    )
}

/// Every type has sizes, a non-negative on-demand price and well-formed GPU data.
pub async fn instance_types_have_prices_and_gpus(p: &dyn Provider, _cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let types = all_types(p).await?;

            for t in &types {
                check_type(t)?;
            }
            Ok(())
        }
        .await,
    )
}

fn check_type(t: &InstanceType) -> Check {
    let id = &t.id;
    ensure!(t.vcpus > 0, "type {id} has no vcpus");
    ensure!(t.memory.as_u64() > 0, "type {id} has no memory");
    let Some(price) = t.price.or(t.spot_price) else {
        return Err(Outcome::fail(format!("type {id} has no price")));
    };
    ensure!(
        !price.amount.is_sign_negative() || price.amount.is_zero(),
        "type {id} has the negative price {price}"
    );
    for gpu in &t.gpus {
        let model = gpu.model.as_str();
        ensure!(gpu.count > 0, "type {id} lists zero {model} GPUs");
        ensure!(
            !model.is_empty() && !model.contains(char::is_whitespace),
            "type {id} has the GPU model `{model}`, which is not a normalised name"
        );
        let maker = gpu.manufacturer.as_str();
        ensure!(
            maker.is_empty()
                || !model
                    .to_ascii_lowercase()
                    .starts_with(&maker.to_ascii_lowercase()),
            "type {id} repeats the maker in the GPU model `{model}`"
        );
        ensure!(
            gpu.memory.is_none_or(|m| m.as_u64() > 0),
            "type {id} lists {model} GPUs with zero memory"
        );
    }
    Ok(())
}
