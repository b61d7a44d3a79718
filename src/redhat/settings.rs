//! The Red Hat settings the Red Hat client is built from: the provider's
//! `redhat` block and the `RH_*` environment merged (`provider.rs` does the
//! merging). They live here, with the client that reads them.

/// Red Hat settings after configuration and environment are merged. `Debug`
/// shows whether each secret is set, never the secret.
#[derive(Clone, Default, PartialEq)]
pub struct RedHatSettings {
    // Credentials: an offline token, or a service account (client id + secret).
    pub offline_token: Option<String>,
    /// The SSO client the offline token is refreshed with; default: the one
    /// that issued it (the token's `azp` claim).
    pub offline_token_client_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub api_url: String,
    pub sso_url: String,
}

impl std::fmt::Debug for RedHatSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedHatSettings")
            .field("offline_token", &redacted(&self.offline_token))
            .field("offline_token_client_id", &self.offline_token_client_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &redacted(&self.client_secret))
            .field("api_url", &self.api_url)
            .field("sso_url", &self.sso_url)
            .finish()
    }
}

impl RedHatSettings {
    /// Which Red Hat credential will be used, without revealing it.
    pub fn credential_kind(&self) -> &'static str {
        match (&self.offline_token, &self.client_id, &self.client_secret) {
            (_, Some(_), Some(_)) => "service_account",
            (Some(_), _, _) => "offline_token",
            _ => "none",
        }
    }
}

/// How a secret appears in `Debug` output.
fn redacted(v: &Option<String>) -> Option<&'static str> {
    v.as_ref().map(|_| "[redacted]")
}
