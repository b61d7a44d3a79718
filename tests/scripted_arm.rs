//! The ARM pipeline against a server scripted per test (`scripted/`): each
//! retry hint ARM sends (`Retry-After` in seconds and as a date,
//! `x-ms-retry-after-ms`, "try again after N seconds" in the error body),
//! backoff without a hint, dropped connections, the caller's deadline as the
//! only retry budget, typed errors, pacing on the `x-ms-ratelimit-remaining-*`
//! headers before any 429, every long-running-operation form, and on-demand
//! resource provider registration. `arm_client.rs` runs the same client
//! against the stateful emulator.
//!
//! Waits are checked from below only (the client waited at least what it was
//! told); how fast anything is, is for `make bench`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::http::{Method, Transport};
use rhelazure::arm::{ArmClient, ArmError};
use serde_json::json;

mod scripted;
use scripted::{Reply, Scripted};

const SUB: &str = "00000000-0000-4000-a000-00000000005c";
const API: &str = "2024-03-01";

/// A token that is always valid: these tests are about the pipeline, not identity.
#[derive(Debug)]
struct FixedToken;

#[async_trait]
impl TokenCredential for FixedToken {
    async fn get_token(
        &self,
        _: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let later =
            azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1);
        Ok(AccessToken::new(Secret::new("scripted-token"), later))
    }
}

fn client(s: &Scripted) -> ArmClient {
    ArmClient::with_credential(
        &s.base,
        SUB,
        Arc::new(FixedToken),
        Some(Transport::new(Arc::new(s.http.clone()))),
    )
}

fn within(secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(secs)
}

fn rg(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{name}")
}

fn at_least(gap: Duration, ms: u64, what: &str) {
    assert!(
        gap >= Duration::from_millis(ms),
        "{what}: waited {gap:?}, less than {ms} ms"
    );
}

/// The body every scripted PUT sends (the server does not read it).
fn body() -> serde_json::Value {
    json!({ "location": "eastus" })
}

/// One PUT call (retries included), as `ArmClient::call` makes it.
async fn put(arm: &ArmClient, path: &str) -> Result<rhelazure::arm::Answer, ArmError> {
    arm.call(Method::Put, path, Some(API), Some(&body()), within(60))
        .await
}

/// A PUT followed to its end, as `ArmClient::run` does it.
async fn put_and_wait(arm: &ArmClient, path: &str) -> Result<Option<serde_json::Value>, ArmError> {
    arm.run(Method::Put, path, API, Some(&body()), within(60))
        .await
}

/// Path of an `Azure-AsyncOperation` status, and its URL on the server `s`.
fn operation(s: &Scripted, name: &str) -> (String, String) {
    let path = format!(
        "/subscriptions/{SUB}/providers/Microsoft.Compute/locations/eastus/operations/{name}"
    );
    let url = format!("{}{path}?api-version={API}", s.base);
    (path, url)
}

/// Answers one GET with `hinted` then 200, and checks the retry waited at
/// least `ms` and reused the call's client request id. Each call starts at
/// attempt 0, whose backoff (0.4-0.6 s) is shorter than every hint here: a
/// hint that was ignored fails the check.
fn first_retry_waits(s: &Scripted, arm: &ArmClient, hinted: Reply, ms: u64, what: &str) {
    let before = s.seen().len();
    s.then(hinted)
        .then(Reply::json(200, json!({ "name": "hinted" })));
    let got = s
        .run(arm.get(&rg("hinted"), API, within(60)))
        .unwrap()
        .unwrap();
    assert_eq!(got["name"], "hinted");
    let seen = &s.seen()[before..];
    at_least(seen[1].at - seen[0].at, ms, what);
    let id = seen[0].header("x-ms-client-request-id").unwrap_or("");
    assert!(
        !id.is_empty() && seen[1].header("x-ms-client-request-id") == Some(id),
        "one call, one client request id"
    );
}

#[test]
fn every_retry_hint_form_is_honoured() {
    let s = Scripted::start();
    let arm = client(&s);
    first_retry_waits(
        &s,
        &arm,
        Reply::empty(503).header("Retry-After", "1"),
        1000,
        "Retry-After: 1",
    );
    // A date two seconds ahead, whole seconds: more than one second remains.
    let in_2s =
        azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::seconds(2);
    let date = azure_core::time::to_rfc7231(&in_2s);
    first_retry_waits(
        &s,
        &arm,
        Reply::empty(429).header("Retry-After", date),
        900,
        "Retry-After: <HTTP date>",
    );
    first_retry_waits(
        &s,
        &arm,
        Reply::empty(503).header("x-ms-retry-after-ms", "1000"),
        1000,
        "x-ms-retry-after-ms: 1000",
    );
    let throttled = json!({ "error": { "code": "SubscriptionRequestsThrottled", "message": "Number of 'read' requests for subscription exceeded. Please try again after '1' seconds after additional tokens are available." } });
    first_retry_waits(
        &s,
        &arm,
        Reply::json(429, throttled),
        1000,
        "'try again after 1 seconds' in the body",
    );
    s.assert_script_done();
    assert_eq!(arm.retry.retries.load(Ordering::Relaxed), 4);
}

#[test]
fn without_a_hint_the_wait_grows() {
    let s = Scripted::start();
    let arm = client(&s);
    s.then(Reply::empty(500))
        .then(Reply::empty(502))
        .then(Reply::empty(408))
        .then(Reply::json(200, json!({ "name": "backoff" })));
    s.run(arm.get(&rg("backoff"), API, within(60))).unwrap();
    s.assert_script_done();
    // 0.5 s, 1 s, 2 s, each within +/- 20 % jitter.
    let gaps = s.gaps();
    at_least(gaps[0], 400, "first backoff");
    at_least(gaps[1], 800, "second backoff");
    at_least(gaps[2], 1600, "third backoff");
}

#[test]
fn a_dropped_connection_is_retried() {
    let s = Scripted::start();
    let arm = client(&s);
    s.then(Reply::dropped())
        .then(Reply::json(200, json!({ "name": "flaky" })));
    let got = s.run(arm.get(&rg("flaky"), API, within(60))).unwrap();
    assert_eq!(got.unwrap()["name"], "flaky");
    s.assert_script_done();
    assert_eq!(s.seen().len(), 2);
}

#[test]
fn the_callers_deadline_is_the_retry_budget() {
    let s = Scripted::start();
    let arm = client(&s);
    // A hint longer than the time left: no wait, the answer comes back as the error.
    s.then(Reply::empty(503).header("Retry-After", "30"));
    let err = s.run(arm.get(&rg("late"), API, within(5))).unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(s.seen().len(), 1, "no retry it could not wait for");
    // No hint: retries with backoff while time remains, then the last answer.
    for _ in 0..20 {
        s.then(Reply::empty(500));
    }
    let deadline = within(3);
    let err = s.run(arm.get(&rg("late"), API, deadline)).unwrap_err();
    assert_eq!(err.status(), Some(500));
    let tries = s.seen().len() - 1;
    assert!((2..20).contains(&tries), "{tries} tries in 3 s");
    assert!(
        Instant::now() <= deadline + Duration::from_secs(1),
        "stopped at the deadline"
    );
}

#[test]
fn errors_retrying_cannot_fix_come_back_typed_at_once() {
    let s = Scripted::start();
    let arm = client(&s);
    s.then(
        Reply::json(
            409,
            json!({ "error": {
                "code": "OperationNotAllowed",
                "message": "Operation could not be completed as it results in exceeding approved standardDSv5Family Cores quota.",
                "target": "hardwareProfile.vmSize",
                "details": [{ "code": "QuotaExceeded", "message": "Current limit: 10, usage: 8, requested: 4." }]
            } }),
        )
        .header("x-ms-request-id", "9b3d0e1c-0000-4000-a000-00000000beef"),
    );
    let err = s.run(put(&arm, &rg("typed"))).unwrap_err();
    assert_eq!(s.seen().len(), 1, "a 409 is not retried");
    let api = err.api().expect("an API error");
    assert_eq!(
        (api.status, api.code.as_str()),
        (409, "OperationNotAllowed")
    );
    assert_eq!(api.target.as_deref(), Some("hardwareProfile.vmSize"));
    assert_eq!(
        api.details,
        vec!["QuotaExceeded: Current limit: 10, usage: 8, requested: 4.".to_string()]
    );
    assert_eq!(
        api.request_id.as_deref(),
        Some("9b3d0e1c-0000-4000-a000-00000000beef")
    );
    let sent = s.seen()[0]
        .header("x-ms-client-request-id")
        .unwrap()
        .to_string();
    assert_eq!(api.client_request_id, sent);
    let text = err.to_string();
    for part in [
        "PUT",
        "409",
        "hardwareProfile.vmSize",
        "QuotaExceeded",
        &sent,
        "9b3d0e1c",
    ] {
        assert!(text.contains(part), "{part} missing from: {text}");
    }
}

#[test]
fn a_low_write_budget_slows_writes_before_any_429() {
    let s = Scripted::start();
    let arm = client(&s);
    s.then(Reply::json(200, json!({})).header("x-ms-ratelimit-remaining-subscription-writes", "0"))
        .then(
            Reply::json(200, json!({}))
                .header("x-ms-ratelimit-remaining-subscription-reads", "11999"),
        )
        .then(
            Reply::json(200, json!({}))
                .header("x-ms-ratelimit-remaining-subscription-writes", "30"),
        )
        .then(
            Reply::json(200, json!({}))
                .header("x-ms-ratelimit-remaining-subscription-writes", "29"),
        );
    s.run(async {
        put(&arm, &rg("a")).await.unwrap();
        // Reads have their own budget: not slowed.
        arm.call(Method::Get, &rg("a"), Some(API), None, within(60))
            .await
            .unwrap();
        assert_eq!(arm.throttle.paced.load(Ordering::Relaxed), 0);
        // The write budget is spent: the next write waits (the server never said 429).
        put(&arm, &rg("b")).await.unwrap();
        assert_eq!(arm.throttle.paced.load(Ordering::Relaxed), 1);
        // Refilled above the reserve: no more pacing.
        put(&arm, &rg("c")).await.unwrap();
        assert_eq!(arm.throttle.paced.load(Ordering::Relaxed), 1);
    });
    s.assert_script_done();
    let seen = s.seen();
    at_least(seen[2].at - seen[0].at, 1500, "the paced write");
    assert_eq!(arm.retry.retries.load(Ordering::Relaxed), 0);
}

const IMAGE: &str = "/providers/Microsoft.Compute/images/golden";

#[test]
fn a_put_followed_through_azure_asyncoperation() {
    let s = Scripted::start();
    let arm = client(&s);
    let id = format!("{}{IMAGE}", rg("lro"));
    let (op_path, op_url) = operation(&s, "op-1");
    s.then(
        Reply::json(
            201,
            json!({ "id": id, "properties": { "provisioningState": "Creating" } }),
        )
        .header("Azure-AsyncOperation", op_url.clone())
        .header("Retry-After", "1"),
    )
    .then(Reply::json(200, json!({ "status": "InProgress" })).header("Retry-After", "1"))
    .then(Reply::json(200, json!({ "status": "Succeeded" })))
    .then(Reply::json(
        200,
        json!({ "id": id, "properties": { "provisioningState": "Succeeded" } }),
    ));
    let done = s.run(async {
        let op = arm
            .begin(Method::Put, &id, API, Some(&body()), within(60))
            .await
            .unwrap();
        // The id is known before the wait: a resource can be saved to state even if waiting fails.
        assert_eq!(op.resource().unwrap()["id"], json!(id));
        assert!(!op.is_done());
        op.wait(within(60)).await.unwrap().unwrap()
    });
    assert_eq!(done["properties"]["provisioningState"], "Succeeded");
    s.assert_script_done();
    assert_eq!(
        s.calls(),
        vec![
            format!("PUT {id}"),
            format!("GET {op_path}"),
            format!("GET {op_path}"),
            format!("GET {id}")
        ]
    );
    let gaps = s.gaps();
    at_least(gaps[0], 1000, "first poll after Retry-After: 1");
    at_least(gaps[1], 1000, "second poll after Retry-After: 1");
}

#[test]
fn a_delete_and_a_post_followed_through_location() {
    let s = Scripted::start();
    let arm = client(&s);
    let id = format!("{}{IMAGE}", rg("lro"));
    let loc = |n: u32| {
        format!("{}/subscriptions/{SUB}/providers/Microsoft.Compute/locations/eastus/operationResults/r-{n}?api-version={API}", s.base)
    };
    s.then(
        Reply::empty(202)
            .header("Location", loc(1))
            .header("Retry-After", "1"),
    )
    .then(
        Reply::empty(202)
            .header("Location", loc(1))
            .header("Retry-After", "1"),
    )
    .then(Reply::empty(204));
    let gone = s
        .run(arm.run(Method::Delete, &id, API, None, within(60)))
        .unwrap();
    assert!(gone.is_none());
    // A POST action whose result is the Location's final body.
    let action = format!("{id}/beginGetAccess");
    s.then(
        Reply::empty(202)
            .header("Location", loc(2))
            .header("Retry-After", "1"),
    )
    .then(Reply::json(
        200,
        json!({ "accessSAS": "https://example.invalid/disk?sv=x" }),
    ));
    let result = s
        .run(arm.run(
            Method::Post,
            &action,
            API,
            Some(&json!({ "access": "Read", "durationInSeconds": 600 })),
            within(60),
        ))
        .unwrap()
        .unwrap();
    assert_eq!(result["accessSAS"], "https://example.invalid/disk?sv=x");
    s.assert_script_done();
    let seen = s.seen();
    at_least(
        seen[1].at - seen[0].at,
        1000,
        "Location poll after Retry-After: 1",
    );
    assert!(seen[1].target.contains("/operationResults/r-1"));
}

#[test]
fn a_failed_or_canceled_operation_keeps_what_arm_said() {
    let s = Scripted::start();
    let arm = client(&s);
    let id = format!("{}{IMAGE}", rg("lro"));
    let (_, op_url) = operation(&s, "op-2");
    let started = || {
        Reply::json(
            201,
            json!({ "id": id, "properties": { "provisioningState": "Creating" } }),
        )
        .header("Azure-AsyncOperation", op_url.clone())
        .header("Retry-After", "0")
    };
    s.then(started()).then(Reply::json(
        200,
        json!({ "status": "Failed", "error": {
            "code": "InvalidParameter",
            "message": "The source blob is not a fixed VHD.",
            "target": "storageProfile.osDisk.blobUri",
            "details": [{ "code": "InvalidVhd", "message": "The footer is missing." }]
        } }),
    ));
    let err = s.run(put_and_wait(&arm, &id)).unwrap_err();
    match &err {
        ArmError::OperationFailed(e) => {
            assert_eq!(
                (e.status.as_str(), e.code.as_str()),
                ("Failed", "InvalidParameter")
            );
            assert_eq!(e.target.as_deref(), Some("storageProfile.osDisk.blobUri"));
            assert_eq!(
                e.details,
                vec!["InvalidVhd: The footer is missing.".to_string()]
            );
            assert_eq!(e.resource, id);
        }
        other => panic!("expected OperationFailed, got {other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("storageProfile.osDisk.blobUri") && text.contains("InvalidVhd"),
        "{text}"
    );

    s.then(started())
        .then(Reply::json(200, json!({ "status": "Canceled", "error": { "code": "OperationPreempted", "message": "Operation execution has been preempted by a more recent operation." } })));
    let err = s.run(put_and_wait(&arm, &id)).unwrap_err();
    assert!(
        matches!(&err, ArmError::OperationFailed(e) if e.status == "Canceled"),
        "{err}"
    );
    s.assert_script_done();
}

#[test]
fn missing_registration_registers_that_one_namespace() {
    let s = Scripted::start();
    let arm = client(&s);
    let id = format!("{}{IMAGE}", rg("reg"));
    let provider = format!("/subscriptions/{SUB}/providers/Microsoft.Compute");
    s.then(Reply::json(
        409,
        json!({ "error": { "code": "MissingSubscriptionRegistration", "message": "The subscription is not registered to use namespace 'Microsoft.Compute'.", "target": "Microsoft.Compute", "details": [] } }),
    ))
    .then(Reply::json(200, json!({ "namespace": "Microsoft.Compute", "registrationState": "Registering" })))
    .then(Reply::json(200, json!({ "namespace": "Microsoft.Compute", "registrationState": "Registering" })).header("Retry-After", "1"))
    .then(Reply::json(200, json!({ "namespace": "Microsoft.Compute", "registrationState": "Registered" })))
    .then(Reply::json(200, json!({ "id": id, "properties": { "provisioningState": "Succeeded" } })));
    let got = s.run(put(&arm, &id)).unwrap();
    assert_eq!(got.status, 200);
    s.assert_script_done();
    assert_eq!(
        s.calls(),
        vec![
            format!("PUT {id}"),
            format!("POST {provider}/register"),
            format!("GET {provider}"),
            format!("GET {provider}"),
            format!("PUT {id}"),
        ]
    );
}

#[test]
fn a_conflict_with_another_operation_is_waited_out() {
    let s = Scripted::start();
    let arm = client(&s);
    s.then(Reply::json(
        409,
        json!({ "error": { "code": "AnotherOperationInProgress", "message": "Another operation on this or dependent resource is in progress. Please retry in 1 seconds." } }),
    ))
    .then(Reply::json(
        429,
        json!({ "error": { "code": "RetryableErrorDueToAnotherOperation", "message": "Operation is not allowed since another operation is in progress. Please retry in 1 seconds." } }),
    ))
    .then(Reply::json(200, json!({ "name": "busy" })));
    let got = s.run(put(&arm, &rg("busy"))).unwrap();
    assert_eq!(got.status, 200);
    s.assert_script_done();
    let gaps = s.gaps();
    at_least(
        gaps[0],
        1000,
        "AnotherOperationInProgress, retry in 1 seconds",
    );
    at_least(
        gaps[1],
        1000,
        "RetryableErrorDueToAnotherOperation, retry in 1 seconds",
    );
}
