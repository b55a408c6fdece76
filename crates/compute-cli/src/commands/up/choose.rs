//! Picking the nodes' instance type for `up`: by name or id, or the cheapest offer of a
//! GPU shape.

use std::{sync::Arc, time::SystemTime};

use crate::{
    cli::UpArgs,
    commands::types::check_gpu,
    context::Context,
    error::{CliError, CliResult},
    views::{PriceView, plural},
};
use compute_catalog::{PlanRequest, plan};
use compute_provider::{InstanceTypeFilter, Provider};
use compute_types::{InstanceType, InstanceTypeId, LocationId};

/// The type `up` will launch, and a line saying why when it was picked for the user.
#[derive(Debug)]
pub(super) struct Choice {
    pub(super) instance_type: InstanceType,
    pub(super) note: Option<String>,
}

/// Resolves `--type`, or `--gpu` with `--gpus-per-node`, to one instance type.
///
/// # Errors
/// Exit 2 for an unknown type or GPU model, or when no offer fits.
pub(super) fn instance_type(
    cx: &Context,
    provider: &Arc<dyn Provider>,
    args: &UpArgs,
    location: Option<&LocationId>,
) -> CliResult<Choice> {
    match (&args.type_id, &args.gpu, args.gpus_per_node) {
        (Some(text), _, _) => by_type(cx, provider, text, location),
        (None, Some(gpu), Some(per_node)) => by_gpu(cx, gpu, per_node, args.nodes, location),
        _ => Err(CliError::usage(
            "pass --type ID, or --gpu MODEL with --gpus-per-node G",
        )),
    }
}

/// Finds a type by name (cheapest location unless `--location`) or by full id, at the
/// provider, so whatever it lists can be launched.
fn by_type(
    cx: &Context,
    provider: &Arc<dyn Provider>,
    text: &str,
    location: Option<&LocationId>,
) -> CliResult<Choice> {
    let exact: Option<InstanceTypeId> = if text.contains('/') {
        Some(text.parse().map_err(|e| {
            CliError::from(e).with_hint(
                "--type takes a type name such as gpu-8x-h100-sxm, or a full id \
                 provider/location/zone/name",
            )
        })?)
    } else {
        None
    };
    let name = exact.as_ref().map_or(text, InstanceTypeId::type_name);
    let mut filter = InstanceTypeFilter::all().with_type_name(name);
    if let Some(location) = location.or(exact.as_ref().map(InstanceTypeId::location)) {
        filter = filter.with_location(location.clone());
    }

    let listed = cx.block_on(async { Ok(provider.instance_types(&filter).await?) })?;
    let mut candidates: Vec<InstanceType> = listed
        .into_iter()
        .filter(|t| exact.as_ref().is_none_or(|id| &t.id == id))
        .collect();
    // Available first, then cheapest whole-instance price, then id.
    candidates.sort_by(|a, b| {
        let key = |t: &InstanceType| (!t.available, t.instance_price(false).map(|p| p.amount));
        let (ka, kb) = (key(a), key(b));
        let by_price = match (ka.1, kb.1) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        ka.0.cmp(&kb.0).then(by_price).then_with(|| a.id.cmp(&b.id))
    });

    let count = candidates.len();
    let Some(chosen) = candidates.into_iter().next() else {
        let place = location.map(|l| format!(" in {l}")).unwrap_or_default();
        return Err(
            CliError::usage(format!("unknown instance type `{text}`{place}"))
                .with_hint("list the types with `computectl types`"),
        );
    };
    let note = (count > 1).then(|| {
        format!(
            "picked {} in {} (cheapest of {count} places it is offered{})",
            chosen.name(),
            chosen.location(),
            chosen
                .instance_price(false)
                .map(|p| format!(", {} per node", PriceView::from(p).per_hour()))
                .unwrap_or_default()
        )
    });
    Ok(Choice {
        instance_type: chosen,
        note,
    })
}

/// Picks the cheapest catalog offer of `per_node` GPUs of `gpu` for `nodes` nodes.
fn by_gpu(
    cx: &Context,
    gpu: &str,
    per_node: u32,
    nodes: u32,
    location: Option<&LocationId>,
) -> CliResult<Choice> {
    let catalog = cx.catalog()?;
    check_gpu(catalog, gpu)?;
    let mut request = PlanRequest::new(gpu, per_node, nodes)?;
    if let Some(location) = location {
        request = request.with_location(location.as_str());
    }

    let plan = plan(catalog, &request, SystemTime::now());
    let Some(best) = plan.best() else {
        let place = location.map(|l| format!(" in {l}")).unwrap_or_default();
        return Err(CliError::usage(format!(
            "no instance type has {} per node{place}",
            plural(
                u64::from(per_node),
                &format!("{gpu} GPU"),
                &format!("{gpu} GPUs")
            )
        ))
        .with_hint(format!(
            "see why with `computectl plan --gpu {gpu} --gpus-per-node {per_node} --nodes {nodes}`"
        )));
    };
    let note = format!(
        "picked {} in {} from {}: the cheapest {per_node}x {gpu} ({} per node, {} for {})",
        best.instance_type.name(),
        best.instance_type.location(),
        best.instance_type.provider(),
        PriceView::from(best.price_per_node).per_hour(),
        PriceView::from(best.total_price_per_hour).per_hour(),
        plural(u64::from(nodes), "node", "nodes"),
    );
    Ok(Choice {
        instance_type: best.instance_type.clone(),
        note: Some(note),
    })
}
