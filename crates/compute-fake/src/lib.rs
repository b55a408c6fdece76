//! The reference in-memory provider of the compute SDK, with fault injection.
//!
//! [`FakeProvider`] behaves like a careful real cloud: instances move through their
//! lifecycle on a clock (tokio's, so tests under paused time run instantly), get addresses
//! from an address plan, consume quota and capacity, carry the SDK's ownership tags, and
//! can be made to fail in every way real clouds fail, deterministically from a seed.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//!
//! use compute_fake::FakeProvider;
//! use compute_provider::{CreateInstance, Provider};
//! use compute_types::{InstanceState, RefId};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> compute_types::Result<()> {
//! let fake = FakeProvider::builder().boot_delay(Duration::from_secs(30)).build()?;
//! let gpu = fake.instance_types(&Default::default()).await?.remove(0);
//!
//! let req = CreateInstance::new(RefId::new("node-0")?, gpu.id.clone()).with_cluster("demo");
//! let inst = fake.create_instance(&req).await?;
//! assert_eq!(inst.state(), InstanceState::Pending);
//!
//! tokio::time::advance(Duration::from_secs(30)).await;
//! let inst = fake.get_instance(inst.id()).await?;
//! assert_eq!(inst.state(), InstanceState::Running);
//! assert!(inst.network.public_ip.is_some() && inst.network.private_ip.is_some());
//! # Ok(())
//! # }
//! ```

mod addresses;
mod clock;
mod config;
mod faults;
mod hash;
mod index;
mod network;
mod ops;
mod persist;
mod provider;
mod world;

pub use config::{DEFAULT_PUBLIC_RANGES, FakeConfig, Operation, QuotaLimits};
pub use ops::{DEFAULT_IMAGE, DEFAULT_ROOT_VOLUME};
pub use persist::FORMAT_VERSION;
pub use provider::FakeProvider;
pub use world::{SSH_PORT, SSH_USER};

/// The catalog the fake uses when the configuration names none: the shared built-in one.
fn default_catalog() -> world::Seed {
    let builtin = FakeConfig::default().from_catalog(&compute_catalog::Catalog::builtin());
    builtin.catalog.unwrap_or_default()
}
