//! `computectl show INSTANCE`: one instance in detail.

use serde::Serialize;

use super::{find_instance, instance_views, priced, prices};
use crate::{
    cli::ShowArgs,
    context::Context,
    error::{CliError, CliResult},
    output::{JSON_VERSION, details},
    views::{InstanceView, PriceView, age, show_ip},
};
use compute_provider::ListInstances;
use compute_types::{ErrorKind, InstanceId};

/// The JSON document of `show`.
#[derive(Debug, Serialize)]
struct ShowJson {
    version: u32,
    instance: InstanceView,
}

/// Shows the instance named by cloud id, name or ref id.
pub(super) fn run(cx: &Context, args: &ShowArgs) -> CliResult {
    let provider = cx.provider()?;
    let wanted = args.instance.as_str();

    let (instance, prices) = cx.block_on(async {
        let by_id = match InstanceId::new(wanted) {
            Ok(id) => match provider.get_instance(&id).await {
                Ok(instance) => Some(instance),
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                Err(e) => return Err(e.into()),
            },
            Err(_) => None,
        };
        let instance = match by_id {
            Some(instance) => instance,
            None => {
                let all = provider.list_instances(&ListInstances::all()).await?;
                let mut live: Vec<_> = all.into_iter().collect();
                // Prefer a live instance when a terminated one shares its name.
                live.sort_by_key(|i| i.state().is_terminal());
                find_instance(&live, wanted).cloned().ok_or_else(|| {
                    CliError::usage(format!("no instance `{wanted}`"))
                        .with_hint("list instances with `computectl ls`")
                })?
            }
        };
        let prices = prices(&*provider, std::slice::from_ref(&instance)).await;
        Ok((instance, prices))
    })?;

    let instances = std::slice::from_ref(&instance);
    let prices = priced(cx, instances, &prices);
    let view = instance_views(instances, &prices)
        .pop()
        .ok_or_else(|| CliError::failed("no view of the instance"))?;
    if cx.out.is_json() {
        return cx.out.json(&ShowJson {
            version: JSON_VERSION,
            instance: view,
        });
    }
    cx.out.text(&describe(&view))
}

/// The `show` text: one aligned `key: value` line per fact.
fn describe(v: &InstanceView) -> String {
    let or_dash = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    let rules = if v.firewall_rules.is_empty() {
        "none (inbound denied except within the cluster)".to_owned()
    } else {
        v.firewall_rules.join(", ")
    };
    let mut pairs = vec![
        ("name", v.name.clone()),
        ("id", v.id.clone()),
        ("ref id", v.ref_id.clone()),
        ("cluster", or_dash(&v.cluster)),
        ("state", v.state.clone()),
        ("provider", v.provider.clone()),
        ("type", v.instance_type.clone()),
        ("type id", v.instance_type_id.clone()),
        ("location", v.location.clone()),
        ("zone", or_dash(&v.zone)),
        ("private ip", show_ip(v.private_ip)),
        ("public ip", show_ip(v.public_ip)),
        ("spot", if v.spot { "yes" } else { "no" }.into()),
        (
            "price",
            v.price
                .as_ref()
                .map_or_else(|| "-".into(), PriceView::per_hour),
        ),
        ("created", v.created_at.to_rfc3339()),
        ("age", age(v.age_seconds)),
        ("firewall", rules),
        ("ssh key", or_dash(&v.ssh_key_fingerprint)),
    ];
    for message in &v.messages {
        pairs.push(("message", message.clone()));
    }
    details(&pairs)
}
