//! Sources API v3.1 (`/api/sources/v3.1`), the part Cloud Access enrolment of an
//! Azure subscription uses: `bulk_create` of an `azure` source with the
//! `/insights/platform/cloud-meter` application ("RHEL management") and a
//! `lighthouse_subscription_id` authentication whose username is the Azure
//! subscription id; reads, rename and delete. Enrolment makes that
//! subscription's gold images (`rhel-byos`) appear in the emulated Marketplace
//! after a delay; deleting the source withdraws them.
//!
//! Source and application types follow the service's seed data
//! (`redhat-sources/source_types.yml`, `application_types.yml`).

use axum::http::Method;
use axum::response::Response;
use serde_json::{json, Value as Json};

use crate::http::{empty_response, json_response, now_ms, rfc3339, Req};
use crate::state::State;
use crate::Emulator;

/// (id, name, product name)
const SOURCE_TYPES: [(&str, &str, &str); 4] = [
    ("1", "amazon", "Amazon Web Services"),
    ("2", "azure", "Microsoft Azure"),
    ("3", "google", "Google Cloud"),
    ("4", "satellite", "Red Hat Satellite"),
];
/// (source type, authentication type) pairs an application type accepts.
type AuthPairs = &'static [(&'static str, &'static str)];
/// (id, name, display name, accepted pairs)
const APP_TYPES: [(&str, &str, &str, AuthPairs); 3] = [
    (
        "5",
        "/insights/platform/cloud-meter",
        "RHEL management",
        &[
            ("amazon", "cloud-meter-arn"),
            ("azure", "lighthouse_subscription_id"),
        ],
    ),
    (
        "2",
        "/insights/platform/cost-management",
        "Cost Management",
        &[
            ("amazon", "arn"),
            ("azure", "tenant_id_client_id_client_secret"),
        ],
    ),
    (
        "3",
        "/insights/platform/image-builder",
        "Image Builder",
        &[("amazon", "arn")],
    ),
];

pub fn error(status: u16, detail: &str) -> Response {
    json_response(
        status,
        &json!({ "errors": [{ "status": status.to_string(), "detail": detail }] }),
    )
}

fn list(items: Vec<Json>, req: &Req) -> Response {
    let limit = req
        .query("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100);
    let offset = req
        .query("offset")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(0);
    let count = items.len();
    let page: Vec<Json> = items.into_iter().skip(offset).take(limit).collect();
    json_response(
        200,
        &json!({
            "meta": { "count": count, "limit": limit, "offset": offset },
            "links": { "first": format!("?limit={limit}&offset=0"), "last": format!("?limit={limit}&offset={}", count.saturating_sub(1) / limit.max(1) * limit) },
            "data": page,
        }),
    )
}

fn next_id(st: &mut State) -> String {
    st.next_sources_id += 1;
    st.next_sources_id.to_string()
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `filter[name]=x` / `filter[name][eq]=x` (the QueryFilter forms we need).
fn name_filter(req: &Req) -> Option<String> {
    req.query
        .iter()
        .find(|(k, _)| k.as_str() == "filter[name]" || k.as_str() == "filter[name][eq]")
        .map(|(_, v)| v.clone())
}

pub fn handle(emu: &Emulator, req: &Req, rest: &[&str]) -> Response {
    match (req.method.clone(), rest) {
        (Method::GET, ["source_types"]) => list(
            SOURCE_TYPES.iter().map(|(id, n, p)| json!({ "id": id, "name": n, "product_name": p, "vendor": if *n == "satellite" { "Red Hat" } else { "" }, "category": "Cloud" })).collect(),
            req,
        ),
        (Method::GET, ["application_types"]) => list(
            APP_TYPES
                .iter()
                .map(|(id, n, d, allowed)| {
                    let mut auth = serde_json::Map::new();
                    for (st, at) in allowed.iter() {
                        auth.entry(st.to_string()).or_insert(json!([])).as_array_mut().expect("array").push(json!(at));
                    }
                    json!({ "id": id, "name": n, "display_name": d, "supported_source_types": allowed.iter().map(|(s, _)| *s).collect::<Vec<_>>(), "supported_authentication_types": auth })
                })
                .collect(),
            req,
        ),
        (Method::POST, ["bulk_create"]) => bulk_create(emu, req),
        (Method::GET, ["sources"]) => {
            let st = emu.state();
            let wanted = name_filter(req);
            list(st.sources.values().filter(|s| wanted.as_deref().is_none_or(|n| s["name"] == json!(n))).cloned().collect(), req)
        }
        (m, ["sources", id, tail @ ..]) => {
            let mut st = emu.state();
            let Some(source) = st.sources.get(*id).cloned() else { return error(404, "Source not found") };
            match (m, tail) {
                (Method::GET, []) => json_response(200, &source),
                (Method::PATCH, []) => {
                    let Ok(body) = serde_json::from_slice::<Json>(&req.body) else { return error(400, "invalid JSON body") };
                    let mut s = source;
                    if let Some(name) = body.get("name") {
                        let Some(name) = name.as_str().filter(|n| !n.is_empty()) else { return error(400, "name must be a non-empty string") };
                        if st.sources.values().any(|x| x["name"] == json!(name) && x["id"] != s["id"]) {
                            return error(400, "name has already been taken");
                        }
                        s["name"] = json!(name);
                    }
                    for k in body.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
                        if !["name", "availability_status", "source_ref"].contains(&k.as_str()) {
                            return error(400, &format!("field '{k}' cannot be updated"));
                        }
                    }
                    s["updated_at"] = json!(rfc3339(now_ms()));
                    st.sources.insert(id.to_string(), s.clone());
                    json_response(200, &s)
                }
                (Method::DELETE, []) => {
                    delete_source(&mut st, id);
                    empty_response(204)
                }
                (Method::GET, ["applications"]) => {
                    let apps: Vec<Json> = st.applications.values().filter(|a| a["source_id"] == json!(id)).cloned().collect();
                    list(apps, req)
                }
                (Method::GET, ["authentications"]) => {
                    let auths: Vec<Json> = st.authentications.values().filter(|a| a["_source_id"] == json!(id)).map(public_auth).collect();
                    list(auths, req)
                }
                _ => error(405, "method not allowed"),
            }
        }
        _ => error(404, &format!("no Sources route {} {}", req.method, req.path)),
    }
}

fn public_auth(a: &Json) -> Json {
    let mut a = a.clone();
    if let Some(m) = a.as_object_mut() {
        m.retain(|k, _| !k.starts_with('_') && k != "password");
    }
    a
}

/// Removes a source with its applications and authentications, ending any enrolment it made.
fn delete_source(st: &mut State, id: &str) {
    st.sources.remove(id);
    st.applications.retain(|_, a| a["source_id"] != json!(id));
    let subs: Vec<String> = st
        .authentications
        .values()
        .filter(|a| a["_source_id"] == json!(id) && a["authtype"] == "lighthouse_subscription_id")
        .filter_map(|a| a["username"].as_str().map(str::to_ascii_lowercase))
        .collect();
    st.authentications
        .retain(|_, a| a["_source_id"] != json!(id));
    for s in subs {
        // Only if no other source still enrols it.
        let still = st.authentications.values().any(|a| {
            a["authtype"] == "lighthouse_subscription_id"
                && a["username"].as_str().map(str::to_ascii_lowercase) == Some(s.clone())
        });
        if let (false, Some(sub)) = (still, st.subscriptions.get_mut(&s)) {
            sub.cloud_access = false;
            sub.cloud_access_due = None;
            sub.gold_image_access_failed = false;
        }
    }
}

fn bulk_create(emu: &Emulator, req: &Req) -> Response {
    let Ok(body) = serde_json::from_slice::<Json>(&req.body) else {
        return error(400, "invalid JSON body");
    };
    let sources = body["sources"].as_array().cloned().unwrap_or_default();
    let apps = body["applications"].as_array().cloned().unwrap_or_default();
    let auths = body["authentications"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut st = emu.state();
    // Validate everything first: bulk_create creates all or nothing.
    for s in &sources {
        let Some(name) = s["name"].as_str().filter(|n| !n.is_empty()) else {
            return error(400, "sources[].name is required");
        };
        let Some(t) = s["source_type_name"].as_str() else {
            return error(400, "sources[].source_type_name is required");
        };
        if !SOURCE_TYPES.iter().any(|(_, n, _)| *n == t) {
            return error(400, &format!("source type '{t}' does not exist"));
        }
        if st.sources.values().any(|x| x["name"] == json!(name)) {
            return error(400, "name has already been taken");
        }
        if let Some(w) = s["app_creation_workflow"].as_str() {
            if !["manual_configuration", "account_authorization"].contains(&w) {
                return error(400, &format!("invalid app_creation_workflow '{w}'"));
            }
        }
    }
    let source_type = |name: &str| {
        sources
            .iter()
            .find(|s| s["name"] == json!(name))
            .and_then(|s| s["source_type_name"].as_str())
            .map(str::to_string)
    };
    for a in &apps {
        let Some(sn) = a["source_name"].as_str() else {
            return error(400, "applications[].source_name is required");
        };
        let Some(stype) = source_type(sn) else {
            return error(400, &format!("source '{sn}' is not in this payload"));
        };
        let tname = a["application_type_name"].as_str().unwrap_or("");
        let tid = a["application_type_id"].as_str().unwrap_or("");
        let Some(at) = APP_TYPES
            .iter()
            .find(|(id, n, _, _)| *n == tname || *id == tid)
        else {
            return error(
                400,
                &format!("application type '{tname}{tid}' does not exist"),
            );
        };
        if !at.3.iter().any(|(s, _)| *s == stype) {
            return error(
                400,
                &format!(
                    "application type '{}' does not support source type '{stype}'",
                    at.1
                ),
            );
        }
    }
    for a in &auths {
        let rtype = a["resource_type"]
            .as_str()
            .unwrap_or("")
            .to_ascii_lowercase();
        let authtype = a["authtype"].as_str().unwrap_or("");
        if rtype != "application" && rtype != "source" {
            return error(
                400,
                "authentications[].resource_type must be Application or Source",
            );
        }
        if rtype == "application" {
            let rname = a["resource_name"].as_str().unwrap_or("");
            let Some(at) = APP_TYPES.iter().find(|(_, n, _, _)| *n == rname) else {
                return error(
                    400,
                    &format!("no application of type '{rname}' in this payload"),
                );
            };
            let app = apps.iter().find(|x| {
                x["application_type_name"] == json!(rname)
                    || x["application_type_id"] == json!(at.0)
            });
            let Some(app) = app else {
                return error(
                    400,
                    &format!("no application of type '{rname}' in this payload"),
                );
            };
            let stype = source_type(app["source_name"].as_str().unwrap_or("")).unwrap_or_default();
            if !at.3.iter().any(|(s, t)| *s == stype && *t == authtype) {
                return error(400, &format!("authentication type '{authtype}' is not supported by '{rname}' for '{stype}' sources"));
            }
            if authtype == "lighthouse_subscription_id"
                && !a["username"].as_str().is_some_and(is_guid)
            {
                return error(400, "username must be the Azure subscription id (a GUID) for lighthouse_subscription_id");
            }
        }
    }

    let now = rfc3339(now_ms());
    let delay = emu.tunables().lro_delay_ms;
    let mut out_sources = Vec::new();
    let mut out_apps = Vec::new();
    let mut out_auths = Vec::new();
    let mut by_name = std::collections::BTreeMap::new();
    for s in &sources {
        let id = next_id(&mut st);
        let type_id = SOURCE_TYPES
            .iter()
            .find(|(_, n, _)| *n == s["source_type_name"].as_str().unwrap_or(""))
            .map(|t| t.0)
            .unwrap_or("0");
        let src = without_nulls(json!({
            "id": id, "name": s["name"], "source_type_id": type_id, "uid": crate::http::guid(),
            "app_creation_workflow": s["app_creation_workflow"].as_str().unwrap_or("manual_configuration"),
            "availability_status": "in_progress", "created_at": now, "updated_at": now,
            "source_ref": s.get("source_ref").cloned().unwrap_or(Json::Null),
        }));
        by_name.insert(s["name"].as_str().unwrap_or("").to_string(), id.clone());
        st.sources.insert(id, src.clone());
        out_sources.push(src);
    }
    for a in &apps {
        let id = next_id(&mut st);
        let at = APP_TYPES
            .iter()
            .find(|(aid, n, _, _)| {
                *n == a["application_type_name"].as_str().unwrap_or("")
                    || *aid == a["application_type_id"].as_str().unwrap_or("")
            })
            .expect("validated");
        let source_id = by_name
            .get(a["source_name"].as_str().unwrap_or(""))
            .cloned()
            .unwrap_or_default();
        let app = json!({
            "id": id, "source_id": source_id, "application_type_id": at.0, "availability_status": "in_progress",
            "availability_status_error": "", "extra": a.get("extra").cloned().unwrap_or(json!({})),
            "created_at": now, "updated_at": now,
        });
        st.applications.insert(id, app.clone());
        out_apps.push(app);
    }
    for a in &auths {
        let id = next_id(&mut st);
        let rname = a["resource_name"].as_str().unwrap_or("");
        let (resource_id, source_id) = if a["resource_type"]
            .as_str()
            .unwrap_or("")
            .eq_ignore_ascii_case("application")
        {
            let at = APP_TYPES
                .iter()
                .find(|(_, n, _, _)| *n == rname)
                .expect("validated");
            let app = out_apps
                .iter()
                .find(|x| x["application_type_id"] == json!(at.0))
                .cloned()
                .unwrap_or_default();
            (app["id"].clone(), app["source_id"].clone())
        } else {
            let sid = by_name.get(rname).cloned().unwrap_or_default();
            (json!(sid), json!(sid))
        };
        let auth = without_nulls(json!({
            "id": id, "authtype": a["authtype"], "username": a["username"], "name": a.get("name").cloned().unwrap_or(Json::Null),
            "resource_type": a["resource_type"], "resource_id": resource_id, "availability_status": "in_progress",
            "extra": a.get("extra").cloned().unwrap_or(json!({})), "_source_id": source_id,
        }));
        if auth["authtype"] == "lighthouse_subscription_id" {
            // Enrolment: the Azure subscription's gold images appear after a while.
            let sub_id = auth["username"].as_str().unwrap_or("").to_ascii_lowercase();
            let available = match st.subscriptions.get_mut(&sub_id) {
                Some(s) => {
                    if !s.cloud_access {
                        s.cloud_access_due = Some(now_ms() + delay);
                    }
                    true
                }
                None => false,
            };
            let status = if available {
                "available"
            } else {
                "unavailable"
            };
            let err = if available {
                ""
            } else {
                "Azure Lighthouse delegation for this subscription was not found. Deploy Red Hat's Lighthouse offer to the subscription first."
            };
            for app in st
                .applications
                .values_mut()
                .filter(|x| x["id"] == auth["resource_id"])
            {
                app["availability_status"] = json!(status);
                app["availability_status_error"] = json!(err);
            }
            if let Some(src) = st.sources.get_mut(source_id.as_str().unwrap_or("")) {
                src["availability_status"] = json!(status);
                src["last_checked_at"] = json!(now);
            }
        }
        out_auths.push(public_auth(&auth));
        st.authentications.insert(id, auth);
    }
    // Report the availability just computed.
    let refresh = |list: &mut Vec<Json>, map: &std::collections::BTreeMap<String, Json>| {
        for x in list.iter_mut() {
            if let Some(cur) = map.get(x["id"].as_str().unwrap_or("")) {
                *x = cur.clone();
            }
        }
    };
    refresh(&mut out_sources, &st.sources);
    refresh(&mut out_apps, &st.applications);
    json_response(
        201,
        &json!({ "sources": out_sources, "endpoints": [], "applications": out_apps, "authentications": out_auths }),
    )
}

/// Sources leaves unset fields out of its answers (`omitempty` in the
/// service's models; the spec types them as strings, never null).
fn without_nulls(mut v: Json) -> Json {
    if let Some(o) = v.as_object_mut() {
        o.retain(|_, x| !x.is_null());
    }
    v
}
