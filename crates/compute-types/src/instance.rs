//! Instances: every field of the Go v1 instance, grouped by what it describes.

use std::{net::IpAddr, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    CredentialRefId, FirewallRules, ImageId, InstanceId, InstanceState, InstanceStatus,
    InstanceTypeId, LocationId, PortMapping, RefId, Tags, Volume, ZoneId, misc::opt_secs,
};

/// Who an instance is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Identity {
    /// Human-readable name.
    pub name: String,
    /// The caller's id, the key of idempotent create.
    pub ref_id: RefId,
    /// The caller's id of the credential that created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_ref_id: Option<CredentialRefId>,
    /// The cloud's id.
    pub cloud_id: InstanceId,
    /// When the cloud created it.
    pub created_at: DateTime<Utc>,
}

/// Where an instance runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Placement {
    /// Location (region).
    pub location: LocationId,
    /// Zone, for zonal providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<ZoneId>,
}

/// How an instance is reached and what may reach it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InstanceNetwork {
    /// Public address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_ip: Option<IpAddr>,
    /// Private address inside the cluster's network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<IpAddr>,
    /// Public DNS name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_dns: Option<String>,
    /// Host name inside the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The provider's network (VPC) id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    /// The provider's subnet id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
    /// Firewall rules; empty means deny all inbound, allow all outbound.
    #[serde(default)]
    pub firewall_rules: FirewallRules,
    /// Port mappings, for container-based providers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
    /// The provider's id of the reserved public address, when the instance keeps its
    /// address across stops (Go's `IPAllocationID`; see `CreateInstance::persistent_ip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_allocation_id: Option<String>,
}

/// How to log in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Access {
    /// SSH user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_user: Option<String>,
    /// SSH port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_port: Option<u16>,
    /// Fingerprint of the authorised public key, e.g. `SHA256:…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_fingerprint: Option<String>,
}

/// What the instance runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Compute {
    /// The canonical id of the instance type, built with the same builder as the type's.
    pub instance_type_id: InstanceTypeId,
    /// The boot image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<ImageId>,
    /// Bought as spot (preemptible).
    #[serde(default)]
    pub spot: bool,
}

/// Where the instance is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Lifecycle {
    /// State and messages.
    pub status: InstanceStatus,
    /// Terminate automatically this long after creation.
    #[serde(default, with = "opt_secs", skip_serializing_if = "Option::is_none")]
    pub retire_timeout: Option<Duration>,
    /// When the instance was retired, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<DateTime<Utc>>,
    /// When the instance last moved to or from stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_stop_transition: Option<DateTime<Utc>>,
}

/// What the instance can do and how it is confined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InstanceFlags {
    /// Can be stopped.
    #[serde(default)]
    pub stoppable: bool,
    /// Can be rebooted.
    #[serde(default)]
    pub rebootable: bool,
    /// Is a container rather than a virtual machine.
    #[serde(default)]
    pub is_container: bool,
    /// Privilege escalation is disabled.
    #[serde(default)]
    pub privilege_escalation_disabled: bool,
    /// Runs without root privileges.
    #[serde(default)]
    pub not_privileged: bool,
    /// The cloud's instance metadata endpoint is reachable from inside (Go's
    /// `MetaEndpointEnabled`).
    #[serde(default)]
    pub metadata_endpoint_enabled: bool,
    /// The metadata endpoint also serves the instance's tags (Go's `MetaTagsEnabled`).
    #[serde(default)]
    pub metadata_tags_enabled: bool,
}

/// An instance, as a provider reports it.
///
/// ```
/// use chrono::Utc;
/// use compute_types::{Instance, InstanceId, InstanceState, InstanceTypeId, RefId};
///
/// let type_id = InstanceTypeId::builder("fake", "us-east-1", "gpu_8x_h100").build().unwrap();
/// let inst = Instance::new(
///     "node-0",
///     RefId::new("demo-0").unwrap(),
///     InstanceId::new("i-1").unwrap(),
///     type_id.clone(),
///     Utc::now(),
/// );
/// assert_eq!(inst.state(), InstanceState::Pending);
/// assert_eq!(inst.instance_type(), "gpu_8x_h100");
/// assert_eq!(inst.placement.location, *type_id.location());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Instance {
    /// Who it is.
    pub identity: Identity,
    /// Where it runs.
    pub placement: Placement,
    /// Addresses and firewall.
    pub network: InstanceNetwork,
    /// Login details.
    pub access: Access,
    /// Type, image, spot.
    pub compute: Compute,
    /// Attached volumes.
    #[serde(default)]
    pub volumes: Vec<Volume>,
    /// State and retirement.
    pub lifecycle: Lifecycle,
    /// Capabilities and confinement.
    #[serde(default)]
    pub flags: InstanceFlags,
    /// Tags, including the SDK's ownership tags.
    #[serde(default)]
    pub tags: Tags,
}

impl Instance {
    /// A pending instance of `instance_type_id`, placed where the type id says.
    pub fn new(
        name: impl Into<String>,
        ref_id: RefId,
        cloud_id: InstanceId,
        instance_type_id: InstanceTypeId,
        created_at: DateTime<Utc>,
    ) -> Self {
        let placement = Placement {
            location: instance_type_id.location().clone(),
            zone: instance_type_id.zone().cloned(),
        };
        Self {
            identity: Identity {
                name: name.into(),
                ref_id,
                credential_ref_id: None,
                cloud_id,
                created_at,
            },
            placement,
            network: InstanceNetwork::default(),
            access: Access::default(),
            compute: Compute {
                instance_type_id,
                image_id: None,
                spot: false,
            },
            volumes: Vec::new(),
            lifecycle: Lifecycle {
                status: InstanceStatus::new(InstanceState::Pending),
                retire_timeout: None,
                retired_at: None,
                last_stop_transition: None,
            },
            flags: InstanceFlags::default(),
            tags: Tags::new(),
        }
    }

    /// Returns the cloud id.
    pub fn id(&self) -> &InstanceId {
        &self.identity.cloud_id
    }

    /// Returns the caller's ref id.
    pub fn ref_id(&self) -> &RefId {
        &self.identity.ref_id
    }

    /// Returns the lifecycle state.
    pub fn state(&self) -> InstanceState {
        self.lifecycle.status.state
    }

    /// Returns the provider's name of the instance type, read from the canonical id.
    pub fn instance_type(&self) -> &str {
        self.compute.instance_type_id.type_name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Bytes, FirewallRule, VolumeSpec};

    #[test]
    fn full_instance_round_trips() {
        let type_id = InstanceTypeId::builder("aws", "us-east-1", "p5.48xlarge")
            .zone("use1-az4")
            .build()
            .unwrap();
        let mut inst = Instance::new(
            "n0",
            RefId::new("r0").unwrap(),
            InstanceId::new("i-0").unwrap(),
            type_id,
            "2026-01-02T03:04:05Z".parse().unwrap(),
        );
        inst.network.public_ip = Some("203.0.113.7".parse().unwrap());
        inst.network.private_ip = Some("10.0.0.5".parse().unwrap());
        inst.network
            .firewall_rules
            .push("tcp:22@198.51.100.0/24".parse::<FirewallRule>().unwrap());
        inst.access.ssh_user = Some("ubuntu".into());
        inst.access.ssh_port = Some(22);
        inst.volumes
            .push(Volume::new(VolumeSpec::root(Bytes::gib(512))));
        inst.lifecycle.retire_timeout = Some(Duration::from_secs(3600));
        inst.flags.stoppable = true;
        inst.flags.metadata_endpoint_enabled = true;
        inst.flags.metadata_tags_enabled = true;
        inst.network.ip_allocation_id = Some("eipalloc-0abc".into());
        inst.tags.insert("team", "ml").unwrap();

        let json = serde_json::to_string_pretty(&inst).unwrap();
        let back: Instance = serde_json::from_str(&json).unwrap();

        assert_eq!(back, inst);
        assert_eq!(back.placement.zone.as_ref().unwrap().as_str(), "use1-az4");
        assert!(json.contains("\"retire_timeout\": 3600"));
        assert!(json.contains("\"ip_allocation_id\": \"eipalloc-0abc\""));
        assert!(json.contains("\"metadata_tags_enabled\": true"));
    }
}
