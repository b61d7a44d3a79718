//! The Red Hat room's one retry rule, shared by SSO token requests and API
//! calls: after 429, 408, 5xx or a connection error, try again after the
//! service's hint (`Retry-After`, "retry after N seconds") or an exponential
//! backoff with jitter, while the caller's deadline allows. The hint and
//! backoff rules are ARM's ([`crate::arm::policy`]); Red Hat's APIs are not
//! Azure's, so they do not go through the ARM pipeline itself.

use std::future::Future;
use std::time::{Duration, Instant};

use super::RedHatError;
use crate::arm::policy::backoff;

/// What one attempt came to.
pub(crate) enum Attempt<T> {
    /// Finished: the answer, or an error no retry can fix.
    Done(Result<T, RedHatError>),
    /// Worth another try after `hint` (else backoff); `error` is what the
    /// caller gets when the deadline leaves no time for it.
    Transient {
        error: RedHatError,
        hint: Option<Duration>,
    },
    /// Try again at once, not counted as a retry (the token was renewed).
    Renewed,
}

/// Runs `attempt(n)` (n = retries so far) until it is done or the deadline
/// leaves no time for the next wait. `what` names the call in logs.
pub(crate) async fn retrying<T, F, Fut>(
    what: &str,
    deadline: Instant,
    mut attempt: F,
) -> Result<T, RedHatError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Attempt<T>>,
{
    let mut retries = 0;
    loop {
        match attempt(retries).await {
            Attempt::Done(result) => return result,
            Attempt::Renewed => continue,
            Attempt::Transient { error, hint } => {
                let wait = hint.unwrap_or_else(|| backoff(retries));
                if Instant::now() + wait >= deadline {
                    return Err(error);
                }
                tracing::debug!(target: "rhelazure.redhat", what, wait_ms = wait.as_millis() as u64, "retrying: {error}");
                tokio::time::sleep(wait).await;
                retries += 1;
            }
        }
    }
}
