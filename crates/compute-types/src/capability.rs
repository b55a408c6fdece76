//! Capabilities: the optional things a provider can do, and the set a provider declares.

use std::{collections::BTreeSet, fmt};

use serde::{Deserialize, Serialize};

/// One optional ability of a provider. Covers every Go v1 capability.
///
/// Each Go v1 capability maps to the variant of the same meaning, except Go's combined
/// `CapabilityCreateTerminateInstance`, which is the
/// pair [`Capability::CreateInstance`] and [`Capability::TerminateInstance`]; see
/// [`Capabilities::can_create_and_terminate`]. The last two variants are test hooks with
/// no Go counterpart.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Create instances.
    CreateInstance,
    /// Create is idempotent by ref id.
    CreateIdempotentInstance,
    /// Terminate instances.
    TerminateInstance,
    /// Stop and start instances.
    StopStartInstance,
    /// Reboot instances.
    RebootInstance,
    /// Pass user data (cloud-init) on create.
    InstanceUserData,
    /// Grow a volume of an existing instance.
    ResizeInstanceVolume,
    /// Change the type of a stopped instance.
    ChangeInstanceType,
    /// Add and revoke firewall rules after launch.
    ModifyFirewall,
    /// Update tags after launch.
    UpdateTags,
    /// List machine images.
    MachineImage,
    /// Report quotas.
    Quota,
    /// Place instances in a caller-chosen VPC and subnet.
    Vpc,
    /// Managed Kubernetes.
    ManagedKubernetes,
    /// Answer reachability probes (a test hook, not a production feature).
    NetworkProbe,
    /// Inject faults (a test hook, not a production feature).
    FaultInjection,
}

impl Capability {
    /// Returns the snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateInstance => "create_instance",
            Self::CreateIdempotentInstance => "create_idempotent_instance",
            Self::TerminateInstance => "terminate_instance",
            Self::StopStartInstance => "stop_start_instance",
            Self::RebootInstance => "reboot_instance",
            Self::InstanceUserData => "instance_user_data",
            Self::ResizeInstanceVolume => "resize_instance_volume",
            Self::ChangeInstanceType => "change_instance_type",
            Self::ModifyFirewall => "modify_firewall",
            Self::UpdateTags => "update_tags",
            Self::MachineImage => "machine_image",
            Self::Quota => "quota",
            Self::Vpc => "vpc",
            Self::ManagedKubernetes => "managed_kubernetes",
            Self::NetworkProbe => "network_probe",
            Self::FaultInjection => "fault_injection",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The set of capabilities a provider has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Capabilities(BTreeSet<Capability>);

impl Capabilities {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a capability.
    pub fn insert(&mut self, cap: Capability) {
        self.0.insert(cap);
    }

    /// Returns the set with `cap` added.
    pub fn with(mut self, cap: Capability) -> Self {
        self.0.insert(cap);
        self
    }

    /// Returns true when `cap` is present.
    pub fn has(&self, cap: Capability) -> bool {
        self.0.contains(&cap)
    }

    /// Returns true when both create and terminate are present: Go v1's combined
    /// `CapabilityCreateTerminateInstance`.
    pub fn can_create_and_terminate(&self) -> bool {
        self.has(Capability::CreateInstance) && self.has(Capability::TerminateInstance)
    }

    /// Iterates in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = Capability> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<Capability> for Capabilities {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations_and_serde() {
        let caps: Capabilities = [Capability::CreateInstance, Capability::ModifyFirewall]
            .into_iter()
            .collect();

        assert!(caps.has(Capability::ModifyFirewall));
        assert!(!caps.has(Capability::RebootInstance));
        assert!(!caps.can_create_and_terminate());
        assert!(
            caps.clone()
                .with(Capability::TerminateInstance)
                .can_create_and_terminate()
        );
        let json = serde_json::to_string(&caps).unwrap();
        assert_eq!(json, r#"["create_instance","modify_firewall"]"#);
        assert_eq!(serde_json::from_str::<Capabilities>(&json).unwrap(), caps);
    }
}
