//! GPU descriptions: count, normalised model, memory, interconnect and manufacturer.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Bytes;

macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[non_exhaustive]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// Any other value, kept as the provider wrote it.
            Other(String),
        }

        impl $name {
            /// Returns the canonical text.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Other(s) => s,
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $(if s.eq_ignore_ascii_case($text) {
                    return Self::$variant;
                })*
                Self::Other(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::from(s.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_owned()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

open_enum!(
    /// Who made a GPU.
    Manufacturer {
        /// NVIDIA.
        Nvidia => "nvidia",
        /// AMD.
        Amd => "amd",
        /// Intel.
        Intel => "intel",
    }
);

open_enum!(
    /// How a GPU attaches to its host and peers.
    Interconnect {
        /// A PCIe card.
        Pcie => "pcie",
        /// An SXM module (generation unspecified).
        Sxm => "sxm",
        /// SXM4 (A100 generation).
        Sxm4 => "sxm4",
        /// SXM5 (H100 generation).
        Sxm5 => "sxm5",
        /// SXM6 (B200 generation and later).
        Sxm6 => "sxm6",
        /// NVLink bridge between PCIe cards.
        NvLink => "nvlink",
    }
);

/// The GPUs of an instance type: how many of which model.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Gpu {
    /// How many GPUs.
    pub count: u32,
    /// The normalised model name, e.g. `H100`, `A100`, `RTX5090`.
    pub model: String,
    /// Memory per GPU, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Bytes>,
    /// Memory technology, e.g. `HBM3`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_type: Option<String>,
    /// Form factor or interconnect, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interconnect: Option<Interconnect>,
    /// Who made it.
    pub manufacturer: Manufacturer,
}

impl Gpu {
    /// `count` GPUs of `model` by `manufacturer`, other facts unknown.
    pub fn new(count: u32, model: impl Into<String>, manufacturer: Manufacturer) -> Self {
        Self {
            count,
            model: model.into(),
            memory: None,
            memory_type: None,
            interconnect: None,
            manufacturer,
        }
    }

    /// Sets the memory per GPU.
    pub fn with_memory(mut self, memory: Bytes) -> Self {
        self.memory = Some(memory);
        self
    }

    /// Sets the interconnect.
    pub fn with_interconnect(mut self, interconnect: Interconnect) -> Self {
        self.interconnect = Some(interconnect);
        self
    }

    /// Returns the memory of all GPUs together, when the per-GPU memory is known.
    pub fn total_memory(&self) -> Option<Bytes> {
        self.memory?.checked_mul(u64::from(self.count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_enums_round_trip() {
        assert_eq!(Manufacturer::from("NVIDIA"), Manufacturer::Nvidia);
        assert_eq!(
            Manufacturer::from("Habana"),
            Manufacturer::Other("Habana".into())
        );
        assert_eq!(
            serde_json::to_string(&Interconnect::Sxm5).unwrap(),
            "\"sxm5\""
        );
        let other = Interconnect::Other("infinity-fabric".into());
        let json = serde_json::to_string(&other).unwrap();
        assert_eq!(serde_json::from_str::<Interconnect>(&json).unwrap(), other);
    }

    #[test]
    fn gpu_round_trip_and_total() {
        let gpu = Gpu::new(8, "H100", Manufacturer::Nvidia)
            .with_memory(Bytes::gib(80))
            .with_interconnect(Interconnect::Sxm5);

        assert_eq!(gpu.total_memory(), Some(Bytes::gib(640)));
        let json = serde_json::to_string(&gpu).unwrap();
        assert_eq!(serde_json::from_str::<Gpu>(&json).unwrap(), gpu);
    }
}
