//! The cases, one async function per behaviour, grouped by area and re-exported here.
//!
//! Every case has the shape `async fn(p: &dyn Provider, cx: &Cx) -> Outcome`. A case
//! checks the capabilities it needs first and skips naming the one that is missing. It
//! creates instances only through [`Cx::create`], so the runner can clean them up.

mod capabilities;
mod catalog;
mod create;
mod errors;
mod failures;
mod lifecycle;
mod network;

pub use capabilities::{declared_capabilities_work, undeclared_capabilities_are_unsupported};
pub use catalog::{
    available_locations_are_a_subset, instance_type_ids_are_unique, instance_types_are_stable,
    instance_types_have_prices_and_gpus, location_filter_narrows_types,
    locations_are_listed_and_unique, type_name_filter_finds_the_type,
};
pub use create::{
    create_echoes_request, create_is_idempotent_by_ref_id, created_instance_is_found,
    instance_reaches_running_with_access, terminate_is_idempotent, terminate_reaches_terminated,
};
pub use errors::{
    invalid_request_is_rejected, rate_limit_is_throttled, unknown_instance_is_not_found,
};
pub use failures::{
    ambiguous_create_is_adoptable, capacity_failure_leaves_nothing,
    mid_create_failure_leaves_nothing, quota_failure_leaves_nothing,
};
pub use lifecycle::{
    change_type_applies_the_new_type, reboot_returns_to_running, resize_volume_grows_the_volume,
    stop_start_round_trip, update_tags_replaces_caller_tags,
};
pub use network::{
    cluster_members_reach_each_other, clusters_are_isolated, firewall_rule_opens_exactly_its_range,
    inbound_is_denied_by_default, outbound_is_allowed, revoked_rule_closes_again,
};

use crate::{
    Check, Cx,
    outcome::{Context, bail},
    wait,
};
use compute_provider::{CreateInstance, ListInstances, Provider, is_gone_or_going};
use compute_types::{Instance, InstanceState, RefId, TAG_REF_ID};

/// Creates an instance of the run's type, shaped by `shape`, and returns it.
pub(crate) async fn launch(
    p: &dyn Provider,
    cx: &Cx,
    shape: impl FnOnce(CreateInstance) -> CreateInstance,
) -> Check<Instance> {
    let ty = cx.instance_type(p).await?;
    let request = shape(cx.request(&ty.id)?);
    cx.create(p, &request).await.context("create_instance")
}

/// Creates an instance shaped by `shape` and waits until it is running.
pub(crate) async fn launch_running(
    p: &dyn Provider,
    cx: &Cx,
    shape: impl FnOnce(CreateInstance) -> CreateInstance,
) -> Check<Instance> {
    let created = launch(p, cx, shape).await?;
    wait::wait_state(p, cx, created.id(), InstanceState::Running).await
}

/// Lists the instances carrying `ref_id` that are neither terminating nor terminated,
/// through the ref id tag.
///
/// Every listed instance must match the filter; one that does not fails the case.
pub(crate) async fn find_by_ref_id(p: &dyn Provider, ref_id: &RefId) -> Check<Vec<Instance>> {
    let filter = ListInstances::all()
        .with_tag(TAG_REF_ID, ref_id.as_str())
        .context("ref id filter")?;
    let listed = list_checked(p, &filter).await?;
    Ok(listed
        .into_iter()
        .filter(|i| !is_gone_or_going(i.state()))
        .collect())
}

/// Lists instances and fails the case if the provider returns one that does not match.
pub(crate) async fn list_checked(p: &dyn Provider, filter: &ListInstances) -> Check<Vec<Instance>> {
    let listed = p.list_instances(filter).await.context("list_instances")?;
    if let Some(stray) = listed.iter().find(|i| !filter.matches(i)) {
        bail!(
            "list_instances returned {} ({}, tags {:?}), which does not match the filter {:?}",
            stray.id(),
            stray.placement.location,
            stray.tags,
            filter
        );
    }
    Ok(listed)
}
