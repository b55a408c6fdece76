//! Block storage, always called a volume: specs for create and the options a type offers.
//!
//! The Go v1 interface used "disk", "volume" and "storage" for overlapping ideas. Here:
//! - [`VolumeSpec`] is what a caller asks for (Go's `Disk` in create attributes and the root
//!   disk size);
//! - [`Volume`] is a volume attached to an instance (Go's `Instance.Volumes` / `Disks`);
//! - [`StorageOption`] is what an instance type offers (Go's `InstanceType.SupportedStorage`).

use serde::{Deserialize, Serialize};

use crate::{Bytes, Error, Price, Result};

/// Whether a volume holds the operating system.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VolumeRole {
    /// The boot volume.
    Root,
    /// Any other volume.
    Additional,
}

/// A volume to create: size, type, mount path, role and properties.
///
/// Volumes are **encrypted by default**; turning encryption off is an explicit choice.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VolumeSpec {
    /// Size.
    pub size: Bytes,
    /// Provider volume type, e.g. `gp3` or `nvme`; provider default when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<String>,
    /// Where to mount it; `None` for the root volume or an unmounted one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    /// Root or additional.
    pub role: VolumeRole,
    /// Lost when the instance stops (local instance storage).
    #[serde(default)]
    pub ephemeral: bool,
    /// Can be resized after creation.
    #[serde(default)]
    pub elastic: bool,
    /// Encrypted at rest; true unless turned off explicitly.
    #[serde(default = "yes")]
    pub encrypted: bool,
}

fn yes() -> bool {
    true
}

impl VolumeSpec {
    /// A root volume of `size`, encrypted, elastic.
    pub fn root(size: Bytes) -> Self {
        Self {
            size,
            volume_type: None,
            mount_path: None,
            role: VolumeRole::Root,
            ephemeral: false,
            elastic: true,
            encrypted: true,
        }
    }

    /// An additional volume of `size` mounted at `mount_path`, encrypted, elastic.
    pub fn additional(size: Bytes, mount_path: impl Into<String>) -> Self {
        Self {
            mount_path: Some(mount_path.into()),
            role: VolumeRole::Additional,
            ..Self::root(size)
        }
    }

    /// Checks the spec.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) naming `volume.size` for
    /// an empty volume or `volume.mount_path` for a relative mount path.
    pub fn validate(&self) -> Result<()> {
        if self.size == Bytes::ZERO {
            return Err(Error::invalid("volume.size", "must be larger than zero"));
        }
        if let Some(path) = &self.mount_path
            && !path.starts_with('/')
        {
            return Err(Error::invalid(
                "volume.mount_path",
                "must be an absolute path",
            ));
        }
        Ok(())
    }
}

/// A volume attached to an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Volume {
    /// The provider's id of the volume, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What the volume is.
    pub spec: VolumeSpec,
}

impl Volume {
    /// A volume as specified, without a provider id.
    pub fn new(spec: VolumeSpec) -> Self {
        Self { id: None, spec }
    }
}

/// Storage an instance type offers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StorageOption {
    /// How many such volumes come with or can attach to the type.
    pub count: u32,
    /// Fixed size per volume, for local disks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<Bytes>,
    /// Smallest size that can be requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_size: Option<Bytes>,
    /// Largest size that can be requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<Bytes>,
    /// Provider volume type, e.g. `ssd`, `nvme`, `gp3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<String>,
    /// Price per GB-hour, when billed separately.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_per_gb_hour: Option<Price>,
    /// Local storage lost on stop.
    #[serde(default)]
    pub ephemeral: bool,
    /// Resizable.
    #[serde(default)]
    pub elastic: bool,
}

impl StorageOption {
    /// `count` local disks of `size`.
    pub fn local(count: u32, size: Bytes) -> Self {
        Self {
            count,
            size: Some(size),
            min_size: None,
            max_size: None,
            volume_type: None,
            price_per_gb_hour: None,
            ephemeral: true,
            elastic: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_by_default_even_when_omitted_in_json() {
        let json = r#"{"size": "100GiB", "role": "additional", "mount_path": "/data"}"#;

        let spec: VolumeSpec = serde_json::from_str(json).unwrap();

        assert!(spec.encrypted);
        assert!(VolumeSpec::root(Bytes::gib(1)).encrypted);
        assert_eq!(spec.size, Bytes::gib(100));
    }

    #[test]
    fn validation_and_round_trip() {
        let spec = VolumeSpec::additional(Bytes::gib(10), "/data");
        spec.validate().unwrap();
        assert_eq!(
            VolumeSpec::additional(Bytes::gib(1), "data")
                .validate()
                .unwrap_err()
                .field(),
            Some("volume.mount_path")
        );
        assert_eq!(
            VolumeSpec::root(Bytes::ZERO)
                .validate()
                .unwrap_err()
                .field(),
            Some("volume.size")
        );
        let vol = Volume::new(spec);
        let json = serde_json::to_string(&vol).unwrap();
        assert_eq!(serde_json::from_str::<Volume>(&json).unwrap(), vol);
        let opt = StorageOption::local(8, Bytes::gb(3840));
        let json = serde_json::to_string(&opt).unwrap();
        assert_eq!(serde_json::from_str::<StorageOption>(&json).unwrap(), opt);
    }
}
