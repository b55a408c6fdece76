//! The async provider contract of the compute SDK, with credentials, waiters, retry and
//! tracing layers.

mod credential;
mod ownership;
mod provider;
mod request;
mod retry;
mod secret;
mod waiter;

#[cfg(test)]
mod testing;

pub use credential::Credential;
pub use ownership::{
    SweepOptions, SweepReport, find_by_ref_id, find_orphans, is_gone_or_going, owned_ref_id,
    ownership_tags, sweep_orphans, tags_for_create,
};
pub use provider::{
    ApiScope, ChangeInstanceType, Fault, FaultInjection, Firewall, Images, NetworkProbe, Probe,
    ProbeResult, ProbeSource, Provider, ProviderExt, QuotaInfo, Reboot, ResizeVolume, StopStart,
    UpdateTags,
};
pub use request::{
    CreateInstance, InstanceTypeFilter, ListInstances, LocationsQuery, MAX_CLUSTER_NAME_LEN,
    PublicKey, validate_cluster_name,
};
pub use retry::{RetryConfig, RetryLayer, Retrying};
pub use secret::Secret;
pub use waiter::{
    WaitError, WaitOptions, wait_for_all, wait_for_state, wait_until_all_gone, wait_until_gone,
};
