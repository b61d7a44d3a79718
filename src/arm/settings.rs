//! The Azure settings the ARM client is built from: the provider block and
//! the `ARM_*` environment merged (`provider.rs` does the merging). They live
//! here, with the client that reads them, so `arm/` needs nothing from the
//! layers above it.

/// Azure settings after configuration and environment are merged. `Debug`
/// shows whether each secret is set, never the secret.
#[derive(Clone, Default, PartialEq)]
pub struct AzureSettings {
    pub subscription_id: Option<String>,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_certificate_path: Option<String>,
    /// A base64 PKCS#12 bundle (`ARM_CLIENT_CERTIFICATE`).
    pub client_certificate: Option<String>,
    pub client_certificate_password: Option<String>,
    pub use_oidc: bool,
    pub oidc_token: Option<String>,
    pub oidc_token_file_path: Option<String>,
    /// Where a CI system hands out OIDC tokens, and the bearer that asks it
    /// (GitHub Actions' `ACTIONS_ID_TOKEN_REQUEST_*`, Azure DevOps'
    /// `SYSTEM_OIDCREQUESTURI` / `SYSTEM_ACCESSTOKEN`).
    pub oidc_request_url: Option<String>,
    pub oidc_request_token: Option<String>,
    /// Azure DevOps: the service connection whose federated credential the
    /// token is for; with it, the request goes to Azure DevOps' OIDC endpoint.
    pub ado_pipeline_service_connection_id: Option<String>,
    pub use_msi: bool,
    pub use_cli: bool,
    /// `public`, `usgovernment` or `china`.
    pub environment: String,
    pub arm_endpoint: String,
    pub authority_host: String,
    pub resource_provider_registrations: ProviderRegistrations,
}

/// Whether resource providers are registered in a subscription when ARM says
/// one is not (`resource_provider_registrations`, as azurerm names it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProviderRegistrations {
    /// Register the namespace a call needs, when it needs it (any azurerm
    /// value but `none`: this provider only ever needs a handful).
    #[default]
    OnDemand,
    /// Never register: the principal may lack the right to (`none`, or
    /// azurerm's older `skip_provider_registration = true`).
    None,
}

/// How a secret appears in `Debug` output.
fn redacted(v: &Option<String>) -> Option<&'static str> {
    v.as_ref().map(|_| "[redacted]")
}

impl std::fmt::Debug for AzureSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureSettings")
            .field("subscription_id", &self.subscription_id)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &redacted(&self.client_secret))
            .field("client_certificate_path", &self.client_certificate_path)
            .field("client_certificate", &redacted(&self.client_certificate))
            .field(
                "client_certificate_password",
                &redacted(&self.client_certificate_password),
            )
            .field("use_oidc", &self.use_oidc)
            .field("oidc_token", &redacted(&self.oidc_token))
            .field("oidc_token_file_path", &self.oidc_token_file_path)
            .field("oidc_request_url", &self.oidc_request_url)
            .field("oidc_request_token", &redacted(&self.oidc_request_token))
            .field(
                "ado_pipeline_service_connection_id",
                &self.ado_pipeline_service_connection_id,
            )
            .field("use_msi", &self.use_msi)
            .field("use_cli", &self.use_cli)
            .field("environment", &self.environment)
            .field("arm_endpoint", &self.arm_endpoint)
            .field("authority_host", &self.authority_host)
            .field(
                "resource_provider_registrations",
                &self.resource_provider_registrations,
            )
            .finish()
    }
}
