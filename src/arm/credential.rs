//! Azure credentials from `azure_identity`, chosen in the order users of
//! azurerm and the Azure CLI expect: client secret, client certificate,
//! OIDC / workload identity federation, managed identity, Azure CLI.

use std::sync::Arc;

use async_trait::async_trait;
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::http::{ClientMethodOptions, ClientOptions, Transport};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertion, ClientAssertionCredential,
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
};

use super::certificate::CertificateSource;
use super::settings::AzureSettings;
use super::ArmError;

/// What authenticates, for logs (never the secret itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    ClientSecret,
    ClientCertificate,
    Oidc,
    ManagedIdentity,
    AzureCli,
}

fn client_options(s: &AzureSettings, transport: Option<Transport>) -> ClientOptions {
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = s.authority_host.clone();
    ClientOptions {
        cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
        transport,
        ..Default::default()
    }
}

fn need<'a>(v: &'a Option<String>, what: &str, env: &str, why: &str) -> Result<&'a str, ArmError> {
    v.as_deref()
        .filter(|x| !x.is_empty())
        .ok_or_else(|| ArmError::Config(format!("{why} needs {what} (or {env}).")))
}

fn id_err(e: azure_core::Error) -> ArmError {
    ArmError::Auth(e.to_string())
}

/// An OIDC token to exchange: given directly, read from a file (refreshed each
/// time, as Kubernetes rotates it), or requested from the CI system running
/// the job (GitHub Actions, Azure DevOps).
#[derive(Debug)]
enum OidcSource {
    Token(Secret),
    File(String),
    GitHubActions {
        url: String,
        bearer: Secret,
    },
    AzureDevOps {
        url: String,
        bearer: Secret,
        service_connection_id: String,
    },
}

#[async_trait]
impl ClientAssertion for OidcSource {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        match self {
            OidcSource::Token(t) => Ok(t.secret().to_string()),
            OidcSource::File(p) => std::fs::read_to_string(p)
                .map(|s| s.trim().to_string())
                .map_err(|e| {
                    azure_core::Error::with_message(
                        azure_core::error::ErrorKind::Credential,
                        format!("reading the OIDC token file {p}: {e}"),
                    )
                }),
            OidcSource::GitHubActions { url, bearer } => {
                github_actions_token(url, bearer.secret()).await
            }
            OidcSource::AzureDevOps {
                url,
                bearer,
                service_connection_id,
            } => azure_devops_token(url, bearer.secret(), service_connection_id).await,
        }
    }
}

/// One request to a CI system's token service: status and body.
async fn send(req: &azure_core::http::Request) -> azure_core::Result<(u16, Vec<u8>)> {
    let resp = azure_core::http::new_http_client(None)
        .execute_request(req)
        .await?
        .try_into_raw_response()
        .await?;
    Ok((u16::from(resp.status()), resp.body().as_ref().to_vec()))
}

/// `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=api://AzureADTokenExchange`.
async fn github_actions_token(url: &str, bearer: &str) -> azure_core::Result<String> {
    use azure_core::http::{Method as M, Request, Url};
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = Url::parse(&format!(
        "{url}{sep}audience=api%3A%2F%2FAzureADTokenExchange"
    ))?;
    let mut req = Request::new(url, M::Get);
    req.insert_header("authorization", format!("Bearer {bearer}"));
    let (_, body) = send(&req).await?;
    /// GitHub's answer: `{"count": .., "value": JWT}`.
    #[derive(serde::Deserialize)]
    struct OidcAnswer {
        value: Option<String>,
    }
    let answer: OidcAnswer = serde_json::from_slice(&body)?;
    answer.value.ok_or_else(|| {
        azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            "GitHub Actions returned no OIDC token (does the job have `id-token: write`?)",
        )
    })
}

/// Azure DevOps' OIDC endpoint (`SYSTEM_OIDCREQUESTURI`): `POST
/// ...?api-version=7.1&serviceConnectionId=ID` with the job's
/// `SYSTEM_ACCESSTOKEN` answers `{"oidcToken": JWT}` for the service
/// connection's federated credential. Written here rather than using
/// azure_identity's `AzurePipelinesCredential` because that one reads the URL
/// only from `SYSTEM_OIDCREQUESTURI`, and azurerm pipelines may set
/// `ARM_OIDC_REQUEST_URL` instead.
async fn azure_devops_token(
    url: &str,
    bearer: &str,
    service_connection_id: &str,
) -> azure_core::Result<String> {
    use azure_core::http::{Method as M, Request, Url};
    let mut url = Url::parse(url)?;
    url.query_pairs_mut()
        .append_pair("api-version", "7.1")
        .append_pair("serviceConnectionId", service_connection_id);
    let mut req = Request::new(url, M::Post);
    req.insert_header("authorization", format!("Bearer {bearer}"));
    // Without it, a refused token is answered with a sign-in page's redirect.
    req.insert_header("x-tfs-fedauthredirect", "Suppress");
    req.insert_header("content-length", "0");
    let (status, body) = send(&req).await?;
    let refused = |why: String| {
        azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, why)
    };
    if status != 200 {
        return Err(refused(format!(
            "Azure DevOps' OIDC endpoint answered {status}: check ado_pipeline_service_connection_id \
             (ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID) and that SYSTEM_ACCESSTOKEN is mapped into the \
             step's environment"
        )));
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "oidcToken")]
        oidc_token: Option<String>,
    }
    let body: Answer = serde_json::from_slice(&body)?;
    body.oidc_token
        .ok_or_else(|| refused("Azure DevOps returned no oidcToken".into()))
}

/// The credential the settings describe, and which kind it is. `transport`
/// replaces the default HTTP client (tests that trust a private CA).
pub fn from_settings(
    s: &AzureSettings,
    transport: Option<Transport>,
) -> Result<(Arc<dyn TokenCredential>, Method), ArmError> {
    let opts = client_options(s, transport);
    if s.client_secret.is_some() {
        let why = "Authenticating with a client secret";
        let tenant = need(&s.tenant_id, "tenant_id", "ARM_TENANT_ID", why)?;
        let client = need(&s.client_id, "client_id", "ARM_CLIENT_ID", why)?;
        let secret = Secret::new(s.client_secret.clone().unwrap_or_default());
        let c = ClientSecretCredential::new(
            tenant,
            client.to_string(),
            secret,
            Some(ClientSecretCredentialOptions {
                client_options: opts,
            }),
        )
        .map_err(id_err)?;
        return Ok((c, Method::ClientSecret));
    }
    let certificate = match (&s.client_certificate_path, &s.client_certificate) {
        (Some(path), _) => Some(CertificateSource::Path(path)),
        (None, Some(_)) => Some(CertificateSource::Base64),
        (None, None) => None,
    };
    if let Some(source) = certificate {
        let why = "Authenticating with a client certificate";
        let tenant = need(&s.tenant_id, "tenant_id", "ARM_TENANT_ID", why)?;
        let client = need(&s.client_id, "client_id", "ARM_CLIENT_ID", why)?;
        let assertion = super::certificate::CertificateAssertion::load(
            source,
            s.client_certificate.as_deref(),
            s.client_certificate_password.as_deref(),
            tenant,
            client,
            &s.authority_host,
        )?;
        let c = ClientAssertionCredential::new(
            tenant.to_string(),
            client.to_string(),
            assertion,
            Some(ClientAssertionCredentialOptions {
                client_options: opts,
            }),
        )
        .map_err(id_err)?;
        return Ok((c, Method::ClientCertificate));
    }
    if s.use_oidc {
        let why = "OIDC authentication (use_oidc)";
        let tenant = need(&s.tenant_id, "tenant_id", "ARM_TENANT_ID", why)?;
        let client = need(&s.client_id, "client_id", "ARM_CLIENT_ID", why)?;
        let source = if let Some(t) = &s.oidc_token {
            OidcSource::Token(Secret::new(t.clone()))
        } else if let Some(p) = &s.oidc_token_file_path {
            OidcSource::File(p.clone())
        } else if let (Some(url), Some(bearer)) = (&s.oidc_request_url, &s.oidc_request_token) {
            let bearer = Secret::new(bearer.clone());
            match &s.ado_pipeline_service_connection_id {
                Some(connection) => OidcSource::AzureDevOps {
                    url: url.clone(),
                    bearer,
                    service_connection_id: connection.clone(),
                },
                None => OidcSource::GitHubActions {
                    url: url.clone(),
                    bearer,
                },
            }
        } else {
            return Err(ArmError::Config(
                "use_oidc is set but there is no token: set oidc_token (ARM_OIDC_TOKEN), oidc_token_file_path \
                 (ARM_OIDC_TOKEN_FILE_PATH), run in GitHub Actions with `id-token: write`, or in Azure DevOps \
                 with ado_pipeline_service_connection_id (ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID) and \
                 SYSTEM_ACCESSTOKEN mapped into the step's environment."
                    .into(),
            ));
        };
        let c = ClientAssertionCredential::new(
            tenant.to_string(),
            client.to_string(),
            source,
            Some(ClientAssertionCredentialOptions {
                client_options: opts,
            }),
        )
        .map_err(id_err)?;
        return Ok((c, Method::Oidc));
    }
    if s.use_msi {
        let o = ManagedIdentityCredentialOptions {
            user_assigned_id: s.client_id.clone().map(UserAssignedId::ClientId),
            client_options: opts,
        };
        return Ok((
            ManagedIdentityCredential::new(Some(o)).map_err(id_err)?,
            Method::ManagedIdentity,
        ));
    }
    if s.use_cli {
        // `az account get-access-token` refuses --tenant together with
        // --subscription. The tenant, when known, is what ARM checks the token
        // against (and works for subscriptions `az login` did not list); else
        // the subscription tells az which of its logins to use.
        let tenant_id = s.tenant_id.clone().filter(|t| !t.is_empty());
        let subscription = match tenant_id {
            Some(_) => None,
            None => s.subscription_id.clone().filter(|x| !x.is_empty()),
        };
        let o = AzureCliCredentialOptions {
            tenant_id,
            subscription,
            ..Default::default()
        };
        let cli = AzureCliCredential::new(Some(o)).map_err(id_err)?;
        return Ok((Arc::new(AzureCliFallback(cli)), Method::AzureCli));
    }
    Err(ArmError::Config(
        "No Azure credentials: set client_id and client_secret (ARM_CLIENT_ID, ARM_CLIENT_SECRET), use_oidc, use_msi, \
         or log in with the Azure CLI (use_cli, the default)."
            .into(),
    ))
}

/// The Azure CLI credential, whose errors also say why the CLI was asked: it
/// is the fallback, and a user who meant another credential needs to know
/// that none was configured.
#[derive(Debug)]
struct AzureCliFallback(Arc<AzureCliCredential>);

#[async_trait]
impl TokenCredential for AzureCliFallback {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.0.get_token(scopes, options).await.map_err(|e| {
            azure_core::Error::with_message(
                e.kind().clone(),
                format!(
                    "{e}\nThe provider asked the Azure CLI because none of client_secret, \
                     client_certificate_path, use_oidc or use_msi is set (nor ARM_CLIENT_SECRET, \
                     ARM_CLIENT_CERTIFICATE_PATH, ARM_USE_OIDC, ARM_USE_MSI): log in with `az login`, \
                     or configure one of those."
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AzureSettings {
        AzureSettings {
            tenant_id: Some("c0ffee00-0000-4000-a000-00000000e1a0".into()),
            client_id: Some("5e7ab1e0-0000-4000-a000-0000000000a1".into()),
            authority_host: "https://login.microsoftonline.com".into(),
            arm_endpoint: "https://management.azure.com".into(),
            use_cli: true,
            ..Default::default()
        }
    }

    #[test]
    fn chain_order() {
        let mut s = settings();
        s.client_secret = Some("x".into());
        s.use_oidc = true;
        assert_eq!(
            from_settings(&s, None).unwrap().1,
            Method::ClientSecret,
            "a secret wins"
        );
        s.client_secret = None;
        s.oidc_token = Some("eyJ".into());
        assert_eq!(from_settings(&s, None).unwrap().1, Method::Oidc);
        s.use_oidc = false;
        s.use_msi = true;
        assert_eq!(from_settings(&s, None).unwrap().1, Method::ManagedIdentity);
        s.use_msi = false;
        assert_eq!(from_settings(&s, None).unwrap().1, Method::AzureCli);
        s.use_cli = false;
        assert!(matches!(from_settings(&s, None), Err(ArmError::Config(_))));
    }

    #[test]
    fn missing_pieces_are_named() {
        let mut s = settings();
        s.client_secret = Some("x".into());
        s.tenant_id = None;
        let e = from_settings(&s, None).unwrap_err().to_string();
        assert!(e.contains("ARM_TENANT_ID"), "{e}");
        let mut s = settings();
        s.use_oidc = true;
        let e = from_settings(&s, None).unwrap_err().to_string();
        assert!(e.contains("ARM_OIDC_TOKEN"), "{e}");
    }
}
