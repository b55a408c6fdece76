//! The async provider contract of the compute SDK, with credentials, waiters, retry and
//! tracing layers.

mod credential;
mod provider;
mod request;
mod secret;

pub use credential::Credential;
pub use provider::{
    ApiScope, ChangeInstanceType, Fault, FaultInjection, Firewall, Images, NetworkProbe, Probe,
    ProbeResult, ProbeSource, Provider, ProviderExt, QuotaInfo, Reboot, ResizeVolume, StopStart,
    UpdateTags,
};
pub use request::{
    CreateInstance, InstanceTypeFilter, ListInstances, LocationsQuery, MAX_CLUSTER_NAME_LEN,
    PublicKey, validate_cluster_name,
};
pub use secret::Secret;
