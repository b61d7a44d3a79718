//! Request / response plumbing shared by every API the emulator serves: the
//! parsed request, JSON responses with ARM's standard headers, ARM's error
//! body, ids and clocks.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Value as Json};

/// One request, read whole (bodies are small JSON documents).
pub struct Req {
    pub method: Method,
    pub path: String,
    /// Path segments, percent-decoded.
    pub segments: Vec<String>,
    pub query: BTreeMap<String, String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Req {
    pub fn query(&self, key: &str) -> Option<&str> {
        // ARM query parameter names are case-insensitive in practice.
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    pub fn api_version(&self) -> Option<&str> {
        self.query("api-version")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as a JSON object, or ARM's error for a malformed request.
    pub fn json_body(&self) -> Result<Json, ArmError> {
        if self.body.is_empty() {
            return Err(ArmError::bad_request(
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: the body is empty.",
            ));
        }
        let v: Json = serde_json::from_slice(&self.body).map_err(|e| {
            ArmError::bad_request(
                "InvalidRequestContent",
                format!("The request content was invalid and could not be deserialized: '{e}'."),
            )
        })?;
        if !v.is_object() {
            return Err(ArmError::bad_request(
                "InvalidRequestContent",
                "The request content must be a JSON object.",
            ));
        }
        Ok(v)
    }

    /// A form body (token endpoints).
    pub fn form(&self) -> BTreeMap<String, String> {
        parse_query(std::str::from_utf8(&self.body).unwrap_or(""))
    }
}

/// A query string or form body (`+` is a space there), decoded.
pub fn parse_query(q: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

/// One path segment, percent-decoded. Unlike a query, `+` in a path is a
/// plus sign; invalid escapes pass through as written.
pub fn path_segment(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// An ARM-style error: `{"error":{"code","message","target","details"}}`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct ArmError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub target: Option<String>,
    pub details: Vec<Json>,
    /// Extra headers (e.g. Retry-After on 429, WWW-Authenticate on 401).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

impl ArmError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ArmError {
            status,
            code: code.into(),
            message: message.into(),
            target: None,
            details: Vec::new(),
            headers: Vec::new(),
        }
    }
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }
    pub fn target(mut self, t: &str) -> Self {
        self.target = Some(t.to_string());
        self
    }
    pub fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_string(), v.into()));
        self
    }
    pub fn body(&self) -> Json {
        let mut e = json!({ "code": self.code, "message": self.message });
        if let Some(t) = &self.target {
            e["target"] = json!(t);
        }
        if !self.details.is_empty() {
            e["details"] = json!(self.details);
        }
        json!({ "error": e })
    }
    pub fn response(&self) -> Response {
        let mut r = json_response(self.status, &self.body());
        for (k, v) in &self.headers {
            if let (Ok(k), Ok(v)) = (
                axum::http::HeaderName::try_from(k.as_str()),
                HeaderValue::from_str(v),
            ) {
                r.headers_mut().insert(k, v);
            }
        }
        r.headers_mut()
            .insert("x-ms-failure-cause", HeaderValue::from_static("gateway"));
        r
    }
}

pub fn json_response(status: u16, body: &Json) -> Response {
    let mut r = Response::new(Body::from(serde_json::to_vec(body).unwrap_or_default()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

pub fn empty_response(status: u16) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r
}

pub fn set_header(r: &mut Response, k: &'static str, v: &str) {
    if let Ok(v) = HeaderValue::from_str(v) {
        r.headers_mut().insert(k, v);
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub fn now_secs() -> u64 {
    now_ms() / 1000
}

/// RFC 3339 with 7 fractional digits, as ARM writes times.
pub fn rfc3339(ms: u64) -> String {
    let t = UNIX_EPOCH + std::time::Duration::from_millis(ms);
    let s = humantime::format_rfc3339_micros(t).to_string();
    s.replace('Z', "0+00:00")
}

/// Random bytes from the OS.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    aws_lc_rs::rand::fill(&mut b).expect("the OS random source works");
    b
}

/// A random GUID, lower case.
pub fn guid() -> String {
    let b = random_bytes::<16>();
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

/// A random float in [0, 1).
pub fn random_unit() -> f64 {
    let b = random_bytes::<8>();
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// ARM location names: "West US" -> "westus".
pub fn normalize_location(l: &str) -> String {
    l.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_and_guids() {
        assert_eq!(path_segment("a%2Fb+c"), "a/b+c");
        assert_eq!(path_segment("100%"), "100%");
        assert_eq!(path_segment("%zz"), "%zz");
        let q = parse_query("filter%5Bname%5D=a%26b+%2B%23%25&x=1");
        assert_eq!(q["filter[name]"], "a&b +#%");
        assert_eq!(q["x"], "1");
        assert_eq!(guid().len(), 36);
        assert_eq!(normalize_location("West US 2"), "westus2");
    }
}
