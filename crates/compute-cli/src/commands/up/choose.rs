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
use compute_types::{InstanceType, InstanceTypeId, LocationId, PriceScope};

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
    rank(&mut candidates);
    let partial = candidates
        .iter()
        .filter(|t| t.price_scope != PriceScope::Instance)
        .count();

    let count = candidates.len();
    let Some(chosen) = candidates.into_iter().next() else {
        let place = location.map(|l| format!(" in {l}")).unwrap_or_default();
        return Err(
            CliError::usage(format!("unknown instance type `{text}`{place}"))
                .with_hint("list the types with `computectl types`"),
        );
    };
    let note = place_note(&chosen, count, partial);
    Ok(Choice {
        instance_type: chosen,
        note,
    })
}

/// Orders the places of one type: available first, then a whole-instance price (cheapest
/// first) before none, then id.
///
/// A price covering only the accelerators is no instance price (`plan` rejects it), so it
/// never ranks a place: such places come after every whole-instance price, by id.
fn rank(candidates: &mut [InstanceType]) {
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
}

/// Says why `chosen` was picked among `count` places, `partial` of which list only an
/// accelerator price; none when there was no choice and nothing to warn about.
fn place_note(chosen: &InstanceType, count: usize, partial: usize) -> Option<String> {
    let (name, place) = (chosen.name(), chosen.location());
    let Some(price) = chosen.instance_price(false) else {
        let accelerators = "the accelerators only (the host is billed on top)";
        let why = match (count, partial) {
            (1, 0) => format!("note: {name} in {place}: no whole-instance price is listed"),
            (1, _) => format!("note: {name} in {place}: the listed price covers {accelerators}"),
            (_, 0) => format!(
                "picked {name} in {place}, the first by id of {count} places: none lists a \
                 whole-instance price"
            ),
            _ if partial == count => format!(
                "picked {name} in {place}, the first by id of {count} places: each lists a \
                 price for {accelerators}"
            ),
            _ => format!(
                "picked {name} in {place}, the first by id of {count} places: none lists a \
                 whole-instance price ({partial} list a price for {accelerators})"
            ),
        };
        return Some(format!("{why}, so its price per node is unknown"));
    };
    if count == 1 {
        return None;
    }
    let ranked_last = match partial {
        0 => String::new(),
        n => format!(
            "; {} only an accelerator price, ranked after every whole-instance price",
            plural(n as u64, "place lists", "places list")
        ),
    };
    Some(format!(
        "picked {name} in {place} (cheapest of {count} places it is offered, {} per \
         node{ranked_last})",
        PriceView::from(price).per_hour()
    ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use compute_types::Bytes;

    fn offer(location: &str, price: &str, scope: PriceScope) -> InstanceType {
        let id = InstanceTypeId::builder("gcp", location, "h100-x8")
            .build()
            .unwrap();
        let mut t = InstanceType::new(id, 0, Bytes::ZERO);
        t.available = true;
        t.price = Some(price.parse().unwrap());
        t.price_scope = scope;
        t
    }

    #[test]
    fn an_accelerator_price_ranks_after_every_whole_instance_price() {
        let mut places = vec![
            offer("a-cheap-partial", "10", PriceScope::AcceleratorsOnly),
            offer("b-dear-whole", "90", PriceScope::Instance),
            offer("c-cheap-whole", "40", PriceScope::Instance),
        ];

        rank(&mut places);
        let note = place_note(&places[0], 3, 1).unwrap();

        let order: Vec<&str> = places.iter().map(|t| t.location().as_str()).collect();
        assert_eq!(order, ["c-cheap-whole", "b-dear-whole", "a-cheap-partial"]);
        assert!(
            note.starts_with("picked h100-x8 in c-cheap-whole (cheapest of 3"),
            "{note}"
        );
        assert!(note.contains("40.00 USD/h per node"), "{note}");
        assert!(
            note.contains("1 place lists only an accelerator price"),
            "{note}"
        );
    }

    #[test]
    fn a_place_with_only_an_accelerator_price_is_never_called_cheapest() {
        let mut places = vec![
            offer("b", "10", PriceScope::AcceleratorsOnly),
            offer("a", "30", PriceScope::AcceleratorsOnly),
        ];

        rank(&mut places);
        let many = place_note(&places[0], 2, 2).unwrap();
        let one = place_note(&places[0], 1, 1).unwrap();

        assert_eq!(
            places[0].location().as_str(),
            "a",
            "by id, not by the partial price"
        );
        for note in [&many, &one] {
            assert!(
                !note.contains("cheapest") && !note.contains("USD"),
                "{note}"
            );
            assert!(note.contains("accelerators only"), "{note}");
            assert!(note.contains("price per node is unknown"), "{note}");
        }
        assert!(many.contains("first by id of 2 places"), "{many}");
    }
}
