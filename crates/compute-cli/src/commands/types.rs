//! `computectl types`: the catalog's instance types, filtered and sorted.

use serde::Serialize;

use crate::{
    cli::{SortKey, TypesArgs},
    context::Context,
    error::{CliError, CliResult},
    output::{JSON_VERSION, table},
    views::{TypeView, plural},
};
use compute_catalog::{Catalog, GpuModel, NormalizedGpu, Query, SortBy};
use compute_types::{Currency, Error, Price};

/// The forms `--max-price` accepts, for hints.
const PRICE_FORMS: &str =
    "prices look like 30, 30 USD or 2.5EUR (per hour; USD when no currency is given)";

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

    let found = catalog
        .try_query(&query)
        .map_err(|e| query_error(e, args.max_price.as_deref(), catalog, args.spot))?;
    let views: Vec<TypeView> = found
        .into_iter()
        .map(|t| TypeView::new(t, args.spot))
        .collect();
    if let Some(model) = &args.gpu {
        note_unknown_variants(catalog, &query, model);
    }

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
        query = query.max_price(parse_max_price(text)?);
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

/// Reads `--max-price`, hinting at the accepted forms when it is not a price.
///
/// # Errors
/// Exit 2 when the text is not a non-negative amount with an optional currency.
pub(super) fn parse_max_price(text: &str) -> CliResult<Price> {
    if !text.chars().any(|c| c.is_ascii_digit()) {
        return Err(
            CliError::usage(format!("--max-price: `{text}` is not a price")).with_hint(PRICE_FORMS),
        );
    }
    Price::parse_field("--max-price", text).map_err(|e| {
        CliError::usage(format!("--max-price: {}", e.message())).with_hint(PRICE_FORMS)
    })
}

/// Turns the catalog's complaint about a query into the CLI's words: a price cap in a
/// currency the catalog does not use names `--max-price` and the catalog's currency.
pub(super) fn query_error(
    err: Error,
    max_price: Option<&str>,
    catalog: &Catalog,
    spot: bool,
) -> CliError {
    let max = max_price.and_then(|t| parse_max_price(t).ok());
    let (Some(text), Some(max)) = (max_price, max) else {
        return err.into();
    };
    if err.field() != Some("max_price") {
        return err.into();
    }
    let used = currencies(catalog, spot);
    let names: Vec<String> = used.iter().map(ToString::to_string).collect();
    let message = format!(
        "--max-price: `{text}` is in {} but this catalog's prices are in {}",
        max.currency,
        names.join(", ")
    );
    let hint = match used.first() {
        Some(currency) => format!(
            "currencies are not converted; give the price in {currency}, e.g. \
             --max-price \"{} {currency}\"",
            max.amount
        ),
        None => PRICE_FORMS.to_owned(),
    };
    CliError::usage(message).with_hint(hint)
}

/// The currencies of the catalog's whole-instance prices (spot ones with `spot`), in order
/// of first appearance.
fn currencies(catalog: &Catalog, spot: bool) -> Vec<Currency> {
    let mut out: Vec<Currency> = Vec::new();
    for t in catalog.instance_types() {
        if let Some(price) = t.instance_price(spot)
            && !out.contains(&price.currency)
        {
            out.push(price.currency);
        }
    }
    out
}

/// Says on stderr how many types a form factor or memory in `--gpu` left out only because
/// the catalog does not know theirs (AWS and GCP rows often do not say SXM or PCIe).
/// `plan` says the same for the types its GPU filter leaves out.
pub(super) fn note_unknown_variants(catalog: &Catalog, query: &Query, model: &str) {
    let Ok(wanted) = catalog.gpu_model(model) else {
        return;
    };
    if wanted.form_factor.is_none() && wanted.memory_gib.is_none() {
        return;
    }
    let mut broad = wanted.clone();
    broad.form_factor = None;
    broad.memory_gib = None;
    let mut relaxed = query.clone();
    relaxed.gpu = Some(broad.clone());

    let hidden = catalog
        .query(&relaxed)
        .into_iter()
        .filter_map(|t| catalog.gpu_of(&t.id))
        .filter(|g| !wanted.matches(g) && only_unknown_differs(&wanted, g))
        .count();
    if hidden == 0 {
        return;
    }
    let what = match (wanted.form_factor, wanted.memory_gib) {
        (Some(_), Some(_)) => "form factor or GPU memory",
        (Some(_), None) => "form factor",
        _ => "GPU memory",
    };
    let name = &wanted.name;
    let types = plural(
        hidden as u64,
        &format!("{name} type"),
        &format!("{name} types"),
    );
    eprintln!("note: {types} of unknown {what} are not shown; ask for --gpu {broad} to see them");
}

/// True when `gpu` misses `wanted` only where the catalog does not know its form factor
/// or memory, never where it knows a different one.
fn only_unknown_differs(wanted: &GpuModel, gpu: &NormalizedGpu) -> bool {
    let form = wanted
        .form_factor
        .is_none_or(|f| gpu.form_factor.is_none_or(|g| g == f));
    let memory = wanted
        .memory_gib
        .is_none_or(|m| gpu.memory_gib.is_none_or(|g| g == m));
    form && memory
}
