//! The services the provider talks to (ARM, Entra ID's token endpoint, Red
//! Hat SSO and Red Hat's APIs), called directly "as another tool would":
//! to set a scenario up, to change things out of band, to check what the
//! provider did, and to sweep leftovers. The local cloud's helpers and the
//! real-account targets ([`crate::target`]) share this one client, so the
//! calls a scenario makes are the same whichever target it runs on.
//!
//! Endpoints and credentials come from the same environment variables the
//! provider reads (`ARM_*`, `RH_*`); `SSL_CERT_FILE`, when set, is the only
//! trust anchor (the local cloud's CA), as it is for the provider.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{eventually, SETTLE};

/// Access tokens are renewed after this long (Entra ID and Red Hat SSO hand
/// out tokens for 15 minutes and more; a real-account run lasts longer).
const TOKEN_REUSE: Duration = Duration::from_secs(10 * 60);

/// A client for ARM and Red Hat's APIs with the credentials of `env`.
pub struct Services {
    env: Vec<(String, String)>,
    agent: ureq::Agent,
    arm_token: Mutex<Option<(Instant, String)>>,
    redhat_token: Mutex<Option<(Instant, String)>>,
}

/// The services a target talks to: the recorder's name for each, the
/// environment variable that points clients at it, and its public endpoint.
pub const ENDPOINTS: [(&str, &str, &str); 4] = [
    ("arm", "ARM_ENDPOINT", "https://management.azure.com"),
    (
        "login",
        "ARM_AUTHORITY_HOST",
        "https://login.microsoftonline.com",
    ),
    ("redhat-api", "RH_API_URL", "https://console.redhat.com"),
    ("redhat-sso", "RH_SSO_URL", "https://sso.redhat.com"),
];

/// A reply: status and JSON body (Null when the body is empty or not JSON).
pub type Reply = (u16, serde_json::Value);

impl Services {
    /// A client for the services `env` names (`ARM_ENDPOINT`, `RH_API_URL`...,
    /// with Azure's and Red Hat's public endpoints where a URL is missing).
    pub fn new(env: Vec<(String, String)>) -> Services {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let ca_file = env
            .iter()
            .find(|(k, _)| k == "SSL_CERT_FILE")
            .map(|(_, v)| v.clone());
        let roots = match ca_file {
            Some(path) => {
                let pem =
                    std::fs::read(&path).unwrap_or_else(|e| panic!("SSL_CERT_FILE {path}: {e}"));
                let certs: Vec<_> = ureq::tls::parse_pem(&pem)
                    .filter_map(Result::ok)
                    .filter_map(|item| match item {
                        ureq::tls::PemItem::Certificate(c) => Some(c),
                        _ => None,
                    })
                    .collect();
                ureq::tls::RootCerts::new_with_certs(&certs)
            }
            // Real services: the operating system's roots, as the provider
            // (rustls-native-certs) trusts them.
            None => {
                let native = rustls_native_certs::load_native_certs();
                let certs: Vec<_> = native
                    .certs
                    .iter()
                    .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
                    .collect();
                assert!(!certs.is_empty(), "no root certificates on this machine");
                ureq::tls::RootCerts::new_with_certs(&certs)
            }
        };
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(roots)
            .unversioned_rustls_crypto_provider(std::sync::Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Services {
            env,
            agent,
            arm_token: Mutex::new(None),
            redhat_token: Mutex::new(None),
        }
    }

    /// The value of `k` in the environment, if set and not empty.
    pub fn var(&self, k: &str) -> Option<String> {
        self.env
            .iter()
            .find(|(n, v)| n == k && !v.is_empty())
            .map(|(_, v)| v.clone())
    }

    /// The value of `k`; panics when it is not set.
    pub fn get(&self, k: &str) -> String {
        self.var(k)
            .unwrap_or_else(|| panic!("{k} is not in the environment"))
    }

    /// The URL of `ENDPOINTS` entry `name`: the environment's, or the public one.
    fn endpoint(&self, name: &str) -> String {
        let (_, key, public) = ENDPOINTS
            .iter()
            .find(|(n, _, _)| *n == name)
            .expect("a known service");
        self.var(key).unwrap_or_else(|| public.to_string())
    }

    pub fn arm_endpoint(&self) -> String {
        self.endpoint("arm")
    }

    fn authority_host(&self) -> String {
        self.endpoint("login")
    }

    pub fn redhat_api_url(&self) -> String {
        self.endpoint("redhat-api")
    }

    fn redhat_sso_url(&self) -> String {
        self.endpoint("redhat-sso")
    }

    /// The HTTP agent (the local cloud's CA trusted), for blob calls.
    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// One request; panics only when nothing answers.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<(&str, String)>,
    ) -> Reply {
        let (status, body, _) = self.send_raw(method, url, token, body, &[]);
        (status, body)
    }

    /// A JSON request with the answer's `headers` (lower-case names) that were present.
    pub fn send_with_headers(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
        headers: &[&str],
    ) -> (
        u16,
        serde_json::Value,
        std::collections::BTreeMap<String, String>,
    ) {
        self.send_raw(
            method,
            url,
            token,
            body.map(|b| ("application/json", b.to_string())),
            headers,
        )
    }

    fn send_raw(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<(&str, String)>,
        headers: &[&str],
    ) -> (
        u16,
        serde_json::Value,
        std::collections::BTreeMap<String, String>,
    ) {
        let mut b = ureq::http::Request::builder().method(method).uri(url);
        if let Some(t) = token {
            b = b.header("Authorization", format!("Bearer {t}"));
        }
        let (ct, payload) = body.unwrap_or(("application/json", String::new()));
        if !payload.is_empty() {
            b = b.header("Content-Type", ct);
        }
        let mut resp = self
            .agent
            .run(b.body(payload).unwrap())
            .unwrap_or_else(|e| panic!("{method} {url}: no answer ({e})"));
        let status = resp.status().as_u16();
        let found = headers
            .iter()
            .filter_map(|h| {
                let v = resp.headers().get(*h)?.to_str().ok()?;
                Some((h.to_string(), v.to_string()))
            })
            .collect();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
            found,
        )
    }

    fn token(&self, cache: &Mutex<Option<(Instant, String)>>, url: String, form: String) -> String {
        let mut cached = cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, t)) = cached.as_ref() {
            if at.elapsed() < TOKEN_REUSE {
                return t.clone();
            }
        }
        let (status, body) = self.send(
            "POST",
            &url,
            None,
            Some(("application/x-www-form-urlencoded", form)),
        );
        let token = body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token from {url} ({status})"))
            .to_string();
        *cached = Some((Instant::now(), token.clone()));
        token
    }

    /// An ARM access token of the environment's service principal.
    pub fn arm_access_token(&self) -> String {
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
            enc(&self.get("ARM_CLIENT_ID")),
            enc(&self.get("ARM_CLIENT_SECRET"))
        );
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            self.authority_host(),
            self.get("ARM_TENANT_ID")
        );
        self.token(&self.arm_token, url, form)
    }

    /// A Red Hat access token: a service account's (`RH_CLIENT_ID` +
    /// `RH_CLIENT_SECRET`, scope `api.console`) or an offline token's.
    pub fn redhat_access_token(&self) -> String {
        let form = match (self.var("RH_CLIENT_ID"), self.var("RH_CLIENT_SECRET")) {
            (Some(id), Some(secret)) => format!(
                "grant_type=client_credentials&client_id={}&client_secret={}&scope=api.console",
                enc(&id),
                enc(&secret)
            ),
            _ => {
                let offline = self.get("RH_OFFLINE_TOKEN");
                let client = self
                    .var("RH_OFFLINE_TOKEN_CLIENT_ID")
                    .unwrap_or_else(|| offline_token_client(&offline));
                format!(
                    "grant_type=refresh_token&client_id={}&refresh_token={}",
                    enc(&client),
                    enc(&offline)
                )
            }
        };
        let url = format!(
            "{}/auth/realms/redhat-external/protocol/openid-connect/token",
            self.redhat_sso_url()
        );
        self.token(&self.redhat_token, url, form)
    }

    /// An ARM call; `path` is relative to the endpoint (`/subscriptions/...?api-version=...`).
    pub fn arm(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> Reply {
        let t = self.arm_access_token();
        self.send(
            method,
            &format!("{}{path}", self.arm_endpoint()),
            Some(&t),
            body.map(|b| ("application/json", b.to_string())),
        )
    }

    /// An ARM write that waits, as another tool would, until Azure has
    /// finished it: a PUT or PATCH until the resource reads back with a final
    /// `provisioningState`, a DELETE until it reads 404. Returns the write's
    /// own answer.
    pub fn arm_settled(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
        within: Duration,
    ) -> Reply {
        let answer = self.arm(method, path, body);
        if answer.0 >= 300 {
            return answer;
        }
        eventually(&format!("{method} {path} settles"), within, || {
            let (status, now) = self.arm("GET", path, None);
            match method {
                "DELETE" => status == 404,
                _ => {
                    status == 200
                        && matches!(
                            now["properties"]["provisioningState"].as_str(),
                            None | Some("Succeeded" | "Failed" | "Canceled")
                        )
                }
            }
        });
        answer
    }

    /// [`Self::arm_settled`] within the local cloud's settling time.
    pub fn arm_settled_locally(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Reply {
        self.arm_settled(method, path, body, SETTLE)
    }

    /// A Red Hat API call (`path` below the API base URL, `/api/rhsm/v2/...`).
    pub fn redhat(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> Reply {
        let t = self.redhat_access_token();
        self.send(
            method,
            &format!("{}{path}", self.redhat_api_url()),
            Some(&t),
            body.map(|b| ("application/json", b.to_string())),
        )
    }
}

fn enc(s: &str) -> String {
    // Form values: the few characters that matter in secrets.
    s.replace('%', "%25")
        .replace('&', "%26")
        .replace('+', "%2B")
        .replace('=', "%3D")
        .replace(' ', "%20")
}

/// The SSO client an offline token belongs to (its `azp` claim): console
/// tokens are `cloud-services`'s, Customer Portal tokens `rhsm-api`'s.
fn offline_token_client(token: &str) -> String {
    use base64::Engine as _;
    token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|c| c["azp"].as_str().map(str::to_string))
        .unwrap_or_else(|| "rhsm-api".into())
}
