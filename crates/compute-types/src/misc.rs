//! Small shared types: architecture, usage class, quota, image, port mapping, durations.

use std::{fmt, net::IpAddr, str::FromStr, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Error, ImageId, Protocol, Result};

/// A CPU architecture.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// 64-bit x86.
    X86_64,
    /// 64-bit ARM.
    Arm64,
}

impl Architecture {
    /// Returns the canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Architecture {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "x86_64" | "amd64" | "x86-64" => Ok(Self::X86_64),
            "arm64" | "aarch64" => Ok(Self::Arm64),
            _ => Err(Error::invalid(
                "architecture",
                format!("`{s}` is not x86_64 or arm64"),
            )),
        }
    }
}

/// How an instance is bought.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageClass {
    /// Pay as you go, not preemptible.
    OnDemand,
    /// Cheaper, preemptible.
    Spot,
    /// Committed capacity.
    Reserved,
}

/// What a quota counts.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaUnit {
    /// Instances.
    Instances,
    /// GPUs.
    Gpus,
    /// Virtual CPUs.
    Vcpus,
}

/// A quota: how much of a unit is allowed and how much is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Quota {
    /// What is counted.
    pub unit: QuotaUnit,
    /// The maximum.
    pub limit: u64,
    /// In use now.
    pub used: u64,
}

impl Quota {
    /// A quota of `limit` with `used` in use.
    pub fn new(unit: QuotaUnit, limit: u64, used: u64) -> Self {
        Self { unit, limit, used }
    }

    /// Returns what is left, never below zero.
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }
}

/// The quotas that apply to an instance type, per usage class (Go's `InstanceTypeQuota`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InstanceTypeQuota {
    /// On-demand quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_demand: Option<Quota>,
    /// Spot quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot: Option<Quota>,
    /// Reserved quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved: Option<Quota>,
}

/// A machine image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Image {
    /// The provider's id.
    pub id: ImageId,
    /// A human-readable name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// The architecture it boots on.
    pub architecture: Architecture,
    /// When it was made, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
}

impl Image {
    /// An image with no description or date.
    pub fn new(id: ImageId, name: impl Into<String>, architecture: Architecture) -> Self {
        Self {
            id,
            name: name.into(),
            description: String::new(),
            architecture,
            created_at: None,
        }
    }
}

/// A port of the instance reachable through another port on another address.
///
/// Container-based providers expose ports this way (Go's `InternalPortMappings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PortMapping {
    /// Protocol.
    pub protocol: Protocol,
    /// Port inside the instance.
    pub internal_port: u16,
    /// Port seen from outside.
    pub external_port: u16,
    /// Address seen from outside, when it is not the instance's public address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ip: Option<IpAddr>,
}

impl PortMapping {
    /// Maps `internal_port` to `external_port` for `protocol`.
    pub fn new(protocol: Protocol, internal_port: u16, external_port: u16) -> Self {
        Self {
            protocol,
            internal_port,
            external_port,
            external_ip: None,
        }
    }
}

/// Serde for `Option<Duration>` as whole seconds.
pub mod opt_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialises as seconds.
    ///
    /// # Errors
    /// As the serializer.
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }

    /// Deserialises from seconds.
    ///
    /// # Errors
    /// As the deserializer.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_secs))
    }
}

/// Returns a duration in whole seconds for display, e.g. `90s`.
pub fn format_secs(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let image = Image::new(
            ImageId::new("ubuntu-24.04").unwrap(),
            "Ubuntu",
            Architecture::X86_64,
        );
        let json = serde_json::to_string(&image).unwrap();
        assert_eq!(serde_json::from_str::<Image>(&json).unwrap(), image);

        let q = InstanceTypeQuota {
            on_demand: Some(Quota::new(QuotaUnit::Gpus, 64, 16)),
            ..Default::default()
        };
        let json = serde_json::to_string(&q).unwrap();
        assert_eq!(serde_json::from_str::<InstanceTypeQuota>(&json).unwrap(), q);
        assert_eq!(q.on_demand.unwrap().remaining(), 48);

        let pm = PortMapping::new(Protocol::Tcp, 22, 40022);
        let json = serde_json::to_string(&pm).unwrap();
        assert_eq!(serde_json::from_str::<PortMapping>(&json).unwrap(), pm);
    }

    #[test]
    fn architecture_parses_aliases() {
        assert_eq!(
            "amd64".parse::<Architecture>().unwrap(),
            Architecture::X86_64
        );
        assert_eq!(
            "aarch64".parse::<Architecture>().unwrap(),
            Architecture::Arm64
        );
        assert_eq!(
            "sparc".parse::<Architecture>().unwrap_err().field(),
            Some("architecture")
        );
    }
}
