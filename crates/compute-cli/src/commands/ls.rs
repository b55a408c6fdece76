//! `computectl ls`: instances with state, addresses, type, price and age.

use serde::Serialize;

use super::{cluster_instances, instance_views, known_cluster, node_order, priced, prices};
use crate::{
    cli::LsArgs,
    context::Context,
    error::CliResult,
    output::{JSON_VERSION, table},
    views::InstanceView,
};
use compute_provider::{ListInstances, is_gone_or_going};

/// The JSON document of `ls`.
#[derive(Debug, Serialize)]
struct LsJson {
    version: u32,
    instances: Vec<InstanceView>,
}

/// Lists the instances of one cluster, or every instance the provider has.
pub(super) fn run(cx: &Context, args: &LsArgs) -> CliResult {
    // The state file first: a broken one is the error to report, whatever the inventory
    // says. Only `--cluster` needs the inventory.
    let provider = cx.provider()?;
    let clusters = match &args.cluster {
        Some(_) => cx.inventory()?.read()?,
        None => Default::default(),
    };
    let cluster = match &args.cluster {
        Some(name) => Some((name.as_str(), known_cluster(&clusters, name)?)),
        None => None,
    };

    let (instances, prices) = cx.block_on(async {
        let mut instances = match cluster {
            Some((name, spec)) => cluster_instances(&*provider, name, spec, args.all).await?,
            None => provider.list_instances(&ListInstances::all()).await?,
        };
        if !args.all {
            instances.retain(|i| !is_gone_or_going(i.state()));
        }
        instances.sort_by(|a, b| {
            let key = |i: &compute_types::Instance| {
                let cluster = i.tags.get(compute_types::TAG_CLUSTER).unwrap_or("");
                (cluster.to_owned(), node_order(i), i.identity.created_at)
            };
            key(a).cmp(&key(b))
        });
        let prices = prices(&*provider, &instances).await;
        Ok((instances, prices))
    })?;

    let prices = priced(cx, &instances, &prices);
    let views = instance_views(&instances, &prices);
    if cx.out.is_json() {
        return cx.out.json(&LsJson {
            version: JSON_VERSION,
            instances: views,
        });
    }
    if views.is_empty() {
        eprintln!("no instances");
        return Ok(());
    }
    let rows = views.iter().map(InstanceView::row).collect();
    cx.out.text(&table(&InstanceView::HEADER, rows))
}
