//! The Red Hat client against a server scripted per test (`scripted/`, which
//! plays both Red Hat SSO and the API): the access token is cached and
//! renewed ahead of expiry, renewed once on a 401 (never in a loop), SSO's
//! transient failures are retried, API retries honour hints within the
//! caller's deadline, and errors keep the API's message and request id.
//! `redhat_client.rs` runs the same client against the stateful emulator.

use std::time::{Duration, Instant};

use rhelazure::redhat::RedHatSettings;
use rhelazure::redhat::{RedHatClient, RedHatError};
use serde_json::json;

mod scripted;
use scripted::{Reply, Scripted};

const SSO_PATH: &str = "/sso/auth/realms/redhat-external/protocol/openid-connect/token";
const KEY_PATH: &str = "/api/rhsm/v2/activation_keys/scripted";

fn client(s: &Scripted) -> RedHatClient {
    let settings = RedHatSettings {
        offline_token: Some("scripted-offline-token".into()),
        api_url: s.base.clone(),
        sso_url: format!("{}/sso", s.base),
        ..Default::default()
    };
    RedHatClient::new(&settings, Some(s.http.clone())).unwrap()
}

fn token(access: &str, expires_in: u64) -> Reply {
    Reply::json(
        200,
        json!({ "access_token": access, "expires_in": expires_in, "token_type": "Bearer", "refresh_expires_in": 0, "scope": "offline_access" }),
    )
}

fn key() -> Reply {
    Reply::json(
        200,
        json!({ "body": { "name": "scripted", "role": "", "serviceLevel": "", "usage": "", "releaseVersion": "", "additionalRepositories": [] } }),
    )
}

/// RHSM's answer to a token it no longer accepts.
fn unauthorized() -> Reply {
    Reply::json(
        401,
        json!({ "error": { "code": 401, "message": "Unauthorized" } }),
    )
}

fn within(secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(secs)
}

/// `Authorization` of every API (not SSO) request, without "Bearer ".
fn bearer_tokens(s: &Scripted) -> Vec<String> {
    s.seen()
        .iter()
        .filter(|r| r.path() != SSO_PATH)
        .map(|r| {
            r.header("authorization")
                .unwrap_or("")
                .trim_start_matches("Bearer ")
                .to_string()
        })
        .collect()
}

#[test]
fn the_token_is_cached_and_renewed_once_on_401() {
    let s = Scripted::start();
    let rh = client(&s);
    s.then(token("t1", 900))
        .then(key())
        .then(key())
        // Revoked server-side: one renewal, then the call succeeds.
        .then(unauthorized())
        .then(token("t2", 900))
        .then(key());
    s.run(async {
        for _ in 0..3 {
            rh.get_activation_key("scripted", within(60)).await.unwrap();
        }
    });
    assert_eq!(bearer_tokens(&s), ["t1", "t1", "t1", "t2"]);
    // A 401 that renewal does not cure is an error, not a loop.
    s.then(unauthorized())
        .then(token("t3", 900))
        .then(unauthorized());
    let err = s
        .run(rh.get_activation_key("scripted", within(60)))
        .unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    s.assert_script_done();
    // The offline token went to SSO as a refresh grant, never to the API.
    let sso = s
        .seen()
        .into_iter()
        .filter(|r| r.path() == SSO_PATH)
        .count();
    assert_eq!(sso, 3);
    assert!(bearer_tokens(&s).iter().all(|t| !t.contains("offline")));
}

#[test]
fn a_token_about_to_expire_is_renewed_before_use() {
    let s = Scripted::start();
    let rh = client(&s);
    // 30 s of life is inside the renewal margin: each call gets a new token.
    s.then(token("short-1", 30))
        .then(key())
        .then(token("short-2", 30))
        .then(key());
    s.run(async {
        rh.get_activation_key("scripted", within(60)).await.unwrap();
        rh.get_activation_key("scripted", within(60)).await.unwrap();
    });
    s.assert_script_done();
    assert_eq!(bearer_tokens(&s), ["short-1", "short-2"]);
}

#[test]
fn sso_and_api_retries_honour_hints() {
    let s = Scripted::start();
    let rh = client(&s);
    s.then(Reply::empty(503).header("Retry-After", "1"))
        .then(token("t1", 900))
        .then(Reply::empty(429).header("Retry-After", "1"))
        .then(Reply::dropped())
        .then(key());
    s.run(rh.get_activation_key("scripted", within(60)))
        .unwrap();
    s.assert_script_done();
    let gaps = s.gaps();
    assert!(
        gaps[0] >= Duration::from_millis(1000),
        "SSO retry waited {:?}",
        gaps[0]
    );
    assert!(
        gaps[2] >= Duration::from_millis(1000),
        "API retry waited {:?}",
        gaps[2]
    );
    // SSO refusing the credential is final: no retry.
    let s = Scripted::start();
    let rh = client(&s);
    s.then(Reply::json(
        400,
        json!({ "error": "invalid_grant", "error_description": "Offline user session not found" }),
    ));
    let err = s
        .run(rh.get_activation_key("scripted", within(60)))
        .unwrap_err();
    assert!(matches!(err, RedHatError::Auth(_)), "{err}");
    assert!(err.to_string().contains("RH_OFFLINE_TOKEN"), "{err}");
    assert_eq!(s.seen().len(), 1);
}

#[test]
fn a_hint_beyond_the_deadline_ends_the_call() {
    let s = Scripted::start();
    let rh = client(&s);
    s.then(token("t1", 900))
        .then(Reply::empty(503).header("Retry-After", "30"));
    let err = s
        .run(rh.get_activation_key("scripted", within(5)))
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(s.seen().len(), 2, "no retry it could not wait for");
}

#[test]
fn errors_keep_the_apis_message_and_request_id() {
    let s = Scripted::start();
    let rh = client(&s);
    // Image Builder / Sources shape: {"errors": [{"title"|"detail"}]}.
    s.then(token("t1", 900)).then(
        Reply::json(
            422,
            json!({ "errors": [{ "status": "422", "detail": "activation key name must be unique within the organization" }] }),
        )
        .header("x-rh-insights-request-id", "5f0c1d2e3a4b"),
    );
    let err = s
        .run(rh.get_activation_key("scripted", within(60)))
        .unwrap_err();
    match &err {
        RedHatError::Api {
            status,
            message,
            request_id,
            path,
            ..
        } => {
            assert_eq!(*status, 422);
            assert_eq!(
                message,
                "activation key name must be unique within the organization"
            );
            assert_eq!(request_id.as_deref(), Some("5f0c1d2e3a4b"));
            assert!(path.ends_with("/activation_keys/scripted"), "{path}");
        }
        other => panic!("expected an API error, got {other}"),
    }
    assert!(err
        .to_string()
        .contains("x-rh-insights-request-id: 5f0c1d2e3a4b"));
    assert_eq!(s.seen()[1].path(), KEY_PATH);
}

/// `showActivationKey` documents no 404, so a refused show is not taken as
/// "gone": the list, which the spec does document, confirms it. Missing
/// from the list: None. Still listed: the show's error stands.
#[test]
fn a_missing_activation_key_is_confirmed_by_the_list() {
    let s = Scripted::start();
    let rh = client(&s);
    let not_found = || {
        Reply::json(
            404,
            json!({ "error": { "code": 404, "message": "activation key 'scripted' not found" } }),
        )
    };
    s.then(token("t1", 900))
        .then(not_found())
        .then(Reply::json(200, json!({ "body": [{ "name": "other" }] })));
    let gone = s
        .run(rh.get_activation_key("scripted", within(60)))
        .unwrap();
    assert_eq!(gone, None);
    s.then(not_found()).then(Reply::json(
        200,
        json!({ "body": [{ "name": "scripted" }] }),
    ));
    let err = s
        .run(rh.get_activation_key("scripted", within(60)))
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    s.assert_script_done();
    let paths: Vec<String> = s.seen().iter().map(|r| r.path().to_string()).collect();
    assert_eq!(
        paths
            .iter()
            .filter(|p| p.ends_with("/activation_keys"))
            .count(),
        2,
        "each refused show was checked against the list: {paths:?}"
    );
}
