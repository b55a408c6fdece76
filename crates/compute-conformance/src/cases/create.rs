//! Cases on creating, finding and terminating instances, and on idempotent create.

use super::{find_by_ref_id, launch, launch_running, list_checked};
use crate::{
    Check, Cx, Outcome, TAG_CASE, TAG_RUN,
    outcome::{Context, bail, ensure},
    wait::{self, running_problems, settle},
};
use compute_provider::{CreateInstance, ListInstances, LocationsQuery, Provider, ProviderExt};
use compute_types::{
    Capability, CredentialRefId, Instance, InstanceId, InstanceState, LocationId,
    TAG_CREDENTIAL_REF_ID, TAG_REF_ID,
};

/// Checks that `instance` is what `request` asked for.
fn check_echo(instance: &Instance, request: &CreateInstance, what: &str) -> Check {
    let id = instance.id();
    ensure!(
        instance.ref_id() == &request.ref_id,
        "{what} {id} has ref id {}, requested {}",
        instance.ref_id(),
        request.ref_id
    );
    ensure!(
        instance.tags.get(TAG_REF_ID) == Some(request.ref_id.as_str()),
        "{what} {id} lacks the ownership tag {TAG_REF_ID}={}",
        request.ref_id
    );
    ensure!(
        instance.placement.location == request.location,
        "{what} {id} is in {}, requested {}",
        instance.placement.location,
        request.location
    );
    if let Some(zone) = &request.zone {
        ensure!(
            instance.placement.zone.as_ref() == Some(zone),
            "{what} {id} is in zone {:?}, requested {zone}",
            instance.placement.zone
        );
    }

    let asked = &request.instance_type;
    let got = &instance.compute.instance_type_id;
    let same_zone = got.zone() == asked.zone()
        || (asked.zone().is_none() && got.zone() == instance.placement.zone.as_ref());
    ensure!(
        got.provider() == asked.provider()
            && got.location() == asked.location()
            && got.type_name() == asked.type_name()
            && same_zone,
        "{what} {id} has the type id {got}, requested {asked}"
    );
    ensure!(
        instance.instance_type() == asked.type_name(),
        "{what} {id} has type {}, requested {}",
        instance.instance_type(),
        asked.type_name()
    );
    ensure!(
        instance.tags.contains_all(&request.tags),
        "{what} {id} lost caller tags: has {:?}, requested {:?}",
        instance.tags,
        request.tags
    );
    if let Some(credential) = &request.credential_ref_id {
        ensure!(
            instance.identity.credential_ref_id.as_ref() == Some(credential)
                && instance.tags.get(TAG_CREDENTIAL_REF_ID) == Some(credential.as_str()),
            "{what} {id} does not carry the credential ref id {credential}"
        );
    }
    ensure!(
        instance.identity.name == request.display_name(),
        "{what} {id} is named {}, requested {}",
        instance.identity.name,
        request.display_name()
    );
    Ok(())
}

/// Create returns an instance with the requested ref id, location, zone, type, canonical
/// type id, name, tags and ownership tags, and `get_instance` says the same.
pub async fn create_echoes_request(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let ty = cx.instance_type(p).await?;
            let credential = CredentialRefId::new(format!("{}-credential", cx.run_id()))
                .context("credential ref id")?;
            let mut tags = cx.run_tags().context("run tags")?;
            tags.insert("conformance-purpose", "echo").context("tags")?;
            let mut request = cx
                .request(&ty.id)?
                .with_tags(tags)
                .with_credential_ref_id(credential);
            if request.zone.is_none()
                && let Some(zone) = ty.available_zones.first()
            {
                request = request.with_zone(zone.clone());
            }

            let created = cx.create(p, &request).await.context("create_instance")?;
            let fetched = p.get_instance(created.id()).await.context("get_instance")?;

            check_echo(&created, &request, "the created instance")?;
            check_echo(&fetched, &request, "the fetched instance")?;
            ensure!(
                fetched.id() == created.id(),
                "get_instance({}) returned {}",
                created.id(),
                fetched.id()
            );
            Ok(())
        }
        .await,
    )
}

/// Returns a location other than `here`: a listed one if any, else a made-up one.
async fn elsewhere(p: &dyn Provider, here: &LocationId) -> Check<LocationId> {
    let locations = p
        .locations(&LocationsQuery::all())
        .await
        .context("locations")?;
    match locations.into_iter().find(|l| &l.name != here) {
        Some(other) => Ok(other.name),
        None => LocationId::new("conformance-nowhere").context("location id"),
    }
}

/// Waits until `filter` lists `id`.
async fn wait_listed(p: &dyn Provider, cx: &Cx, filter: &ListInstances, id: &InstanceId) -> Check {
    let what = format!("list_instances with {filter:?} does not show {id}");
    settle(cx, &what, || async {
        let listed = list_checked(p, filter).await?;
        Ok(listed.iter().any(|i| i.id() == id).then_some(()))
    })
    .await
}

/// Nothing is listed with a fresh ref id; once created, the instance is found by get,
/// and by list with an id, a location, a run tag and a ref id tag filter; lists with
/// another location or another tag value leave it out.
pub async fn created_instance_is_found(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let ty = cx.instance_type(p).await?;
            let request = cx.request(&ty.id)?;
            let before = find_by_ref_id(p, &request.ref_id).await?;
            ensure!(
                before.is_empty(),
                "before any create, {} is listed with the fresh ref id {}",
                before[0].id(),
                request.ref_id
            );

            let instance = cx.create(p, &request).await.context("create_instance")?;
            let id = instance.id();
            let location = instance.placement.location.clone();

            let fetched = p.get_instance(id).await.context("get_instance")?;
            ensure!(
                fetched.id() == id,
                "get_instance({id}) returned {}",
                fetched.id()
            );

            let by_id = ListInstances::all().with_id(id.clone());
            let by_location = ListInstances::all().with_location(location.clone());
            let by_run = ListInstances::all()
                .with_tag(TAG_RUN, cx.run_id())
                .and_then(|f| f.with_tag(TAG_CASE, cx.case()))
                .context("tag filter")?;
            let by_ref = ListInstances::all()
                .with_tag(TAG_REF_ID, instance.ref_id().as_str())
                .context("tag filter")?;
            for filter in [&by_id, &by_location, &by_run, &by_ref] {
                wait_listed(p, cx, filter, id).await?;
            }

            let other = elsewhere(p, &location).await?;
            let away = ListInstances::all()
                .with_id(id.clone())
                .with_location(other.clone());
            let listed = list_checked(p, &away).await?;
            ensure!(
                listed.is_empty(),
                "list_instances in {other} returned {id}, which is in {location}"
            );
            let wrong_tag = ListInstances::all()
                .with_id(id.clone())
                .with_tag(TAG_RUN, "conformance-other-run")
                .context("tag filter")?;
            let listed = list_checked(p, &wrong_tag).await?;
            ensure!(
                listed.is_empty(),
                "list_instances with another run's tag returned {id}"
            );
            Ok(())
        }
        .await,
    )
}

/// A created instance reaches running within the deadline, and from the moment it
/// claims to run it has an address, an SSH user and an SSH port, in get and in list.
pub async fn instance_reaches_running_with_access(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let created = launch(p, cx, |r| r).await?;
            if let Some(problem) = running_problems(&created) {
                bail!("create returned: {problem}");
            }

            let running = wait::wait_state(p, cx, created.id(), InstanceState::Running).await?;

            ensure!(
                running.id() == created.id(),
                "the instance changed id from {} to {}",
                created.id(),
                running.id()
            );
            let filter = ListInstances::all().with_id(running.id().clone());
            let what = format!("list_instances does not show {} running", running.id());
            settle(cx, &what, || async {
                let listed = list_checked(p, &filter).await?;
                if let Some(problem) = listed.iter().find_map(running_problems) {
                    bail!("list_instances: {problem}");
                }
                let shown = listed.iter().any(|i| i.state() == InstanceState::Running);
                Ok(shown.then_some(()))
            })
            .await
        }
        .await,
    )
}

/// A second create with the same ref id returns the same instance, and only one is listed.
pub async fn create_is_idempotent_by_ref_id(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            if !p.capabilities().has(Capability::CreateIdempotentInstance) {
                return Err(Outcome::missing(Capability::CreateIdempotentInstance));
            }
            let ty = cx.instance_type(p).await?;
            let request = cx.request(&ty.id)?;

            let first = cx.create(p, &request).await.context("create_instance")?;
            let second = cx
                .create(p, &request)
                .await
                .context("the repeated create_instance")?;

            ensure!(
                second.id() == first.id(),
                "a repeated create with ref id {} made {} besides {}",
                request.ref_id,
                second.id(),
                first.id()
            );
            check_echo(&second, &request, "the repeated create's instance")?;
            let found = find_by_ref_id(p, &request.ref_id).await?;
            ensure!(
                found.len() == 1,
                "{} instances carry ref id {}",
                found.len(),
                request.ref_id
            );
            Ok(())
        }
        .await,
    )
}

/// A running instance is listed alive; once terminated it reaches terminated or
/// disappears, and is no longer listed as anything but terminated.
pub async fn terminate_reaches_terminated(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let instance = launch_running(p, cx, |r| r).await?;
            let id = instance.id();
            let what = format!("running {id} is not listed by its ref id");
            settle(cx, &what, || async {
                let alive = find_by_ref_id(p, instance.ref_id()).await?;
                Ok(alive.iter().any(|i| i.id() == id).then_some(()))
            })
            .await?;

            p.terminate_instance(id)
                .await
                .context("terminate_instance")?;
            wait::wait_gone(p, cx, id).await?;

            let what = format!("{id} is still listed alive after terminate");
            settle(cx, &what, || async {
                let alive = find_by_ref_id(p, instance.ref_id()).await?;
                Ok(alive.is_empty().then_some(()))
            })
            .await
        }
        .await,
    )
}

/// Terminate succeeds twice in a row, again once the instance is gone, and for an id the
/// provider never issued.
pub async fn terminate_is_idempotent(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let instance = launch_running(p, cx, |r| r).await?;
            let id = instance.id();
            let unknown =
                InstanceId::new(format!("{}-never-issued", cx.run_id())).context("instance id")?;

            p.terminate_instance(id)
                .await
                .context("the first terminate_instance")?;
            p.terminate_instance(id)
                .await
                .context("the second terminate_instance")?;
            wait::wait_gone(p, cx, id).await?;
            p.terminate_instance(id)
                .await
                .context("terminate_instance of a terminated instance")?;
            p.terminate_instance(&unknown)
                .await
                .context("terminate_instance of an unknown id")?;
            Ok(())
        }
        .await,
    )
}
