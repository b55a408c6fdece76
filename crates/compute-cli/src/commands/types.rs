//! `computectl types`: the catalog's instance types, filtered and sorted.

use serde::Serialize;

use crate::{
    cli::{SortKey, TypesArgs},
    context::Context,
    error::{CliError, CliResult},
    output::{JSON_VERSION, table},
    views::TypeView,
};
use compute_catalog::{Catalog, Query, SortBy};
use compute_types::Price;

/// The JSON document of `types`.
#[derive(Debug, Serialize)]
struct TypesJson {
    version: u32,
    /// True when prices, filters and sorting use spot prices.
    spot: bool,
    types: Vec<TypeView>,
}

/// Lists the catalog's types that pass every filter.
///
/// Only the catalog is loaded: no provider, state file or async runtime, so the command
/// answers in milliseconds.
pub(super) fn run(cx: &Context, args: &TypesArgs) -> CliResult {
    let catalog = cx.catalog()?;
    let query = query(cx, catalog, args)?;
    cx.warn_if_stale()?;

    let views: Vec<TypeView> = catalog
        .query(&query)
        .into_iter()
        .map(|t| TypeView::new(t, args.spot))
        .collect();

    if cx.out.is_json() {
        return cx.out.json(&TypesJson {
            version: JSON_VERSION,
            spot: args.spot,
            types: views,
        });
    }
    if views.is_empty() {
        eprintln!("no instance type matches");
        return Ok(());
    }
    let rows = views.iter().map(|v| v.row(args.spot)).collect();
    let mut text = table(&TypeView::HEADER, rows);
    if views.iter().any(|v| v.price_scope != "instance") {
        text.push_str(
            "\n(gpus only): the price covers the accelerators only; the host is billed on top",
        );
    }
    cx.out.text(&text)
}

/// Builds the catalog query from the arguments, checking each one.
fn query(cx: &Context, catalog: &Catalog, args: &TypesArgs) -> CliResult<Query> {
    let sort = match args.sort {
        SortKey::Price => SortBy::Price,
        SortKey::PricePerGpu => SortBy::PricePerGpu,
    };
    let mut query = Query::new().spot(args.spot).sort(sort);

    if let Some(model) = &args.gpu {
        check_gpu(catalog, model)?;
        query = query.gpu(model);
    }
    if let Some(n) = args.gpus {
        query = query.gpu_count(n);
    }
    if let Some(size) = args.min_gpu_memory {
        query = query.min_gpu_memory(size);
    }
    if let Some(location) = &args.location {
        query = query.location(cx.location_pattern(location)?);
    }
    if let Some(text) = &args.max_price {
        query = query.max_price(Price::parse_field("--max-price", text)?);
    }
    Ok(query)
}

/// Rejects a GPU model the catalog does not list, naming the models it does.
pub(super) fn check_gpu(catalog: &Catalog, model: &str) -> CliResult {
    if catalog.knows_gpu(model) {
        return Ok(());
    }
    let mut names: Vec<String> = catalog.gpu_models().into_iter().map(|m| m.name).collect();
    names.dedup();
    Err(CliError::usage(format!("unknown GPU model `{model}`"))
        .with_hint(format!("models in this catalog: {}", names.join(", "))))
}
