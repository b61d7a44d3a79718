//! The provider block: its schema (azurerm-compatible names and environment
//! variables, plus the `redhat` block) and how configuration plus environment
//! become the settings every resource call gets.
//!
//! Settings needed only by some resources (Red Hat credentials, say) are not
//! required here: the resource that needs them checks at plan time and names
//! the missing setting, so an ARM-only configuration needs no Red Hat account.

use crate::attr_name;
use async_trait::async_trait;

pub use crate::arm::settings::{AzureSettings, ProviderRegistrations};
use crate::framework::validators::one_of;
use crate::framework::{
    Attr, BlockDef, BlockNesting, Diagnostic, Diagnostics, ProviderDef, ResourceSchema, Value,
};
pub use crate::redhat::settings::RedHatSettings;

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
    /// The one HTTP client under both, also used directly for blob storage
    /// (uploads, container creation, blob deletes).
    pub http: reqwest::Client,
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

/// The provider block, typed: the names `resolve` and `validate` read are
/// its fields (`attr_name!`), and a test holds it to `provider_schema`. The
/// block itself is read as a value, since its settings may be unknown until
/// apply and fall back to environment variables one by one.
#[derive(Default, serde::Serialize)]
struct ProviderModel {
    subscription_id: Option<String>,
    tenant_id: Option<String>,
    client_id: Option<String>,
    client_id_file_path: Option<String>,
    client_secret: Option<String>,
    client_secret_file_path: Option<String>,
    client_certificate: Option<String>,
    client_certificate_path: Option<String>,
    client_certificate_password: Option<String>,
    use_oidc: Option<bool>,
    oidc_token: Option<String>,
    oidc_token_file_path: Option<String>,
    oidc_request_url: Option<String>,
    oidc_request_token: Option<String>,
    ado_pipeline_service_connection_id: Option<String>,
    use_aks_workload_identity: Option<bool>,
    use_msi: Option<bool>,
    use_cli: Option<bool>,
    environment: Option<String>,
    arm_endpoint: Option<String>,
    authority_host: Option<String>,
    resource_provider_registrations: Option<String>,
    skip_provider_registration: Option<bool>,
    auxiliary_tenant_ids: Option<Vec<String>>,
    redhat: Option<RedHatBlock>,
}

/// The provider's `redhat` block.
#[derive(Default, serde::Serialize)]
struct RedHatBlock {
    offline_token: Option<String>,
    offline_token_client_id: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    api_url: Option<String>,
    sso_url: Option<String>,
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
        // The block's value, else the first of `envs` that is set (azurerm
        // reads some settings from CI systems' own variables too).
        let mut s = |obj: &Value, attr: &str, envs: &[&str]| -> Option<String> {
            match obj.attr(attr) {
                Value::String(v) => Some(v.clone()),
                Value::Unknown(_) => {
                    unknown = true;
                    None
                }
                _ => envs.iter().find_map(|e| (self.env)(e)),
            }
        };
        let rh = config.attr(attr_name!(ProviderModel.redhat));
        let mut azure = AzureSettings {
            subscription_id: s(
                config,
                attr_name!(ProviderModel.subscription_id),
                &["ARM_SUBSCRIPTION_ID"],
            ),
            tenant_id: s(
                config,
                attr_name!(ProviderModel.tenant_id),
                &["ARM_TENANT_ID"],
            ),
            client_id: s(
                config,
                attr_name!(ProviderModel.client_id),
                &["ARM_CLIENT_ID"],
            ),
            client_secret: s(
                config,
                attr_name!(ProviderModel.client_secret),
                &["ARM_CLIENT_SECRET"],
            ),
            client_certificate_path: s(
                config,
                attr_name!(ProviderModel.client_certificate_path),
                &["ARM_CLIENT_CERTIFICATE_PATH"],
            ),
            client_certificate_password: s(
                config,
                attr_name!(ProviderModel.client_certificate_password),
                &["ARM_CLIENT_CERTIFICATE_PASSWORD"],
            ),
            oidc_token: s(
                config,
                attr_name!(ProviderModel.oidc_token),
                &["ARM_OIDC_TOKEN"],
            ),
            oidc_token_file_path: s(
                config,
                attr_name!(ProviderModel.oidc_token_file_path),
                &["ARM_OIDC_TOKEN_FILE_PATH"],
            ),
            client_certificate: s(
                config,
                attr_name!(ProviderModel.client_certificate),
                &["ARM_CLIENT_CERTIFICATE"],
            ),
            oidc_request_url: s(
                config,
                attr_name!(ProviderModel.oidc_request_url),
                &[
                    "ARM_OIDC_REQUEST_URL",
                    "ACTIONS_ID_TOKEN_REQUEST_URL",
                    "SYSTEM_OIDCREQUESTURI",
                ],
            ),
            oidc_request_token: s(
                config,
                attr_name!(ProviderModel.oidc_request_token),
                &[
                    "ARM_OIDC_REQUEST_TOKEN",
                    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                    "SYSTEM_ACCESSTOKEN",
                ],
            ),
            ado_pipeline_service_connection_id: s(
                config,
                attr_name!(ProviderModel.ado_pipeline_service_connection_id),
                &[
                    "ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID",
                    "ARM_OIDC_AZURE_SERVICE_CONNECTION_ID",
                ],
            ),
            ..Default::default()
        };
        let client_id_file_path = s(
            config,
            attr_name!(ProviderModel.client_id_file_path),
            &["ARM_CLIENT_ID_FILE_PATH"],
        );
        let client_secret_file_path = s(
            config,
            attr_name!(ProviderModel.client_secret_file_path),
            &["ARM_CLIENT_SECRET_FILE_PATH"],
        );
        let registrations = s(
            config,
            attr_name!(ProviderModel.resource_provider_registrations),
            &["ARM_RESOURCE_PROVIDER_REGISTRATIONS"],
        );
        let environment = s(
            config,
            attr_name!(ProviderModel.environment),
            &["ARM_ENVIRONMENT"],
        );
        let arm_endpoint = s(
            config,
            attr_name!(ProviderModel.arm_endpoint),
            &["ARM_ENDPOINT"],
        );
        let authority_host = s(
            config,
            attr_name!(ProviderModel.authority_host),
            &["ARM_AUTHORITY_HOST"],
        );
        let redhat = RedHatSettings {
            offline_token: s(
                rh,
                attr_name!(RedHatBlock.offline_token),
                &["RH_OFFLINE_TOKEN"],
            ),
            offline_token_client_id: s(
                rh,
                attr_name!(RedHatBlock.offline_token_client_id),
                &["RH_OFFLINE_TOKEN_CLIENT_ID"],
            ),
            client_id: s(rh, attr_name!(RedHatBlock.client_id), &["RH_CLIENT_ID"]),
            client_secret: s(
                rh,
                attr_name!(RedHatBlock.client_secret),
                &["RH_CLIENT_SECRET"],
            ),
            api_url: s(rh, attr_name!(RedHatBlock.api_url), &["RH_API_URL"])
                .unwrap_or_else(|| DEFAULT_RH_API_URL.into()),
            sso_url: s(rh, attr_name!(RedHatBlock.sso_url), &["RH_SSO_URL"])
                .unwrap_or_else(|| DEFAULT_RH_SSO_URL.into()),
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
        azure.use_oidc = flag(attr_name!(ProviderModel.use_oidc), "ARM_USE_OIDC", false);
        azure.use_msi = flag(attr_name!(ProviderModel.use_msi), "ARM_USE_MSI", false);
        azure.use_cli = flag(attr_name!(ProviderModel.use_cli), "ARM_USE_CLI", true);
        let use_aks = flag(
            attr_name!(ProviderModel.use_aks_workload_identity),
            "ARM_USE_AKS_WORKLOAD_IDENTITY",
            false,
        );
        let skip_registration = flag(
            attr_name!(ProviderModel.skip_provider_registration),
            "ARM_SKIP_PROVIDER_REGISTRATION",
            false,
        );
        // Kubernetes workload identity (AKS): its webhook sets AZURE_CLIENT_ID,
        // AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE in the pod; with
        // use_oidc (or azurerm's use_aks_workload_identity) they fill what the
        // ARM_* settings leave out.
        azure.use_oidc |= use_aks;
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

        // Secrets mounted as files (Kubernetes secrets, Docker secrets): the
        // setting itself wins over its file, as in azurerm.
        for (target, file, attr) in [
            (
                &mut azure.client_id,
                &client_id_file_path,
                "client_id_file_path",
            ),
            (
                &mut azure.client_secret,
                &client_secret_file_path,
                "client_secret_file_path",
            ),
        ] {
            let Some(path) = file.as_deref().filter(|_| target.is_none()) else {
                continue;
            };
            match std::fs::read_to_string(path) {
                Ok(text) if !text.trim().is_empty() => *target = Some(text.trim().to_string()),
                Ok(_) => diags.error_at(
                    crate::framework::AttributePath::attrs(&[attr]),
                    "Empty credential file",
                    format!("{attr} names {path}, which is empty."),
                ),
                Err(e) => diags.error_at(
                    crate::framework::AttributePath::attrs(&[attr]),
                    "Unreadable credential file",
                    format!("{attr} names {path}: {e}."),
                ),
            }
        }
        azure.resource_provider_registrations = match registrations.as_deref() {
            _ if skip_registration => ProviderRegistrations::None,
            None => ProviderRegistrations::OnDemand,
            Some("none") => ProviderRegistrations::None,
            Some("legacy" | "core" | "extended" | "all") => ProviderRegistrations::OnDemand,
            Some(other) => {
                diags.error_at(
                    crate::framework::AttributePath::attrs(&["resource_provider_registrations"]),
                    "Unknown resource_provider_registrations",
                    format!(
                        "resource_provider_registrations (or ARM_RESOURCE_PROVIDER_REGISTRATIONS) must be none, \
                         legacy, core, extended or all; got {other:?}."
                    ),
                );
                ProviderRegistrations::OnDemand
            }
        };

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
            env("client_id_file_path", "ARM_CLIENT_ID_FILE_PATH", "A file holding the client id (a mounted secret); `client_id` wins."),
            env("client_secret", "ARM_CLIENT_SECRET", "Service principal client secret.").sensitive(),
            env("client_secret_file_path", "ARM_CLIENT_SECRET_FILE_PATH", "A file holding the client secret (a mounted secret); `client_secret` wins."),
            env("client_certificate", "ARM_CLIENT_CERTIFICATE", "A base64-encoded PKCS#12 client certificate bundle (instead of a file).").sensitive(),
            env("client_certificate_path", "ARM_CLIENT_CERTIFICATE_PATH", "Path to a PFX/PEM client certificate."),
            env("client_certificate_password", "ARM_CLIENT_CERTIFICATE_PASSWORD", "Password of the client certificate.")
                .sensitive(),
            Attr::bool("use_oidc").optional().description("Authenticate with OIDC workload identity federation (GitHub Actions, a token or token file, or an AKS pod's `AZURE_FEDERATED_TOKEN_FILE`). Defaults to `ARM_USE_OIDC`."),
            env("oidc_token", "ARM_OIDC_TOKEN", "An OIDC token to exchange.").sensitive(),
            env("oidc_token_file_path", "ARM_OIDC_TOKEN_FILE_PATH", "A file holding the OIDC token."),
            env("oidc_request_url", "ARM_OIDC_REQUEST_URL", "Where a CI system hands out OIDC tokens; else `ACTIONS_ID_TOKEN_REQUEST_URL` (GitHub Actions) or `SYSTEM_OIDCREQUESTURI` (Azure DevOps)."),
            env("oidc_request_token", "ARM_OIDC_REQUEST_TOKEN", "The bearer token that asks `oidc_request_url`; else `ACTIONS_ID_TOKEN_REQUEST_TOKEN` or `SYSTEM_ACCESSTOKEN`.").sensitive(),
            env("ado_pipeline_service_connection_id", "ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID", "Azure DevOps: the Azure Resource Manager service connection (workload identity federation) the pipeline's OIDC token is for; also read from `ARM_OIDC_AZURE_SERVICE_CONNECTION_ID`."),
            Attr::bool("use_aks_workload_identity").optional().description("Authenticate as an AKS pod's workload identity (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE` from the pod). Defaults to `ARM_USE_AKS_WORKLOAD_IDENTITY`."),
            Attr::bool("use_msi").optional().description("Authenticate with a managed identity. Defaults to `ARM_USE_MSI`."),
            Attr::bool("use_cli").optional().description("Fall back to the Azure CLI's login. Defaults to `ARM_USE_CLI`, else true."),
            env("environment", "ARM_ENVIRONMENT", "Azure cloud: `public`, `usgovernment` or `china`.")
                .validate(one_of(&["public", "usgovernment", "china"])),
            env("arm_endpoint", "ARM_ENDPOINT", "Azure Resource Manager endpoint override (sovereign clouds, the local cloud)."),
            env("authority_host", "ARM_AUTHORITY_HOST", "Microsoft Entra authority host override."),
            env("resource_provider_registrations", "ARM_RESOURCE_PROVIDER_REGISTRATIONS", "`none`: never register resource providers (the principal may lack `*/register/action`; a call that needs one fails and names it). Any other azurerm value (`legacy`, `core`, `extended`, `all`) registers the one namespace a call needs, when it needs it.")
                .validate(one_of(&["none", "legacy", "core", "extended", "all"])),
            Attr::bool("skip_provider_registration").optional().description("Same as `resource_provider_registrations = \"none\"` (azurerm's older name). Defaults to `ARM_SKIP_PROVIDER_REGISTRATION`.")
                .deprecated("Use resource_provider_registrations = \"none\"."),
            Attr::string_list("auxiliary_tenant_ids").optional().description("Accepted for azurerm compatibility and ignored, with a warning: no resource of this provider acts across tenants. Defaults to `ARM_AUXILIARY_TENANT_IDS`."),
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
        if !config
            .attr(attr_name!(ProviderModel.auxiliary_tenant_ids))
            .is_null()
            || (self.env)("ARM_AUXILIARY_TENANT_IDS").is_some()
        {
            diags.push(Diagnostic::warning(
                "auxiliary_tenant_ids is ignored",
                "auxiliary_tenant_ids (ARM_AUXILIARY_TENANT_IDS) lets azurerm act in other tenants' resources; \
                 no resource of this provider does, so no auxiliary token is requested.",
            ));
        }
        let rh = config.attr(attr_name!(ProviderModel.redhat));
        let has = |v: &Value| !v.is_null();
        if has(rh.attr(attr_name!(RedHatBlock.client_id)))
            != has(rh.attr(attr_name!(RedHatBlock.client_secret)))
            && !rh.attr(attr_name!(RedHatBlock.client_id)).is_unknown()
            && !rh.attr(attr_name!(RedHatBlock.client_secret)).is_unknown()
        {
            diags.error_at(
                crate::attr_path!(ProviderModel.redhat),
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
        // them, so an ARM-only configuration needs no Red Hat account. One
        // HTTP client serves ARM, Entra, Red Hat and blob storage, sharing
        // its connection pool; its root certificates load on a thread of
        // their own (`http_client`), so configuring waits for none of it.
        let http = crate::http_client::build().map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Cannot build an HTTP client",
                e.to_string(),
            ))
        })?;
        let transport = azure_core::http::Transport::new(std::sync::Arc::new(http.clone()));
        let arm = crate::arm::ArmClient::new(&settings.azure, Some(transport))
            .map(std::sync::Arc::new)
            .map_err(|e| e.to_string());
        let redhat = crate::redhat::RedHatClient::new(&settings.redhat, Some(http.clone()))
            .map(std::sync::Arc::new)
            .map_err(|e| e.to_string());
        Ok(ProviderData {
            settings,
            terraform_version: terraform_version.to_string(),
            arm,
            redhat,
            http,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};

    #[test]
    fn the_provider_model_has_the_schemas_attributes() {
        use crate::framework::model::{mismatch, mismatch_at};
        assert_eq!(mismatch::<ProviderModel>(&provider_schema()), None);
        assert_eq!(
            mismatch_at::<RedHatBlock>(&provider_schema(), &["redhat"]),
            None
        );
    }

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
            ("ARM_OIDC_REQUEST_TOKEN", "oidc-request-token-value"),
            ("ARM_CLIENT_CERTIFICATE", "base64-certificate-value"),
            ("RH_OFFLINE_TOKEN", "offline-token-value"),
            ("RH_CLIENT_SECRET", "rh-secret-value"),
        ]);
        let s = p.resolve(&config(&[])).unwrap();
        let shown = format!("{s:?} {s:#?}");
        for secret in [
            "az-secret-value",
            "pfx-password-value",
            "oidc-token-value",
            "oidc-request-token-value",
            "base64-certificate-value",
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
    fn ci_systems_own_variables_fill_the_oidc_request() {
        let gha = [
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://gha/idtoken"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "gha-bearer"),
        ];
        let s = provider(&gha).resolve(&config(&[])).unwrap().azure;
        assert_eq!(s.oidc_request_url.as_deref(), Some("https://gha/idtoken"));
        assert_eq!(s.oidc_request_token.as_deref(), Some("gha-bearer"));
        // azurerm's ARM_* names win over the CI system's; Azure DevOps' are the last resort.
        let mut all = gha.to_vec();
        all.extend([
            ("ARM_OIDC_REQUEST_URL", "https://arm/url"),
            ("SYSTEM_OIDCREQUESTURI", "https://ado/oidctoken"),
            ("SYSTEM_ACCESSTOKEN", "ado-bearer"),
            ("ARM_OIDC_AZURE_SERVICE_CONNECTION_ID", "sc-id"),
        ]);
        let s = provider(&all).resolve(&config(&[])).unwrap().azure;
        assert_eq!(s.oidc_request_url.as_deref(), Some("https://arm/url"));
        assert_eq!(s.oidc_request_token.as_deref(), Some("gha-bearer"));
        assert_eq!(
            s.ado_pipeline_service_connection_id.as_deref(),
            Some("sc-id")
        );
        let s = provider(&[
            ("SYSTEM_OIDCREQUESTURI", "https://ado/oidctoken"),
            ("SYSTEM_ACCESSTOKEN", "ado-bearer"),
        ])
        .resolve(&config(&[]))
        .unwrap()
        .azure;
        assert_eq!(s.oidc_request_token.as_deref(), Some("ado-bearer"));
        // The AKS switch turns OIDC on.
        let s = provider(&[("ARM_USE_AKS_WORKLOAD_IDENTITY", "true")])
            .resolve(&config(&[]))
            .unwrap()
            .azure;
        assert!(s.use_oidc);
    }

    #[test]
    fn provider_registrations_follow_azurerm_values() {
        let reg = |env: &[(&str, &str)]| {
            provider(env)
                .resolve(&config(&[]))
                .map(|s| s.azure.resource_provider_registrations)
        };
        assert_eq!(reg(&[]).unwrap(), ProviderRegistrations::OnDemand);
        for v in ["legacy", "core", "extended", "all"] {
            assert_eq!(
                reg(&[("ARM_RESOURCE_PROVIDER_REGISTRATIONS", v)]).unwrap(),
                ProviderRegistrations::OnDemand
            );
        }
        assert_eq!(
            reg(&[("ARM_RESOURCE_PROVIDER_REGISTRATIONS", "none")]).unwrap(),
            ProviderRegistrations::None
        );
        assert_eq!(
            reg(&[("ARM_SKIP_PROVIDER_REGISTRATION", "true")]).unwrap(),
            ProviderRegistrations::None
        );
        let e = reg(&[("ARM_RESOURCE_PROVIDER_REGISTRATIONS", "some")]).unwrap_err();
        assert!(e.0[0].detail.contains("legacy"), "{e:?}");
    }

    #[test]
    fn credential_files_fill_what_the_settings_leave_out() {
        let dir = tempfile::tempdir().unwrap();
        let id = dir.path().join("id");
        std::fs::write(&id, "file-client\n").unwrap();
        let id = id.to_str().unwrap();
        let s = provider(&[("ARM_CLIENT_ID_FILE_PATH", id)])
            .resolve(&config(&[]))
            .unwrap()
            .azure;
        assert_eq!(s.client_id.as_deref(), Some("file-client"));
        let s = provider(&[("ARM_CLIENT_ID_FILE_PATH", id), ("ARM_CLIENT_ID", "set")])
            .resolve(&config(&[]))
            .unwrap()
            .azure;
        assert_eq!(s.client_id.as_deref(), Some("set"));
        let e = provider(&[("ARM_CLIENT_SECRET_FILE_PATH", "/nonexistent/secret")])
            .resolve(&config(&[]))
            .unwrap_err();
        assert!(e.0[0].detail.contains("client_secret_file_path"), "{e:?}");
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
