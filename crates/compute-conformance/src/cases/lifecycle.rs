//! Cases on changing a running instance: stop and start, reboot, volume resize, type
//! change and tags. Each waits for the resulting state and checks it.

use super::{launch_running, list_checked};
use crate::{
    Cx, Outcome, TAG_CASE, TAG_RUN,
    outcome::{Context, bail, ensure},
    wait::{self, settle},
};
use compute_provider::{ListInstances, Provider};
use compute_types::{
    Bytes, Capability, ErrorKind, Instance, InstanceState, InstanceType, TAG_REF_ID, Tags,
};

/// A running instance stops (through stopping to stopped, as listed too) and starts
/// again (to running, with an address and SSH details).
pub async fn stop_start_round_trip(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let power = p
                .stop_start()
                .ok_or_else(|| Outcome::missing(Capability::StopStartInstance))?;
            let instance = launch_running(p, cx, |r| r).await?;
            let id = instance.id();

            power.stop_instance(id).await.context("stop_instance")?;
            let stopped = wait::wait_state(p, cx, id, InstanceState::Stopped).await?;
            ensure!(
                stopped.compute.instance_type_id == instance.compute.instance_type_id,
                "stopping changed the type of {id}"
            );
            let filter = ListInstances::all().with_id(id.clone());
            let what = format!("list_instances does not show {id} stopped");
            settle(cx, &what, || async {
                let listed = list_checked(p, &filter).await?;
                Ok(listed
                    .iter()
                    .any(|i| i.state() == InstanceState::Stopped)
                    .then_some(()))
            })
            .await?;

            power.start_instance(id).await.context("start_instance")?;
            let started = wait::wait_state(p, cx, id, InstanceState::Running).await?;
            ensure!(
                started.ref_id() == instance.ref_id(),
                "start changed the ref id of {id}"
            );
            Ok(())
        }
        .await,
    )
}

/// How often `reboot_returns_to_running` asks for a reboot it did not see happen.
const REBOOT_ATTEMPTS: u32 = 2;

/// A rebooted instance is seen rebooting (leaving running for pending, stopping or
/// stopped) and then returns to running, with an address and SSH details.
///
/// A reboot that answers success but leaves the instance running throughout fails: it
/// is asked for twice, each time watched for the settle deadline.
pub async fn reboot_returns_to_running(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let reboot = p
                .reboot()
                .ok_or_else(|| Outcome::missing(Capability::RebootInstance))?;
            let instance = launch_running(p, cx, |r| r).await?;
            let id = instance.id();

            let mut seen = None;
            for _ in 0..REBOOT_ATTEMPTS {
                reboot
                    .reboot_instance(id)
                    .await
                    .context("reboot_instance")?;
                seen = wait::wait_until_left(p, cx, id, InstanceState::Running).await?;
                if seen.is_some() {
                    break;
                }
            }
            let Some(rebooting) = seen else {
                bail!(
                    "reboot_instance of {id} answered success {REBOOT_ATTEMPTS} times, but it \
                     was never seen leaving running (watched {:?} each time)",
                    cx.config().settle_deadline()
                );
            };
            let path = [
                InstanceState::Pending,
                InstanceState::Stopping,
                InstanceState::Stopped,
            ];
            ensure!(
                path.contains(&rebooting.state()),
                "after reboot_instance {id} is {}, expected pending, stopping or stopped",
                rebooting.state()
            );

            let after = wait::wait_state(p, cx, id, InstanceState::Running).await?;
            ensure!(
                after.compute.instance_type_id == instance.compute.instance_type_id,
                "rebooting changed the type of {id}"
            );
            Ok(())
        }
        .await,
    )
}

/// Growing an elastic volume shows the new size; shrinking it is `InvalidRequest`.
pub async fn resize_volume_grows_the_volume(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let resize = p
                .resize_volume()
                .ok_or_else(|| Outcome::missing(Capability::ResizeInstanceVolume))?;
            let instance = launch_running(p, cx, |r| r).await?;
            let id = instance.id();
            let volume = instance
                .volumes
                .iter()
                .find(|v| v.id.is_some() && v.spec.elastic);
            let Some((volume_id, size)) = volume.and_then(|v| Some((v.id.clone()?, v.spec.size)))
            else {
                return Err(Outcome::unexercised(
                    Capability::ResizeInstanceVolume,
                    no_elastic_volume(&instance),
                ));
            };
            let grown = size
                .checked_add(Bytes::gib(1))
                .ok_or_else(|| Outcome::fail("the volume is too large to grow"))?;

            resize
                .resize_volume(id, &volume_id, grown)
                .await
                .context("resize_volume")?;
            let what = format!("volume {volume_id} of {id} does not show {grown}");
            settle(cx, &what, || async {
                let now = p.get_instance(id).await.context("get_instance")?;
                let shown = now
                    .volumes
                    .iter()
                    .any(|v| v.id.as_deref() == Some(volume_id.as_str()) && v.spec.size == grown);
                Ok(shown.then_some(()))
            })
            .await?;

            match resize.resize_volume(id, &volume_id, size).await {
                Ok(()) => bail!("shrinking volume {volume_id} from {grown} to {size} succeeded"),
                Err(e) => ensure!(
                    e.kind() == ErrorKind::InvalidRequest,
                    "shrinking a volume returned {e}, expected invalid request"
                ),
            }
            Ok(())
        }
        .await,
    )
}

/// Changing the type of a running instance is `InvalidRequest`; of a stopped one it
/// applies, shows in get, and survives starting again.
pub async fn change_type_applies_the_new_type(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let change = p
                .change_type()
                .ok_or_else(|| Outcome::missing(Capability::ChangeInstanceType))?;
            let power = p
                .stop_start()
                .ok_or_else(|| Outcome::missing(Capability::StopStartInstance))?;
            let ty = cx.instance_type(p).await?;
            let Some(other) = cx.other_instance_type(p, &ty).await? else {
                return Err(Outcome::unexercised(
                    Capability::ChangeInstanceType,
                    no_second_type(&ty),
                ));
            };
            let instance = launch_running(p, cx, |r| r).await?;
            let id = instance.id();

            match change.change_instance_type(id, &other.id).await {
                Ok(()) => bail!("changing the type of running {id} succeeded"),
                Err(e) => ensure!(
                    e.kind() == ErrorKind::InvalidRequest,
                    "changing the type of a running instance returned {e}, expected invalid request"
                ),
            }
            power.stop_instance(id).await.context("stop_instance")?;
            wait::wait_state(p, cx, id, InstanceState::Stopped).await?;
            change
                .change_instance_type(id, &other.id)
                .await
                .context("change_instance_type")?;

            let what = format!("{id} does not show the type {}", other.name());
            let changed = settle(cx, &what, || async {
                let now = p.get_instance(id).await.context("get_instance")?;
                Ok((now.instance_type() == other.name()).then_some(now))
            })
            .await?;
            ensure!(
                changed.placement.location == instance.placement.location,
                "changing the type moved {id} to {}",
                changed.placement.location
            );
            power.start_instance(id).await.context("start_instance")?;
            let started = wait::wait_state(p, cx, id, InstanceState::Running).await?;
            ensure!(
                started.instance_type() == other.name(),
                "after start {id} is of type {}, expected {}",
                started.instance_type(),
                other.name()
            );
            Ok(())
        }
        .await,
    )
}

/// Updating tags replaces the caller tags, keeps the reserved ownership tags, and the
/// instance is then found by a new tag.
pub async fn update_tags_replaces_caller_tags(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let updater = p
                .update_tags()
                .ok_or_else(|| Outcome::missing(Capability::UpdateTags))?;
            let instance = launch_running(p, cx, |mut r| {
                let _ = r.tags.insert("conformance-step", "initial");
                r
            })
            .await?;
            let id = instance.id();
            let mut wanted = Tags::new();
            wanted.insert(TAG_RUN, cx.run_id()).context("tags")?;
            wanted.insert(TAG_CASE, cx.case()).context("tags")?;
            wanted
                .insert("conformance-after", "updated")
                .context("tags")?;

            updater
                .update_tags(id, &wanted)
                .await
                .context("update_tags")?;

            let what = format!("{id} does not show the updated tags {wanted:?}");
            let updated = settle(cx, &what, || async {
                let now = p.get_instance(id).await.context("get_instance")?;
                Ok((now.tags.user_tags() == wanted).then_some(now))
            })
            .await?;
            ensure!(
                updated.tags.get(TAG_REF_ID) == Some(instance.ref_id().as_str()),
                "updating tags of {id} dropped the ownership tag {TAG_REF_ID}"
            );
            let filter = ListInstances::all()
                .with_tag("conformance-after", "updated")
                .context("tag filter")?
                .with_id(id.clone());
            let what = format!("list_instances by the new tag does not show {id}");
            settle(cx, &what, || async {
                let listed = list_checked(p, &filter).await?;
                Ok(listed.iter().any(|i| i.id() == id).then_some(()))
            })
            .await
        }
        .await,
    )
}

/// Why a declared volume resize cannot be exercised on `instance`.
pub(crate) fn no_elastic_volume(instance: &Instance) -> String {
    format!(
        "declared, but instance {} of type {} has no elastic volume with an id to grow; \
         choose a type that has one with Config::with_instance_type",
        instance.id(),
        instance.instance_type()
    )
}

/// Why a declared type change cannot be exercised from `ty`.
pub(crate) fn no_second_type(ty: &InstanceType) -> String {
    format!(
        "declared, but {} offers no second available type beside {} to change to",
        ty.location(),
        ty.name()
    )
}
