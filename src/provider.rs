//! The provider block: its schema (azurerm-compatible names and environment
//! variables, plus the `redhat` block) and how configuration plus environment
//! become the settings every resource call gets.
//!
//! Settings needed only by some resources (Red Hat credentials, say) are not
//! required here: the resource that needs them checks at plan time and names
//! the missing setting, so an ARM-only configuration needs no Red Hat account.

use async_trait::async_trait;

use crate::framework::validators::one_of;
use crate::framework::{
    Attr, BlockDef, BlockNesting, Diagnostic, Diagnostics, ProviderDef, ResourceSchema, Value,
};

/// Azure clouds and their endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AzureEnvironment {
    Public,
    UsGovernment,
    China,
}

impl AzureEnvironment {
    pub fn name(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::UsGovernment => "usgovernment",
            Self::China => "china",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "public" | "azurepubliccloud" => Some(Self::Public),
            "usgovernment" | "azureusgovernmentcloud" => Some(Self::UsGovernment),
            "china" | "azurechinacloud" => Some(Self::China),
            _ => None,
        }
    }

    pub fn arm_endpoint(self) -> &'static str {
        match self {
            Self::Public => "https://management.azure.com",
            Self::UsGovernment => "https://management.usgovcloudapi.net",
            Self::China => "https://management.chinacloudapi.cn",
        }
    }

    pub fn authority_host(self) -> &'static str {
        match self {
            Self::Public => "https://login.microsoftonline.com",
            Self::UsGovernment => "https://login.microsoftonline.us",
            Self::China => "https://login.chinacloudapi.cn",
        }
    }
}

pub const DEFAULT_RH_API_URL: &str = "https://console.redhat.com";
pub const DEFAULT_RH_SSO_URL: &str = "https://sso.redhat.com";

/// Azure settings after configuration and environment are merged. `Debug`
/// shows whether each secret is set, never the secret.
#[derive(Clone, Default, PartialEq)]
pub struct AzureSettings {
    pub subscription_id: Option<String>,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_certificate_path: Option<String>,
    pub client_certificate_password: Option<String>,
    pub use_oidc: bool,
    pub oidc_token: Option<String>,
    pub oidc_token_file_path: Option<String>,
    pub use_msi: bool,
    pub use_cli: bool,
    /// `public`, `usgovernment` or `china`.
    pub environment: String,
    pub arm_endpoint: String,
    pub authority_host: String,
}

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
            .field(
                "client_certificate_password",
                &redacted(&self.client_certificate_password),
            )
            .field("use_oidc", &self.use_oidc)
            .field("oidc_token", &redacted(&self.oidc_token))
            .field("oidc_token_file_path", &self.oidc_token_file_path)
            .field("use_msi", &self.use_msi)
            .field("use_cli", &self.use_cli)
            .field("environment", &self.environment)
            .field("arm_endpoint", &self.arm_endpoint)
            .field("authority_host", &self.authority_host)
            .finish()
    }
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

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    pub azure: AzureSettings,
    pub redhat: RedHatSettings,
    /// Some configuration values were unknown (plan time, values from other
    /// resources): resources that need them must wait for apply.
    pub partially_unknown: bool,
}

/// What every resource call gets once the provider is configured.
#[derive(Debug)]
pub struct ProviderData {
    pub settings: Settings,
    pub terraform_version: String,
    /// The ARM client, or why there is none (checked when a resource needs it).
    pub arm: Result<std::sync::Arc<crate::arm::ArmClient>, String>,
    /// The Red Hat client, or why there is none.
    pub redhat: Result<std::sync::Arc<crate::redhat::RedHatClient>, String>,
}

impl ProviderData {
    /// The ARM client, or an error diagnostic naming what is missing.
    pub fn arm(&self) -> Result<&crate::arm::ArmClient, crate::framework::Diagnostic> {
        self.arm.as_deref().map_err(|why| {
            crate::framework::Diagnostic::error("Azure is not configured", why.clone())
        })
    }

    /// The Red Hat client, or an error diagnostic naming what is missing.
    pub fn redhat(&self) -> Result<&crate::redhat::RedHatClient, crate::framework::Diagnostic> {
        self.redhat.as_deref().map_err(|why| {
            crate::framework::Diagnostic::error("Red Hat credentials are missing", why.clone())
        })
    }
}

/// Reads an environment variable (swappable in tests).
type EnvLookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

pub struct RhelAzureProvider {
    env: EnvLookup,
}

impl Default for RhelAzureProvider {
    fn default() -> Self {
        RhelAzureProvider {
            env: Box::new(|k| std::env::var(k).ok().filter(|v| !v.is_empty())),
        }
    }
}

impl RhelAzureProvider {
    /// A provider reading "environment variables" from `env` (tests).
    pub fn with_env(env: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        RhelAzureProvider { env: Box::new(env) }
    }

    /// Merges the provider block with environment variables (the block wins).
    pub fn resolve(&self, config: &Value) -> Result<Settings, Diagnostics> {
        let mut diags = Diagnostics::new();
        let mut unknown = false;
        let mut s = |obj: &Value, attr: &str, env: &str| -> Option<String> {
            match obj.attr(attr) {
                Value::String(v) => Some(v.clone()),
                Value::Unknown(_) => {
                    unknown = true;
                    None
                }
                _ => (self.env)(env),
            }
        };
        let rh = config.attr("redhat");
        let mut azure = AzureSettings {
            subscription_id: s(config, "subscription_id", "ARM_SUBSCRIPTION_ID"),
            tenant_id: s(config, "tenant_id", "ARM_TENANT_ID"),
            client_id: s(config, "client_id", "ARM_CLIENT_ID"),
            client_secret: s(config, "client_secret", "ARM_CLIENT_SECRET"),
            client_certificate_path: s(
                config,
                "client_certificate_path",
                "ARM_CLIENT_CERTIFICATE_PATH",
            ),
            client_certificate_password: s(
                config,
                "client_certificate_password",
                "ARM_CLIENT_CERTIFICATE_PASSWORD",
            ),
            oidc_token: s(config, "oidc_token", "ARM_OIDC_TOKEN"),
            oidc_token_file_path: s(config, "oidc_token_file_path", "ARM_OIDC_TOKEN_FILE_PATH"),
            ..Default::default()
        };
        let environment = s(config, "environment", "ARM_ENVIRONMENT");
        let arm_endpoint = s(config, "arm_endpoint", "ARM_ENDPOINT");
        let authority_host = s(config, "authority_host", "ARM_AUTHORITY_HOST");
        let redhat = RedHatSettings {
            offline_token: s(rh, "offline_token", "RH_OFFLINE_TOKEN"),
            offline_token_client_id: s(rh, "offline_token_client_id", "RH_OFFLINE_TOKEN_CLIENT_ID"),
            client_id: s(rh, "client_id", "RH_CLIENT_ID"),
            client_secret: s(rh, "client_secret", "RH_CLIENT_SECRET"),
            api_url: s(rh, "api_url", "RH_API_URL").unwrap_or_else(|| DEFAULT_RH_API_URL.into()),
            sso_url: s(rh, "sso_url", "RH_SSO_URL").unwrap_or_else(|| DEFAULT_RH_SSO_URL.into()),
        };

        let mut flag = |attr: &str, env: &str, default: bool| -> bool {
            match config.attr(attr) {
                Value::Bool(b) => *b,
                Value::Unknown(_) => {
                    unknown = true;
                    default
                }
                _ => match (self.env)(env).map(|v| v.to_ascii_lowercase()) {
                    Some(v) if v == "true" || v == "1" => true,
                    Some(v) if v == "false" || v == "0" => false,
                    Some(v) => {
                        diags.push(Diagnostic::error(
                            "Invalid environment variable",
                            format!("{env} must be true or false; got {v:?}."),
                        ));
                        default
                    }
                    None => default,
                },
            }
        };
        azure.use_oidc = flag("use_oidc", "ARM_USE_OIDC", false);
        azure.use_msi = flag("use_msi", "ARM_USE_MSI", false);
        azure.use_cli = flag("use_cli", "ARM_USE_CLI", true);
        // Kubernetes workload identity (AKS): its webhook sets AZURE_CLIENT_ID,
        // AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE in the pod; with
        // use_oidc they fill what the ARM_* settings leave out.
        if azure.use_oidc {
            if azure.oidc_token.is_none() && azure.oidc_token_file_path.is_none() {
                azure.oidc_token_file_path = (self.env)("AZURE_FEDERATED_TOKEN_FILE");
            }
            if azure.client_id.is_none() {
                azure.client_id = (self.env)("AZURE_CLIENT_ID");
            }
            if azure.tenant_id.is_none() {
                azure.tenant_id = (self.env)("AZURE_TENANT_ID");
            }
        }

        let env = match environment.as_deref() {
            None => AzureEnvironment::Public,
            Some(e) => AzureEnvironment::parse(e).unwrap_or_else(|| {
                diags.error_at(
                    crate::framework::AttributePath::attrs(&["environment"]),
                    "Unknown Azure environment",
                    format!("environment (or ARM_ENVIRONMENT) must be public, usgovernment or china; got {e:?}."),
                );
                AzureEnvironment::Public
            }),
        };
        azure.environment = env.name().to_string();
        azure.arm_endpoint = trim_url(arm_endpoint.as_deref().unwrap_or(env.arm_endpoint()));
        azure.authority_host = trim_url(authority_host.as_deref().unwrap_or(env.authority_host()));
        let redhat = RedHatSettings {
            api_url: trim_url(&redhat.api_url),
            sso_url: trim_url(&redhat.sso_url),
            ..redhat
        };

        for (attr, env_var, url) in [
            ("arm_endpoint", "ARM_ENDPOINT", &azure.arm_endpoint),
            (
                "authority_host",
                "ARM_AUTHORITY_HOST",
                &azure.authority_host,
            ),
            ("redhat.api_url", "RH_API_URL", &redhat.api_url),
            ("redhat.sso_url", "RH_SSO_URL", &redhat.sso_url),
        ] {
            if let Err(why) = check_url(url) {
                let path =
                    crate::framework::AttributePath::attrs(&attr.split('.').collect::<Vec<_>>());
                diags.error_at(
                    path,
                    "Invalid endpoint URL",
                    format!("{attr} (or {env_var}) {why}"),
                );
            }
        }
        if diags.has_errors() {
            return Err(diags);
        }
        Ok(Settings {
            azure,
            redhat,
            partially_unknown: unknown,
        })
    }
}

fn trim_url(u: &str) -> String {
    u.trim_end_matches('/').to_string()
}

/// Tokens travel to these URLs: plain HTTP only to loopback (the local cloud).
fn check_url(url: &str) -> Result<(), String> {
    let rest = if let Some(r) = url.strip_prefix("https://") {
        r
    } else if let Some(r) = url.strip_prefix("http://") {
        let host = r.split(['/', ':']).next().unwrap_or("");
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "") {
            return Err(format!("uses plain http to {host:?}; credentials must travel over https (http is accepted for loopback only)."));
        }
        r
    } else {
        return Err(format!("must start with https:// ; got {url:?}."));
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("has no host: {url:?}."));
    }
    Ok(())
}

pub fn provider_schema() -> ResourceSchema {
    let env = |name: &str, var: &str, what: &str| {
        Attr::string(name)
            .optional()
            .description(&format!("{what} Defaults to `{var}`."))
    };
    ResourceSchema::new(
        "Manage RHEL on Azure: RHEL images, Red Hat subscriptions on Azure (Cloud Access, activation keys, \
         Marketplace terms, Hybrid Benefit) and Atomic container hosts. Azure settings use the same names and \
         environment variables as the azurerm provider.",
        vec![
            env("subscription_id", "ARM_SUBSCRIPTION_ID", "Azure subscription id."),
            env("tenant_id", "ARM_TENANT_ID", "Microsoft Entra tenant id."),
            env("client_id", "ARM_CLIENT_ID", "Service principal (application) client id."),
            env("client_secret", "ARM_CLIENT_SECRET", "Service principal client secret.").sensitive(),
            env("client_certificate_path", "ARM_CLIENT_CERTIFICATE_PATH", "Path to a PFX/PEM client certificate."),
            env("client_certificate_password", "ARM_CLIENT_CERTIFICATE_PASSWORD", "Password of the client certificate.")
                .sensitive(),
            Attr::bool("use_oidc").optional().description("Authenticate with OIDC workload identity federation (GitHub Actions, a token or token file, or an AKS pod's `AZURE_FEDERATED_TOKEN_FILE`). Defaults to `ARM_USE_OIDC`."),
            env("oidc_token", "ARM_OIDC_TOKEN", "An OIDC token to exchange.").sensitive(),
            env("oidc_token_file_path", "ARM_OIDC_TOKEN_FILE_PATH", "A file holding the OIDC token."),
            Attr::bool("use_msi").optional().description("Authenticate with a managed identity. Defaults to `ARM_USE_MSI`."),
            Attr::bool("use_cli").optional().description("Fall back to the Azure CLI's login. Defaults to `ARM_USE_CLI`, else true."),
            env("environment", "ARM_ENVIRONMENT", "Azure cloud: `public`, `usgovernment` or `china`.")
                .validate(one_of(&["public", "usgovernment", "china"])),
            env("arm_endpoint", "ARM_ENDPOINT", "Azure Resource Manager endpoint override (sovereign clouds, the local cloud)."),
            env("authority_host", "ARM_AUTHORITY_HOST", "Microsoft Entra authority host override."),
        ],
    )
    .blocks(vec![BlockDef::new(
        "redhat",
        BlockNesting::Single,
        vec![
            env("offline_token", "RH_OFFLINE_TOKEN", "Red Hat offline token: from the Customer Portal's API Tokens page (access.redhat.com/management/api) or the Hybrid Cloud Console's token page (console.redhat.com/openshift/token). It is refreshed with the SSO client that issued it.").sensitive(),
            env("offline_token_client_id", "RH_OFFLINE_TOKEN_CLIENT_ID", "SSO client to refresh the offline token with (default: the one that issued it, read from the token: `rhsm-api` for Customer Portal tokens, `cloud-services` for console tokens). Red Hat SSO refuses any other."),
            env("client_id", "RH_CLIENT_ID", "Red Hat service account client id (Red Hat's recommendation for the console APIs; the account needs a User Access group with the rights the resources use)."),
            env("client_secret", "RH_CLIENT_SECRET", "Red Hat service account client secret.").sensitive(),
            env("api_url", "RH_API_URL", &format!("Red Hat API base URL (default `{DEFAULT_RH_API_URL}`).")),
            env("sso_url", "RH_SSO_URL", &format!("Red Hat SSO base URL (default `{DEFAULT_RH_SSO_URL}`).")),
        ],
    )
    .description("Red Hat credentials: an offline token, or a service account (client id and secret).")])
}

#[async_trait]
impl ProviderDef<ProviderData> for RhelAzureProvider {
    fn schema(&self) -> ResourceSchema {
        provider_schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let rh = config.attr("redhat");
        let has = |v: &Value| !v.is_null();
        if has(rh.attr("client_id")) != has(rh.attr("client_secret"))
            && !rh.attr("client_id").is_unknown()
            && !rh.attr("client_secret").is_unknown()
        {
            diags.error_at(
                crate::framework::AttributePath::attrs(&["redhat"]),
                "Incomplete Red Hat service account",
                "Set both redhat.client_id and redhat.client_secret, or neither (and use an offline token).",
            );
        }
    }

    async fn configure(
        &self,
        terraform_version: &str,
        config: &Value,
    ) -> Result<ProviderData, Diagnostics> {
        let settings = self.resolve(config)?;
        tracing::debug!(
            target: "rhelazure.provider",
            arm_endpoint = %settings.azure.arm_endpoint,
            redhat_api = %settings.redhat.api_url,
            partially_unknown = settings.partially_unknown,
            "provider configured"
        );
        // Clients are built now but only required by the resources that use
        // them, so an ARM-only configuration needs no Red Hat account.
        let arm = crate::arm::ArmClient::new(&settings.azure, None)
            .map(std::sync::Arc::new)
            .map_err(|e| e.to_string());
        let redhat = crate::redhat::RedHatClient::new(&settings.redhat, None)
            .map(std::sync::Arc::new)
            .map_err(|e| e.to_string());
        Ok(ProviderData {
            settings,
            terraform_version: terraform_version.to_string(),
            arm,
            redhat,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};

    fn provider(env: &[(&str, &str)]) -> RhelAzureProvider {
        let map: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RhelAzureProvider::with_env(move |k| map.get(k).cloned())
    }

    fn config(pairs: &[(&str, Value)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    #[test]
    fn environment_fills_what_the_block_leaves_out() {
        let p = provider(&[
            ("ARM_SUBSCRIPTION_ID", "env-sub"),
            ("ARM_CLIENT_ID", "env-client"),
            ("RH_OFFLINE_TOKEN", "tok"),
        ]);
        let s = p
            .resolve(&config(&[("subscription_id", "cfg-sub".into())]))
            .unwrap();
        assert_eq!(s.azure.subscription_id.as_deref(), Some("cfg-sub"));
        assert_eq!(s.azure.client_id.as_deref(), Some("env-client"));
        assert_eq!(s.redhat.offline_token.as_deref(), Some("tok"));
        assert_eq!(s.azure.arm_endpoint, "https://management.azure.com");
        assert_eq!(s.redhat.api_url, DEFAULT_RH_API_URL);
        assert!(s.azure.use_cli && !s.azure.use_msi);
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let p = provider(&[
            ("ARM_SUBSCRIPTION_ID", "sub"),
            ("ARM_CLIENT_SECRET", "az-secret-value"),
            ("ARM_CLIENT_CERTIFICATE_PASSWORD", "pfx-password-value"),
            ("ARM_OIDC_TOKEN", "oidc-token-value"),
            ("RH_OFFLINE_TOKEN", "offline-token-value"),
            ("RH_CLIENT_SECRET", "rh-secret-value"),
        ]);
        let s = p.resolve(&config(&[])).unwrap();
        let shown = format!("{s:?} {s:#?}");
        for secret in [
            "az-secret-value",
            "pfx-password-value",
            "oidc-token-value",
            "offline-token-value",
            "rh-secret-value",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("[redacted]") && shown.contains("sub"),
            "{shown}"
        );
    }

    #[test]
    fn kubernetes_workload_identity_fills_oidc_settings() {
        let pod = [
            ("AZURE_CLIENT_ID", "pod-client"),
            ("AZURE_TENANT_ID", "pod-tenant"),
            (
                "AZURE_FEDERATED_TOKEN_FILE",
                "/var/run/secrets/azure/tokens/azure-identity-token",
            ),
        ];
        let with_oidc: Vec<(&str, &str)> = pod
            .iter()
            .copied()
            .chain([("ARM_USE_OIDC", "true")])
            .collect();
        let s = provider(&with_oidc).resolve(&config(&[])).unwrap().azure;
        assert_eq!(s.client_id.as_deref(), Some("pod-client"));
        assert_eq!(s.tenant_id.as_deref(), Some("pod-tenant"));
        assert_eq!(
            s.oidc_token_file_path.as_deref(),
            Some("/var/run/secrets/azure/tokens/azure-identity-token")
        );
        // ARM_* settings win; without use_oidc the pod's variables are not read.
        let mut explicit = with_oidc.clone();
        explicit.push(("ARM_CLIENT_ID", "arm-client"));
        let s = provider(&explicit).resolve(&config(&[])).unwrap().azure;
        assert_eq!(s.client_id.as_deref(), Some("arm-client"));
        let s = provider(&pod).resolve(&config(&[])).unwrap().azure;
        assert!(s.client_id.is_none() && s.oidc_token_file_path.is_none());
    }

    #[test]
    fn sovereign_clouds_and_overrides() {
        let s = provider(&[("ARM_ENVIRONMENT", "usgovernment")])
            .resolve(&Value::Null)
            .unwrap();
        assert_eq!(s.azure.arm_endpoint, "https://management.usgovcloudapi.net");
        let s = provider(&[("ARM_ENDPOINT", "http://127.0.0.1:8080/")])
            .resolve(&Value::Null)
            .unwrap();
        assert_eq!(s.azure.arm_endpoint, "http://127.0.0.1:8080");
    }

    #[test]
    fn bad_settings_are_diagnosed() {
        let e = provider(&[("ARM_ENVIRONMENT", "mars")])
            .resolve(&Value::Null)
            .unwrap_err();
        assert!(e.0[0].detail.contains("mars"));
        let e = provider(&[("RH_API_URL", "http://example.com")])
            .resolve(&Value::Null)
            .unwrap_err();
        assert!(e.0[0].detail.contains("https"), "{:?}", e);
        let e = provider(&[("ARM_USE_MSI", "maybe")])
            .resolve(&Value::Null)
            .unwrap_err();
        assert!(e.0[0].detail.contains("ARM_USE_MSI"));
    }

    #[test]
    fn unknown_values_are_flagged_not_guessed() {
        let s = provider(&[("ARM_SUBSCRIPTION_ID", "env")])
            .resolve(&config(&[("subscription_id", Value::unknown())]))
            .unwrap();
        assert!(s.partially_unknown);
        assert_eq!(s.azure.subscription_id, None);
    }
}
