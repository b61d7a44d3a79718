//! Shape comparison: how far the local cloud has drifted from the services a
//! recording was made against. Each recorded request is sent again, in
//! order, to a fresh local cloud, and the two answers are compared by shape:
//! status code, the set of JSON field paths in the body (values are the
//! account's own and are not compared), the long-running-operation headers
//! (`Azure-AsyncOperation`, `Location`, `Retry-After`) and so the flow of
//! each operation (its status polls are followed to the end on both sides).
//!
//! Identifiers the services chose (operation URLs, compose and source ids)
//! differ between the two: each is learnt where both answers carry it at the
//! same place and replaced in the requests that follow. Token requests are
//! not replayed (the local cloud's own credentials are used).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use crate::recorder::{
    CLIENT_PLACEHOLDER, ORGANIZATION_PLACEHOLDER, SUBSCRIPTION_PLACEHOLDER, TENANT_PLACEHOLDER,
};
use crate::LocalCloud;

/// The headers whose presence is part of an answer's shape.
const FLOW_HEADERS: [&str; 3] = ["azure-asyncoperation", "location", "retry-after"];

/// The exchanges of a recording (or of any request log), in order.
pub fn read_recording(path: &std::path::Path) -> Vec<Json> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Every field path of `v`: `a.b`, `a[].c` (array items merged).
pub fn field_paths(v: &Json) -> BTreeSet<String> {
    fn walk(v: &Json, at: &str, out: &mut BTreeSet<String>) {
        match v {
            Json::Object(m) => {
                for (k, x) in m {
                    let p = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    out.insert(p.clone());
                    walk(x, &p, out);
                }
            }
            Json::Array(items) => {
                for x in items {
                    walk(x, &format!("{at}[]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(v, "", &mut out);
    out
}

/// Whether `s` looks like an identifier a service chose (a GUID, a number,
/// an opaque token), not prose.
fn identifier_like(s: &str) -> bool {
    s.len() >= 6 && !s.contains(' ') && s.chars().any(|c| c.is_ascii_digit())
}

/// Learns `recorded -> local` for string leaves at the same place that differ.
fn learn_ids(recorded: &Json, local: &Json, ids: &mut BTreeMap<String, String>) {
    match (recorded, local) {
        (Json::Object(a), Json::Object(b)) => {
            for (k, x) in a {
                if let Some(y) = b.get(k) {
                    learn_ids(x, y, ids);
                }
            }
        }
        (Json::Array(a), Json::Array(b)) => {
            for (x, y) in a.iter().zip(b) {
                learn_ids(x, y, ids);
            }
        }
        (Json::String(a), Json::String(b)) if a != b && identifier_like(a) && !a.contains('/') => {
            ids.insert(a.clone(), b.clone());
        }
        _ => {}
    }
}

fn apply(text: &str, ids: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    // Longest first: an id may contain a shorter one.
    let mut pairs: Vec<_> = ids.iter().collect();
    pairs.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    for (from, to) in pairs {
        out = out.replace(from.as_str(), to);
    }
    out
}

fn query_string(q: &Json) -> String {
    q.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        k,
                        v.as_str()
                            .unwrap_or_default()
                            .replace('%', "%25")
                            .replace(' ', "%20")
                            .replace('&', "%26")
                            .replace('[', "%5B")
                            .replace(']', "%5D")
                    )
                })
                .collect::<Vec<_>>()
                .join("&")
        })
        .unwrap_or_default()
}

/// An answer reduced to what is compared.
#[derive(Debug)]
struct Shape {
    status: u16,
    fields: BTreeSet<String>,
    headers: BTreeSet<String>,
}

fn describe(e: &Json) -> String {
    format!(
        "{} {}",
        e["method"].as_str().unwrap_or("?"),
        e["path"].as_str().unwrap_or("?")
    )
}

/// Replays `recording` against `cloud` (fresh: its state must not already
/// hold the recording's objects) and lists every difference of shape, one
/// line each; empty when the local cloud answers as the services did.
pub fn compare(recording: &[Json], cloud: &LocalCloud) -> Vec<String> {
    let services = cloud.services();
    let (_, org) = services.redhat("GET", "/api/rhsm/v2/organization", None);
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    ids.insert(
        SUBSCRIPTION_PLACEHOLDER.into(),
        cloud.get("ARM_SUBSCRIPTION_ID"),
    );
    ids.insert(TENANT_PLACEHOLDER.into(), cloud.get("ARM_TENANT_ID"));
    ids.insert(CLIENT_PLACEHOLDER.into(), cloud.get("ARM_CLIENT_ID"));
    if let Some(o) = org["body"]["id"].as_str() {
        ids.insert(ORGANIZATION_PLACEHOLDER.into(), o.to_string());
    }
    let arm_base = crate::recorder::recorded_base("arm");
    let mut differences = Vec::new();
    for (i, e) in recording.iter().enumerate() {
        let service = e["service"].as_str().unwrap_or("arm");
        if matches!(service, "login" | "redhat-sso") {
            continue;
        }
        let path = e["path"].as_str().unwrap_or("");
        let is_poll = e["method"] == "GET"
            && recording[..i].iter().any(|p| {
                p["operation_urls"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Json::as_str)
                    .any(|u| {
                        u.strip_prefix(&arm_base)
                            .is_some_and(|rest| rest.split('?').next() == Some(path))
                    })
            });
        // Only the last poll of an operation is replayed, followed to its end:
        // how many polls each side needed is timing, not shape.
        if is_poll
            && recording[i + 1..]
                .iter()
                .any(|n| n["path"] == e["path"] && n["method"] == "GET")
        {
            continue;
        }
        let query = query_string(&e["query"]);
        let target = apply(
            &format!("{path}{}{query}", if query.is_empty() { "" } else { "?" }),
            &ids,
        );
        let body = match &e["request_body"] {
            Json::Null => None,
            b => Some(
                serde_json::from_str::<Json>(&apply(&b.to_string(), &ids)).unwrap_or(Json::Null),
            ),
        };
        let method = e["method"].as_str().unwrap_or("GET");
        let (status, local_body, local_headers) = if is_poll {
            poll_to_end(cloud, &target)
        } else if method == "GET" {
            read_as_recorded(cloud, service, &target, e)
        } else {
            call_with_headers(cloud, service, method, &target, body)
        };
        let recorded = Shape {
            status: e["status"].as_u64().unwrap_or(0) as u16,
            fields: field_paths(&e["response_body"]),
            headers: FLOW_HEADERS
                .iter()
                .filter(|h| !e["response_headers"][**h].is_null())
                .map(|h| h.to_string())
                .collect(),
        };
        let local = Shape {
            status,
            fields: field_paths(&local_body),
            headers: local_headers.keys().cloned().collect(),
        };
        learn_ids(&e["response_body"], &local_body, &mut ids);
        // Operation URLs: the recorded ones lead to the local ones.
        for h in ["azure-asyncoperation", "location"] {
            if let (Some(rec), Some(loc)) =
                (e["response_headers"][h].as_str(), local_headers.get(h))
            {
                let strip = |u: &str, base: &str| {
                    u.strip_prefix(base)
                        .map(|p| p.split('?').next().unwrap_or(p).to_string())
                };
                if let (Some(a), Some(b)) = (
                    strip(rec, &arm_base),
                    strip(loc, &cloud.get("ARM_ENDPOINT")),
                ) {
                    ids.insert(a, b);
                }
            }
        }
        let what = describe(e);
        if recorded.status != local.status {
            differences.push(format!(
                "{what}: status: recorded {}, local cloud {}",
                recorded.status, local.status
            ));
            continue;
        }
        for f in recorded.fields.difference(&local.fields) {
            differences.push(format!(
                "{what}: response field `{f}`: only in the recording"
            ));
        }
        for f in local.fields.difference(&recorded.fields) {
            differences.push(format!(
                "{what}: response field `{f}`: only in the local cloud's answer"
            ));
        }
        for h in recorded.headers.symmetric_difference(&local.headers) {
            let side = if recorded.headers.contains(h) {
                "only in the recording"
            } else {
                "only in the local cloud's answer"
            };
            differences.push(format!("{what}: header `{h}`: {side}"));
        }
    }
    differences
}

/// One call with the flow headers of its answer.
fn call_with_headers(
    cloud: &LocalCloud,
    service: &str,
    method: &str,
    target: &str,
    body: Option<Json>,
) -> (u16, Json, BTreeMap<String, String>) {
    let services = cloud.services();
    let base = match service {
        "redhat-api" => cloud.get("RH_API_URL"),
        _ => cloud.get("ARM_ENDPOINT"),
    };
    let token = match service {
        "redhat-api" => services.redhat_access_token(),
        _ => services.arm_access_token(),
    };
    services.send_with_headers(
        method,
        &format!("{base}{target}"),
        Some(&token),
        body,
        &FLOW_HEADERS,
    )
}

/// How long a replayed read may wait for the local cloud to reach the state
/// the recording saw: far above the local cloud's operations (200 ms), and
/// short, because a read that never matches is simply a difference.
const ALIGN: std::time::Duration = std::time::Duration::from_secs(15);

/// Whether a resource's `provisioningState` is final.
fn settled(body: &Json) -> bool {
    matches!(
        body["properties"]["provisioningState"].as_str(),
        None | Some("Succeeded" | "Failed" | "Canceled")
    )
}

/// A read replayed until the local cloud is where the recording saw the
/// service: the same status and, when the recorded object had settled, a
/// settled object. A read is idempotent, and when it was recorded the
/// client had waited for that state (a resource being created or a resource
/// group being deleted); the replay runs faster and would otherwise compare
/// moments, not shapes. Bounded: a state never reached is a difference.
fn read_as_recorded(
    cloud: &LocalCloud,
    service: &str,
    target: &str,
    recorded: &Json,
) -> (u16, Json, BTreeMap<String, String>) {
    let deadline = std::time::Instant::now() + ALIGN;
    loop {
        let answer = call_with_headers(cloud, service, "GET", target, None);
        let status_matches = u64::from(answer.0) == recorded["status"].as_u64().unwrap_or(0);
        let state_matches = !settled(&recorded["response_body"]) || settled(&answer.1);
        if (status_matches && state_matches) || std::time::Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Polls an operation URL until it is no longer running; the last answer.
fn poll_to_end(cloud: &LocalCloud, target: &str) -> (u16, Json, BTreeMap<String, String>) {
    let deadline = std::time::Instant::now() + crate::SETTLE;
    loop {
        let answer = call_with_headers(cloud, "arm", "GET", target, None);
        let running = answer.0 == 202
            || matches!(
                answer.1["status"].as_str(),
                Some("InProgress" | "Running" | "Accepted")
            );
        if !running || std::time::Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
