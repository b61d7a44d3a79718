//! RHSM API v2: the caller's organization (`/api/rhsm/v2/organization`),
//! activation keys (`/api/rhsm/v2/activation_keys`) and Cloud Access
//! accounts (`/api/rhsm/v2/cloud_access_providers/accounts`), per
//! `redhat-rhsm-v2/openapi.json`: create answers 200 (not 201) with `{"body": key}`,
//! names are letters, digits, `_` and `-` and unique, system-purpose values are
//! checked, errors are `{"error":{"code","message"}}`.

use axum::http::Method;
use axum::response::Response;
use serde_json::{json, Value as Json};

use crate::http::{empty_response, json_response, now_ms, rfc3339, Req};
use crate::Emulator;

const ROLES: [&str; 4] = [
    "Red Hat Enterprise Linux Server",
    "Red Hat Enterprise Linux Workstation",
    "Red Hat Enterprise Linux Compute Node",
    "",
];
const SERVICE_LEVELS: [&str; 4] = ["Premium", "Standard", "Self-Support", ""];
const USAGES: [&str; 4] = ["Production", "Development/Test", "Disaster Recovery", ""];

/// Repositories an activation key can add (RHEL 9 and 10, x86_64 and aarch64).
pub const AVAILABLE_REPOSITORIES: [&str; 12] = [
    "rhel-9-for-x86_64-baseos-rpms",
    "rhel-9-for-x86_64-appstream-rpms",
    "codeready-builder-for-rhel-9-x86_64-rpms",
    "rhel-9-for-x86_64-highavailability-rpms",
    "rhel-9-for-aarch64-baseos-rpms",
    "rhel-9-for-aarch64-appstream-rpms",
    "rhel-10-for-x86_64-baseos-rpms",
    "rhel-10-for-x86_64-appstream-rpms",
    "codeready-builder-for-rhel-10-x86_64-rpms",
    "rhel-10-for-aarch64-baseos-rpms",
    "rhel-10-for-aarch64-appstream-rpms",
    "ansible-automation-platform-2.5-for-rhel-9-x86_64-rpms",
];

pub fn error(code: u16, message: &str) -> Response {
    json_response(
        code,
        &json!({ "error": { "code": code, "message": message } }),
    )
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn check_purpose(body: &Json) -> Result<(), Response> {
    for (field, allowed) in [
        ("role", &ROLES[..]),
        ("serviceLevel", &SERVICE_LEVELS[..]),
        ("usage", &USAGES[..]),
    ] {
        if let Some(v) = body.get(field).and_then(Json::as_str) {
            if !allowed.contains(&v) {
                return Err(error(
                    400,
                    &format!(
                        "invalid {field} '{v}': allowed values are {}",
                        allowed
                            .iter()
                            .filter(|a| !a.is_empty())
                            .map(|a| format!("'{a}'"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
    }
    if body
        .get("description")
        .and_then(Json::as_str)
        .is_some_and(|d| d.chars().count() > 255)
    {
        return Err(error(
            400,
            "description should be 255 characters or shorter",
        ));
    }
    Ok(())
}

fn repo_labels(body: &Json) -> Result<Vec<String>, Response> {
    let items = body
        .as_array()
        .ok_or_else(|| error(400, "expected an array of {\"repositoryLabel\": ...}"))?;
    let mut out = Vec::new();
    for i in items {
        let label = i["repositoryLabel"]
            .as_str()
            .ok_or_else(|| error(400, "every item needs a repositoryLabel"))?;
        if !AVAILABLE_REPOSITORIES.contains(&label) {
            return Err(error(
                400,
                &format!("repository '{label}' is not available to this organization"),
            ));
        }
        out.push(label.to_string());
    }
    Ok(out)
}

fn parse(req: &Req) -> Result<Json, Response> {
    serde_json::from_slice(&req.body).map_err(|e| error(400, &format!("invalid JSON body: {e}")))
}

/// Only the fields that have values appear, as the service answers.
fn render(k: &Json) -> Json {
    let mut out = serde_json::Map::new();
    for (key, v) in k.as_object().cloned().unwrap_or_default() {
        let empty = v.as_str() == Some("");
        if !empty || key == "name" {
            out.insert(key, v);
        }
    }
    Json::Object(out)
}

pub fn handle(emu: &Emulator, req: &Req, rest: &[&str]) -> Response {
    match (req.method.clone(), rest) {
        // checkOrgSCACapability: the organization of the caller's credentials.
        (Method::GET, ["organization"]) => json_response(
            200,
            &json!({ "body": {
                "id": emu.seed().redhat.org_id,
                "simpleContentAccess": "enabled",
                "simpleContentAccessCapable": true,
            } }),
        ),
        (Method::GET, ["cloud_access_providers", "accounts"]) => cloud_accounts(emu, req),
        (Method::GET, ["activation_keys"]) => {
            let st = emu.state();
            json_response(
                200,
                &json!({ "body": st.activation_keys.values().map(render).collect::<Vec<_>>() }),
            )
        }
        (Method::POST, ["activation_keys"]) => {
            let body = match parse(req) {
                Ok(b) => b,
                Err(r) => return r,
            };
            let Some(name) = body["name"].as_str() else {
                return error(400, "name is required");
            };
            if !valid_name(name) {
                return error(400, "Name should be present, unique and can only contain letters, numbers, underscores, or hyphens");
            }
            if let Err(r) = check_purpose(&body) {
                return r;
            }
            let repos = match body.get("additionalRepositories") {
                Some(r) => match repo_labels(r) {
                    Ok(l) => l,
                    Err(resp) => return resp,
                },
                None => Vec::new(),
            };
            let mut st = emu.state();
            if st.activation_keys.contains_key(name) {
                return error(
                    400,
                    &format!("activation key with name '{name}' already exists"),
                );
            }
            let key = json!({
                "id": format!("{}", 1_000_000 + st.activation_keys.len() as u64 * 7 + now_ms() % 997),
                "name": name,
                "description": body["description"].as_str().unwrap_or(""),
                "releaseVersion": body["releaseVersion"].as_str().unwrap_or(""),
                "role": body["role"].as_str().unwrap_or(""),
                "serviceLevel": body["serviceLevel"].as_str().unwrap_or(""),
                "usage": body["usage"].as_str().unwrap_or(""),
                "additionalRepositories": repos.iter().map(|r| json!({ "repositoryLabel": r })).collect::<Vec<_>>(),
                "updatedAt": rfc3339(now_ms()),
            });
            st.activation_keys.insert(name.to_string(), key.clone());
            json_response(200, &json!({ "body": render(&key) }))
        }
        (m, ["activation_keys", name, tail @ ..]) => {
            let mut st = emu.state();
            let Some(key) = st.activation_keys.get(*name).cloned() else {
                return error(404, &format!("activation key '{name}' not found"));
            };
            match (m, tail) {
                (Method::GET, []) => json_response(200, &json!({ "body": render(&key) })),
                (Method::PUT, []) => {
                    let body = match parse(req) {
                        Ok(b) => b,
                        Err(r) => return r,
                    };
                    if body.get("name").is_some_and(|n| n.as_str() != Some(*name)) {
                        return error(400, "the name of an activation key cannot be changed");
                    }
                    if let Err(r) = check_purpose(&body) {
                        return r;
                    }
                    let mut k = key;
                    for f in [
                        "description",
                        "releaseVersion",
                        "role",
                        "serviceLevel",
                        "usage",
                    ] {
                        if let Some(v) = body.get(f).and_then(Json::as_str) {
                            k[f] = json!(v);
                        }
                    }
                    k["updatedAt"] = json!(rfc3339(now_ms()));
                    st.activation_keys.insert(name.to_string(), k.clone());
                    json_response(200, &json!({ "body": render(&k) }))
                }
                (Method::DELETE, []) => {
                    st.activation_keys.remove(*name);
                    empty_response(204)
                }
                (Method::POST | Method::DELETE, ["additional_repositories"]) => {
                    let body = match parse(req) {
                        Ok(b) => b,
                        Err(r) => return r,
                    };
                    let labels = match repo_labels(&body) {
                        Ok(l) => l,
                        Err(r) => return r,
                    };
                    let mut k = key;
                    let mut current: Vec<String> = k["additionalRepositories"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|r| r["repositoryLabel"].as_str().map(str::to_string))
                        .collect();
                    if req.method == Method::POST {
                        for l in labels {
                            if !current.contains(&l) {
                                current.push(l);
                            }
                        }
                    } else {
                        current.retain(|c| !labels.contains(c));
                    }
                    k["additionalRepositories"] = json!(current
                        .iter()
                        .map(|r| json!({ "repositoryLabel": r }))
                        .collect::<Vec<_>>());
                    k["updatedAt"] = json!(rfc3339(now_ms()));
                    st.activation_keys.insert(name.to_string(), k.clone());
                    if req.method == Method::POST {
                        json_response(200, &json!({ "body": k["additionalRepositories"] }))
                    } else {
                        empty_response(204)
                    }
                }
                (Method::GET, ["available_repositories"]) => json_response(
                    200,
                    &json!({ "body": AVAILABLE_REPOSITORIES.iter().map(|r| json!({ "repositoryLabel": r, "repositoryName": r, "repositoryType": "rpm" })).collect::<Vec<_>>() }),
                ),
                _ => error(405, "method not allowed"),
            }
        }
        _ => error(404, &format!("no RHSM route {} {}", req.method, req.path)),
    }
}

/// `listCloudAccounts`: the organization's Cloud Access accounts. Every
/// Azure subscription enrolled through Sources is an `MSAZ` account whose
/// `goldImageAccess` is `Requested` until Red Hat decides, then `Granted`
/// (or `Failed`, as the `gold_image_access` setting says). Filters as the
/// spec describes them: `shortName` and `goldImageAccess` exact, without
/// case; `providerAccountID` partial, without case; `limit` / `offset`.
fn cloud_accounts(emu: &Emulator, req: &Req) -> Response {
    let q = |k: &str| req.query(k).map(str::to_ascii_lowercase);
    let number =
        |k: &str, default: usize| req.query(k).and_then(|v| v.parse().ok()).unwrap_or(default);
    let (limit, offset) = (number("limit", 100), number("offset", 0));
    let st = emu.state();
    let all: Vec<Json> = st
        .subscriptions
        .values()
        .filter_map(|s| {
            let access = if s.cloud_access {
                "Granted"
            } else if s.gold_image_access_failed {
                "Failed"
            } else if s.cloud_access_due.is_some() {
                "Requested"
            } else {
                return None;
            };
            Some(json!({ "providerAccountID": s.id, "shortName": "MSAZ", "goldImageAccess": access }))
        })
        .filter(|_| q("shortName").is_none_or(|n| n == "msaz"))
        .filter(|a| {
            q("providerAccountID").is_none_or(|id| {
                a["providerAccountID"].as_str().unwrap_or("").to_ascii_lowercase().contains(&id)
            })
        })
        .filter(|a| {
            q("goldImageAccess").is_none_or(|g| a["goldImageAccess"].as_str().unwrap_or("").eq_ignore_ascii_case(&g))
        })
        .collect();
    let page: Vec<Json> = all.iter().skip(offset).take(limit).cloned().collect();
    json_response(
        200,
        &json!({ "body": page, "pagination": { "count": page.len(), "limit": limit, "offset": offset, "total": all.len() } }),
    )
}
