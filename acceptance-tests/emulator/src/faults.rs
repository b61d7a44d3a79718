//! Injected faults: what the control API (`/_emulator/faults`) queues and
//! every surface consults, so it sits below the services: a status or latency
//! for a matching request, a dropped connection, a long-running operation that
//! ends Failed.

use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::http::{json_response, random_unit, ArmError, Req};
use crate::Emulator;

/// One injected fault, matched by method and path substring.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    #[serde(default)]
    pub id: String,
    /// HTTP method to match; any when absent.
    pub method: Option<String>,
    /// Substring of the request path (case-insensitive); `*` matches everything.
    pub path: String,
    /// Answer with this status (and an ARM error body) instead of serving the request.
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: Option<String>,
    /// Chance that a matching request is hit, 0..=1 (default 1).
    #[serde(default = "one")]
    pub probability: f64,
    /// Added before answering.
    #[serde(default)]
    pub latency_ms: u64,
    /// Close the connection without an answer.
    #[serde(default)]
    pub drop_connection: bool,
    /// Serve the request, then close the connection without the answer: the
    /// ambiguous failure (did it happen?) a client must survive.
    #[serde(default)]
    pub drop_after_serving: bool,
    /// Serve the request and log it, then hold the answer this long: a test
    /// kills the client meanwhile (it sees the fault gone from `GET faults`),
    /// so the service acted and the client never heard, at a chosen request
    /// rather than at a guessed time.
    #[serde(default)]
    pub hold_ms: u64,
    /// The long-running operation this request starts ends `Failed`.
    #[serde(default)]
    pub lro_fail: bool,
    /// Serve, but answer without `Azure-AsyncOperation` / `Location`, as
    /// resource providers that only report `provisioningState` on the
    /// resource do: the client must poll the resource itself.
    #[serde(default)]
    pub omit_operation_headers: bool,
    /// How many times it may fire; unlimited when absent.
    pub count: Option<u32>,
    /// Seconds for Retry-After (429 / 503).
    pub retry_after: Option<u64>,
}

fn one() -> f64 {
    1.0
}

impl Fault {
    fn matches(&self, req: &Req) -> bool {
        let method_ok = self
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(req.method.as_str()));
        let path_ok = self.path == "*"
            || req
                .path
                .to_ascii_lowercase()
                .contains(&self.path.to_ascii_lowercase());
        method_ok && path_ok
    }

    /// The injected answer, in the error format of the API `path` belongs
    /// to: RHSM's `{"error": {"code": int, "message"}}`, Image Builder's and
    /// Sources' `{"errors": [{"status", "title", "detail"}]}`, Red Hat SSO's
    /// OAuth error, or ARM's (with `Retry-After` when given).
    pub fn response(&self, path: &str) -> Response {
        let status = self.status.unwrap_or(500);
        let msg = self.message.clone().unwrap_or_else(|| {
            format!(
                "Injected fault {}: the local cloud answered {status}.",
                self.id
            )
        });
        let title = || {
            self.code.clone().unwrap_or_else(|| {
                axum::http::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("Error")
                    .to_string()
            })
        };
        let body = if path.starts_with("/redhat/api/rhsm/") {
            json!({ "error": { "code": status, "message": msg } })
        } else if path.starts_with("/redhat/api/") {
            json!({ "errors": [{ "status": status.to_string(), "title": title(), "detail": msg }] })
        } else if path.starts_with("/sso/") {
            json!({ "error": title(), "error_description": msg })
        } else {
            let code = self.code.clone().unwrap_or_else(|| match status {
                429 => "TooManyRequests".into(),
                503 => "ServiceUnavailable".into(),
                408 => "RequestTimeout".into(),
                _ => "InternalServerError".into(),
            });
            let mut e = ArmError::new(status, &code, msg);
            if let Some(s) = self.retry_after {
                e = e.header("Retry-After", s.to_string());
            }
            return e.response();
        };
        let mut r = json_response(status, &body);
        if let Some(s) = self.retry_after {
            crate::http::set_header(&mut r, "retry-after", &s.to_string());
        }
        r
    }
}

/// The fault to apply to this request, if any (consumes one use). LRO-failure
/// faults are left for [`take_lro_failure`].
pub fn fault_for(emu: &Emulator, req: &Req) -> Option<Fault> {
    let mut faults = emu.faults.lock().unwrap_or_else(|p| p.into_inner());
    let idx = faults
        .iter()
        .position(|f| !f.lro_fail && f.matches(req) && random_unit() < f.probability)?;
    let f = faults[idx].clone();
    if let Some(c) = faults[idx].count.as_mut() {
        *c = c.saturating_sub(1);
        if *c == 0 {
            faults.remove(idx);
        }
    }
    Some(f)
}

/// Whether the long-running operation this request starts must end Failed.
pub fn take_lro_failure(emu: &Emulator, req: &Req) -> Option<ArmError> {
    let mut faults = emu.faults.lock().unwrap_or_else(|p| p.into_inner());
    let idx = faults
        .iter()
        .position(|f| f.lro_fail && f.matches(req) && random_unit() < f.probability)?;
    let f = faults[idx].clone();
    if let Some(c) = faults[idx].count.as_mut() {
        *c = c.saturating_sub(1);
        if *c == 0 {
            faults.remove(idx);
        }
    }
    Some(ArmError::new(
        200,
        f.code.as_deref().unwrap_or("InternalOperationError"),
        f.message
            .unwrap_or_else(|| "Injected fault: the operation failed in the local cloud.".into()),
    ))
}

/// Marker payload for a deliberate connection drop; the panic hook stays quiet for it.
pub const DROP_MARKER: &str = "rhelazure-emulator: dropping connection (injected fault)";

/// Ends the current connection without a response (see `lib.rs`).
pub fn drop_connection() -> ! {
    std::panic::panic_any(DROP_MARKER)
}

/// Installs (once) a panic hook that keeps deliberate drops out of stderr.
pub fn quiet_drops() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&DROP_MARKER) {
                prev(info);
            }
        }));
    });
}
