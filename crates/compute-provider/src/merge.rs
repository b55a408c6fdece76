//! Merging a fresh instance from a control plane into the stored one (Go's `UpdateHandler`).
//!
//! Control planes often report an instance with less than the SDK knew when it created it:
//! a list call may omit the ref id, the SSH user or the volumes. [`merge_instance`] keeps
//! what must not change and fills what the fresh report left out, field by field:
//!
//! - **Always stored** (an instance never moves or changes identity): name, ref id, cloud
//!   id, created at, and the placement's location. The credential ref id is stored too,
//!   unless the stored one is unknown.
//! - **Fresh when present, else stored** (facts fixed at launch that summaries omit): zone;
//!   private IP, hostname, VPC id, subnet id; SSH user, SSH port, key fingerprint; image
//!   id; retire timeout, retired at, last stop transition.
//! - **Fresh when non-empty, else stored**: volumes and port mappings (an instance always
//!   has a root volume, so an empty list means "not reported").
//! - **Tags**: the fresh tags, plus the SDK's reserved (ownership) tags that the stored
//!   instance has and the fresh one lacks.
//! - **Always fresh** (they change during an instance's life, and an absent public address
//!   or an empty rule set is a real value): state and messages, public IP, public DNS,
//!   firewall rules, instance type id, spot, flags.
//!
//! When the two instances have different cloud ids they are not the same instance and the
//! fresh one is returned unchanged.

use compute_types::{Instance, RESERVED_PREFIX};

/// Returns `fresh` with the identity of `stored`, and with what `fresh` lacks filled in from
/// `stored` where that is safe. See the [module docs](crate::merge) for the rule of each field.
///
/// ```
/// use compute_provider::merge_instance;
/// use compute_types::{Instance, InstanceId, InstanceState, InstanceStatus, RefId};
///
/// let type_id = "fake/us-east-1//gpu_1x".parse().unwrap();
/// let id = InstanceId::new("i-1").unwrap();
/// let created = "2026-01-01T00:00:00Z".parse().unwrap();
/// let mut stored = Instance::new("node-0", RefId::new("node-0").unwrap(), id.clone(),
///     type_id, created);
/// stored.access.ssh_user = Some("ubuntu".into());
///
/// // The control plane knows neither the ref id nor the SSH user.
/// let mut fresh = stored.clone();
/// fresh.identity.ref_id = RefId::new("i-1").unwrap();
/// fresh.access.ssh_user = None;
/// fresh.lifecycle.status = InstanceStatus::new(InstanceState::Running);
///
/// let merged = merge_instance(&stored, fresh);
/// assert_eq!(merged.ref_id().as_str(), "node-0");
/// assert_eq!(merged.access.ssh_user.as_deref(), Some("ubuntu"));
/// assert_eq!(merged.state(), InstanceState::Running);
/// ```
pub fn merge_instance(stored: &Instance, fresh: Instance) -> Instance {
    if stored.id() != fresh.id() {
        return fresh;
    }
    let mut merged = fresh;

    let id = &mut merged.identity;
    id.name.clone_from(&stored.identity.name);
    id.ref_id = stored.identity.ref_id.clone();
    id.created_at = stored.identity.created_at;
    if stored.identity.credential_ref_id.is_some() {
        id.credential_ref_id
            .clone_from(&stored.identity.credential_ref_id);
    }

    merged.placement.location = stored.placement.location.clone();
    fill(&mut merged.placement.zone, &stored.placement.zone);

    let (net, old) = (&mut merged.network, &stored.network);
    fill(&mut net.private_ip, &old.private_ip);
    fill(&mut net.hostname, &old.hostname);
    fill(&mut net.vpc_id, &old.vpc_id);
    fill(&mut net.subnet_id, &old.subnet_id);
    fill_list(&mut net.port_mappings, &old.port_mappings);

    let (access, old) = (&mut merged.access, &stored.access);
    fill(&mut access.ssh_user, &old.ssh_user);
    fill(&mut access.ssh_port, &old.ssh_port);
    fill(
        &mut access.public_key_fingerprint,
        &old.public_key_fingerprint,
    );

    fill(&mut merged.compute.image_id, &stored.compute.image_id);
    fill_list(&mut merged.volumes, &stored.volumes);

    let (life, old) = (&mut merged.lifecycle, &stored.lifecycle);
    fill(&mut life.retire_timeout, &old.retire_timeout);
    fill(&mut life.retired_at, &old.retired_at);
    fill(&mut life.last_stop_transition, &old.last_stop_transition);

    for (key, value) in stored.tags.iter() {
        if key.starts_with(RESERVED_PREFIX) && merged.tags.get(key).is_none() {
            // The stored tags were valid, so re-inserting one can only fail when the fresh
            // set is already full; the fresh report then wins.
            let _ = merged.tags.insert_reserved(key, value);
        }
    }
    merged
}

fn fill<T: Clone>(fresh: &mut Option<T>, stored: &Option<T>) {
    if fresh.is_none() {
        fresh.clone_from(stored);
    }
}

fn fill_list<T: Clone>(fresh: &mut Vec<T>, stored: &[T]) {
    if fresh.is_empty() {
        fresh.extend_from_slice(stored);
    }
}

#[cfg(test)]
mod tests {
    use compute_types::{
        Bytes, CredentialRefId, InstanceId, InstanceState, InstanceStatus, RefId, TAG_REF_ID,
        Volume, VolumeSpec,
    };

    use super::*;
    use crate::{ownership_tags, testing::instance};

    fn stored() -> Instance {
        let mut inst = instance("i-1", "node-0", InstanceState::Pending);
        inst.identity.credential_ref_id = Some(CredentialRefId::new("cred").unwrap());
        inst.network.private_ip = Some("10.0.0.4".parse().unwrap());
        inst.network.public_ip = Some("203.0.113.4".parse().unwrap());
        inst.access.ssh_user = Some("ubuntu".into());
        inst.volumes
            .push(Volume::new(VolumeSpec::root(Bytes::gib(100))));
        inst.tags = ownership_tags(inst.ref_id(), None);
        inst.tags.insert("team", "ml").unwrap();
        inst
    }

    /// What a terse control plane reports: its own name and ref id, little else.
    fn fresh(state: InstanceState) -> Instance {
        let mut inst = instance("i-1", "i-1", state);
        inst.identity.name = "cloud-name".into();
        inst.identity.created_at = "2026-02-02T00:00:00Z".parse().unwrap();
        inst
    }

    #[test]
    fn identity_comes_from_the_stored_instance() {
        let stored = stored();

        let merged = merge_instance(&stored, fresh(InstanceState::Running));

        assert_eq!(merged.identity, stored.identity);
        assert_eq!(merged.placement.location, stored.placement.location);
        assert_eq!(merged.state(), InstanceState::Running);
    }

    #[test]
    fn missing_static_facts_are_filled_in() {
        let stored = stored();

        let merged = merge_instance(&stored, fresh(InstanceState::Running));

        assert_eq!(merged.network.private_ip, stored.network.private_ip);
        assert_eq!(merged.access.ssh_user.as_deref(), Some("ubuntu"));
        assert_eq!(merged.volumes.len(), 1);
        assert_eq!(merged.tags.get(TAG_REF_ID), Some("node-0"));
        assert_eq!(
            merged.tags.get("team"),
            None,
            "caller tags follow the fresh report"
        );
    }

    #[test]
    fn changing_facts_follow_the_fresh_instance() {
        let stored = stored();
        let mut fresh = fresh(InstanceState::Stopped);
        fresh.lifecycle.status = InstanceStatus::new(InstanceState::Stopped).with_message("idle");
        fresh.access.ssh_user = Some("root".into());

        let merged = merge_instance(&stored, fresh);

        assert_eq!(
            merged.network.public_ip, None,
            "a stopped instance lost its address"
        );
        assert_eq!(merged.lifecycle.status.messages, ["idle"]);
        assert_eq!(merged.access.ssh_user.as_deref(), Some("root"));
    }

    #[test]
    fn unknown_stored_credential_takes_the_fresh_one() {
        let mut stored = stored();
        stored.identity.credential_ref_id = None;
        let mut fresh = fresh(InstanceState::Running);
        fresh.identity.credential_ref_id = Some(CredentialRefId::new("seen").unwrap());

        let merged = merge_instance(&stored, fresh);

        assert_eq!(merged.identity.credential_ref_id.unwrap().as_str(), "seen");
    }

    #[test]
    fn a_different_instance_is_not_merged() {
        let stored = stored();
        let mut other = fresh(InstanceState::Running);
        other.identity.cloud_id = InstanceId::new("i-2").unwrap();
        other.identity.ref_id = RefId::new("other").unwrap();

        let merged = merge_instance(&stored, other.clone());

        assert_eq!(merged, other);
    }
}
