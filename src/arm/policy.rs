//! The policies every ARM call goes through, once, here (never in a resource):
//!
//! - [`CallLog`]: one debug line per call (method, path, status, duration, attempts).
//! - [`Throttle`]: the per-subscription read / write budgets Azure reports in
//!   `x-ms-ratelimit-remaining-subscription-*`, shared by every call in the
//!   process, so a large apply slows down *before* Azure answers 429.
//! - [`Retry`]: 429, 408, 5xx and connection errors, honouring
//!   `x-ms-retry-after-ms`, `Retry-After` (seconds or HTTP date) and ARM's
//!   "retry after / in N seconds" in error messages; exponential backoff with
//!   jitter otherwise; bounded by the caller's deadline, not by a count. A 409
//!   is retried only when ARM says another operation holds the resource
//!   (`AnotherOperationInProgress`, `RetryableError`, ...).
//!
//! Authentication is azure_core's bearer-token policy, after these.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{AsyncRawResponse, Context, Request};

/// The moment the caller stops waiting (from the resource's timeouts).
#[derive(Clone, Copy, Debug)]
pub struct Deadline(pub Instant);

/// Attempts made for one call (shared between the retry and log policies).
#[derive(Clone, Debug, Default)]
pub struct Attempts(pub Arc<AtomicUsize>);

fn header<'a>(h: &'a azure_core::http::headers::Headers, name: &'static str) -> Option<&'a str> {
    h.get_optional_str(&azure_core::http::headers::HeaderName::from_static(name))
}

/// Wait hint of a response: `x-ms-retry-after-ms`, `retry-after-ms`, `Retry-After`
/// (seconds or an HTTP date), or ARM's "retry after N seconds" in the body.
pub fn retry_hint(headers: &azure_core::http::headers::Headers, body: &[u8]) -> Option<Duration> {
    retry_hint_from(|name| header(headers, name), body)
}

/// [`retry_hint`] over any header lookup (the Red Hat client uses reqwest's headers).
pub fn retry_hint_from<'a>(
    header: impl Fn(&'static str) -> Option<&'a str>,
    body: &[u8],
) -> Option<Duration> {
    for name in ["x-ms-retry-after-ms", "retry-after-ms"] {
        if let Some(ms) = header(name).and_then(|v| v.trim().parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms));
        }
    }
    if let Some(v) = header("retry-after") {
        if let Ok(secs) = v.trim().parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(when) = httpdate(v) {
            return Some(
                when.duration_since(SystemTime::now())
                    .unwrap_or(Duration::ZERO),
            );
        }
    }
    seconds_in_text(std::str::from_utf8(body).ok()?)
}

/// A wait ARM states in words: "try again after '17' seconds", "retry after
/// 30 seconds", "retry in 14 seconds" (the number right after "after" or "in",
/// right before "second").
fn seconds_in_text(text: &str) -> Option<Duration> {
    // ASCII lowering keeps byte offsets, and digits are ASCII, so slicing is safe.
    let t = text.to_ascii_lowercase();
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let before = t[..start].trim_end_matches(['\'', '"', ' ']);
        let after = t[i..].trim_start_matches(['\'', '"', ' ']);
        if (before.ends_with(" after") || before.ends_with(" in")) && after.starts_with("second") {
            return t[start..i].parse().ok().map(Duration::from_secs);
        }
    }
    None
}

/// ARM error codes that mean "another operation is busy with this resource;
/// the same request will succeed later", answered with 409 (or 429).
const RETRYABLE_CONFLICTS: [&str; 4] = [
    "AnotherOperationInProgress",
    "RetryableError",
    "RetryableErrorDueToAnotherOperation",
    "OperationPreempted",
];

/// Whether a 409 body carries one of [`RETRYABLE_CONFLICTS`].
fn retryable_conflict(body: &[u8]) -> bool {
    let Ok(answer) = serde_json::from_slice::<super::models::common::ErrorResponse>(body) else {
        return false;
    };
    let code = answer.error.and_then(|e| e.code).unwrap_or_default();
    RETRYABLE_CONFLICTS
        .iter()
        .any(|c| c.eq_ignore_ascii_case(&code))
}

/// RFC 7231 IMF-fixdate, as in `Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`.
fn httpdate(s: &str) -> Result<SystemTime, ()> {
    humantime::parse_rfc3339(&{
        let p: Vec<&str> = s.split_whitespace().collect();
        if p.len() != 6 {
            return Err(());
        }
        let month = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ]
        .iter()
        .position(|m| *m == p[2])
        .ok_or(())?
            + 1;
        format!("{}-{month:02}-{:0>2}T{}Z", p[3], p[1], p[4])
    })
    .map_err(|_| ())
}

pub fn retryable_status(status: u16) -> bool {
    status == 408
        || status == 429
        || (500..=599).contains(&status) && status != 501 && status != 505
}

/// Exponential backoff with jitter: 0.5 s, 1 s, 2 s ... capped at 30 s, +/- 20 %.
pub fn backoff(attempt: u32) -> Duration {
    let base = 0.5 * 2f64.powi(attempt.min(6) as i32);
    let jitter = {
        let mut b = [0u8; 2];
        let _ = aws_lc_rs::rand::fill(&mut b);
        (u16::from_le_bytes(b) as f64 / u16::MAX as f64) * 0.4 + 0.8
    };
    Duration::from_secs_f64((base * jitter).min(30.0))
}

#[derive(Debug, Default)]
pub struct Retry {
    /// Counts every retry the process made (for logs and benchmarks).
    pub retries: AtomicU64,
}

#[async_trait]
impl Policy for Retry {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let deadline = ctx
            .value::<Deadline>()
            .map(|d| d.0)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(300));
        let attempts = ctx.value::<Attempts>().cloned().unwrap_or_default();
        let mut attempt: u32 = 0;
        loop {
            attempts.0.fetch_add(1, Ordering::Relaxed);
            let mut result = next[0].send(ctx, request, &next[1..]).await;
            let wait = match result {
                Ok(resp) if retryable_status(u16::from(resp.status())) => {
                    // Read the (small) error body for ARM's "retry after N seconds", then hand it on intact.
                    let (status, headers, body) = resp.deconstruct();
                    let bytes = body.collect().await.unwrap_or_default();
                    let hint = retry_hint(&headers, &bytes);
                    result = Ok(AsyncRawResponse::from_bytes(status, headers, bytes));
                    Some(hint.unwrap_or_else(|| backoff(attempt)))
                }
                Ok(resp) if u16::from(resp.status()) == 409 => {
                    // Most conflicts are final; "another operation is in progress" is not.
                    let (status, headers, body) = resp.deconstruct();
                    let bytes = body.collect().await.unwrap_or_default();
                    let wait = retryable_conflict(&bytes)
                        .then(|| retry_hint(&headers, &bytes).unwrap_or_else(|| backoff(attempt)));
                    result = Ok(AsyncRawResponse::from_bytes(status, headers, bytes));
                    wait
                }
                Err(ref e)
                    if matches!(
                        e.kind(),
                        azure_core::error::ErrorKind::Connection | azure_core::error::ErrorKind::Io
                    ) =>
                {
                    Some(backoff(attempt))
                }
                _ => None,
            };
            let Some(wait) = wait else { return result };
            if Instant::now() + wait >= deadline {
                // No time left to wait: hand back what we have; the caller reports it.
                return result;
            }
            self.retries.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                target: "rhelazure.arm",
                method = %request.method(), path = request.url().path(),
                status = result.as_ref().map(|r| u16::from(r.status())).unwrap_or(0),
                wait_ms = wait.as_millis() as u64, attempt = attempt + 1,
                "retrying"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// What one subscription's budget looked like at the last answer.
#[derive(Debug, Clone, Copy)]
struct Budget {
    remaining: u64,
    at: Instant,
}

/// Per-subscription read and write budgets, shared by every call of the process.
#[derive(Debug, Default)]
pub struct Throttle {
    budgets: Mutex<HashMap<(String, bool), Budget>>,
    /// Calls that were slowed down ahead of the server's limit.
    pub paced: AtomicU64,
}

/// Below this many remaining requests, calls are spread out instead of spent.
const RESERVE_WRITES: u64 = 20;
const RESERVE_READS: u64 = 100;

fn subscription_of(request: &Request) -> Option<String> {
    let mut segs = request.url().path_segments()?;
    (segs.next()?.eq_ignore_ascii_case("subscriptions"))
        .then(|| segs.next().map(str::to_ascii_lowercase))
        .flatten()
}

fn is_write(request: &Request) -> bool {
    !matches!(
        request.method(),
        azure_core::http::Method::Get | azure_core::http::Method::Head
    )
}

impl Throttle {
    /// How long to wait before spending one more request from this budget.
    fn pace(&self, sub: &str, write: bool) -> Duration {
        let reserve = if write { RESERVE_WRITES } else { RESERVE_READS };
        let budgets = self.budgets.lock().unwrap_or_else(|p| p.into_inner());
        let Some(b) = budgets.get(&(sub.to_string(), write)) else {
            return Duration::ZERO;
        };
        if b.remaining >= reserve {
            return Duration::ZERO;
        }
        // Azure refills about capacity/hour; below the reserve, spend at most
        // one request per second per missing request of the reserve, counted
        // from the last answer.
        let want = Duration::from_millis((reserve - b.remaining) * 1000 / reserve * 2);
        want.saturating_sub(b.at.elapsed())
    }

    fn update(
        &self,
        sub: &str,
        write: bool,
        remaining: Option<u64>,
        throttled_for: Option<Duration>,
    ) {
        let mut budgets = self.budgets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = remaining {
            budgets.insert(
                (sub.to_string(), write),
                Budget {
                    remaining: r,
                    at: Instant::now(),
                },
            );
        } else if throttled_for.is_some() {
            budgets.insert(
                (sub.to_string(), write),
                Budget {
                    remaining: 0,
                    at: Instant::now(),
                },
            );
        }
    }
}

#[async_trait]
impl Policy for Throttle {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let Some(sub) = subscription_of(request) else {
            return next[0].send(ctx, request, &next[1..]).await;
        };
        let write = is_write(request);
        let wait = self.pace(&sub, write);
        if !wait.is_zero() {
            self.paced.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(target: "rhelazure.arm", subscription = %sub, write, wait_ms = wait.as_millis() as u64, "pacing ahead of the ARM request budget");
            tokio::time::sleep(wait).await;
        }
        let result = next[0].send(ctx, request, &next[1..]).await;
        if let Ok(resp) = &result {
            let name = if write {
                "x-ms-ratelimit-remaining-subscription-writes"
            } else {
                "x-ms-ratelimit-remaining-subscription-reads"
            };
            let remaining = header(resp.headers(), name).and_then(|v| v.parse().ok());
            let throttled = (u16::from(resp.status()) == 429)
                .then(|| retry_hint(resp.headers(), b"").unwrap_or_default());
            self.update(&sub, write, remaining, throttled);
        }
        result
    }
}

/// One debug line per call, after retries: what was called and how it went.
#[derive(Debug, Default)]
pub struct CallLog;

#[async_trait]
impl Policy for CallLog {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let start = Instant::now();
        let result = next[0].send(ctx, request, &next[1..]).await;
        let attempts = ctx
            .value::<Attempts>()
            .map(|a| a.0.load(Ordering::Relaxed))
            .unwrap_or(1);
        let status = result.as_ref().map(|r| u16::from(r.status())).unwrap_or(0);
        tracing::debug!(
            target: "rhelazure.arm",
            method = %request.method(),
            path = request.url().path(),
            status,
            duration_ms = start.elapsed().as_millis() as u64,
            attempts,
            "ARM call"
        );
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::http::headers::Headers;

    fn headers(pairs: &[(&'static str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (k, v) in pairs {
            h.insert(*k, v.to_string());
        }
        h
    }

    #[test]
    fn retry_hints_in_every_form() {
        assert_eq!(
            retry_hint(&headers(&[("x-ms-retry-after-ms", "1500")]), b""),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_hint(&headers(&[("retry-after", "7")]), b""),
            Some(Duration::from_secs(7))
        );
        let past = retry_hint(
            &headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]),
            b"",
        );
        assert_eq!(past, Some(Duration::ZERO), "a date in the past means now");
        let body = br#"{"error":{"code":"SubscriptionRequestsThrottled","message":"Please try again after '17' seconds after additional tokens are available."}}"#;
        assert_eq!(
            retry_hint(&Headers::new(), body),
            Some(Duration::from_secs(17))
        );
        assert_eq!(retry_hint(&Headers::new(), b"{}"), None);
        let body = br#"{"error":{"code":"RetryableErrorDueToAnotherOperation","message":"Operation is not allowed since another operation is in progress. Please retry in 14 seconds."}}"#;
        assert_eq!(
            retry_hint(&Headers::new(), body),
            Some(Duration::from_secs(14))
        );
        assert_eq!(
            retry_hint(&Headers::new(), b"retry after 30 seconds"),
            Some(Duration::from_secs(30))
        );
        // Numbers that are not a stated wait are not taken for one.
        for text in [
            "Try again after additional tokens: quota 1200 per hour, 5 seconds apart",
            "Operation failed after 3 attempts",
            "Wait 10 seconds",
        ] {
            assert_eq!(retry_hint(&Headers::new(), text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn conflicts_worth_retrying() {
        assert!(retryable_conflict(br#"{"error":{"code":"AnotherOperationInProgress","message":"Another operation on this or dependent resource is in progress."}}"#));
        assert!(retryable_conflict(
            br#"{"error":{"code":"RetryableError","message":"x"}}"#
        ));
        assert!(!retryable_conflict(
            br#"{"error":{"code":"Conflict","message":"x"}}"#
        ));
        assert!(!retryable_conflict(b"not json"));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(0) <= Duration::from_millis(600));
        assert!(backoff(3) >= Duration::from_millis(3200));
        assert!(backoff(30) <= Duration::from_secs(30));
    }

    #[test]
    fn statuses_worth_retrying() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 412, 501] {
            assert!(!retryable_status(s), "{s}");
        }
    }
}
