//! One module per command; [`run`] dispatches the parsed command line to them, and the
//! helpers here find clusters, nodes and prices the same way for every command.

mod down;
mod firewall;
mod locations;
mod ls;
mod plan;
mod show;
mod sweep;
mod types;
mod up;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
};

use chrono::Utc;

use crate::{
    cli::{Command, FirewallCommand},
    context::Context,
    error::{CliError, CliResult},
    inventory::{ClusterSpec, ClusterState, Clusters},
    views::InstanceView,
};
use compute_catalog::Catalog;
use compute_provider::{
    InstanceTypeFilter, ListInstances, Provider, is_gone_or_going, validate_cluster_name,
};
use compute_types::{Instance, InstanceTypeId, Price, RefId, TAG_CLUSTER};

/// Runs one command.
///
/// # Errors
/// Whatever the command reports; the caller prints it and exits with its code.
pub(crate) fn run(cx: &Context, command: &Command) -> CliResult {
    match command {
        Command::Types(args) => types::run(cx, args),
        Command::Locations => locations::run(cx),
        Command::Plan(args) => plan::run(cx, args),
        Command::Up(args) => up::run(cx, args),
        Command::Ls(args) => ls::run(cx, args),
        Command::Show(args) => show::run(cx, args),
        Command::Down(args) => down::run(cx, args),
        Command::Firewall(FirewallCommand::Check(args)) => firewall::check(cx, args),
        Command::Firewall(FirewallCommand::Render(args)) => firewall::render(cx, args),
        Command::Firewall(FirewallCommand::Lint(args)) => firewall::lint(cx, args),
        Command::Sweep(args) => sweep::run(cx, args),
    }
}

/// Checks a `--cluster` name, naming the flag in the error.
///
/// # Errors
/// Exit 2 when the name breaks the rule of cluster names.
pub(crate) fn check_cluster_name(name: &str) -> CliResult {
    validate_cluster_name(name).map_err(|e| CliError::usage(format!("--cluster: {}", e.message())))
}

/// Returns the recorded cluster `name`, or a usage error listing the known ones.
///
/// # Errors
/// Exit 2 when the inventory has no cluster of that name.
pub(crate) fn known_cluster<'a>(clusters: &'a Clusters, name: &str) -> CliResult<&'a ClusterSpec> {
    clusters.get(name).ok_or_else(|| {
        let live: Vec<&str> = clusters
            .iter()
            .filter(|(_, spec)| spec.state != ClusterState::Down)
            .map(|(name, _)| name.as_str())
            .collect();
        let known = if live.is_empty() {
            "no cluster is up; create one with `computectl up`".to_owned()
        } else {
            format!("known clusters: {}", live.join(", "))
        };
        // Nodes whose cluster record was lost carry our tags but no cluster knows them.
        let hint =
            format!("{known}; nodes no cluster record knows are listed by `computectl sweep`");
        CliError::usage(format!("unknown cluster `{name}`")).with_hint(hint)
    })
}

/// Returns the live cluster `name`: recorded and not torn down.
///
/// # Errors
/// Exit 2 when the cluster is unknown or down.
pub(crate) fn live_cluster<'a>(clusters: &'a Clusters, name: &str) -> CliResult<&'a ClusterSpec> {
    let spec = known_cluster(clusters, name)?;
    if spec.state == ClusterState::Down {
        return Err(
            CliError::usage(format!("cluster `{name}` is down")).with_hint(format!(
                "bring it back with `computectl up --cluster {name} ...`"
            )),
        );
    }
    Ok(spec)
}

/// Lists the live (not terminating or terminated) nodes of a cluster, ordered by ref id.
///
/// # Errors
/// The provider's listing errors (exit 1).
pub(crate) async fn cluster_nodes(
    provider: &dyn Provider,
    name: &str,
    spec: &ClusterSpec,
) -> CliResult<Vec<Instance>> {
    cluster_instances(provider, name, spec, false).await
}

/// Lists the nodes of a cluster, ordered by ref id: the live ones, and with `include_gone`
/// the terminating and terminated ones too (as `ls --all` shows them).
///
/// # Errors
/// The provider's listing errors (exit 1).
pub(crate) async fn cluster_instances(
    provider: &dyn Provider,
    name: &str,
    spec: &ClusterSpec,
    include_gone: bool,
) -> CliResult<Vec<Instance>> {
    let filter = ListInstances::all().with_tag(TAG_CLUSTER, name)?;
    let listed = provider.list_instances(&filter).await?;

    let ref_ids: BTreeSet<&RefId> = spec.node_ref_ids.iter().collect();
    let mut nodes: Vec<Instance> = listed
        .into_iter()
        .filter(|i| ref_ids.contains(i.ref_id()))
        .filter(|i| include_gone || !is_gone_or_going(i.state()))
        .collect();
    nodes.sort_by_key(node_order);
    Ok(nodes)
}

/// Sorts `demo-2` before `demo-10`: by the numeric suffix of the ref id, then by text.
fn node_order(instance: &Instance) -> (u64, String) {
    let ref_id = instance.ref_id().as_str();
    let index = ref_id
        .rsplit_once('-')
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(u64::MAX);
    (index, ref_id.to_owned())
}

/// Finds one instance among `candidates` by cloud id, name or ref id.
pub(crate) fn find_instance<'a>(candidates: &'a [Instance], wanted: &str) -> Option<&'a Instance> {
    candidates
        .iter()
        .find(|i| i.id().as_str() == wanted)
        .or_else(|| candidates.iter().find(|i| i.ref_id().as_str() == wanted))
        .or_else(|| candidates.iter().find(|i| i.identity.name == wanted))
}

/// Whole-instance prices by type id and usage class (`true` for spot).
pub(crate) type Prices = BTreeMap<(InstanceTypeId, bool), Price>;

/// Looks up the whole-instance prices of the instances' types at the provider.
///
/// A price that is unknown, or covers only part of the instance, is left out. Price lookup
/// is best effort: a failing provider call leaves every price out rather than failing.
pub(crate) async fn prices(provider: &dyn Provider, instances: &[Instance]) -> Prices {
    if instances.is_empty() {
        return Prices::new();
    }
    let mut filter = InstanceTypeFilter::all();
    let names: BTreeSet<&str> = instances.iter().map(Instance::instance_type).collect();
    for name in names {
        filter = filter.with_type_name(name);
    }

    let types = match provider.instance_types(&filter).await {
        Ok(types) => types,
        Err(e) => {
            tracing::debug!(error = %e, "cannot look up prices");
            return Prices::new();
        }
    };
    let mut out = Prices::new();
    for t in types {
        for spot in [false, true] {
            if let Some(price) = t.instance_price(spot) {
                out.insert((t.id.clone(), spot), price);
            }
        }
    }
    out
}

/// The whole-instance price of `instance` (its spot price when bought as spot); a type
/// listed without a zone also prices its instances placed in a zone.
pub(crate) fn price_of(instance: &Instance, prices: &Prices) -> Option<Price> {
    let id = &instance.compute.instance_type_id;
    let spot = instance.compute.spot;
    prices
        .get(&(id.clone(), spot))
        .or_else(|| prices.get(&(id.with_zone(None), spot)))
        .copied()
}

/// Each instance's whole-instance price: from the catalog `up` recorded for its cluster
/// when that is not the catalog of this run, else from the provider's `prices`.
///
/// A cluster launched with `--catalog` thus keeps its prices when `ls` runs without it.
/// Best effort like [`prices`]: an unreadable inventory or a recorded catalog that cannot
/// be loaded any more falls back to the provider's prices.
pub(crate) fn priced(cx: &Context, instances: &[Instance], prices: &Prices) -> Vec<Option<Price>> {
    let clusters = if instances.iter().any(|i| i.tags.get(TAG_CLUSTER).is_some()) {
        cx.inventory().and_then(|i| i.read()).unwrap_or_else(|e| {
            tracing::debug!(error = %e, "cannot read the inventory for prices");
            Clusters::new()
        })
    } else {
        Clusters::new()
    };
    let current = cx.catalog_path();
    let mut catalogs: BTreeMap<Option<PathBuf>, Option<Catalog>> = BTreeMap::new();

    instances
        .iter()
        .map(|inst| {
            let recorded = inst
                .tags
                .get(TAG_CLUSTER)
                .and_then(|name| clusters.get(name))
                .map(|spec| &spec.catalog)
                .filter(|path| **path != current);
            let Some(path) = recorded else {
                return price_of(inst, prices);
            };
            let catalog = catalogs
                .entry(path.clone())
                .or_insert_with(|| recorded_catalog(path.as_deref()));
            match catalog {
                Some(catalog) => catalog_price(catalog, inst),
                None => price_of(inst, prices),
            }
        })
        .collect()
}

/// Loads a catalog recorded in the inventory (none: the built-in one), warning when it
/// cannot be loaded any more.
fn recorded_catalog(path: Option<&std::path::Path>) -> Option<Catalog> {
    let Some(path) = path else {
        return Some(Catalog::builtin());
    };
    match Catalog::load_path(path) {
        Ok((catalog, _)) => Some(catalog),
        Err(e) => {
            tracing::warn!(
                catalog = %path.display(),
                error = %e,
                "cannot load the catalog a cluster was launched from; prices come from the \
                 current catalog"
            );
            None
        }
    }
}

/// The instance's price in `catalog`: its type (zonal or not), spot price for spot.
fn catalog_price(catalog: &Catalog, instance: &Instance) -> Option<Price> {
    let id = &instance.compute.instance_type_id;
    catalog
        .get(id)
        .or_else(|| catalog.get(&id.with_zone(None)))
        .and_then(|t| t.instance_price(instance.compute.spot))
}

/// Views of `instances`, with the prices [`priced`] gave, one per instance.
pub(crate) fn instance_views(
    instances: &[Instance],
    prices: &[Option<Price>],
) -> Vec<InstanceView> {
    let now = Utc::now();
    instances
        .iter()
        .zip(prices.iter().copied().chain(std::iter::repeat(None)))
        .map(|(i, price)| InstanceView::new(i, price, now))
        .collect()
}
