//! Instance types: the shapes a provider sells, with GPUs, storage, quota and price.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{
    Architecture, Bytes, Gpu, InstanceTypeId, InstanceTypeQuota, LocationId, Price, ProviderId,
    StorageOption, UsageClass, ZoneId, misc::opt_secs,
};

/// What a listed price covers.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceScope {
    /// The whole instance: host, GPUs and included storage.
    #[default]
    Instance,
    /// Only the accelerators; the host machine is billed on top. Never show such a price as
    /// the price of an instance.
    AcceleratorsOnly,
}

/// A shape a provider sells in one location (and optionally one zone).
///
/// Carries every field of the Go v1 `InstanceType`. The type's name, provider, location and
/// zone live in its [`InstanceTypeId`] and are read through accessors, so they can never
/// disagree with the id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InstanceType {
    /// The canonical id (provider, location, zone, type name).
    pub id: InstanceTypeId,
    /// Zones in the location where the type can be launched now (Go's `AvailableAzs`).
    #[serde(default)]
    pub available_zones: Vec<ZoneId>,
    /// The GPUs; empty for CPU-only types.
    #[serde(default)]
    pub gpus: Vec<Gpu>,
    /// Storage the type offers.
    #[serde(default)]
    pub storage: Vec<StorageOption>,
    /// Whether the root volume can be resized.
    #[serde(default)]
    pub elastic_root_volume: bool,
    /// Whether an instance of this type can change to another type in the same zone
    /// (Go's `SubLocationTypeChangeable`).
    #[serde(default)]
    pub type_changeable_in_zone: bool,
    /// Host memory.
    pub memory: Bytes,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Core counts the type can be configured with.
    #[serde(default)]
    pub supported_cores: Vec<u32>,
    /// Default core count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_cores: Option<u32>,
    /// CPU architectures.
    #[serde(default)]
    pub architectures: Vec<Architecture>,
    /// CPU clock speed in GHz, when published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_speed_ghz: Option<f64>,
    /// Network performance as the provider states it, e.g. `3200 Gbps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_performance: Option<String>,
    /// Most network interfaces an instance can have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_network_interfaces: Option<u32>,
    /// Quotas by usage class.
    #[serde(default)]
    pub quota: InstanceTypeQuota,
    /// Can be stopped and started.
    #[serde(default)]
    pub stoppable: bool,
    /// Can be rebooted.
    #[serde(default)]
    pub rebootable: bool,
    /// Can be preempted (spot).
    #[serde(default)]
    pub preemptible: bool,
    /// The price varies over time (market pricing).
    #[serde(default)]
    pub variable_price: bool,
    /// Can be launched now.
    #[serde(default)]
    pub available: bool,
    /// On-demand price per hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
    /// Spot price per hour, when offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot_price: Option<Price>,
    /// What the prices cover.
    #[serde(default)]
    pub price_scope: PriceScope,
    /// How the type can be bought.
    #[serde(default)]
    pub usage_classes: Vec<UsageClass>,
    /// Typical time from create to running.
    #[serde(default, with = "opt_secs", skip_serializing_if = "Option::is_none")]
    pub estimated_deploy_time: Option<Duration>,
    /// Whether firewall rules can be changed after launch.
    #[serde(default)]
    pub can_modify_firewall_rules: bool,
    /// Instances are containers rather than virtual machines.
    #[serde(default)]
    pub is_container: bool,
    /// Privilege escalation is disabled inside instances.
    #[serde(default)]
    pub privilege_escalation_disabled: bool,
    /// Instances run without root privileges.
    #[serde(default)]
    pub not_privileged: bool,
}

impl InstanceType {
    /// A type with the given id and sizes; everything else empty or false.
    pub fn new(id: InstanceTypeId, vcpus: u32, memory: Bytes) -> Self {
        Self {
            id,
            available_zones: Vec::new(),
            gpus: Vec::new(),
            storage: Vec::new(),
            elastic_root_volume: false,
            type_changeable_in_zone: false,
            memory,
            vcpus,
            supported_cores: Vec::new(),
            default_cores: None,
            architectures: Vec::new(),
            clock_speed_ghz: None,
            network_performance: None,
            max_network_interfaces: None,
            quota: InstanceTypeQuota::default(),
            stoppable: false,
            rebootable: false,
            preemptible: false,
            variable_price: false,
            available: false,
            price: None,
            spot_price: None,
            price_scope: PriceScope::Instance,
            usage_classes: Vec::new(),
            estimated_deploy_time: None,
            can_modify_firewall_rules: false,
            is_container: false,
            privilege_escalation_disabled: false,
            not_privileged: false,
        }
    }

    /// Returns the provider's name of the type.
    pub fn name(&self) -> &str {
        self.id.type_name()
    }

    /// Returns the provider.
    pub fn provider(&self) -> &ProviderId {
        self.id.provider()
    }

    /// Returns the location.
    pub fn location(&self) -> &LocationId {
        self.id.location()
    }

    /// Returns the total number of GPUs.
    pub fn gpu_count(&self) -> u32 {
        self.gpus.iter().map(|g| g.count).sum()
    }

    /// Returns the total GPU memory, when every GPU's memory is known.
    pub fn total_gpu_memory(&self) -> Option<Bytes> {
        self.gpus
            .iter()
            .try_fold(Bytes::ZERO, |acc, g| acc.checked_add(g.total_memory()?))
    }

    /// Returns the price of the whole instance for a usage class, never a partial price.
    pub fn instance_price(&self, spot: bool) -> Option<Price> {
        if self.price_scope != PriceScope::Instance {
            return None;
        }
        if spot { self.spot_price } else { self.price }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Manufacturer;

    fn h100() -> InstanceType {
        let id = InstanceTypeId::builder("lambda", "us-east-1", "gpu_8x_h100_sxm5")
            .build()
            .unwrap();
        let mut t = InstanceType::new(id, 208, Bytes::gib(1800));
        t.gpus
            .push(Gpu::new(8, "H100", Manufacturer::Nvidia).with_memory(Bytes::gib(80)));
        t.price = Some("23.92".parse().unwrap());
        t.estimated_deploy_time = Some(Duration::from_secs(300));
        t.architectures.push(Architecture::X86_64);
        t
    }

    #[test]
    fn accessors_come_from_the_id() {
        let t = h100();

        assert_eq!(t.name(), "gpu_8x_h100_sxm5");
        assert_eq!(t.provider().as_str(), "lambda");
        assert_eq!(t.gpu_count(), 8);
        assert_eq!(t.total_gpu_memory(), Some(Bytes::gib(640)));
    }

    #[test]
    fn partial_prices_are_never_instance_prices() {
        let mut t = h100();
        assert!(t.instance_price(false).is_some());

        t.price_scope = PriceScope::AcceleratorsOnly;

        assert_eq!(t.instance_price(false), None);
    }

    #[test]
    fn round_trip() {
        let t = h100();
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains("\"id\":\"lambda/us-east-1//gpu_8x_h100_sxm5\""));
        assert_eq!(serde_json::from_str::<InstanceType>(&json).unwrap(), t);

        // Every field that defaults away must still survive a trip when set.
        let mut full = h100();
        full.price_scope = PriceScope::AcceleratorsOnly;
        full.usage_classes = vec![UsageClass::OnDemand, UsageClass::Spot, UsageClass::Reserved];
        full.type_changeable_in_zone = true;
        full.available_zones = vec![ZoneId::new("us-east-1a").unwrap()];
        let json = serde_json::to_string(&full).unwrap();
        assert!(
            json.contains(r#""price_scope":"accelerators_only""#),
            "{json}"
        );
        assert!(json.contains(r#""usage_classes":["on_demand","spot","reserved"]"#));
        assert_eq!(serde_json::from_str::<InstanceType>(&json).unwrap(), full);
    }
}
