//! Credentials: who is calling which provider, and how to connect.

use std::{fmt, sync::Arc, time::Duration};

use async_trait::async_trait;
use compute_types::{CredentialRefId, LocationId, ProviderId, Result};

use crate::{ApiScope, Provider};

/// A credential for one provider account.
///
/// Implementations hold their secret values in [`Secret`](crate::Secret) so that `Debug`
/// never shows them.
#[async_trait]
pub trait Credential: Send + Sync + fmt::Debug {
    /// Returns the provider this credential is for.
    fn provider_id(&self) -> &ProviderId;

    /// Returns the caller's id of this credential; stored in ownership tags.
    fn ref_id(&self) -> &CredentialRefId;

    /// Returns the tenant (account, project, team) the credential belongs to.
    fn tenant_id(&self) -> Option<&str>;

    /// Returns whether the provider's API is global or per location.
    fn api_scope(&self) -> ApiScope;

    /// Returns how often instance types should be refreshed.
    fn instance_type_poll_interval(&self) -> Duration {
        Duration::from_secs(300)
    }

    /// Connects and returns a provider. `location` is required for per-location APIs and
    /// ignored by global ones.
    ///
    /// # Errors
    /// `Unauthenticated` for bad credentials; `InvalidRequest` naming `location` when a
    /// per-location API gets none.
    async fn connect(&self, location: Option<&LocationId>) -> Result<Arc<dyn Provider>>;
}
