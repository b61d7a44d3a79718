//! `ArmClient`: the only way the provider talks to Azure Resource Manager.
//! Every call goes through one azure_core pipeline (call log, throttle,
//! retries, client request id, bearer token), answers become typed errors,
//! `MissingSubscriptionRegistration` registers that one namespace and retries,
//! and long-running operations are polled by [`Operation::wait`].

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use azure_core::credentials::TokenCredential;
use azure_core::http::headers::{HeaderName, Headers};
use azure_core::http::policies::auth::BearerTokenAuthorizationPolicy;
use azure_core::http::policies::Policy;
use azure_core::http::{
    ClientOptions, Context, Method, Pipeline, PipelineSendOptions, Request, RetryOptions,
    Transport, Url,
};
use serde_json::Value as Json;

use super::error::{ApiError, ArmError, OperationError};
use super::models::common::{ErrorResponse, OperationStatusResult};
use super::models::resources::Provider;
use super::policy::{Attempts, CallLog, Deadline, Retry, Throttle};
use super::settings::{AzureSettings, ProviderRegistrations};
use serde::Deserialize as _;

/// api-version of Microsoft.Resources (providers, resource groups).
pub const RESOURCES_API: &str = "2024-03-01";

/// A plain answer: status, headers, body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
    pub client_request_id: String,
}

impl Answer {
    pub fn header(&self, name: &'static str) -> Option<&str> {
        self.headers
            .get_optional_str(&HeaderName::from_static(name))
    }
    pub fn json(&self) -> Option<Json> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Cheap to clone: clones share the pipeline (and so the token cache), the
/// retry and throttle policies and what has been registered.
#[derive(Clone)]
pub struct ArmClient {
    pipeline: Pipeline,
    endpoint: String,
    subscription: String,
    pub retry: Arc<Retry>,
    pub throttle: Arc<Throttle>,
    /// `subscription/namespace`, lower case: resource providers known registered.
    registered: Arc<Mutex<HashSet<String>>>,
    /// Whether a missing registration is made (the default) or reported.
    registrations: ProviderRegistrations,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient")
            .field("endpoint", &self.endpoint)
            .field("subscription", &self.subscription)
            .finish()
    }
}

fn guid() -> String {
    let mut b = [0u8; 16];
    let _ = aws_lc_rs::rand::fill(&mut b);
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// One page of any ARM list. Every list has its own `*ListResult` in the
/// specs, all of this shape (`value`, `nextLink`); the pager is generic, so
/// its items stay JSON until the caller reads them as its model.
#[derive(serde::Deserialize)]
struct ListPage {
    #[serde(default)]
    value: Vec<Json>,
    #[serde(rename = "nextLink", default)]
    next_link: Option<String>,
}

impl ArmClient {
    /// A client for the settings' endpoint, subscription and credential chain.
    /// `transport` replaces the default HTTP client (the provider passes the
    /// one it shares with the Red Hat client).
    pub fn new(s: &AzureSettings, transport: Option<Transport>) -> Result<ArmClient, ArmError> {
        let sub = s.subscription_id.clone().filter(|x| !x.is_empty()).ok_or_else(|| {
            ArmError::Config("No Azure subscription: set subscription_id in the provider block or ARM_SUBSCRIPTION_ID.".into())
        })?;
        let (credential, method) = super::credential::from_settings(s, transport.clone())?;
        tracing::debug!(target: "rhelazure.arm", method = ?method, endpoint = %s.arm_endpoint, "Azure credential chosen");
        Ok(ArmClient {
            registrations: s.resource_provider_registrations,
            ..Self::with_credential(&s.arm_endpoint, &sub, credential, transport)
        })
    }

    /// A client with an explicit credential and, optionally, transport (tests).
    pub fn with_credential(
        endpoint: &str,
        subscription: &str,
        credential: Arc<dyn TokenCredential>,
        transport: Option<Transport>,
    ) -> ArmClient {
        let retry = Arc::new(Retry::default());
        let throttle = Arc::new(Throttle::default());
        // Tokens for the ARM audience; sovereign and local endpoints accept it as Azure does.
        let scope = if endpoint.contains("management.usgovcloudapi.net") {
            "https://management.usgovcloudapi.net/.default".to_string()
        } else if endpoint.contains("management.chinacloudapi.cn") {
            "https://management.chinacloudapi.cn/.default".to_string()
        } else {
            "https://management.azure.com/.default".to_string()
        };
        // Our Retry policy replaces azure_core's: it honours ARM's hints and the caller's deadline.
        let options = ClientOptions {
            retry: RetryOptions::none(),
            transport,
            ..Default::default()
        };
        let per_call: Vec<Arc<dyn Policy>> =
            vec![Arc::new(CallLog), throttle.clone(), retry.clone()];
        let per_try: Vec<Arc<dyn Policy>> = vec![Arc::new(BearerTokenAuthorizationPolicy::new(
            credential,
            [scope],
        ))];
        let pipeline = Pipeline::new(
            Some("terraform-provider-rhelazure"),
            Some(env!("CARGO_PKG_VERSION")),
            options,
            per_call,
            per_try,
            None,
        );
        ArmClient {
            pipeline,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            subscription: subscription.to_string(),
            retry,
            throttle,
            registered: Arc::new(Mutex::new(HashSet::new())),
            registrations: ProviderRegistrations::OnDemand,
        }
    }

    pub fn subscription_id(&self) -> &str {
        &self.subscription
    }

    /// The same client acting in another subscription of the same tenant
    /// (`sub_path`, registration and catalogue calls go there).
    pub fn in_subscription(&self, subscription: &str) -> ArmClient {
        ArmClient {
            subscription: subscription.to_string(),
            ..self.clone()
        }
    }

    /// `/subscriptions/{sub}` + `rest`.
    pub fn sub_path(&self, rest: &str) -> String {
        format!("/subscriptions/{}{rest}", self.subscription)
    }

    fn url(&self, path: &str, api_version: Option<&str>) -> Result<Url, ArmError> {
        let full = if path.starts_with("https://") || path.starts_with("http://") {
            // nextLink and operation URLs come from ARM already encoded.
            path.to_string()
        } else {
            format!("{}{}", self.endpoint, encode_path(path))
        };
        let full = match api_version {
            Some(v) => format!(
                "{full}{}api-version={v}",
                if full.contains('?') { '&' } else { '?' }
            ),
            None => full,
        };
        Url::parse(&full).map_err(|e| ArmError::Config(format!("bad URL {full}: {e}")))
    }

    /// One call (retries, throttling and auth included). Error statuses become
    /// [`ArmError::Api`]; `MissingSubscriptionRegistration` registers and retries once.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        api_version: Option<&str>,
        body: Option<&Json>,
        deadline: Instant,
    ) -> Result<Answer, ArmError> {
        let answer = self
            .call_once(method, path, api_version, body, deadline)
            .await?;
        if answer.status < 400 {
            return Ok(answer);
        }
        let err = api_error(&method, path, &answer);
        if err.code == "MissingSubscriptionRegistration" {
            if self.registrations == ProviderRegistrations::None {
                let mut err = err;
                let ns = err.target.clone().or_else(|| namespace_in(path));
                err.message = format!(
                    "{} The provider does not register resource providers because \
                     resource_provider_registrations is \"none\" (or skip_provider_registration is set): \
                     register it once with `az provider register --namespace {}` (or set \
                     resource_provider_registrations to another value).",
                    err.message,
                    ns.as_deref().unwrap_or("<namespace>")
                );
                return Err(ArmError::Api(Box::new(err)));
            }
            if let Some(ns) = err.target.clone().or_else(|| namespace_in(path)) {
                // Register where the call went, which need not be this client's subscription.
                let there = subscription_in(path)
                    .map(|sub| self.in_subscription(&sub))
                    .unwrap_or_else(|| self.clone());
                there.register(&ns, deadline).await?;
                let again = self
                    .call_once(method, path, api_version, body, deadline)
                    .await?;
                if again.status < 400 {
                    return Ok(again);
                }
                return Err(ArmError::Api(Box::new(api_error(&method, path, &again))));
            }
        }
        Err(ArmError::Api(Box::new(err)))
    }

    async fn call_once(
        &self,
        method: Method,
        path: &str,
        api_version: Option<&str>,
        body: Option<&Json>,
        deadline: Instant,
    ) -> Result<Answer, ArmError> {
        let url = self.url(path, api_version)?;
        let mut req = Request::new(url, method);
        let client_request_id = guid();
        req.insert_header("x-ms-client-request-id", client_request_id.clone());
        req.insert_header("accept", "application/json");
        if let Some(b) = body {
            req.insert_header("content-type", "application/json");
            req.set_body(serde_json::to_vec(b).unwrap_or_default());
        }
        let ctx = Context::new()
            .with_value(Deadline(deadline))
            .with_value(Attempts::default());
        let opts = PipelineSendOptions {
            skip_checks: true,
            ..Default::default()
        };
        let resp = self
            .pipeline
            .send(&ctx, &mut req, Some(opts))
            .await
            .map_err(|e| match e.kind() {
                azure_core::error::ErrorKind::Credential => ArmError::Auth(e.to_string()),
                _ => ArmError::Transport {
                    method: method.to_string(),
                    path: path.to_string(),
                    message: format!("{e} (x-ms-client-request-id: {client_request_id})"),
                },
            })?;
        let status = u16::from(resp.status());
        let (_, headers, body) = resp.deconstruct();
        Ok(Answer {
            status,
            headers,
            body: body.as_ref().to_vec(),
            client_request_id,
        })
    }

    /// Registers a resource provider namespace and waits until it is registered.
    pub async fn register(&self, namespace: &str, deadline: Instant) -> Result<(), ArmError> {
        let key = format!("{}/{namespace}", self.subscription).to_ascii_lowercase();
        if self
            .registered
            .lock()
            .map(|r| r.contains(&key))
            .unwrap_or(false)
        {
            return Ok(());
        }
        tracing::info!(target: "rhelazure.arm", namespace, "registering the resource provider in the subscription");
        let path = self.sub_path(&format!("/providers/{namespace}"));
        self.call_once(
            Method::Post,
            &format!("{path}/register"),
            Some(RESOURCES_API),
            None,
            deadline,
        )
        .await?;
        loop {
            let a = self
                .call_once(Method::Get, &path, Some(RESOURCES_API), None, deadline)
                .await?;
            let provider = serde_json::from_slice::<Provider>(&a.body).unwrap_or_default();
            if provider.registration_state.as_deref() == Some("Registered") {
                if let Ok(mut r) = self.registered.lock() {
                    r.insert(key);
                }
                return Ok(());
            }
            if Instant::now() + Duration::from_secs(1) > deadline {
                return Err(ArmError::Timeout {
                    what: format!("Registration of {namespace}"),
                    waited_secs: 0,
                });
            }
            tokio::time::sleep(poll_interval(&a)).await;
        }
    }

    /// GET as JSON; `None` when the object does not exist (404).
    pub async fn get(
        &self,
        path: &str,
        api_version: &str,
        deadline: Instant,
    ) -> Result<Option<Json>, ArmError> {
        match self
            .call(Method::Get, path, Some(api_version), None, deadline)
            .await
        {
            Ok(a) => a.json().map(Some).ok_or_else(|| ArmError::Decode {
                path: path.into(),
                message: "not JSON".into(),
            }),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// GET into a typed model (`crate::arm::models`); `None` on 404.
    pub async fn get_as<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        api_version: &str,
        deadline: Instant,
    ) -> Result<Option<T>, ArmError> {
        let Some(j) = self.get(path, api_version, deadline).await? else {
            return Ok(None);
        };
        serde_json::from_value(j)
            .map(Some)
            .map_err(|e| ArmError::Decode {
                path: path.into(),
                message: e.to_string(),
            })
    }

    /// One page of a list (`path` with its query, `api_version` added):
    /// its items and the `nextLink` of the next page, if any. ARM pages every
    /// list and says nothing of page sizes, so callers follow `nextLink` to
    /// the end (or until they have enough) with [`ArmClient::next_page`].
    pub async fn first_page(
        &self,
        path: &str,
        api_version: &str,
        deadline: Instant,
    ) -> Result<(Vec<Json>, Option<String>), ArmError> {
        self.page(path, Some(api_version), deadline).await
    }

    /// The page a `nextLink` names (it carries its own api-version). Only a
    /// link to this client's own endpoint is followed: the request carries a
    /// bearer token, which must never go to a host that a response named.
    pub async fn next_page(
        &self,
        next_link: &str,
        deadline: Instant,
    ) -> Result<(Vec<Json>, Option<String>), ArmError> {
        let ours = Url::parse(&self.endpoint).ok();
        let theirs = Url::parse(next_link).ok();
        let same_origin = match (&ours, &theirs) {
            (Some(a), Some(b)) => a.origin() == b.origin(),
            _ => false,
        };
        if !same_origin {
            return Err(ArmError::Decode {
                path: next_link.to_string(),
                message: format!(
                    "the nextLink of a list points away from the ARM endpoint {}; it was not followed",
                    self.endpoint
                ),
            });
        }
        self.page(next_link, None, deadline).await
    }

    async fn page(
        &self,
        path: &str,
        api_version: Option<&str>,
        deadline: Instant,
    ) -> Result<(Vec<Json>, Option<String>), ArmError> {
        let answer = self
            .call(Method::Get, path, api_version, None, deadline)
            .await?;
        let body = answer.json().ok_or_else(|| ArmError::Decode {
            path: path.into(),
            message: "not JSON".into(),
        })?;
        let page: ListPage = serde_json::from_value(body).map_err(|e| ArmError::Decode {
            path: path.into(),
            message: format!("not a list page: {e}"),
        })?;
        let next = page.next_link.filter(|l| !l.is_empty());
        Ok((page.value, next))
    }

    /// Starts a PUT / PATCH / DELETE / POST that may be long-running.
    pub async fn begin(
        &self,
        method: Method,
        path: &str,
        api_version: &str,
        body: Option<&Json>,
        deadline: Instant,
    ) -> Result<Operation<'_>, ArmError> {
        let a = self
            .call(method, path, Some(api_version), body, deadline)
            .await?;
        Ok(Operation {
            client: self,
            method,
            path: path.to_string(),
            api_version: api_version.to_string(),
            async_url: a.header("azure-asyncoperation").map(str::to_string),
            location_url: a.header("location").map(str::to_string),
            first_wait: poll_interval(&a),
            initial: a.json(),
            status: a.status,
            started: Instant::now(),
        })
    }

    /// `run` with a typed body (`crate::arm::models`).
    pub async fn run_with<B: serde::Serialize>(
        &self,
        method: Method,
        path: &str,
        api_version: &str,
        body: &B,
        deadline: Instant,
    ) -> Result<Option<Json>, ArmError> {
        let body = serde_json::to_value(body).map_err(|e| ArmError::Decode {
            path: path.into(),
            message: format!("the request body: {e}"),
        })?;
        self.run(method, path, api_version, Some(&body), deadline)
            .await
    }

    /// `begin(...).wait(...)` in one.
    pub async fn run(
        &self,
        method: Method,
        path: &str,
        api_version: &str,
        body: Option<&Json>,
        deadline: Instant,
    ) -> Result<Option<Json>, ArmError> {
        self.begin(method, path, api_version, body, deadline)
            .await?
            .wait(deadline)
            .await
    }
}

/// The path segment right after the first `key` (case-insensitive) in an ARM
/// id, path or URL.
pub fn segment_after(path: &str, key: &str) -> Option<String> {
    let segs: Vec<&str> = path.split(['/', '?']).collect();
    segs.iter()
        .position(|s| s.eq_ignore_ascii_case(key))
        .and_then(|i| segs.get(i + 1))
        .filter(|s| !s.is_empty())
        .map(|s| s.to_string())
}

/// The subscription id of an ARM id, path or URL (`.../subscriptions/{id}/...`).
pub fn subscription_in(path: &str) -> Option<String> {
    segment_after(path, "subscriptions")
}

/// The resource provider namespace of an ARM path (`.../providers/{namespace}/...`).
fn namespace_in(path: &str) -> Option<String> {
    segment_after(path, "providers")
}

/// `properties.provisioningState` of any ARM resource: the resource
/// provider contract puts it there for every type, so it is read the same
/// way whatever the resource (each type's model has it too).
fn provisioning_state(resource: &Json) -> Option<String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Properties {
        provisioning_state: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct AnyResource {
        properties: Option<Properties>,
    }
    AnyResource::deserialize(resource)
        .ok()?
        .properties?
        .provisioning_state
}

fn api_error(method: &Method, path: &str, a: &Answer) -> ApiError {
    let e = serde_json::from_slice::<ErrorResponse>(&a.body)
        .ok()
        .and_then(|r| r.error)
        .unwrap_or_default();
    ApiError {
        status: a.status,
        code: e
            .code
            .clone()
            .unwrap_or_else(|| format!("HTTP{}", a.status)),
        message: e
            .message
            .clone()
            .unwrap_or_else(|| String::from_utf8_lossy(&a.body).chars().take(500).collect()),
        target: e.target.clone(),
        details: super::error::detail_lines(&e),
        method: method.to_string(),
        path: path.split('?').next().unwrap_or(path).to_string(),
        client_request_id: a.client_request_id.clone(),
        request_id: a.header("x-ms-request-id").map(str::to_string),
    }
}

/// How long to wait before the next poll: the service's hint, else 5 s.
fn poll_interval(a: &Answer) -> Duration {
    super::policy::retry_hint(&a.headers, b"")
        .unwrap_or(Duration::from_secs(5))
        .max(Duration::from_millis(50))
}

/// A started operation. [`Operation::resource`] is the first answer's body
/// (with the resource id) so the caller can record it before waiting.
pub struct Operation<'a> {
    client: &'a ArmClient,
    method: Method,
    path: String,
    api_version: String,
    async_url: Option<String>,
    location_url: Option<String>,
    first_wait: Duration,
    initial: Option<Json>,
    status: u16,
    started: Instant,
}

impl Operation<'_> {
    pub fn resource(&self) -> Option<&Json> {
        self.initial.as_ref()
    }

    pub fn is_done(&self) -> bool {
        self.async_url.is_none() && self.location_url.is_none() && !self.provisioning_in_progress()
    }

    fn provisioning_in_progress(&self) -> bool {
        let state = self.initial.as_ref().and_then(provisioning_state);
        let state = state.as_deref().unwrap_or("Succeeded");
        !matches!(state, "Succeeded" | "Failed" | "Canceled")
            && matches!(self.method, Method::Put | Method::Patch)
    }

    fn what(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Waits until the operation ends. PUT / PATCH return the resource as it
    /// now is; DELETE returns None; POST returns the result body, if any.
    pub async fn wait(self, deadline: Instant) -> Result<Option<Json>, ArmError> {
        let mut wait = self.first_wait;
        let mut last_progress = Instant::now();
        let timeout = |op: &Operation<'_>| ArmError::Timeout {
            what: op.what(),
            waited_secs: op.started.elapsed().as_secs(),
        };
        if let Some(url) = self.async_url.clone() {
            loop {
                if Instant::now() + wait > deadline {
                    return Err(timeout(&self));
                }
                sleep_reporting(&self, wait, &mut last_progress).await;
                let a = self
                    .client
                    .call(Method::Get, &url, None, None, deadline)
                    .await?;
                let op =
                    serde_json::from_slice::<OperationStatusResult>(&a.body).unwrap_or_default();
                let status = op.status.unwrap_or_else(|| "InProgress".into());
                match status.as_str() {
                    "Succeeded" => break,
                    "Failed" | "Canceled" => {
                        let e = op.error.unwrap_or_default();
                        return Err(ArmError::OperationFailed(Box::new(OperationError {
                            operation: self.method.to_string(),
                            resource: self.path.clone(),
                            status,
                            code: e.code.clone().unwrap_or_default(),
                            message: e.message.clone().unwrap_or_default(),
                            target: e.target.clone(),
                            details: super::error::detail_lines(&e),
                        })));
                    }
                    _ => {}
                }
                wait = poll_interval(&a);
                progress(&self, &mut last_progress);
            }
        } else if let Some(url) = self.location_url.clone() {
            loop {
                if Instant::now() + wait > deadline {
                    return Err(timeout(&self));
                }
                sleep_reporting(&self, wait, &mut last_progress).await;
                let a = self
                    .client
                    .call(Method::Get, &url, None, None, deadline)
                    .await?;
                if a.status != 202 {
                    return Ok(if self.method == Method::Delete {
                        None
                    } else {
                        a.json()
                    });
                }
                wait = poll_interval(&a);
                progress(&self, &mut last_progress);
            }
        } else if self.provisioning_in_progress() {
            // No operation header: follow provisioningState on the resource itself.
            loop {
                if Instant::now() + wait > deadline {
                    return Err(timeout(&self));
                }
                sleep_reporting(&self, wait, &mut last_progress).await;
                let j = self
                    .client
                    .get(&self.path, &self.api_version, deadline)
                    .await?
                    .unwrap_or(Json::Null);
                match provisioning_state(&j).as_deref().unwrap_or("Succeeded") {
                    "Succeeded" => return Ok(Some(j)),
                    s @ ("Failed" | "Canceled") => {
                        return Err(ArmError::OperationFailed(Box::new(OperationError {
                            operation: self.method.to_string(),
                            resource: self.path.clone(),
                            status: s.into(),
                            code: String::new(),
                            message: "provisioning ended without success".into(),
                            target: None,
                            details: Vec::new(),
                        })))
                    }
                    _ => progress(&self, &mut last_progress),
                }
            }
        } else {
            return Ok(if self.method == Method::Delete || self.status == 204 {
                None
            } else {
                self.initial
            });
        }
        match self.method {
            Method::Put | Method::Patch => {
                self.client
                    .get(&self.path, &self.api_version, deadline)
                    .await
            }
            Method::Post => match &self.location_url {
                Some(loc) => Ok(self
                    .client
                    .call(Method::Get, loc, None, None, deadline)
                    .await?
                    .json()),
                None => Ok(None),
            },
            _ => Ok(None),
        }
    }
}

/// Sleeps `wait` (a server's Retry-After can exceed the reporting interval)
/// in slices, so progress is still logged at least every 30 seconds.
async fn sleep_reporting(op: &Operation<'_>, wait: Duration, last: &mut Instant) {
    let until = Instant::now() + wait;
    loop {
        let now = Instant::now();
        if now >= until {
            return;
        }
        let to_report = PROGRESS_EVERY.saturating_sub(last.elapsed());
        tokio::time::sleep((until - now).min(to_report.max(Duration::from_millis(1)))).await;
        progress(op, last);
    }
}

const PROGRESS_EVERY: Duration = Duration::from_secs(30);

/// Logs progress of long waits at least every 30 seconds.
fn progress(op: &Operation<'_>, last: &mut Instant) {
    if last.elapsed() >= PROGRESS_EVERY {
        tracing::info!(target: "rhelazure.arm", operation = %op.what(), elapsed_s = op.started.elapsed().as_secs(), "still waiting for the operation");
        *last = Instant::now();
    }
}

/// What a path segment may not carry raw: besides controls, the characters
/// RFC 3986 reserves for delimiting (`#`, `?`, `%`) or that are unsafe in a
/// URL (space, quotes, braces). `&`, `+`, `=` and `;` stay, as Azure's SDKs
/// leave them.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Percent-encodes each segment of a resource path built from ids and names
/// (a name may hold a space or `#`); a query the caller wrote stays as it is.
fn encode_path(path: &str) -> String {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let mut out: String = path
        .split('/')
        .map(|seg| percent_encoding::utf8_percent_encode(seg, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode_path;

    #[test]
    fn names_survive_the_path() {
        let name = "a b&c+d#e%f ü(1).x";
        let path = format!(
            "/subscriptions/s/resourceGroups/{name}/providers/Microsoft.Compute/images/{name}"
        );
        let encoded = encode_path(&path);
        let url = reqwest::Url::parse(&format!("https://management.azure.com{encoded}")).unwrap();
        assert!(url.query().is_none() && url.fragment().is_none(), "{url}");
        let segments: Vec<String> = url
            .path_segments()
            .unwrap()
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .unwrap()
                    .into_owned()
            })
            .collect();
        assert_eq!(segments[3], name);
        assert_eq!(segments[7], name);
        assert_eq!(
            encode_path("/subscriptions/s/providers/X?api-version=1&$filter=a eq 'b'"),
            "/subscriptions/s/providers/X?api-version=1&$filter=a eq 'b'"
        );
    }
}
