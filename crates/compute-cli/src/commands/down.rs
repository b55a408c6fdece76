//! `computectl down`: terminate every node of a cluster, wait until they are gone.

use std::time::Duration;

use serde::Serialize;

use super::{check_cluster_name, cluster_nodes, known_cluster};
use crate::{
    cli::DownArgs, context::Context, error::CliResult, inventory::ClusterState,
    output::JSON_VERSION, progress, views::plural,
};
use compute_provider::wait_until_all_gone;
use compute_types::InstanceId;

/// The JSON document of `down`.
#[derive(Debug, Serialize)]
struct DownJson<'a> {
    version: u32,
    cluster: &'a str,
    /// Ids of the nodes this run terminated.
    terminated: Vec<String>,
    /// True when nothing was left to terminate.
    already_down: bool,
}

/// Terminates the cluster's nodes and records it as down. Running it again succeeds.
pub(super) fn run(cx: &Context, args: &DownArgs) -> CliResult {
    check_cluster_name(&args.cluster)?;
    // The state file first: a broken one is the error to report, whatever the inventory says.
    let provider = cx.provider()?;
    let inventory = cx.inventory()?;
    let mut locked = inventory.lock()?;
    let spec = known_cluster(&locked.clusters, &args.cluster)?.clone();
    let wait = cx.wait_options(Duration::from_secs(args.timeout));

    let terminated = cx.block_on(async {
        let nodes = cluster_nodes(&*provider, &args.cluster, &spec).await?;
        let ids: Vec<InstanceId> = nodes.iter().map(|n| n.id().clone()).collect();
        if ids.is_empty() {
            return Ok(ids);
        }

        let bar = progress::bar(ids.len() as u64, format!("terminating {}", args.cluster));
        for id in &ids {
            provider.terminate_instance(id).await?;
            bar.inc(1);
        }
        bar.set_message(format!("waiting for {} to be gone", args.cluster));
        let waited = wait_until_all_gone(&*provider, &ids, &wait).await;
        bar.finish_and_clear();
        waited?;
        Ok(ids)
    })?;

    if let Some(entry) = locked.clusters.get_mut(&args.cluster) {
        entry.state = ClusterState::Down;
    }
    locked.save()?;
    drop(locked);

    let already_down = terminated.is_empty();
    if cx.out.is_json() {
        return cx.out.json(&DownJson {
            version: JSON_VERSION,
            cluster: &args.cluster,
            terminated: terminated.iter().map(ToString::to_string).collect(),
            already_down,
        });
    }
    let text = if already_down {
        format!(
            "cluster {} is down (nothing left to terminate)",
            args.cluster
        )
    } else {
        let ids: Vec<&str> = terminated.iter().map(InstanceId::as_str).collect();
        format!(
            "cluster {} is down: terminated {}: {}",
            args.cluster,
            plural(ids.len() as u64, "node", "nodes"),
            ids.join(", ")
        )
    };
    cx.out.text(&text)
}
