//! Data model of the compute SDK: ids, units, money, instances, lifecycle and errors.
//!
//! This crate holds plain data, with no I/O and no async. Every type serialises with serde
//! to snake_case JSON and validates on the way in, so a value of these types is always
//! well-formed. Bad input gives an [`Error`] of kind [`ErrorKind::InvalidRequest`] that names
//! the field and the rule.
//!
//! # Examples
//!
//! ```
//! use compute_types::{Bytes, ErrorKind, FirewallRule, InstanceTypeId, Price};
//!
//! let rule: FirewallRule = "tcp:22@203.0.113.0/24".parse().unwrap();
//! assert_eq!(rule.ports.unwrap().from(), 22);
//!
//! let err = "tcp:70000@10.0.0.0/8".parse::<FirewallRule>().unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::InvalidRequest);
//!
//! let id: InstanceTypeId = "aws/us-east-1/use1-az4/p5.48xlarge".parse().unwrap();
//! assert_eq!(id.type_name(), "p5.48xlarge");
//!
//! let per_node: Price = "98.32".parse().unwrap();
//! assert_eq!(per_node.checked_mul(4).unwrap().to_string(), "393.28 USD/h");
//! assert_eq!("80GiB".parse::<Bytes>().unwrap(), Bytes::gib(80));
//! ```

mod capability;
mod error;
mod firewall;
mod gpu;
mod ids;
mod instance;
mod instance_type;
mod lifecycle;
mod location;
pub mod misc;
mod money;
mod tags;
mod units;
mod volume;

pub use capability::{Capabilities, Capability};
pub use error::{Error, ErrorKind, Outcome, Result, Retry};
pub use firewall::{Direction, FirewallRule, FirewallRules, PortRange, Protocol};
pub use gpu::{Gpu, Interconnect, Manufacturer};
pub use ids::{
    CredentialRefId, FirewallRuleId, ImageId, InstanceId, InstanceTypeId, InstanceTypeIdBuilder,
    LocationId, MAX_ID_LEN, ProviderId, RefId, ZoneId,
};
pub use instance::{
    Access, Compute, Identity, Instance, InstanceFlags, InstanceNetwork, Lifecycle, Placement,
};
pub use instance_type::{InstanceType, PriceScope};
pub use lifecycle::{InstanceState, InstanceStatus};
pub use location::{CountryCode, Location, Zone};
pub use misc::{Architecture, Image, InstanceTypeQuota, PortMapping, Quota, QuotaUnit, UsageClass};
pub use money::{Currency, Price};
pub use tags::{
    MAX_KEY_LEN, MAX_TAGS, MAX_VALUE_LEN, RESERVED_PREFIX, TAG_CLUSTER, TAG_CREDENTIAL_REF_ID,
    TAG_REF_ID, Tags,
};
pub use units::Bytes;
pub use volume::{StorageOption, Volume, VolumeRole, VolumeSpec};
