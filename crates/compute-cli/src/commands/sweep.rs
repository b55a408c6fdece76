//! `computectl sweep`: instances carrying this SDK's ownership tags that no cluster knows.

use std::{collections::BTreeSet, time::Duration};

use serde::Serialize;

use super::{instance_views, priced, prices};
use crate::{
    cli::SweepArgs,
    context::Context,
    error::{CliError, CliResult, describe},
    inventory::ClusterState,
    output::{JSON_VERSION, table},
    progress,
    views::{InstanceView, plural},
};
use compute_provider::{ListInstances, Provider, SweepOptions, sweep_orphans, wait_until_all_gone};
use compute_types::{ErrorKind, Instance, InstanceId, InstanceState, RefId};

/// Longest wait for swept instances to be gone.
const SWEEP_WAIT: Duration = Duration::from_secs(600);

/// The JSON document of `sweep`.
#[derive(Debug, Serialize)]
struct SweepJson {
    version: u32,
    /// True without `--yes`: orphans were listed, not terminated.
    dry_run: bool,
    orphans: Vec<InstanceView>,
    /// Ids of the orphans terminated.
    terminated: Vec<String>,
    /// Orphans whose termination failed.
    failed: Vec<FailedJson>,
}

/// One failed termination.
#[derive(Debug, Clone, Serialize)]
struct FailedJson {
    id: String,
    error: String,
}

/// Lists orphans; with `--yes`, terminates them and waits until they are gone.
pub(super) fn run(cx: &Context, args: &SweepArgs) -> CliResult {
    // The lock keeps `up` from recording a cluster while we decide what is unknown.
    let inventory = cx.inventory()?;
    let locked = inventory.lock()?;
    let known: BTreeSet<RefId> = locked
        .clusters
        .values()
        .filter(|spec| spec.state != ClusterState::Down)
        .flat_map(|spec| spec.node_ref_ids.iter().cloned())
        .collect();
    let provider = cx.provider()?;
    let options = SweepOptions::new().with_dry_run(!args.yes);
    let wait = cx.wait_options(SWEEP_WAIT);

    let (report, prices) = cx.block_on(async {
        let is_known = move |r: &RefId| known.contains(r);
        let spinner = progress::spinner("looking for orphans");
        let report = sweep_orphans(&*provider, &ListInstances::all(), &is_known, &options).await;
        spinner.finish_and_clear();
        let mut report = report?;
        if !report.terminated.is_empty() {
            let spinner = progress::spinner("waiting for orphans to be gone");
            let waited = wait_until_all_gone(&*provider, &report.terminated, &wait).await;
            spinner.finish_and_clear();
            waited?;
            refresh(&*provider, &mut report.orphans, &report.terminated).await;
        }
        let prices = prices(&*provider, &report.orphans).await;
        Ok((report, prices))
    })?;
    drop(locked);

    let prices = priced(cx, &report.orphans, &prices);
    let views = instance_views(&report.orphans, &prices);
    let failed: Vec<FailedJson> = report
        .failed
        .iter()
        .map(|(id, e)| FailedJson {
            id: id.to_string(),
            error: describe(e),
        })
        .collect();
    if cx.out.is_json() {
        cx.out.json(&SweepJson {
            version: JSON_VERSION,
            dry_run: !args.yes,
            orphans: views,
            terminated: report.terminated.iter().map(ToString::to_string).collect(),
            failed: failed.clone(),
        })?;
    } else {
        print_table(cx, args.yes, &views, &report.terminated)?;
    }

    match failed.first() {
        None => Ok(()),
        Some(first) => Err(CliError::failed(format!(
            "{} could not be terminated; first: {}: {}",
            plural(failed.len() as u64, "orphan", "orphans"),
            first.id,
            first.error
        ))),
    }
}

/// Replaces each terminated orphan by how the provider shows it now, so the output says
/// `terminated` rather than the state it was found in; one the provider no longer knows
/// is shown as terminated. Best effort: another lookup error keeps the orphan as found.
async fn refresh(provider: &dyn Provider, orphans: &mut [Instance], terminated: &[InstanceId]) {
    for orphan in orphans.iter_mut() {
        if !terminated.contains(orphan.id()) {
            continue;
        }
        match provider.get_instance(orphan.id()).await {
            Ok(now) => *orphan = now,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                orphan.lifecycle.status.state = InstanceState::Terminated;
            }
            Err(e) => tracing::debug!(error = %e, id = %orphan.id(), "cannot refresh an orphan"),
        }
    }
}

/// The table of orphans and a closing line saying what was done.
fn print_table(
    cx: &Context,
    yes: bool,
    views: &[InstanceView],
    terminated: &[InstanceId],
) -> CliResult {
    if views.is_empty() {
        return cx.out.text("no orphans");
    }
    let rows = views.iter().map(InstanceView::row).collect();
    cx.out.text(&table(&InstanceView::HEADER, rows))?;
    if yes {
        eprintln!(
            "terminated {}",
            plural(terminated.len() as u64, "orphan", "orphans")
        );
    } else {
        eprintln!(
            "{} found; nothing was terminated (run `computectl sweep --yes` to terminate \
             {})",
            plural(views.len() as u64, "orphan", "orphans"),
            if views.len() == 1 { "it" } else { "them" }
        );
    }
    Ok(())
}
