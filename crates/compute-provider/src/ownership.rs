//! Ownership tags, adoption by ref id, and the orphan sweep, for any provider.
//!
//! Every instance the SDK creates carries [`TAG_REF_ID`] and, when known,
//! [`TAG_CREDENTIAL_REF_ID`] (plus [`TAG_CLUSTER`] for cluster members). Providers put them
//! on with [`tags_for_create`]. With them a caller can:
//! - find the instance of a ref id after a create whose outcome was unknown
//!   ([`find_by_ref_id`]), so a rerun adopts it instead of creating a second one;
//! - find instances the SDK created that the caller's inventory no longer knows
//!   ([`find_orphans`]) and terminate them ([`sweep_orphans`]).
//!
//! Instances in `terminating` or `terminated` count as gone for all of these
//! ([`is_gone_or_going`]).

use compute_types::{
    CredentialRefId, Error, Instance, InstanceId, InstanceState, RefId, Result, TAG_CLUSTER,
    TAG_CREDENTIAL_REF_ID, TAG_REF_ID, Tags,
};
use tracing::{debug, info};

use crate::{CreateInstance, ListInstances, Provider, validate_cluster_name};

/// Returns the ownership tags of an instance: [`TAG_REF_ID`], and
/// [`TAG_CREDENTIAL_REF_ID`] when a credential ref id is given.
///
/// This cannot fail: ref ids and credential ref ids are at most 128 characters drawn from
/// the characters tags allow.
pub fn ownership_tags(ref_id: &RefId, credential_ref_id: Option<&CredentialRefId>) -> Tags {
    let mut tags = Tags::new();
    put(&mut tags, TAG_REF_ID, ref_id.as_str());
    if let Some(cred) = credential_ref_id {
        put(&mut tags, TAG_CREDENTIAL_REF_ID, cred.as_str());
    }
    tags
}

fn put(tags: &mut Tags, key: &str, value: &str) {
    let inserted = tags.insert_reserved(key, value);
    debug_assert!(inserted.is_ok(), "validated ids always make valid tags");
}

/// Returns the tags a provider should put on the instance `request` creates: the caller's
/// tags (any reserved keys in them dropped), the ownership tags, and [`TAG_CLUSTER`] when
/// the request names a cluster.
///
/// # Errors
/// [`ErrorKind::InvalidRequest`](compute_types::ErrorKind::InvalidRequest) naming
/// `cluster` for a bad cluster name, or `tags` when the SDK's tags push the set past
/// [`MAX_TAGS`](compute_types::MAX_TAGS).
pub fn tags_for_create(request: &CreateInstance) -> Result<Tags> {
    let mut tags = request.tags.user_tags();
    let ours = ownership_tags(&request.ref_id, request.credential_ref_id.as_ref());
    for (key, value) in ours.iter() {
        tags.insert_reserved(key, value)?;
    }

    if let Some(cluster) = &request.cluster {
        validate_cluster_name(cluster)?;
        tags.insert_reserved(TAG_CLUSTER, cluster.as_str())?;
    }
    Ok(tags)
}

/// Returns true for states of an instance that is gone or on its way out
/// (`terminating`, `terminated`).
pub fn is_gone_or_going(state: InstanceState) -> bool {
    matches!(
        state,
        InstanceState::Terminating | InstanceState::Terminated
    )
}

/// Finds the live instance created under `ref_id`, if any.
///
/// Lists instances filtered by the [`TAG_REF_ID`] tag and keeps those whose ref id matches
/// (checked again here, in case a provider ignores the filter). Instances that are
/// terminating or terminated are ignored. Use it to adopt the instance of a create that
/// ended with an unknown outcome.
///
/// # Errors
/// The errors of [`Provider::list_instances`]; [`ErrorKind::Internal`] naming the instances
/// when more than one live instance carries the ref id (ref ids must be unique).
///
/// [`ErrorKind::Internal`]: compute_types::ErrorKind::Internal
pub async fn find_by_ref_id(provider: &dyn Provider, ref_id: &RefId) -> Result<Option<Instance>> {
    let filter = ListInstances::all().with_tag(TAG_REF_ID, ref_id.as_str())?;
    let listed = provider.list_instances(&filter).await?;

    let mut live: Vec<Instance> = listed
        .into_iter()
        .filter(|i| carries_ref_id(i, ref_id) && !is_gone_or_going(i.state()))
        .collect();
    if live.len() > 1 {
        let ids: Vec<&str> = live.iter().map(|i| i.id().as_str()).collect();
        let message = format!(
            "{} live instances carry ref id {ref_id}: {}",
            live.len(),
            ids.join(", ")
        );
        return Err(Error::internal(message)
            .with_provider(provider.id().as_str())
            .with_operation("find_by_ref_id"));
    }
    Ok(live.pop())
}

fn carries_ref_id(inst: &Instance, ref_id: &RefId) -> bool {
    inst.ref_id() == ref_id || inst.tags.get(TAG_REF_ID) == Some(ref_id.as_str())
}

/// Returns the ref id in an instance's ownership tag, when it carries a valid one.
pub fn owned_ref_id(instance: &Instance) -> Option<RefId> {
    instance
        .tags
        .get(TAG_REF_ID)
        .and_then(|v| RefId::new(v).ok())
}

/// Finds orphans: live instances within `scope` that carry the SDK's ownership tag but whose
/// ref id `is_known` does not recognise.
///
/// `scope` narrows the listing, e.g. to one credential with
/// `ListInstances::all().with_tag(TAG_CREDENTIAL_REF_ID, ..)` or to some locations.
/// Instances without the ownership tag, with an unreadable one, or terminating or
/// terminated ones, are never returned.
///
/// # Limitations
/// An instance whose create is in flight is an orphan until the caller's inventory records
/// it. Record the ref id in the inventory *before* calling create.
///
/// # Errors
/// The errors of [`Provider::list_instances`].
pub async fn find_orphans(
    provider: &dyn Provider,
    scope: &ListInstances,
    is_known: &(dyn Fn(&RefId) -> bool + Send + Sync),
) -> Result<Vec<Instance>> {
    let listed = provider.list_instances(scope).await?;

    let orphans = listed.into_iter().filter(|inst| {
        if is_gone_or_going(inst.state()) || inst.tags.get(TAG_REF_ID).is_none() {
            return false;
        }
        match owned_ref_id(inst) {
            Some(ref_id) => !is_known(&ref_id),
            None => {
                debug!(instance_id = %inst.id(), "skipping an unreadable ownership tag");
                false
            }
        }
    });
    Ok(orphans.collect())
}

/// How [`sweep_orphans`] behaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SweepOptions {
    /// Report the orphans without terminating them.
    pub dry_run: bool,
}

impl SweepOptions {
    /// Terminates what it finds.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets dry-run mode.
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// What [`sweep_orphans`] found and did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct SweepReport {
    /// Every orphan found.
    pub orphans: Vec<Instance>,
    /// Orphans whose termination was requested successfully.
    pub terminated: Vec<InstanceId>,
    /// Orphans whose termination failed, with the error.
    pub failed: Vec<(InstanceId, Error)>,
}

impl SweepReport {
    /// Returns true when every orphan found was terminated (or there were none).
    pub fn is_clean(&self) -> bool {
        self.failed.is_empty() && self.terminated.len() == self.orphans.len()
    }
}

/// Finds orphans as [`find_orphans`] does and terminates each one, unless
/// `options.dry_run` is set. A failed termination is recorded in the report and the sweep
/// goes on. It does not wait for the instances to be gone; use
/// [`wait_until_all_gone`](crate::wait_until_all_gone) for that.
///
/// # Limitations
/// As [`find_orphans`]: anything the inventory does not know yet is terminated.
///
/// # Errors
/// The errors of [`Provider::list_instances`]; termination errors go into the report.
pub async fn sweep_orphans(
    provider: &dyn Provider,
    scope: &ListInstances,
    is_known: &(dyn Fn(&RefId) -> bool + Send + Sync),
    options: &SweepOptions,
) -> Result<SweepReport> {
    let orphans = find_orphans(provider, scope, is_known).await?;
    let mut report = SweepReport::default();

    if !options.dry_run {
        for inst in &orphans {
            match provider.terminate_instance(inst.id()).await {
                Ok(()) => {
                    info!(instance_id = %inst.id(), ref_id = %inst.ref_id(), "terminated orphan");
                    report.terminated.push(inst.id().clone());
                }
                Err(e) => report.failed.push((inst.id().clone(), e)),
            }
        }
    }
    report.orphans = orphans;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use compute_types::{ErrorKind, InstanceState::*};

    use super::*;
    use crate::testing::{Fault, TestProvider, instance, request};

    fn owned(id: &str, ref_id: &str, state: InstanceState) -> Instance {
        let mut inst = instance(id, ref_id, state);
        inst.tags = ownership_tags(inst.ref_id(), None);
        inst
    }

    #[test]
    fn ownership_tags_hold_the_longest_ids() {
        let ref_id = RefId::new("r".repeat(128)).unwrap();
        let cred = CredentialRefId::new("c:1-_.".repeat(21)).unwrap();

        let tags = ownership_tags(&ref_id, Some(&cred));

        assert_eq!(tags.get(TAG_REF_ID), Some(ref_id.as_str()));
        assert_eq!(tags.get(TAG_CREDENTIAL_REF_ID), Some(cred.as_str()));
        assert_eq!(tags.len(), 2);
    }

    #[test]
    fn create_tags_add_ours_and_drop_forged_reserved_keys() {
        let mut caller = Tags::from_pairs([("team", "ml")]).unwrap();
        caller.insert_reserved(TAG_REF_ID, "forged").unwrap();
        let req = request("node-0")
            .with_tags(caller)
            .with_cluster("demo")
            .with_credential_ref_id(CredentialRefId::new("cred-1").unwrap());

        let tags = tags_for_create(&req).unwrap();

        assert_eq!(tags.get(TAG_REF_ID), Some("node-0"));
        assert_eq!(tags.get(TAG_CREDENTIAL_REF_ID), Some("cred-1"));
        assert_eq!(tags.get(TAG_CLUSTER), Some("demo"));
        assert_eq!(tags.get("team"), Some("ml"));
    }

    #[test]
    fn create_tags_reject_a_bad_cluster() {
        let req = request("node-0").with_cluster("Not OK");

        let err = tags_for_create(&req).unwrap_err();

        assert_eq!(err.field(), Some("cluster"));
    }

    #[tokio::test]
    async fn find_by_ref_id_ignores_terminated_and_other_ref_ids() {
        let p = TestProvider::new();
        p.insert(owned("i-1", "a", Terminated));
        p.insert(owned("i-2", "a", Running));
        p.insert(owned("i-3", "b", Running));

        let found = find_by_ref_id(&p, &RefId::new("a").unwrap()).await.unwrap();
        let none = find_by_ref_id(&p, &RefId::new("c").unwrap()).await.unwrap();

        assert_eq!(found.unwrap().id().as_str(), "i-2");
        assert!(none.is_none());
    }

    #[tokio::test]
    async fn find_by_ref_id_refuses_duplicates() {
        let p = TestProvider::new();
        p.insert(owned("i-1", "a", Running));
        p.insert(owned("i-2", "a", Pending));

        let err = find_by_ref_id(&p, &RefId::new("a").unwrap())
            .await
            .unwrap_err();

        assert_eq!(err.kind(), ErrorKind::Internal);
        let text = err.to_string();
        assert!(
            text.contains("2 live instances carry ref id a: i-1, i-2"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn finds_orphans_only_among_our_live_instances() {
        let p = TestProvider::new();
        p.insert(owned("i-1", "known", Running));
        p.insert(owned("i-2", "lost", Running));
        p.insert(owned("i-3", "lost-too", Stopped));
        p.insert(owned("i-4", "dead", Terminated));
        p.insert(instance("i-5", "not-ours", Running));
        let known: HashSet<RefId> = [RefId::new("known").unwrap()].into();

        let orphans = find_orphans(&p, &ListInstances::all(), &|r| known.contains(r))
            .await
            .unwrap();

        let ids: Vec<&str> = orphans.iter().map(|i| i.id().as_str()).collect();
        assert_eq!(ids, ["i-2", "i-3"]);
    }

    #[tokio::test]
    async fn sweep_terminates_orphans_and_reports_failures() {
        let p = TestProvider::new();
        p.insert(owned("i-1", "lost", Running));
        p.insert(owned("i-2", "lost-too", Running));
        p.fail_next(
            "terminate_instance",
            Fault::new(ErrorKind::PermissionDenied),
        );

        let report = sweep_orphans(&p, &ListInstances::all(), &|_| false, &SweepOptions::new())
            .await
            .unwrap();

        assert_eq!(report.orphans.len(), 2);
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].0.as_str(), "i-1");
        assert_eq!(report.terminated, [InstanceId::new("i-2").unwrap()]);
        assert!(!report.is_clean());
    }

    #[tokio::test]
    async fn dry_run_sweep_touches_nothing() {
        let p = TestProvider::new();
        p.insert(owned("i-1", "lost", Running));
        let options = SweepOptions::new().with_dry_run(true);

        let report = sweep_orphans(&p, &ListInstances::all(), &|_| false, &options)
            .await
            .unwrap();

        assert_eq!(report.orphans.len(), 1);
        assert!(report.terminated.is_empty());
        assert_eq!(p.calls("terminate_instance"), 0);
    }

    #[tokio::test]
    async fn sweep_scope_limits_to_one_credential() {
        let p = TestProvider::new();
        let cred = CredentialRefId::new("mine").unwrap();
        let req = request("lost").with_credential_ref_id(cred.clone());
        p.create_instance(&req).await.unwrap();
        p.create_instance(&request("someone-elses")).await.unwrap();
        let scope = ListInstances::all()
            .with_tag(TAG_CREDENTIAL_REF_ID, cred.as_str())
            .unwrap();

        let report = sweep_orphans(&p, &scope, &|_| false, &SweepOptions::new())
            .await
            .unwrap();

        assert_eq!(report.terminated.len(), 1);
        assert_eq!(report.orphans[0].ref_id().as_str(), "lost");
    }
}
