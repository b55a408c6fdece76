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
    ///
    /// # Provider differences
    /// Some providers check the credentials here with a cheap authenticated call and so
    /// report `Unauthenticated` at once; others only build a client, and bad credentials
    /// surface on the first call instead. A per-location provider returns a provider bound
    /// to that one location; a global one returns the same provider for every location.
    /// Network failures while checking are `Unavailable` (transient).
    async fn connect(&self, location: Option<&LocationId>) -> Result<Arc<dyn Provider>>;
}

#[cfg(test)]
mod tests {
    use compute_types::Error;

    use super::*;
    use crate::Secret;

    /// A credential as a vendor crate would write one: plain fields plus a [`Secret`] key.
    #[derive(Debug)]
    struct ApiKeyCredential {
        provider: ProviderId,
        ref_id: CredentialRefId,
        tenant: Option<String>,
        api_key: Secret,
    }

    #[async_trait]
    impl Credential for ApiKeyCredential {
        fn provider_id(&self) -> &ProviderId {
            &self.provider
        }

        fn ref_id(&self) -> &CredentialRefId {
            &self.ref_id
        }

        fn tenant_id(&self) -> Option<&str> {
            self.tenant.as_deref()
        }

        fn api_scope(&self) -> ApiScope {
            ApiScope::Global
        }

        async fn connect(&self, _location: Option<&LocationId>) -> Result<Arc<dyn Provider>> {
            Err(Error::unsupported(self.provider.as_str(), "connect"))
        }
    }

    #[test]
    fn debug_of_a_credential_hides_its_key() {
        let cred = ApiKeyCredential {
            provider: ProviderId::new("lambda").unwrap(),
            ref_id: CredentialRefId::new("team-a").unwrap(),
            tenant: Some("acme".into()),
            api_key: Secret::new("secret_live_0123456789abcdef"),
        };

        let debug = format!("{cred:?} {cred:#?}");

        assert!(!debug.contains("0123456789abcdef"), "{debug}");
        assert!(
            debug.contains("[redacted]") && debug.contains("team-a"),
            "{debug}"
        );
        assert_eq!(cred.instance_type_poll_interval(), Duration::from_secs(300));
        assert_eq!(cred.api_key.expose_secret().len(), 28);
    }
}
