//! The recorder: a reverse proxy the acceptance suite puts between the
//! provider and the services (real Azure and Red Hat, or the local cloud
//! posing as them) to keep every exchange, redacted, as JSON lines in the
//! local cloud's request-log format, so the same spec validators judge
//! both and the shape comparison can replay them (`acceptance-tests/
//! recordings/`).
//!
//! One loopback HTTPS listener per service (`--upstream NAME=URL`: `arm`,
//! `login`, `redhat-api`, `redhat-sso`): a request to a listener goes to its
//! upstream unchanged; the answer comes back with every upstream URL in its
//! headers and body turned into the matching listener's, so long-running
//! operation polls and next links come back through the recorder too.
//! Blob data (VHD pages) does not pass here: the provider reaches storage
//! accounts at the endpoints ARM names, and the pages would only bloat a
//! recording.
//!
//! What is never written: the `Authorization` header (no request header is
//! logged), secret-named fields in bodies (as the local cloud's own log
//! masks them), every value given in `RHELAZURE_RECORD_SECRETS`, anything
//! shaped like a JWT, SAS signatures; and the account's identifiers given in
//! `RHELAZURE_RECORD_IDS` (`value=placeholder` lines: subscription, tenant,
//! client and organization ids) are replaced everywhere, paths included.
//! Service URLs are written as `https://{name}.recorded`, so a recording
//! names no host of the machine or port that made it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use axum::response::Response;
use serde_json::{json, Value as Json};

/// One service behind the recorder.
#[derive(Clone, Debug)]
pub struct Upstream {
    pub name: String,
    pub url: String,
}

/// What the recorder needs to redact and where it writes.
pub struct Recorder {
    upstreams: Vec<Upstream>,
    /// The listener base URL of each upstream, same order.
    listeners: Vec<String>,
    secrets: Vec<String>,
    ids: Vec<(String, String)>,
    log: std::sync::Mutex<std::fs::File>,
    client: ureq::Agent,
}

/// The placeholder base URL a recording uses for service `name`.
pub fn recorded_base(name: &str) -> String {
    format!("https://{name}.recorded")
}

impl Recorder {
    fn rewrite_to_listeners(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (u, l) in self.by_longest_upstream() {
            out = out.replace(u.url.trim_end_matches('/'), l);
        }
        out
    }

    /// Upstreams with their listeners, longest URL first (the local cloud's
    /// Red Hat bases extend its ARM base).
    fn by_longest_upstream(&self) -> Vec<(&Upstream, &str)> {
        let mut v: Vec<(&Upstream, &str)> = self
            .upstreams
            .iter()
            .zip(self.listeners.iter().map(String::as_str))
            .collect();
        v.sort_by_key(|(u, _)| std::cmp::Reverse(u.url.len()));
        v
    }

    /// A log line's text with every service URL (upstream or listener) as its
    /// placeholder, and secrets and identifiers replaced.
    pub fn redact_text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (u, l) in self.by_longest_upstream() {
            out = out.replace(l, &recorded_base(&u.name));
            out = out.replace(u.url.trim_end_matches('/'), &recorded_base(&u.name));
        }
        redact_values(&out, &self.secrets, &self.ids)
    }
}

/// `text` with each secret replaced by `[REDACTED]`, each identifier by its
/// placeholder (case-insensitively: ARM ids come back in either case),
/// JWT-shaped strings by `[REDACTED-JWT]` and SAS signatures masked.
pub fn redact_values(text: &str, secrets: &[String], ids: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(s.as_str(), "[REDACTED]");
    }
    for (id, placeholder) in ids.iter().filter(|(i, _)| !i.is_empty()) {
        out = replace_ignoring_case(&out, id, placeholder);
    }
    out = mask_jwts(&out);
    mask_after(&out, "sig=", "[REDACTED]")
}

fn replace_ignoring_case(text: &str, needle: &str, with: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let n = needle.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(i) = lower[at..].find(&n) {
        out.push_str(&text[at..at + i]);
        out.push_str(with);
        at += i + n.len();
    }
    out.push_str(&text[at..]);
    out
}

fn is_b64url(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Replaces `eyJ...`.`...`.`...` (a JWT: base64url JSON header, payload,
/// signature) by `[REDACTED-JWT]`.
fn mask_jwts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("eyJ") {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let mut end = 0;
        let mut dots = 0;
        for (j, c) in tail.char_indices() {
            if is_b64url(c) {
                end = j + c.len_utf8();
            } else if c == '.' && dots < 2 {
                dots += 1;
                end = j + 1;
            } else {
                break;
            }
        }
        if dots == 2 && end > 20 {
            out.push_str("[REDACTED-JWT]");
        } else {
            out.push_str(&tail[..end.max(3)]);
        }
        rest = &tail[end.max(3)..];
    }
    out.push_str(rest);
    out
}

/// Masks the value after each `key` up to the next `&`, `"` or whitespace.
fn mask_after(text: &str, key: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(key) {
        out.push_str(&rest[..i + key.len()]);
        let tail = &rest[i + key.len()..];
        let end = tail
            .find(|c: char| c == '&' || c == '"' || c == '\\' || c.is_whitespace())
            .unwrap_or(tail.len());
        if end > 0 {
            out.push_str(with);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// A body for the log: JSON as JSON, forms as their fields (both with
/// secret-named fields masked, as the local cloud's own log does).
fn body_for_log(bytes: &[u8], content_type: Option<&str>) -> Json {
    crate::control::body_for_log(bytes, content_type)
}

/// The answer to one proxied request, and its log line.
fn forward(
    rec: &Recorder,
    which: usize,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let upstream = &rec.upstreams[which];
    let started = std::time::Instant::now();
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let url = format!("{}{path_and_query}", upstream.url.trim_end_matches('/'));
    let mut req = ureq::http::Request::builder()
        .method(method.as_str())
        .uri(&url);
    for (k, v) in headers.iter() {
        if matches!(
            k.as_str(),
            "host" | "content-length" | "connection" | "transfer-encoding" | "accept-encoding"
        ) {
            continue;
        }
        req = req.header(k, v);
    }
    let answer = rec.client.run(req.body(body.to_vec()).expect("a request"));
    let (status, resp_headers, resp_body) = match answer {
        Ok(mut r) => {
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            let body = r
                .body_mut()
                .with_config()
                .limit(256 << 20)
                .read_to_vec()
                .unwrap_or_default();
            (status, headers, body)
        }
        Err(e) => {
            let body = json!({ "error": { "code": "RecorderUpstreamUnreachable", "message": format!("{url}: {e}") } });
            (502, Default::default(), body.to_string().into_bytes())
        }
    };
    // The client sees listener URLs where the service named its own.
    let body_text = String::from_utf8(resp_body.clone()).ok();
    let client_body = match &body_text {
        Some(t) => rec.rewrite_to_listeners(t).into_bytes(),
        None => resp_body.clone(),
    };
    let mut resp = Response::new(axum::body::Body::from(client_body));
    *resp.status_mut() =
        axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_GATEWAY);
    for (k, v) in resp_headers.iter() {
        if matches!(
            k.as_str(),
            "content-length" | "connection" | "transfer-encoding" | "content-encoding"
        ) {
            continue;
        }
        let v = v
            .to_str()
            .map(|s| rec.rewrite_to_listeners(s))
            .unwrap_or_default();
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_str().as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            resp.headers_mut().append(k, v);
        }
    }
    // The log line, in the local cloud's format.
    let (operation_urls, response_headers) = crate::control::logged_headers(resp.headers());
    let query: std::collections::BTreeMap<String, String> =
        crate::http::parse_query(uri.query().unwrap_or(""));
    let entry = json!({
        "time": crate::http::rfc3339(crate::http::now_ms()),
        "service": upstream.name,
        "method": method.as_str(),
        "path": uri.path(),
        "query": query,
        "api_version": query.get("api-version"),
        "status": status,
        "duration_ms": started.elapsed().as_millis() as u64,
        "request_body": body_for_log(&body, headers.get("content-type").and_then(|v| v.to_str().ok())),
        "response_body": body_for_log(&resp_body, resp_headers.get("content-type").and_then(|v| v.to_str().ok())),
        "operation_urls": operation_urls,
        "response_headers": response_headers,
    });
    let mut line = rec.redact_text(&entry.to_string());
    line.push('\n');
    use std::io::Write as _;
    if let Ok(mut f) = rec.log.lock() {
        let _ = f.write_all(line.as_bytes());
    }
    resp
}

/// The trust for upstream connections: `SSL_CERT_FILE` when set (the local
/// cloud's CA), the machine's roots otherwise (real services).
fn upstream_client() -> Result<ureq::Agent, String> {
    let certs: Vec<ureq::tls::Certificate<'static>> = match std::env::var("SSL_CERT_FILE") {
        Ok(path) if !path.is_empty() => {
            let pem = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
            ureq::tls::parse_pem(&pem)
                .filter_map(Result::ok)
                .filter_map(|i| match i {
                    ureq::tls::PemItem::Certificate(c) => Some(c),
                    _ => None,
                })
                .collect()
        }
        _ => rustls_native_certs::load_native_certs()
            .certs
            .iter()
            .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
            .collect(),
    };
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .build();
    Ok(ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(std::time::Duration::from_secs(300)))
        .build()
        .into())
}

/// Starts one listener per upstream (HTTPS with a CA written to `ca_file`);
/// returns each listener's base URL, in the order given. Serves until the
/// process ends.
pub async fn start(
    upstreams: Vec<Upstream>,
    log: std::path::PathBuf,
    ca_file: std::path::PathBuf,
    secrets: Vec<String>,
    ids: Vec<(String, String)>,
) -> Result<Vec<String>, String> {
    let config = crate::tls::server_config(&ca_file)?;
    let mut listeners = Vec::new();
    let mut bound = Vec::new();
    for _ in &upstreams {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        listeners.push(format!(
            "https://{}",
            l.local_addr().map_err(|e| e.to_string())?
        ));
        bound.push(l);
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let rec = Arc::new(Recorder {
        upstreams,
        listeners: listeners.clone(),
        secrets,
        ids,
        log: std::sync::Mutex::new(file),
        client: upstream_client()?,
    });
    for (which, listener) in bound.into_iter().enumerate() {
        let rec = rec.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let rec = rec.clone();
                async move {
                    tokio::task::spawn_blocking(move || {
                        forward(&rec, which, method, uri, headers, body)
                    })
                    .await
                    .unwrap_or_else(|_| crate::http::empty_response(502))
                }
            },
        );
        let config = config.clone();
        tokio::spawn(async move { crate::tls::serve(listener, config, app).await });
    }
    Ok(listeners)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_ids_jwts_and_signatures_are_masked() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLWJ5dGVz";
        let text = format!(
            r#"{{"path":"/subscriptions/AbC-123/x","t":"{jwt}","u":"https://a/b?sv=1&sig=abc%2Fdef&se=2","s":"hunter22"}}"#
        );
        let out = redact_values(
            &text,
            &["hunter22".into()],
            &[(
                "abc-123".into(),
                "00000000-0000-0000-0000-000000000001".into(),
            )],
        );
        assert!(
            !out.contains("hunter22") && !out.contains("AbC-123") && !out.contains(jwt),
            "{out}"
        );
        assert!(
            out.contains("/subscriptions/00000000-0000-0000-0000-000000000001/x"),
            "{out}"
        );
        assert!(out.contains("sig=[REDACTED]&se=2"), "{out}");
        assert!(out.contains("[REDACTED-JWT]"), "{out}");
        // Not a JWT: left alone.
        assert_eq!(mask_jwts("eyJust a word"), "eyJust a word");
    }
}
