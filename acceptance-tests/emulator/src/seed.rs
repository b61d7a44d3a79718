//! Seed data: tenants and service principals, subscriptions, locations, the
//! Red Hat account, the RHEL Marketplace catalogue and the demo network. Read
//! from `seed/seed.json` (built in) or a file given with `--seed`.

use serde::{Deserialize, Serialize};

pub const BUILTIN: &str = include_str!("../seed/seed.json");

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Seed {
    pub tenants: Vec<Tenant>,
    pub subscriptions: Vec<Subscription>,
    pub locations: Vec<String>,
    pub redhat: RedHat,
    pub catalog: Catalog,
    pub demo: Demo,
    /// GitHub Actions' OIDC token service (`ACTIONS_ID_TOKEN_REQUEST_*`).
    #[serde(default)]
    pub github_actions: Option<GitHubActions>,
    /// Azure DevOps' OIDC endpoint (`SYSTEM_OIDCREQUESTURI`).
    #[serde(default)]
    pub azure_devops: Option<AzureDevOps>,
}

/// The pipeline job and service connection the local cloud's Azure DevOps
/// OIDC endpoint speaks for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AzureDevOps {
    /// The job's `SYSTEM_ACCESSTOKEN`.
    pub request_token: String,
    /// The organization's id: tokens are issued by `https://vstoken.dev.azure.com/{id}`.
    pub organization_id: String,
    /// The Azure Resource Manager service connection (workload identity federation).
    pub service_connection_id: String,
    /// The `sub` claim: `sc://{organization}/{project}/{service connection name}`.
    pub subject: String,
}

/// The job the local cloud's GitHub Actions token service speaks for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GitHubActions {
    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN` of the job.
    pub request_token: String,
    /// The `sub` claim of the tokens it issues.
    pub subject: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub service_principals: Vec<ServicePrincipal>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServicePrincipal {
    pub client_id: String,
    pub client_secret: String,
    /// Federated identity credentials (OIDC workload identity federation).
    #[serde(default)]
    pub federated: Vec<Federated>,
    /// Certificates (PEM) whose keys may sign client assertions for it.
    #[serde(default)]
    pub certificates: Vec<String>,
    /// When set, this principal is also the managed identity of the host the
    /// provider runs on: `IDENTITY_HEADER` value of its App Service-style token
    /// endpoint, and an identity assigned to the virtual machine IMDS serves.
    #[serde(default)]
    pub managed_identity_header: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Federated {
    pub issuer: String,
    pub subject: String,
    pub audience: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub tenant_id: String,
    pub display_name: String,
    pub registered: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RedHat {
    pub org_id: String,
    pub account_number: String,
    pub offline_tokens: Vec<String>,
    pub service_accounts: Vec<ServicePrincipal>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Catalog {
    pub publisher: String,
    pub offers: Vec<Offer>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Offer {
    pub name: String,
    /// Private "gold image" offer: needs a plan, accepted terms and Cloud Access enrolment.
    #[serde(default)]
    pub byos: bool,
    pub skus: Vec<Sku>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sku {
    pub name: String,
    pub generation: String,
    pub architecture: String,
    /// The image's `SecurityType` feature; unset: Red Hat's x64 generation 2
    /// images support Trusted Launch, the others do not (Arm64 VMs have no
    /// Trusted Launch).
    #[serde(default)]
    pub security_type: Option<String>,
    pub versions: Vec<String>,
    /// version -> scheduled deprecation time
    #[serde(default)]
    pub deprecated: std::collections::BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Demo {
    pub subscription_id: String,
    pub resource_group: String,
    pub location: String,
    pub virtual_network: String,
    pub address_space: String,
    pub subnet: String,
    pub subnet_prefix: String,
}

impl Seed {
    pub fn builtin() -> Seed {
        serde_json::from_str(BUILTIN).expect("the built-in seed is valid")
    }

    pub fn load(path: &std::path::Path) -> Result<Seed, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn tenant_of_client(&self, client_id: &str) -> Option<(&Tenant, &ServicePrincipal)> {
        self.tenants.iter().find_map(|t| {
            t.service_principals
                .iter()
                .find(|sp| sp.client_id == client_id)
                .map(|sp| (t, sp))
        })
    }

    /// Every credential in the seed (masked in logs whatever field carries it).
    pub fn secrets(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .tenants
            .iter()
            .flat_map(|t| t.service_principals.iter().map(|s| s.client_secret.clone()))
            .collect();
        v.extend(self.redhat.offline_tokens.iter().cloned());
        v.extend(
            self.tenants
                .iter()
                .flat_map(|t| t.service_principals.iter())
                .filter_map(|s| s.managed_identity_header.clone()),
        );
        v.extend(self.github_actions.iter().map(|g| g.request_token.clone()));
        v.extend(self.azure_devops.iter().map(|a| a.request_token.clone()));
        v.extend(
            self.redhat
                .service_accounts
                .iter()
                .map(|s| s.client_secret.clone()),
        );
        // The storage account key ARM's listKeys hands out (Azurite's own).
        v.push(crate::azurite::AZURITE_KEY.to_string());
        v
    }

    pub fn subscription(&self, id: &str) -> Option<&Subscription> {
        self.subscriptions
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(id))
    }
}
