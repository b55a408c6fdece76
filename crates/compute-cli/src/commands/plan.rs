//! `computectl plan`: ranked offers for a cluster across providers, and why others were
//! rejected.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::SystemTime,
};

use serde::Serialize;

use super::types::{check_gpu, note_unknown_variants, parse_max_price, query_error};
use crate::{
    cli::PlanArgs,
    context::Context,
    error::CliResult,
    output::{JSON_VERSION, table},
    views::{PriceView, TypeView, plural},
};
use compute_catalog::{Offer, Plan, PlanRequest, Query, RejectReason, Rejected, try_plan};
use compute_types::Price;

/// Most example types listed per rejection reason in the table.
const EXAMPLES: usize = 3;

/// The JSON document of `plan`.
#[derive(Debug, Serialize)]
struct PlanJson {
    version: u32,
    request: RequestJson,
    /// Cheapest first.
    offers: Vec<OfferJson>,
    rejected: Vec<RejectedJson>,
    warnings: Vec<String>,
}

/// The request as understood.
#[derive(Debug, Serialize)]
struct RequestJson {
    gpu: String,
    gpus_per_node: u32,
    nodes: u32,
    max_price: Option<PriceView>,
    location: Option<String>,
}

/// One offer.
#[derive(Debug, Serialize)]
struct OfferJson {
    rank: usize,
    instance_type: TypeView,
    nodes: u32,
    spot: bool,
    price_per_node: PriceView,
    total_price: PriceView,
}

/// One rejected candidate with every reason.
#[derive(Debug, Serialize)]
struct RejectedJson {
    instance_type: String,
    reasons: Vec<String>,
}

/// Plans the cluster from the catalog and prints the offers and rejections.
pub(super) fn run(cx: &Context, args: &PlanArgs) -> CliResult {
    let catalog = cx.catalog()?;
    check_gpu(catalog, &args.gpu)?;
    let max_price = args.max_price.as_deref().map(parse_max_price).transpose()?;
    let mut request = PlanRequest::new(&args.gpu, args.gpus_per_node, args.nodes)?;
    if let Some(max) = max_price {
        request = request.with_max_price_per_hour(max);
    }
    if let Some(location) = &args.location {
        request = request.with_location(cx.location_pattern(location)?);
    }

    let plan = try_plan(catalog, &request, SystemTime::now())
        .map_err(|e| query_error(e, args.max_price.as_deref(), catalog, false))?;
    for warning in &plan.warnings {
        eprintln!("warning: {warning}");
    }
    // The plan never sees types of another GPU; say when a form factor hid some.
    let mut same_shape = Query::new().gpu(&args.gpu).gpu_count(args.gpus_per_node);
    if let Some(location) = &args.location {
        same_shape = same_shape.location(location);
    }
    note_unknown_variants(catalog, &same_shape, &args.gpu);

    if cx.out.is_json() {
        return cx.out.json(&plan_json(args, max_price, &plan));
    }
    print_table(cx, &plan)
}

fn plan_json(args: &PlanArgs, max_price: Option<Price>, plan: &Plan) -> PlanJson {
    PlanJson {
        version: JSON_VERSION,
        request: RequestJson {
            gpu: args.gpu.clone(),
            gpus_per_node: args.gpus_per_node,
            nodes: args.nodes,
            max_price: max_price.map(PriceView::from),
            location: args.location.clone(),
        },
        offers: plan
            .offers
            .iter()
            .enumerate()
            .map(|(i, offer)| offer_json(i + 1, offer))
            .collect(),
        rejected: plan.rejected.iter().map(rejected_json).collect(),
        warnings: plan.warnings.iter().map(ToString::to_string).collect(),
    }
}

fn offer_json(rank: usize, offer: &Offer) -> OfferJson {
    OfferJson {
        rank,
        instance_type: TypeView::new(&offer.instance_type, offer.spot),
        nodes: offer.nodes,
        spot: offer.spot,
        price_per_node: offer.price_per_node.into(),
        total_price: offer.total_price_per_hour.into(),
    }
}

fn rejected_json(rejected: &Rejected) -> RejectedJson {
    RejectedJson {
        instance_type: rejected.instance_type.to_string(),
        reasons: rejected.reasons.iter().map(ToString::to_string).collect(),
    }
}

/// How many candidates failed each check, with the candidates' ids in plan order.
///
/// A candidate can fail several checks, so it is counted once under each reason it has
/// (and once only, should a reason repeat).
fn by_reason(rejected: &[Rejected]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for candidate in rejected {
        let reasons: BTreeSet<String> = candidate.reasons.iter().map(summary).collect();
        for reason in reasons {
            out.entry(reason)
                .or_default()
                .push(candidate.instance_type.to_string());
        }
    }
    out
}

/// A reason as the table groups it: over-budget candidates share one line whatever their
/// totals (the JSON keeps each total).
fn summary(reason: &RejectReason) -> String {
    match reason {
        RejectReason::OverBudget { max, spot, .. } => {
            let market = if *spot { "spot" } else { "on-demand" };
            format!("{market} total is over {max}")
        }
        other => other.to_string(),
    }
}

/// Offers as a ranked table, then rejections grouped by reason with a few examples.
fn print_table(cx: &Context, plan: &Plan) -> CliResult {
    let mut text = if plan.offers.is_empty() {
        "no offer matches".to_owned()
    } else {
        let rows = plan
            .offers
            .iter()
            .enumerate()
            .map(|(i, offer)| offer_row(i + 1, offer))
            .collect();
        let header = [
            "#", "provider", "location", "zone", "type", "nodes", "per node", "total",
        ];
        table(&header, rows)
    };

    let by_reason = by_reason(&plan.rejected);
    if !by_reason.is_empty() {
        let counted: usize = by_reason.values().map(Vec::len).sum();
        let several = if counted > plan.rejected.len() {
            " (a candidate can fail several checks; each line counts the candidates that \
             failed it)"
        } else {
            ""
        };
        text.push_str(&format!(
            "\n\nrejected {}{several}:",
            plural(plan.rejected.len() as u64, "candidate", "candidates")
        ));
        for (reason, ids) in &by_reason {
            let examples: Vec<&str> = ids.iter().take(EXAMPLES).map(String::as_str).collect();
            let more = if ids.len() > EXAMPLES { ", ..." } else { "" };
            text.push_str(&format!(
                "\n  {:>4}  {reason} (e.g. {}{more})",
                ids.len(),
                examples.join(", ")
            ));
        }
    }
    cx.out.text(&text)
}

fn offer_row(rank: usize, offer: &Offer) -> Vec<String> {
    let t = &offer.instance_type;
    let spot = if offer.spot { " spot" } else { "" };
    vec![
        rank.to_string(),
        t.provider().to_string(),
        t.location().to_string(),
        t.id.zone().map_or_else(|| "-".into(), ToString::to_string),
        t.name().to_owned(),
        offer.nodes.to_string(),
        format!("{}{spot}", PriceView::from(offer.price_per_node).per_hour()),
        PriceView::from(offer.total_price_per_hour).per_hour(),
    ]
}
