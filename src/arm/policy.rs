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

/// One subscription budget (reads or writes) as this process sees it.
#[derive(Debug)]
struct Budget {
    /// What the service said was left at `at` (`None` before any answer).
    remaining: Option<u64>,
    at: Instant,
    /// Requests sent and not answered yet: `remaining` may not count them,
    /// so they are spoken for already.
    in_flight: u64,
    /// Refill in requests per second, measured from the answers (`None`
    /// until a window of answers has been measured).
    refill: Option<f64>,
    /// The window being measured: its start, what was left then, and the
    /// answers since (each one spent a request).
    window: Option<(Instant, u64, u64)>,
}

impl Budget {
    fn new(now: Instant) -> Budget {
        Budget {
            remaining: None,
            at: now,
            in_flight: 0,
            refill: None,
            window: None,
        }
    }

    /// Requests that can be spent now without overdrawing: what was left,
    /// plus the refill since, minus what is on its way. An estimate a little
    /// high costs nothing: every answer corrects `remaining`, so the error
    /// never outgrows one answer's interval, which the reserve covers.
    fn available(&self, now: Instant) -> f64 {
        let refilled = self.refill.unwrap_or(0.0) * now.duration_since(self.at).as_secs_f64();
        self.remaining.unwrap_or(u64::MAX) as f64 + refilled - self.in_flight as f64
    }

    /// An answer: what is left, and (over windows of a second or more) how
    /// fast the budget refills: what is left now, minus what was left at the
    /// window's start, plus what the answers since spent.
    fn answered(&mut self, now: Instant, remaining: u64) {
        self.remaining = Some(remaining);
        self.at = now;
        let Some((start, left_then, answers)) = self.window else {
            self.window = Some((now, remaining, 0));
            return;
        };
        let answers = answers + 1;
        let secs = now.duration_since(start).as_secs_f64();
        if secs < 1.0 {
            self.window = Some((start, left_then, answers));
            return;
        }
        let sample = ((remaining as f64 - left_then as f64 + answers as f64) / secs).max(0.0);
        self.refill = Some(self.refill.map_or(sample, |old| (old + sample) / 2.0));
        self.window = Some((now, remaining, 0));
    }

    /// A 429: nothing is left, and the window starts over.
    fn throttled(&mut self, now: Instant) {
        self.remaining = Some(0);
        self.at = now;
        self.window = Some((now, 0, 0));
    }
}

/// Per-subscription read and write budgets, shared by every call of the
/// process. A call is sent at once while the budget, counting the calls
/// still on their way, keeps its reserve; else it waits for the refill
/// (measured from the answers), so a burst of parallel calls never spends
/// what the service has not granted and the service never needs to say 429.
#[derive(Debug, Default)]
pub struct Throttle {
    budgets: Mutex<HashMap<(String, bool), Budget>>,
    /// Calls that were slowed down ahead of the server's limit.
    pub paced: AtomicU64,
}

/// Left unspent for other clients of the subscription (the budget is
/// theirs too), and for the rounding of `remaining`.
const RESERVE_WRITES: u64 = 2;
const RESERVE_READS: u64 = 10;
/// A waiting call looks again at least this often (answers may have come).
const LOOK_AGAIN: Duration = Duration::from_millis(100);
/// With no refill measured and nothing on its way, one call goes after this
/// long to ask the service what is left.
const PROBE_AFTER: Duration = Duration::from_secs(2);

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

/// A call on its way: it leaves the budget's in-flight count when its
/// answer has been counted, or when the call is dropped.
struct OnItsWay<'a> {
    throttle: &'a Throttle,
    key: (String, bool),
}

impl Drop for OnItsWay<'_> {
    fn drop(&mut self) {
        if let Some(b) = self.throttle.lock().get_mut(&self.key) {
            b.in_flight = b.in_flight.saturating_sub(1);
        }
    }
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, bool), Budget>> {
        self.budgets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until one more request can be spent from this budget, and
    /// counts it as on its way. Whether it had to wait is counted in `paced`.
    async fn spend(&self, sub: &str, write: bool) -> OnItsWay<'_> {
        let reserve = if write { RESERVE_WRITES } else { RESERVE_READS } as f64;
        let key = (sub.to_string(), write);
        let mut waited = false;
        loop {
            let wait = {
                let mut budgets = self.lock();
                let now = Instant::now();
                let b = budgets
                    .entry(key.clone())
                    .or_insert_with(|| Budget::new(now));
                let available = b.available(now);
                let wait = if available >= reserve + 1.0 {
                    Duration::ZERO
                } else {
                    match b.refill {
                        Some(rate) if rate > 0.0 => {
                            Duration::from_secs_f64((reserve + 1.0 - available) / rate)
                        }
                        // Answers on their way will tell.
                        _ if b.in_flight > 0 => LOOK_AGAIN,
                        _ => PROBE_AFTER.saturating_sub(now.duration_since(b.at)),
                    }
                };
                if wait.is_zero() {
                    b.in_flight += 1;
                    break;
                }
                wait
            };
            if !waited {
                waited = true;
                self.paced.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(target: "rhelazure.arm", subscription = %sub, write, wait_ms = wait.as_millis() as u64, "pacing ahead of the ARM request budget");
            }
            tokio::time::sleep(wait.min(LOOK_AGAIN)).await;
        }
        OnItsWay {
            throttle: self,
            key,
        }
    }

    fn update(&self, key: &(String, bool), remaining: Option<u64>, throttled: bool) {
        let mut budgets = self.lock();
        let now = Instant::now();
        let b = budgets
            .entry(key.clone())
            .or_insert_with(|| Budget::new(now));
        match (remaining, throttled) {
            (_, true) => b.throttled(now),
            (Some(r), false) => b.answered(now, r),
            (None, false) => {}
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
        let on_its_way = self.spend(&sub, write).await;
        let result = next[0].send(ctx, request, &next[1..]).await;
        if let Ok(resp) = &result {
            let name = if write {
                "x-ms-ratelimit-remaining-subscription-writes"
            } else {
                "x-ms-ratelimit-remaining-subscription-reads"
            };
            let remaining = header(resp.headers(), name).and_then(|v| v.parse().ok());
            let throttled = u16::from(resp.status()) == 429;
            self.update(&on_its_way.key, remaining, throttled);
        }
        drop(on_its_way);
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
    fn the_budget_counts_calls_on_their_way_and_measures_the_refill() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut b = Budget::new(t0);
        assert!(b.available(t0) > 1e9, "no answer yet: no limit known");
        b.answered(t0, 10);
        b.in_flight = 4;
        assert_eq!(b.available(t0), 6.0, "calls on their way are spoken for");
        assert_eq!(b.refill, None);
        // Ten answers in a second spent ten, and 8 are left: 8 came back.
        for i in 1..10 {
            b.answered(at(100 * i), 10 - i);
        }
        assert_eq!(b.refill, None, "a window is a second at least");
        b.answered(at(1000), 8);
        assert_eq!(b.refill, Some(8.0));
        // Half a second later, the refill since is counted on.
        assert_eq!(b.available(at(1500)), 8.0 + 8.0 * 0.5 - 4.0);
        // A 429: nothing left, whatever was estimated.
        b.throttled(at(1500));
        assert_eq!(b.available(at(1500)), -4.0);
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
