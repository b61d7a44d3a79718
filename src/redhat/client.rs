//! `RedHatClient`: typed calls to RHSM v2 (activation keys), Sources v3.1
//! (Cloud Access enrolment) and Image Builder v1 (composes), each answering
//! errors in its own shape, which we turn into one typed error with the API's
//! own message. Calls follow the Red Hat retry rule ([`super::retry`]: hints
//! first, then backoff, within the caller's deadline); a 401 renews the token once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::models;
use super::models::image_builder::{
    AzureUploadStatus, ComposeRequest, ComposeResponse, ComposesResponse, DistributionItem,
};
use super::models::rhsm::{
    ActivationKeyBody, ActivationKeyList, ActivationKeys, AdditionalRepositories, CloudAccountList,
    CreateActivationKey, OrganizationBody, UpdateActivationKey,
};
use super::models::sources::{
    Application, ApplicationsCollection, AuthenticationReadExtra, AuthenticationReadExtraAzure,
    AuthenticationsCollection, BulkCreatePayload, BulkCreatePayloadApplications,
    BulkCreatePayloadAuthentications, BulkCreatePayloadAuthenticationsResourceType,
    BulkCreatePayloadSources, BulkCreatePayloadSourcesAppCreationWorkflow,
    BulkCreatePayloadSourcesSourceTypeName, BulkCreateResponse, Source, SourceEdit,
    SourceTypesCollection, SourcesCollection,
};
use super::retry::{retrying, Attempt};
use super::settings::RedHatSettings;
use super::token::TokenSource;
use crate::arm::policy::{retry_hint_from, retryable_status};
use erased::Body as _;

#[derive(Debug, thiserror::Error)]
pub enum RedHatError {
    #[error("{method} {path} answered {status}: {message}{}", request_id.as_ref().map(|r| format!(" (x-rh-insights-request-id: {r})")).unwrap_or_default())]
    Api {
        method: String,
        path: String,
        status: u16,
        message: String,
        /// The gateway's request id, for Red Hat support.
        request_id: Option<String>,
    },
    #[error("Red Hat authentication failed: {0}")]
    Auth(String),
    #[error("{what} failed: {message}")]
    Transport { what: String, message: String },
    #[error("{0}")]
    Config(String),
    #[error("Image Builder compose {id} failed: {reason}{}", details.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    ComposeFailed {
        id: String,
        reason: String,
        details: Option<String>,
    },
    #[error("{what} did not finish within the timeout ({waited_secs} s)")]
    Timeout { what: String, waited_secs: u64 },
    /// An answer that does not have the spec's shape.
    #[error("unexpected answer from {path}: {message}")]
    Decode { path: String, message: String },
}

impl RedHatError {
    pub fn status(&self) -> Option<u16> {
        match self {
            RedHatError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The status of a compose, as the provider needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ComposeStatus {
    /// pending, building, uploading, registering, success, failure
    pub status: String,
    pub image_name: Option<String>,
    pub error_reason: Option<String>,
    pub error_details: Option<String>,
}

/// A created compose.
#[derive(Debug, Clone, PartialEq)]
pub struct Compose {
    pub id: String,
}

/// RHSM v2 `OrgSimpleContentAccess`: the organization the credentials belong
/// to (`GET /organization`); `id` is a string there, a number in
/// registration settings. `CloudAccountListItem`: a cloud provider account of
/// the organization (an Azure subscription is `MSAZ` with its id) and its
/// gold image access (`Requested`, `Granted` or `Failed`).
pub use super::models::rhsm::{CloudAccountListItem as CloudAccount, OrgSimpleContentAccess};

pub struct RedHatClient {
    http: reqwest::Client,
    api: String,
    tokens: TokenSource,
}

impl std::fmt::Debug for RedHatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedHatClient")
            .field("api", &self.api)
            .finish()
    }
}

/// An error body in any of the three APIs' shapes: RHSM's
/// `{error: {message}}`, Sources' `{errors: [{status, detail}]}` and Image
/// Builder's `{errors: [{title, detail}]}`. Read leniently: an error body
/// that fits none still yields its text.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct ErrorBody {
    error: Option<RhsmError>,
    errors: Vec<ErrorItem>,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RhsmError {
    message: Option<String>,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct ErrorItem {
    title: Option<String>,
    detail: Option<String>,
}

/// The message of an error body in any of the three APIs' shapes.
fn error_message(body: &Json, text: &str) -> String {
    let body: ErrorBody = serde_json::from_value(body.clone()).unwrap_or_default();
    if let Some(m) = body.error.and_then(|e| e.message) {
        return m; // RHSM
    }
    let parts: Vec<String> = body
        .errors
        .into_iter()
        .filter_map(|e| e.detail.or(e.title))
        .collect();
    if !parts.is_empty() {
        return parts.join("; ");
    }
    text.chars().take(300).collect()
}

impl RedHatClient {
    /// `http` replaces the default HTTP client (tests that trust a private CA).
    pub fn new(
        s: &RedHatSettings,
        http: Option<reqwest::Client>,
    ) -> Result<RedHatClient, RedHatError> {
        let http = match http {
            Some(h) => h,
            None => reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(30))
                .build()
                .map_err(|e| RedHatError::Config(format!("cannot build an HTTP client: {e}")))?,
        };
        let tokens = TokenSource::new(s, http.clone())?;
        Ok(RedHatClient {
            http,
            api: s.api_url.trim_end_matches('/').to_string(),
            tokens,
        })
    }

    /// A fresh access token (for the ephemeral resource that hands one out).
    pub async fn access_token(&self, deadline: Instant) -> Result<String, RedHatError> {
        self.tokens.token(deadline).await
    }

    /// One call under the Red Hat retry rule, with one token renewal on 401.
    /// `Ok(None)` for 404 when `missing_ok`.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Json>,
        deadline: Instant,
        missing_ok: bool,
    ) -> Result<Option<Json>, RedHatError> {
        let url = format!("{}{path}", self.api);
        let what = format!("{method} {path}");
        let renewed = AtomicBool::new(false);
        retrying(&what, deadline, |retries| {
            let (method, url, what, renewed) = (method.clone(), &url, &what, &renewed);
            async move {
                let token = match self.tokens.token(deadline).await {
                    Ok(t) => t,
                    Err(e) => return Attempt::Done(Err(e)),
                };
                let mut req = self
                    .http
                    .request(method.clone(), url)
                    .bearer_auth(&token)
                    .header("accept", "application/json");
                if let Some(b) = body {
                    req = req
                        .header("content-type", "application/json")
                        .body(b.to_string());
                }
                let started = Instant::now();
                let resp = match req.send().await {
                    Ok(r) => r,
                    Err(e) => {
                        return Attempt::Transient {
                            error: RedHatError::Transport {
                                what: what.clone(),
                                message: e.without_url().to_string(),
                            },
                            hint: None,
                        }
                    }
                };
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let request_id = headers
                    .get("x-rh-insights-request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let text = resp.text().await.unwrap_or_default();
                tracing::debug!(target: "rhelazure.redhat", method = %method, path, status, duration_ms = started.elapsed().as_millis() as u64, attempt = retries + 1, request_id = request_id.as_deref().unwrap_or("-"), "Red Hat call");
                let j: Json = serde_json::from_str(&text).unwrap_or(Json::Null);
                if status == 401 && !renewed.swap(true, Ordering::Relaxed) {
                    self.tokens.invalidate().await;
                    return Attempt::Renewed;
                }
                if status == 404 && missing_ok {
                    return Attempt::Done(Ok(None));
                }
                if (200..300).contains(&status) {
                    return Attempt::Done(Ok(Some(j)));
                }
                let error = RedHatError::Api {
                    method: method.to_string(),
                    path: path.to_string(),
                    status,
                    message: error_message(&j, &text),
                    request_id,
                };
                if !retryable_status(status) {
                    return Attempt::Done(Err(error));
                }
                let hint = retry_hint_from(
                    |n| headers.get(n).and_then(|v| v.to_str().ok()),
                    text.as_bytes(),
                );
                Attempt::Transient { error, hint }
            }
        })
        .await
    }

    /// [`call`](Self::call) with the body written from a model and the answer
    /// read into one (`super::models`).
    async fn call_as<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&dyn erased::Body>,
        deadline: Instant,
        missing_ok: bool,
    ) -> Result<Option<T>, RedHatError> {
        let body = body.map(erased::Body::to_json);
        let Some(answer) = self
            .call(method, path, body.as_ref(), deadline, missing_ok)
            .await?
        else {
            return Ok(None);
        };
        serde_json::from_value(answer)
            .map(Some)
            .map_err(|e| RedHatError::Decode {
                path: path.into(),
                message: e.to_string(),
            })
    }

    // --- RHSM v2: the organization ----------------------------------------------

    /// The organization the credentials belong to (`checkOrgSCACapability`).
    pub async fn organization(
        &self,
        deadline: Instant,
    ) -> Result<OrgSimpleContentAccess, RedHatError> {
        let path = "/api/rhsm/v2/organization";
        self.call_as::<OrganizationBody>(reqwest::Method::GET, path, None, deadline, false)
            .await?
            .and_then(|a| a.body)
            .ok_or_else(|| RedHatError::Decode {
                path: path.into(),
                message: "no organization in the answer".into(),
            })
    }

    // --- RHSM v2: Cloud Access accounts ----------------------------------------

    /// The organization's Cloud Access record of one Azure subscription
    /// (`listCloudAccounts`, filtered by `MSAZ` and the id; the API matches
    /// ids partially, so the exact one is picked here). None when Red Hat
    /// knows no such account.
    pub async fn azure_cloud_account(
        &self,
        subscription_id: &str,
        deadline: Instant,
    ) -> Result<Option<CloudAccount>, RedHatError> {
        let path = format!(
            "/api/rhsm/v2/cloud_access_providers/accounts?shortName=MSAZ&providerAccountID={}",
            percent_encoding::utf8_percent_encode(
                subscription_id,
                percent_encoding::NON_ALPHANUMERIC
            )
        );
        let accounts = self
            .call_as::<CloudAccountList>(reqwest::Method::GET, &path, None, deadline, false)
            .await?
            .and_then(|a| a.body)
            .unwrap_or_default();
        Ok(accounts.into_iter().find(|a| {
            a.provider_account_id
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(subscription_id))
        }))
    }

    // --- RHSM v2: activation keys -------------------------------------------------

    /// The key, or None when the organization has none of that name.
    /// `showActivationKey` documents no 404, so a refusal of the show is not
    /// taken as absence: absence is confirmed the way the spec allows, by
    /// the list (`listActivationKeys`).
    pub async fn get_activation_key(
        &self,
        name: &str,
        deadline: Instant,
    ) -> Result<Option<ActivationKeys>, RedHatError> {
        let shown = self
            .call_as::<ActivationKeyBody>(
                reqwest::Method::GET,
                &format!("/api/rhsm/v2/activation_keys/{name}"),
                None,
                deadline,
                false,
            )
            .await;
        match shown {
            Ok(j) => Ok(j.and_then(|j| j.body)),
            Err(e) if matches!(e.status(), Some(400 | 404)) => {
                let listed = self.list_activation_keys(deadline).await?;
                if listed.iter().any(|k| k.name.as_deref() == Some(name)) {
                    Err(e)
                } else {
                    Ok(None)
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Every activation key of the organization (`listActivationKeys`; the
    /// API returns them all at once, without pages).
    pub async fn list_activation_keys(
        &self,
        deadline: Instant,
    ) -> Result<Vec<ActivationKeys>, RedHatError> {
        let answer = self
            .call_as::<ActivationKeyList>(
                reqwest::Method::GET,
                "/api/rhsm/v2/activation_keys",
                None,
                deadline,
                false,
            )
            .await?;
        Ok(answer.and_then(|a| a.body).unwrap_or_default())
    }

    pub async fn create_activation_key(
        &self,
        key: &CreateActivationKey,
        deadline: Instant,
    ) -> Result<ActivationKeys, RedHatError> {
        Ok(self
            .call_as::<ActivationKeyBody>(
                reqwest::Method::POST,
                "/api/rhsm/v2/activation_keys",
                Some(key),
                deadline,
                false,
            )
            .await?
            .and_then(|a| a.body)
            .unwrap_or_default())
    }

    /// PUT the mutable fields (description, releaseVersion, role, serviceLevel, usage).
    pub async fn update_activation_key(
        &self,
        name: &str,
        fields: &UpdateActivationKey,
        deadline: Instant,
    ) -> Result<ActivationKeys, RedHatError> {
        Ok(self
            .call_as::<ActivationKeyBody>(
                reqwest::Method::PUT,
                &format!("/api/rhsm/v2/activation_keys/{name}"),
                Some(fields),
                deadline,
                false,
            )
            .await?
            .and_then(|a| a.body)
            .unwrap_or_default())
    }

    /// Deletes the key; a key that is already gone is not an error.
    pub async fn delete_activation_key(
        &self,
        name: &str,
        deadline: Instant,
    ) -> Result<(), RedHatError> {
        self.call(
            reqwest::Method::DELETE,
            &format!("/api/rhsm/v2/activation_keys/{name}"),
            None,
            deadline,
            true,
        )
        .await
        .map(|_| ())
    }

    pub async fn add_repositories(
        &self,
        name: &str,
        labels: &[String],
        deadline: Instant,
    ) -> Result<(), RedHatError> {
        let body = repository_labels(labels).to_json();
        self.call(
            reqwest::Method::POST,
            &format!("/api/rhsm/v2/activation_keys/{name}/additional_repositories"),
            Some(&body),
            deadline,
            false,
        )
        .await
        .map(|_| ())
    }

    pub async fn remove_repositories(
        &self,
        name: &str,
        labels: &[String],
        deadline: Instant,
    ) -> Result<(), RedHatError> {
        let body = repository_labels(labels).to_json();
        self.call(
            reqwest::Method::DELETE,
            &format!("/api/rhsm/v2/activation_keys/{name}/additional_repositories"),
            Some(&body),
            deadline,
            false,
        )
        .await
        .map(|_| ())
    }

    // --- Sources v3.1: Cloud Access enrolment ---------------------------------------

    /// Enrols an Azure subscription in Cloud Access: an `azure` source with the
    /// RHEL management (`cloud-meter`) application and a
    /// `lighthouse_subscription_id` authentication, in one `bulk_create`. The
    /// tenant, when known, goes where the spec keeps it
    /// (`extra.azure.tenant_id`), so a later adoption can tell tenants apart.
    pub async fn enrol_azure_subscription(
        &self,
        source_name: &str,
        enrolment: &Enrolment,
        deadline: Instant,
    ) -> Result<Source, RedHatError> {
        const CLOUD_METER: &str = "/insights/platform/cloud-meter";
        let auth = BulkCreatePayloadAuthentications {
            resource_type: Some(BulkCreatePayloadAuthenticationsResourceType::Application),
            resource_name: Some(CLOUD_METER.into()),
            authtype: Some("lighthouse_subscription_id".into()),
            username: Some(enrolment.subscription_id.clone()),
            // Free-form in the payload's schema; written as the spec reads it
            // back (`AuthenticationRead.extra.azure.tenant_id`).
            extra: enrolment.tenant_id.as_ref().map(|t| {
                AuthenticationReadExtra {
                    azure: Some(AuthenticationReadExtraAzure {
                        tenant_id: Some(t.clone()),
                    }),
                    ..Default::default()
                }
                .to_json()
            }),
            ..Default::default()
        };
        let body = BulkCreatePayload {
            sources: Some(vec![BulkCreatePayloadSources {
                name: Some(source_name.into()),
                source_type_name: Some(BulkCreatePayloadSourcesSourceTypeName::Azure),
                app_creation_workflow: Some(
                    BulkCreatePayloadSourcesAppCreationWorkflow::ManualConfiguration,
                ),
                ..Default::default()
            }]),
            applications: Some(vec![BulkCreatePayloadApplications {
                source_name: Some(source_name.into()),
                application_type_name: Some(CLOUD_METER.into()),
                ..Default::default()
            }]),
            authentications: Some(vec![auth]),
            ..Default::default()
        };
        let created = self
            .call_as::<BulkCreateResponse>(
                reqwest::Method::POST,
                "/api/sources/v3.1/bulk_create",
                Some(&body),
                deadline,
                false,
            )
            .await?;
        Ok(created
            .and_then(|c| c.sources?.into_iter().next())
            .unwrap_or_default())
    }

    /// The ids of the organization's `azure` sources (Cloud Access
    /// enrolments), following the Sources API's limit / offset pages.
    pub async fn azure_source_ids(&self, deadline: Instant) -> Result<Vec<String>, RedHatError> {
        const PAGE: usize = 100;
        let types = self
            .call_as::<SourceTypesCollection>(
                reqwest::Method::GET,
                "/api/sources/v3.1/source_types?limit=100",
                None,
                deadline,
                false,
            )
            .await?
            .unwrap_or_default();
        let azure = types
            .data
            .into_iter()
            .flatten()
            .find(|t| t.name.as_deref() == Some("azure"))
            .and_then(|t| t.id);
        let Some(azure) = azure else {
            return Ok(Vec::new());
        };
        let mut ids = Vec::new();
        let mut offset = 0;
        loop {
            let page = self
                .call_as::<SourcesCollection>(
                    reqwest::Method::GET,
                    &format!("/api/sources/v3.1/sources?limit={PAGE}&offset={offset}"),
                    None,
                    deadline,
                    false,
                )
                .await?
                .unwrap_or_default();
            let data = page.data.unwrap_or_default();
            ids.extend(
                data.iter()
                    .filter(|s| s.source_type_id.as_ref() == Some(&azure))
                    .filter_map(|s| s.id.clone()),
            );
            offset += PAGE;
            let count = page.meta.and_then(|m| m.count).unwrap_or(0);
            let count = usize::try_from(count).unwrap_or(0);
            if data.is_empty() || offset >= count {
                return Ok(ids);
            }
        }
    }

    pub async fn find_source(
        &self,
        name: &str,
        deadline: Instant,
    ) -> Result<Option<Source>, RedHatError> {
        // Names may hold any character (`&`, `+`, `#`, `%` included): the
        // value is encoded as a query component, never pasted raw.
        let path = format!(
            "/api/sources/v3.1/sources?filter[name]={}",
            percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC)
        );
        let found = self
            .call_as::<SourcesCollection>(reqwest::Method::GET, &path, None, deadline, false)
            .await?;
        Ok(found.and_then(|f| f.data?.into_iter().next()))
    }

    pub async fn get_source(
        &self,
        id: &str,
        deadline: Instant,
    ) -> Result<Option<Source>, RedHatError> {
        self.call_as(
            reqwest::Method::GET,
            &format!("/api/sources/v3.1/sources/{id}"),
            None,
            deadline,
            true,
        )
        .await
    }

    pub async fn source_applications(
        &self,
        id: &str,
        deadline: Instant,
    ) -> Result<Vec<Application>, RedHatError> {
        let apps = self
            .call_as::<ApplicationsCollection>(
                reqwest::Method::GET,
                &format!("/api/sources/v3.1/sources/{id}/applications"),
                None,
                deadline,
                true,
            )
            .await?;
        Ok(apps.and_then(|a| a.data).unwrap_or_default())
    }

    /// The Azure subscription (and tenant, where recorded) a source enrols:
    /// its `lighthouse_subscription_id` authentication. None when the source
    /// has no such authentication (it is not a Cloud Access enrolment).
    pub async fn source_enrolment(
        &self,
        id: &str,
        deadline: Instant,
    ) -> Result<Option<Enrolment>, RedHatError> {
        let auths = self
            .call_as::<AuthenticationsCollection>(
                reqwest::Method::GET,
                &format!("/api/sources/v3.1/sources/{id}/authentications"),
                None,
                deadline,
                true,
            )
            .await?
            .and_then(|a| a.data)
            .unwrap_or_default();
        Ok(auths
            .into_iter()
            .find(|a| a.authtype.as_deref() == Some("lighthouse_subscription_id"))
            .and_then(|a| {
                Some(Enrolment {
                    subscription_id: a.username?,
                    tenant_id: a
                        .extra
                        .and_then(|e| e.azure?.tenant_id)
                        .filter(|t| !t.is_empty()),
                })
            }))
    }

    pub async fn rename_source(
        &self,
        id: &str,
        name: &str,
        deadline: Instant,
    ) -> Result<Source, RedHatError> {
        let edit = SourceEdit {
            name: Some(name.into()),
            ..Default::default()
        };
        Ok(self
            .call_as(
                reqwest::Method::PATCH,
                &format!("/api/sources/v3.1/sources/{id}"),
                Some(&edit),
                deadline,
                false,
            )
            .await?
            .unwrap_or_default())
    }

    pub async fn delete_source(&self, id: &str, deadline: Instant) -> Result<(), RedHatError> {
        self.call(
            reqwest::Method::DELETE,
            &format!("/api/sources/v3.1/sources/{id}"),
            None,
            deadline,
            true,
        )
        .await
        .map(|_| ())
    }

    // --- Image Builder v1 ---------------------------------------------------------

    /// The names of the distributions this account may build (`getDistributions`,
    /// classic kind): the spec's enum narrowed to what the account has access to.
    pub async fn distributions(&self, deadline: Instant) -> Result<Vec<String>, RedHatError> {
        let items = self
            .call_as::<Vec<DistributionItem>>(
                reqwest::Method::GET,
                "/api/image-builder/v1/distributions",
                None,
                deadline,
                false,
            )
            .await?
            .unwrap_or_default();
        Ok(items.into_iter().filter_map(|d| d.name).collect())
    }

    pub async fn compose(
        &self,
        request: &ComposeRequest,
        deadline: Instant,
    ) -> Result<Compose, RedHatError> {
        let created = self
            .call_as::<ComposeResponse>(
                reqwest::Method::POST,
                "/api/image-builder/v1/compose",
                Some(request),
                deadline,
                false,
            )
            .await?;
        let id = created.and_then(|c| c.id).ok_or_else(|| {
            RedHatError::Config("Image Builder answered without a compose id".into())
        })?;
        Ok(Compose { id })
    }

    pub async fn compose_status(
        &self,
        id: &str,
        deadline: Instant,
    ) -> Result<Option<ComposeStatus>, RedHatError> {
        let Some(status) = self
            .call_as::<models::image_builder::ComposeStatus>(
                reqwest::Method::GET,
                &format!("/api/image-builder/v1/composes/{id}"),
                None,
                deadline,
                true,
            )
            .await?
        else {
            return Ok(None);
        };
        let s = status.image_status.unwrap_or_default();
        // `options` is one of several upload targets in the spec: ours is Azure.
        let uploaded = s
            .upload_status
            .and_then(|u| u.options)
            .and_then(|o| serde_json::from_value::<AzureUploadStatus>(o).ok());
        let error = s.error.unwrap_or_default();
        Ok(Some(ComposeStatus {
            status: s
                .status
                .map_or("pending".to_string(), |s| s.as_str().to_string()),
            image_name: uploaded.and_then(|u| u.image_name),
            error_reason: error.reason,
            error_details: match error.details {
                None | Some(Json::Null) => None,
                Some(Json::String(d)) => Some(d),
                Some(other) => Some(other.to_string()),
            },
        }))
    }

    /// The most recent composes (one page of 100: enough to find the one an
    /// interrupted create just started): `(id, request)` pairs.
    pub async fn recent_composes(
        &self,
        deadline: Instant,
    ) -> Result<Vec<(String, ComposeRequest)>, RedHatError> {
        let listed = self
            .call_as::<ComposesResponse>(
                reqwest::Method::GET,
                "/api/image-builder/v1/composes?limit=100&offset=0",
                None,
                deadline,
                false,
            )
            .await?
            .and_then(|l| l.data)
            .unwrap_or_default();
        Ok(listed
            .into_iter()
            .filter_map(|c| Some((c.id?, c.request.unwrap_or_default())))
            .collect())
    }

    /// The request a compose was made with (import).
    pub async fn compose_request(
        &self,
        id: &str,
        deadline: Instant,
    ) -> Result<Option<ComposeRequest>, RedHatError> {
        Ok(self
            .call_as::<models::image_builder::ComposeStatus>(
                reqwest::Method::GET,
                &format!("/api/image-builder/v1/composes/{id}"),
                None,
                deadline,
                true,
            )
            .await?
            .and_then(|s| s.request))
    }

    /// Polls until the compose succeeds (its image is then in Azure) or fails
    /// (the service's reason, verbatim), logging progress at least every 30 s.
    pub async fn wait_compose(
        &self,
        id: &str,
        deadline: Instant,
    ) -> Result<ComposeStatus, RedHatError> {
        let started = Instant::now();
        let mut last_log = Instant::now();
        let mut wait = Duration::from_millis(200);
        loop {
            let s = self
                .compose_status(id, deadline)
                .await?
                .ok_or_else(|| RedHatError::Api {
                    method: "GET".into(),
                    path: format!("/api/image-builder/v1/composes/{id}"),
                    status: 404,
                    message: "the compose disappeared".into(),
                    request_id: None,
                })?;
            match s.status.as_str() {
                "success" => return Ok(s),
                "failure" => {
                    return Err(RedHatError::ComposeFailed {
                        id: id.to_string(),
                        reason: s.error_reason.unwrap_or_else(|| "no reason given".into()),
                        details: s.error_details,
                    })
                }
                phase => {
                    if last_log.elapsed() >= Duration::from_secs(30) {
                        tracing::info!(target: "rhelazure.redhat", compose = id, phase, elapsed_s = started.elapsed().as_secs(), "Image Builder compose still running");
                        last_log = Instant::now();
                    }
                }
            }
            if Instant::now() + wait > deadline {
                return Err(RedHatError::Timeout {
                    what: format!("Image Builder compose {id}"),
                    waited_secs: started.elapsed().as_secs(),
                });
            }
            tokio::time::sleep(wait).await;
            // Composes take minutes in real life: back off to 15 s between polls.
            wait = (wait * 2).min(Duration::from_secs(15));
        }
    }
}

/// The RHSM body naming additional repositories (add and remove take the same).
fn repository_labels(labels: &[String]) -> Vec<AdditionalRepositories> {
    labels
        .iter()
        .map(|l| AdditionalRepositories {
            repository_label: Some(l.clone()),
        })
        .collect()
}

/// Request bodies as trait objects, so [`RedHatClient::call_as`] takes
/// `None` without naming a type.
mod erased {
    pub trait Body: Sync {
        fn to_json(&self) -> serde_json::Value;
    }

    impl<T: serde::Serialize + Sync> Body for T {
        fn to_json(&self) -> serde_json::Value {
            // Models of string-keyed objects always serialize.
            serde_json::to_value(self).unwrap_or_default()
        }
    }
}

/// What a Cloud Access source enrols: an Azure subscription and, where it
/// was recorded, its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub subscription_id: String,
    pub tenant_id: Option<String>,
}

impl Enrolment {
    /// Whether `other` names the same enrolment: subscription ids compare
    /// without case (they are GUIDs); tenants only when both are known, since
    /// an enrolment made elsewhere may not have recorded one.
    pub fn same_as(&self, other: &Enrolment) -> bool {
        self.subscription_id
            .eq_ignore_ascii_case(&other.subscription_id)
            && match (&self.tenant_id, &other.tenant_id) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => true,
            }
    }
}

#[cfg(test)]
mod enrolment_tests {
    use super::Enrolment;

    fn e(sub: &str, tenant: Option<&str>) -> Enrolment {
        Enrolment {
            subscription_id: sub.into(),
            tenant_id: tenant.map(Into::into),
        }
    }

    #[test]
    fn an_enrolment_is_the_same_only_for_the_same_subscription_and_tenant() {
        let ours = e("AAAA-1", Some("T1"));
        assert!(
            ours.same_as(&e("aaaa-1", Some("t1"))),
            "GUIDs compare without case"
        );
        assert!(
            ours.same_as(&e("aaaa-1", None)),
            "a source that recorded no tenant"
        );
        assert!(
            e("aaaa-1", None).same_as(&ours),
            "a provider that knows no tenant"
        );
        assert!(
            !ours.same_as(&e("aaaa-2", Some("T1"))),
            "another subscription"
        );
        assert!(!ours.same_as(&e("aaaa-1", Some("T2"))), "another tenant");
    }
}
