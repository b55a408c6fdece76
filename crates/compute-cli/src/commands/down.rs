//! `computectl down`: terminate every node of a cluster, wait until they are gone.

use std::time::Duration;

use serde::Serialize;

use super::{check_cluster_name, cluster_instances, known_cluster};
use crate::{
    cli::DownArgs,
    context::Context,
    error::{CliError, CliResult},
    inventory::{ClusterSpec, ClusterState},
    output::JSON_VERSION,
    progress,
    views::plural,
};
use compute_provider::{Provider, wait_until_all_gone};
use compute_types::{Instance, InstanceId, InstanceState};

/// The JSON document of `down`.
#[derive(Debug, Serialize)]
struct DownJson<'a> {
    version: u32,
    cluster: &'a str,
    /// Ids of the nodes this run terminated, or found terminating, and waited for.
    terminated: Vec<String>,
    /// True when nothing was left to terminate or wait for.
    already_down: bool,
}

/// Terminates the cluster's nodes and records it as down. Running it again succeeds.
///
/// The cluster is recorded as terminating before the first terminate call, so a `down`
/// that fails or gives up waiting leaves a record that tells the truth; a rerun waits
/// for the nodes still terminating and then records the cluster as down.
pub(super) fn run(cx: &Context, args: &DownArgs) -> CliResult {
    check_cluster_name(&args.cluster)?;
    // The state file first: a broken one is the error to report, whatever the inventory says.
    let provider = cx.provider()?;
    let inventory = cx.inventory()?;
    let mut locked = inventory.lock()?;
    let spec = known_cluster(&locked.clusters, &args.cluster)?.clone();
    let wait = cx.wait_options(Duration::from_secs(args.timeout));
    let name = args.cluster.as_str();

    let nodes = cx.block_on(nodes_not_gone(&*provider, name, &spec))?;
    if !nodes.is_empty()
        && let Some(entry) = locked.clusters.get_mut(name)
        && entry.state != ClusterState::Terminating
    {
        entry.state = ClusterState::Terminating;
        locked.save()?;
    }

    let terminated = cx.block_on(async {
        let ids: Vec<InstanceId> = nodes.iter().map(|n| n.id().clone()).collect();
        if ids.is_empty() {
            return Ok(ids);
        }

        let bar = progress::bar(ids.len() as u64, format!("terminating {name}"));
        for node in &nodes {
            if node.state() != InstanceState::Terminating {
                provider.terminate_instance(node.id()).await?;
            }
            bar.inc(1);
        }
        bar.set_message(format!("waiting for {name} to be gone"));
        let waited = wait_until_all_gone(&*provider, &ids, &wait).await;
        bar.finish_and_clear();
        waited.map_err(|e| {
            let err = CliError::from(e);
            CliError::failed(format!("cluster {name} is not down yet: {err}")).with_hint(format!(
                "its nodes are terminating and it is recorded as terminating; run \
                 `computectl down --cluster {name}` again to wait for them"
            ))
        })?;
        Ok(ids)
    })?;

    if let Some(entry) = locked.clusters.get_mut(name) {
        entry.state = ClusterState::Down;
    }
    locked.save()?;
    drop(locked);

    let already_down = terminated.is_empty();
    if cx.out.is_json() {
        return cx.out.json(&DownJson {
            version: JSON_VERSION,
            cluster: name,
            terminated: terminated.iter().map(ToString::to_string).collect(),
            already_down,
        });
    }
    let text = if already_down {
        format!("cluster {name} is down (nothing left to terminate)")
    } else {
        let ids: Vec<&str> = terminated.iter().map(InstanceId::as_str).collect();
        format!(
            "cluster {name} is down: terminated {}: {}",
            plural(ids.len() as u64, "node", "nodes"),
            ids.join(", ")
        )
    };
    cx.out.text(&text)
}

/// The cluster's nodes that are not terminated yet, terminating ones included (a
/// rerun waits for them), ordered by ref id.
async fn nodes_not_gone(
    provider: &dyn Provider,
    name: &str,
    spec: &ClusterSpec,
) -> CliResult<Vec<Instance>> {
    let mut nodes = cluster_instances(provider, name, spec, true).await?;
    nodes.retain(|i| i.state() != InstanceState::Terminated);
    Ok(nodes)
}
