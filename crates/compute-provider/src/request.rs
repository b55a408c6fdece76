//! Request types for provider calls, each with a constructor for the required fields and
//! `with_*` setters for the rest.

use std::{collections::BTreeMap, time::Duration};

use compute_types::{
    Architecture, Bytes, CredentialRefId, Direction, Error, FirewallRule, FirewallRules, ImageId,
    InstanceId, InstanceType, InstanceTypeId, LocationId, Manufacturer, RefId, Result, Tags,
    VolumeSpec, ZoneId,
};

use crate::Secret;

/// Longest cluster name, in bytes.
pub const MAX_CLUSTER_NAME_LEN: usize = 63;

/// Checks a cluster name: 1 to 63 lower-case letters, digits and `-`, starting with a letter.
///
/// # Errors
/// [`ErrorKind::InvalidRequest`](compute_types::ErrorKind::InvalidRequest) naming `cluster`.
pub fn validate_cluster_name(name: &str) -> Result<()> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let starts = name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    if name.is_empty() || name.len() > MAX_CLUSTER_NAME_LEN || !ok_chars || !starts {
        return Err(Error::invalid(
            "cluster",
            format!(
                "`{name}` must be 1 to {MAX_CLUSTER_NAME_LEN} lower-case letters, digits or '-', \
                 starting with a letter"
            ),
        ));
    }
    Ok(())
}

/// An OpenSSH public key, parsed and validated with the `ssh-key` crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    openssh: String,
    fingerprint: String,
}

impl PublicKey {
    /// Parses one `authorized_keys`-style line, e.g. `ssh-ed25519 AAAA… user@host`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](compute_types::ErrorKind::InvalidRequest) naming
    /// `public_key` when the text is not a valid OpenSSH public key.
    pub fn parse(text: &str) -> Result<Self> {
        let key = ssh_key::PublicKey::from_openssh(text.trim()).map_err(|e| {
            Error::invalid(
                "public_key",
                format!("not a valid OpenSSH public key ({e})"),
            )
        })?;
        let openssh = key
            .to_openssh()
            .map_err(|e| Error::invalid("public_key", format!("cannot be re-encoded ({e})")))?;
        let fingerprint = key.fingerprint(ssh_key::HashAlg::Sha256).to_string();
        Ok(Self {
            openssh,
            fingerprint,
        })
    }

    /// Returns the key in OpenSSH form.
    pub fn as_openssh(&self) -> &str {
        &self.openssh
    }

    /// Returns the SHA-256 fingerprint, e.g. `SHA256:…`.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// Everything needed to create one instance (every Go v1 `CreateInstanceAttrs` field).
///
/// Location and zone come from the instance type id unless set explicitly. Creating an
/// instance starts billing.
///
/// ```
/// use compute_provider::CreateInstance;
/// use compute_types::{InstanceTypeId, RefId};
///
/// let type_id: InstanceTypeId = "fake/us-east-1//gpu_8x_h100_sxm5".parse().unwrap();
/// let req = CreateInstance::new(RefId::new("demo-0").unwrap(), type_id)
///     .with_name("demo-0")
///     .with_cluster("demo")
///     .with_firewall_rule("tcp:22@203.0.113.0/24".parse().unwrap());
/// req.validate().unwrap();
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CreateInstance {
    /// The caller's id; the key of idempotency.
    pub ref_id: RefId,
    /// The instance type to launch.
    pub instance_type: InstanceTypeId,
    /// The location; defaults to the type's.
    pub location: LocationId,
    /// The zone; defaults to the type's.
    pub zone: Option<ZoneId>,
    /// A display name; defaults to the ref id.
    pub name: Option<String>,
    /// The cluster the instance joins: same-cluster instances reach each other on every port.
    pub cluster: Option<String>,
    /// The credential's ref id, stored in the ownership tags.
    pub credential_ref_id: Option<CredentialRefId>,
    /// Network (VPC) to place the instance in.
    pub vpc_id: Option<String>,
    /// Subnet to place the instance in.
    pub subnet_id: Option<String>,
    /// OpenSSH public key to authorise.
    pub public_key: Option<PublicKey>,
    /// Name of a key pair already stored at the provider.
    pub key_pair_name: Option<String>,
    /// Boot image; provider default when `None`.
    pub image_id: Option<ImageId>,
    /// Cloud-init or script; secret, never logged.
    pub user_data: Option<Secret>,
    /// Root volume size; provider default when `None`.
    pub root_volume_size: Option<Bytes>,
    /// Additional volumes.
    pub additional_volumes: Vec<VolumeSpec>,
    /// Caller tags (the SDK adds its ownership tags).
    pub tags: Tags,
    /// Firewall rules; empty is the secure default.
    pub firewall_rules: FirewallRules,
    /// Buy as spot.
    pub spot: bool,
    /// Keep the public address across stop and start.
    pub persistent_ip: bool,
    /// Allow volumes to attach to several instances.
    pub multi_attach: bool,
    /// Terminate automatically this long after creation.
    pub retire_timeout: Option<Duration>,
    /// Extra environment variables for the instance; values are secret.
    pub extra_env: BTreeMap<String, Secret>,
}

impl CreateInstance {
    /// A request for `instance_type` under `ref_id`, placed where the type id says.
    pub fn new(ref_id: RefId, instance_type: InstanceTypeId) -> Self {
        Self {
            location: instance_type.location().clone(),
            zone: instance_type.zone().cloned(),
            ref_id,
            instance_type,
            name: None,
            cluster: None,
            credential_ref_id: None,
            vpc_id: None,
            subnet_id: None,
            public_key: None,
            key_pair_name: None,
            image_id: None,
            user_data: None,
            root_volume_size: None,
            additional_volumes: Vec::new(),
            tags: Tags::new(),
            firewall_rules: FirewallRules::default(),
            spot: false,
            persistent_ip: false,
            multi_attach: false,
            retire_timeout: None,
            extra_env: BTreeMap::new(),
        }
    }

    /// Sets the zone.
    pub fn with_zone(mut self, zone: ZoneId) -> Self {
        self.zone = Some(zone);
        self
    }

    /// Sets the display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the cluster.
    pub fn with_cluster(mut self, cluster: impl Into<String>) -> Self {
        self.cluster = Some(cluster.into());
        self
    }

    /// Sets the credential ref id.
    pub fn with_credential_ref_id(mut self, id: CredentialRefId) -> Self {
        self.credential_ref_id = Some(id);
        self
    }

    /// Sets VPC and subnet.
    pub fn with_network(mut self, vpc_id: impl Into<String>, subnet_id: impl Into<String>) -> Self {
        self.vpc_id = Some(vpc_id.into());
        self.subnet_id = Some(subnet_id.into());
        self
    }

    /// Sets the public key.
    pub fn with_public_key(mut self, key: PublicKey) -> Self {
        self.public_key = Some(key);
        self
    }

    /// Sets the key pair name.
    pub fn with_key_pair_name(mut self, name: impl Into<String>) -> Self {
        self.key_pair_name = Some(name.into());
        self
    }

    /// Sets the image.
    pub fn with_image(mut self, image: ImageId) -> Self {
        self.image_id = Some(image);
        self
    }

    /// Sets the user data.
    pub fn with_user_data(mut self, data: Secret) -> Self {
        self.user_data = Some(data);
        self
    }

    /// Sets the root volume size.
    pub fn with_root_volume_size(mut self, size: Bytes) -> Self {
        self.root_volume_size = Some(size);
        self
    }

    /// Adds a volume.
    pub fn with_volume(mut self, volume: VolumeSpec) -> Self {
        self.additional_volumes.push(volume);
        self
    }

    /// Sets the caller tags.
    pub fn with_tags(mut self, tags: Tags) -> Self {
        self.tags = tags;
        self
    }

    /// Adds a firewall rule.
    pub fn with_firewall_rule(mut self, rule: FirewallRule) -> Self {
        self.firewall_rules.push(rule);
        self
    }

    /// Sets all firewall rules.
    pub fn with_firewall_rules(mut self, rules: FirewallRules) -> Self {
        self.firewall_rules = rules;
        self
    }

    /// Buys as spot.
    pub fn with_spot(mut self, spot: bool) -> Self {
        self.spot = spot;
        self
    }

    /// Keeps the public address across stop and start.
    pub fn with_persistent_ip(mut self, on: bool) -> Self {
        self.persistent_ip = on;
        self
    }

    /// Allows multi-attach volumes.
    pub fn with_multi_attach(mut self, on: bool) -> Self {
        self.multi_attach = on;
        self
    }

    /// Sets the retire timeout.
    pub fn with_retire_timeout(mut self, timeout: Duration) -> Self {
        self.retire_timeout = Some(timeout);
        self
    }

    /// Adds an environment variable.
    pub fn with_env(mut self, key: impl Into<String>, value: Secret) -> Self {
        self.extra_env.insert(key.into(), value);
        self
    }

    /// Returns the display name: the name when set, else the ref id.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(self.ref_id.as_str())
    }

    /// Checks the request as a whole; providers call this before doing anything.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](compute_types::ErrorKind::InvalidRequest) naming the
    /// field: a location or zone that disagrees with the type id, a bad cluster name, a
    /// volume, an empty name, a firewall rule in the wrong list, or an environment key.
    pub fn validate(&self) -> Result<()> {
        if &self.location != self.instance_type.location() {
            return Err(Error::invalid(
                "location",
                format!(
                    "`{}` differs from the instance type's location `{}`",
                    self.location,
                    self.instance_type.location()
                ),
            ));
        }
        if let (Some(zone), Some(type_zone)) = (&self.zone, self.instance_type.zone())
            && zone != type_zone
        {
            return Err(Error::invalid(
                "zone",
                format!("`{zone}` differs from the instance type's zone `{type_zone}`"),
            ));
        }
        if let Some(cluster) = &self.cluster {
            validate_cluster_name(cluster)?;
        }
        if self.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(Error::invalid("name", "must not be empty"));
        }
        for volume in &self.additional_volumes {
            volume.validate()?;
        }
        if self.root_volume_size == Some(Bytes::ZERO) {
            return Err(Error::invalid(
                "root_volume_size",
                "must be larger than zero",
            ));
        }
        let misplaced = self
            .firewall_rules
            .ingress
            .iter()
            .any(|r| r.direction == Direction::Egress)
            || self
                .firewall_rules
                .egress
                .iter()
                .any(|r| r.direction != Direction::Egress);
        if misplaced {
            return Err(Error::invalid(
                "firewall_rules",
                "a rule is in the wrong direction's list",
            ));
        }
        for key in self.extra_env.keys() {
            let ok = !key.is_empty()
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !key.starts_with(|c: char| c.is_ascii_digit());
            if !ok {
                return Err(Error::invalid(
                    "extra_env",
                    format!("`{key}` is not a valid environment variable name"),
                ));
            }
        }
        Ok(())
    }
}

/// Which instances to list. Empty fields match everything; set fields must all match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListInstances {
    /// Only these cloud ids.
    pub ids: Vec<InstanceId>,
    /// Only instances carrying all these tags.
    pub tags: Tags,
    /// Only instances in these locations.
    pub locations: Vec<LocationId>,
}

impl ListInstances {
    /// Matches everything.
    pub fn all() -> Self {
        Self::default()
    }

    /// Adds an id.
    pub fn with_id(mut self, id: InstanceId) -> Self {
        self.ids.push(id);
        self
    }

    /// Requires a tag; reserved SDK keys are allowed here, since filtering by them is how
    /// ownership is found.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](compute_types::ErrorKind::InvalidRequest) for a malformed
    /// tag.
    pub fn with_tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Result<Self> {
        self.tags.insert_reserved(key, value)?;
        Ok(self)
    }

    /// Adds a location.
    pub fn with_location(mut self, location: LocationId) -> Self {
        self.locations.push(location);
        self
    }

    /// Returns true when `instance` passes every set filter.
    pub fn matches(&self, instance: &compute_types::Instance) -> bool {
        (self.ids.is_empty() || self.ids.contains(instance.id()))
            && (self.locations.is_empty() || self.locations.contains(&instance.placement.location))
            && instance.tags.contains_all(&self.tags)
    }
}

/// Which instance types to list. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct InstanceTypeFilter {
    /// Only these locations.
    pub locations: Vec<LocationId>,
    /// Only types supporting one of these architectures.
    pub architectures: Vec<Architecture>,
    /// Only these type names.
    pub type_names: Vec<String>,
    /// Only GPUs of this maker.
    pub gpu_manufacturer: Option<Manufacturer>,
    /// Only GPUs of this normalised model (case-insensitive), e.g. `H100`.
    pub gpu_model: Option<String>,
    /// At least this many GPUs.
    pub min_gpu_count: Option<u32>,
    /// At least this much memory per GPU.
    pub min_gpu_memory: Option<Bytes>,
}

impl InstanceTypeFilter {
    /// Matches everything.
    pub fn all() -> Self {
        Self::default()
    }

    /// Adds a location.
    pub fn with_location(mut self, location: LocationId) -> Self {
        self.locations.push(location);
        self
    }

    /// Adds an architecture.
    pub fn with_architecture(mut self, arch: Architecture) -> Self {
        self.architectures.push(arch);
        self
    }

    /// Adds a type name.
    pub fn with_type_name(mut self, name: impl Into<String>) -> Self {
        self.type_names.push(name.into());
        self
    }

    /// Sets the GPU maker.
    pub fn with_gpu_manufacturer(mut self, maker: Manufacturer) -> Self {
        self.gpu_manufacturer = Some(maker);
        self
    }

    /// Sets the GPU model.
    pub fn with_gpu_model(mut self, model: impl Into<String>) -> Self {
        self.gpu_model = Some(model.into());
        self
    }

    /// Sets the minimum GPU count.
    pub fn with_min_gpu_count(mut self, n: u32) -> Self {
        self.min_gpu_count = Some(n);
        self
    }

    /// Sets the minimum memory per GPU.
    pub fn with_min_gpu_memory(mut self, memory: Bytes) -> Self {
        self.min_gpu_memory = Some(memory);
        self
    }

    /// Returns true when `t` passes every set filter.
    pub fn matches(&self, t: &InstanceType) -> bool {
        let gpu_ok = |pred: &dyn Fn(&compute_types::Gpu) -> bool| t.gpus.iter().any(pred);
        (self.locations.is_empty() || self.locations.contains(t.location()))
            && (self.architectures.is_empty()
                || t.architectures
                    .iter()
                    .any(|a| self.architectures.contains(a)))
            && (self.type_names.is_empty() || self.type_names.iter().any(|n| n == t.name()))
            && self
                .gpu_manufacturer
                .as_ref()
                .is_none_or(|m| gpu_ok(&|g| &g.manufacturer == m))
            && self
                .gpu_model
                .as_ref()
                .is_none_or(|m| gpu_ok(&|g| g.model.eq_ignore_ascii_case(m)))
            && self.min_gpu_count.is_none_or(|n| t.gpu_count() >= n)
            && self
                .min_gpu_memory
                .is_none_or(|m| gpu_ok(&|g| g.memory.is_some_and(|x| x >= m)))
    }
}

/// Which locations to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LocationsQuery {
    /// Include locations that cannot take new instances now.
    pub include_unavailable: bool,
}

impl LocationsQuery {
    /// Available locations only.
    pub fn available() -> Self {
        Self::default()
    }

    /// Every location.
    pub fn all() -> Self {
        Self {
            include_unavailable: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use compute_types::ErrorKind;

    const ED25519: &str = "ssh-ed25519 \
        AAAAC3NzaC1lZDI1NTE5AAAAIGVl7ZI9DZVCX8o1Om5aYsOqBE3JixA6VYeBnZ7Ihyi9 user@host";

    fn type_id() -> InstanceTypeId {
        "fake/us-east-1/us-east-1a/gpu_1x_h100".parse().unwrap()
    }

    #[test]
    fn public_key_is_validated_and_fingerprinted() {
        let key = PublicKey::parse(ED25519).unwrap();
        assert!(key.fingerprint().starts_with("SHA256:"));

        let err = PublicKey::parse("ssh-ed25519 not-base64!!").unwrap_err();

        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert_eq!(err.field(), Some("public_key"));
        assert!(PublicKey::parse("").is_err());
    }

    #[test]
    fn create_takes_placement_from_the_type() {
        let req = CreateInstance::new(RefId::new("r").unwrap(), type_id());

        assert_eq!(req.location.as_str(), "us-east-1");
        assert_eq!(req.zone.as_ref().unwrap().as_str(), "us-east-1a");
        assert_eq!(req.display_name(), "r");
        req.validate().unwrap();
    }

    #[test]
    fn create_validation_names_fields() {
        let base = || CreateInstance::new(RefId::new("r").unwrap(), type_id());
        let cases = [
            (base().with_cluster("Bad_Name"), "cluster"),
            (base().with_zone(ZoneId::new("us-east-1b").unwrap()), "zone"),
            (base().with_name("  "), "name"),
            (
                base().with_root_volume_size(Bytes::ZERO),
                "root_volume_size",
            ),
            (base().with_env("1BAD", Secret::new("x")), "extra_env"),
            (
                base().with_volume(VolumeSpec::additional(Bytes::gib(1), "rel")),
                "volume.mount_path",
            ),
        ];
        for (req, field) in cases {
            let err = req.validate().unwrap_err();
            assert_eq!(err.field(), Some(field), "{err}");
        }
        let mut moved = base();
        moved.location = LocationId::new("eu-west-1").unwrap();
        assert_eq!(moved.validate().unwrap_err().field(), Some("location"));
    }

    #[test]
    fn secrets_in_a_request_do_not_print() {
        let req = CreateInstance::new(RefId::new("r").unwrap(), type_id())
            .with_user_data(Secret::new("#!/bin/sh\nexport TOKEN=hunter2"))
            .with_env("API_KEY", Secret::new("sk-very-secret"));

        let text = format!("{req:?}");

        assert!(
            !text.contains("hunter2") && !text.contains("sk-very-secret"),
            "{text}"
        );
        assert!(text.contains("[redacted]"));
    }

    #[test]
    fn cluster_names() {
        for ok in ["demo", "a", "train-01"] {
            validate_cluster_name(ok).unwrap();
        }
        for bad in ["", "Demo", "1abc", "has space", &"a".repeat(64)] {
            assert_eq!(
                validate_cluster_name(bad).unwrap_err().field(),
                Some("cluster")
            );
        }
    }
}
