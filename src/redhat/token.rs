//! Red Hat SSO access tokens. An offline token is exchanged with
//! `grant_type=refresh_token` and the client that issued it (Red Hat SSO, a
//! Keycloak, refuses any other: "Token client and authorized client don't
//! match"), read from the token's `azp` claim; a service account with
//! `grant_type=client_credentials` (scope `api.console`). Access tokens live
//! about 15 minutes: the cached one is replaced a minute before it expires, or
//! at once when an API answers 401.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use super::retry::{retrying, Attempt};
use super::settings::RedHatSettings;
use super::RedHatError;
use crate::arm::policy::{retry_hint_from, retryable_status};

#[derive(Clone)]
enum Grant {
    Offline {
        token: String,
        client_id: String,
    },
    ServiceAccount {
        client_id: String,
        client_secret: String,
    },
}

pub struct TokenSource {
    grant: Grant,
    endpoint: String,
    http: reqwest::Client,
    cached: Mutex<Option<(String, Instant)>>,
}

/// The grant's kind and the endpoint; never the credential or a token.
impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let grant = match &self.grant {
            Grant::Offline { .. } => "offline token",
            Grant::ServiceAccount { .. } => "service account",
        };
        f.debug_struct("TokenSource")
            .field("grant", &grant)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// An OAuth 2.0 error answer (RFC 6749 section 5.2), as Red Hat SSO sends it.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct TokenError {
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

/// The client of the Customer Portal's API Tokens page, for offline tokens
/// that do not say which client issued them.
const CUSTOMER_PORTAL_CLIENT: &str = "rhsm-api";

/// The `azp` claim of a JWT-shaped offline token: the SSO client that issued
/// it. Read without verifying anything: it only picks the client to ask SSO
/// with, and SSO checks the token.
fn issuing_client(token: &str) -> Option<String> {
    use base64::Engine;
    let claims = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims.trim_end_matches('='))
        .ok()?;
    #[derive(Deserialize)]
    struct Claims {
        azp: Option<String>,
    }
    serde_json::from_slice::<Claims>(&bytes).ok()?.azp
}

/// Renew this long before the token expires.
const EARLY: Duration = Duration::from_secs(60);

impl TokenSource {
    /// From the provider settings: a service account if both halves are set,
    /// else the offline token; an error naming the settings when neither is.
    pub fn new(s: &RedHatSettings, http: reqwest::Client) -> Result<TokenSource, RedHatError> {
        let grant = match (&s.client_id, &s.client_secret, &s.offline_token) {
            (Some(id), Some(secret), _) => Grant::ServiceAccount { client_id: id.clone(), client_secret: secret.clone() },
            (_, _, Some(t)) => Grant::Offline {
                token: t.clone(),
                client_id: s
                    .offline_token_client_id
                    .clone()
                    .or_else(|| issuing_client(t))
                    .unwrap_or_else(|| CUSTOMER_PORTAL_CLIENT.to_string()),
            },
            _ => {
                return Err(RedHatError::Config(
                    "No Red Hat credentials: set redhat.offline_token (RH_OFFLINE_TOKEN), or redhat.client_id and \
                     redhat.client_secret (RH_CLIENT_ID, RH_CLIENT_SECRET) of a service account."
                        .into(),
                ))
            }
        };
        Ok(TokenSource {
            grant,
            endpoint: format!(
                "{}/auth/realms/redhat-external/protocol/openid-connect/token",
                s.sso_url
            ),
            http,
            cached: Mutex::new(None),
        })
    }

    /// A valid access token (cached or fresh). Fetching retries SSO's
    /// transient failures as API calls do, within `deadline`.
    pub async fn token(&self, deadline: Instant) -> Result<String, RedHatError> {
        let mut cached = self.cached.lock().await;
        if let Some((t, until)) = cached.as_ref() {
            if Instant::now() + EARLY < *until {
                return Ok(t.clone());
            }
        }
        let (t, lifetime) = self.fetch_retrying(deadline).await?;
        *cached = Some((t.clone(), Instant::now() + lifetime));
        Ok(t)
    }

    /// Forgets the cached token (after a 401).
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    /// [`Self::fetch`] under the Red Hat retry rule; refusals are final.
    async fn fetch_retrying(&self, deadline: Instant) -> Result<(String, Duration), RedHatError> {
        retrying("POST Red Hat SSO token", deadline, |_| self.fetch()).await
    }

    /// One token request.
    async fn fetch(&self) -> Attempt<(String, Duration)> {
        let form: Vec<(&str, &str)> = match &self.grant {
            Grant::Offline { token, client_id } => vec![
                ("grant_type", "refresh_token"),
                ("client_id", client_id),
                ("refresh_token", token),
            ],
            Grant::ServiceAccount {
                client_id,
                client_secret,
            } => {
                vec![
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_secret", client_secret),
                    ("scope", "api.console"),
                ]
            }
        };
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let sent = self
            .http
            .post(&self.endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Transient {
                    error: RedHatError::Transport {
                        what: format!("POST {}", self.endpoint),
                        message: e.without_url().to_string(),
                    },
                    hint: None,
                }
            }
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        if retryable_status(status) {
            let hint = retry_hint_from(
                |n| headers.get(n).and_then(|v| v.to_str().ok()),
                text.as_bytes(),
            );
            return Attempt::Transient {
                error: RedHatError::Auth(format!(
                    "Red Hat SSO answered {status}: {}",
                    text.chars().take(200).collect::<String>()
                )),
                hint,
            };
        }
        if status != 200 {
            let refused: TokenError = serde_json::from_str(&text).unwrap_or_default();
            let which = match &self.grant {
                Grant::Offline { client_id, .. } => format!(
                    "the offline token (RH_OFFLINE_TOKEN) refreshed as client {client_id} \
                     (set redhat.offline_token_client_id if the token came from elsewhere)"
                ),
                Grant::ServiceAccount { .. } => {
                    "the service account (RH_CLIENT_ID / RH_CLIENT_SECRET)".to_string()
                }
            };
            return Attempt::Done(Err(RedHatError::Auth(format!(
                "Red Hat SSO refused {which}: {} {}",
                refused.error.as_deref().unwrap_or("error"),
                refused.error_description.as_deref().unwrap_or("")
            ))));
        }
        let t: TokenAnswer = match serde_json::from_str(&text) {
            Ok(t) => t,
            Err(e) => {
                return Attempt::Done(Err(RedHatError::Auth(format!(
                    "unreadable token answer: {e}"
                ))))
            }
        };
        tracing::debug!(target: "rhelazure.redhat", expires_in = t.expires_in, "Red Hat access token obtained");
        Attempt::Done(Ok((t.access_token, Duration::from_secs(t.expires_in))))
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offline_client(token: &str, explicit: Option<&str>) -> String {
        let s = RedHatSettings {
            offline_token: Some(token.into()),
            offline_token_client_id: explicit.map(str::to_string),
            sso_url: "https://sso.example".into(),
            ..Default::default()
        };
        match TokenSource::new(&s, reqwest::Client::new()).unwrap().grant {
            Grant::Offline { client_id, .. } => client_id,
            Grant::ServiceAccount { .. } => panic!("an offline token"),
        }
    }

    /// A JWT-shaped token whose claims are `claims` (the signature is not read).
    fn jwt(claims: &str) -> String {
        use base64::Engine;
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b(r#"{"alg":"HS256"}"#), b(claims))
    }

    #[test]
    fn offline_tokens_are_refreshed_with_the_client_that_issued_them() {
        let console = jwt(r#"{"typ":"Offline","azp":"cloud-services"}"#);
        let portal = jwt(r#"{"typ":"Offline","azp":"rhsm-api"}"#);
        assert_eq!(offline_client(&console, None), "cloud-services");
        assert_eq!(offline_client(&portal, None), "rhsm-api");
        assert_eq!(
            offline_client(&console, Some("my-client")),
            "my-client",
            "an explicit setting overrides"
        );
        assert_eq!(
            offline_client("not-a-jwt", None),
            "rhsm-api",
            "tokens that do not say fall back to the Customer Portal's client"
        );
        assert_eq!(
            offline_client(&jwt(r#"{"typ":"Offline"}"#), None),
            "rhsm-api"
        );
    }

    #[test]
    fn debug_shows_the_kind_of_grant_only() {
        let s = RedHatSettings {
            client_id: Some("svc".into()),
            client_secret: Some("svc-secret-value".into()),
            sso_url: "https://sso.example".into(),
            ..Default::default()
        };
        let t = TokenSource::new(&s, reqwest::Client::new()).unwrap();
        let shown = format!("{t:?}");
        assert!(
            shown.contains("service account") && !shown.contains("svc-secret-value"),
            "{shown}"
        );
    }
}
