//! The control API under `/_emulator/`: fault injection, throttle budgets,
//! run-time settings, reset, a state dump (for "nothing left behind"
//! assertions) and the JSON-lines request log (with secrets masked).
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/_emulator/health` | liveness |
//! | POST | `/_emulator/reset` | back to the seed |
//! | GET | `/_emulator/state` | the whole state as JSON |
//! | GET | `/_emulator/secrets` | every credential of the seed, for tests that scan logs and state for leaks |
//! | GET, DELETE | `/_emulator/requests` | request log (JSON lines) / clear it |
//! | GET, POST, DELETE | `/_emulator/faults` | list / add / clear faults (see [`Fault`]: status, latency, dropped connection before or after serving, answer held after serving, LRO failure, probability, count) |
//! | PUT | `/_emulator/throttle` | `{"reads":{"capacity","per_second"},"writes":{...}}` |
//! | GET, PUT | `/_emulator/config` | `{"lro_delay_ms","token_lifetime_s","redhat_token_lifetime_s","compose_phase_ms","compose_registering_ms","list_page_size","gold_images_listed_to_all","gold_image_access"}` (fields not given keep their values) |
//! | GET | `/_emulator/run-commands` | every Run Command executed (VM, script, exit code, output) |
//! | POST | `/_emulator/run-commands/fail` | `{"vm": name or id or "*", "exit_code", "stderr", "stdout", "execution_state"}` (`execution_state`: `TimedOut` or `Canceled` instead of `Failed`): the next Run Command on it fails so |
//! | GET, PATCH | `/_emulator/guest?vm=ID` | the simulated guest's facts; PATCH `{"booted_image", "booted_digest", "latest_digest", "files": {path: content or null}}` simulates drift and new image builds |
//! | PUT | `/_emulator/image-builder` | `{"tenant_id", "authorized": bool}`: Red Hat's Image Builder app consented in that tenant or not |

use std::io::Write as _;
use std::time::Duration;

use axum::http::Method;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::faults::Fault;
use crate::http::{empty_response, json_response, Req};
use crate::ratelimit::Budget;
use crate::{Emulator, Tunables};

const SECRET_KEYS: [&str; 10] = [
    "client_secret",
    "password",
    "refresh_token",
    "access_token",
    "activation_key",
    "activation-key",
    "adminpassword",
    "value",
    "secret",
    "signature",
];

fn is_secret_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    SECRET_KEYS.iter().any(|s| k == *s) || k.ends_with("secret") || k.ends_with("token")
}

/// Masks secret-looking fields; `value` only inside storage keys (`keys[].value`)
/// and Run Command's protected parameters (`protectedParameters[].value`).
fn redact(v: &mut Json, parent: &str) {
    match v {
        Json::Object(m) => {
            for (k, x) in m.iter_mut() {
                let secret = if k == "value" {
                    parent == "keys" || parent == "protectedParameters"
                } else {
                    is_secret_key(k)
                };
                if secret && !x.is_null() && !x.is_object() && !x.is_array() {
                    *x = json!("[REDACTED]");
                } else {
                    redact(x, k);
                }
            }
        }
        Json::Array(items) => items.iter_mut().for_each(|x| redact(x, parent)),
        _ => {}
    }
}

/// A body for a log line: JSON or form fields with secret-named fields masked.
pub fn body_for_log(bytes: &[u8], content_type: Option<&str>) -> Json {
    if bytes.is_empty() {
        return Json::Null;
    }
    if let Ok(mut j) = serde_json::from_slice::<Json>(bytes) {
        redact(&mut j, "");
        return j;
    }
    if content_type.is_some_and(|c| c.contains("form")) {
        let mut m = serde_json::Map::new();
        for (k, v) in crate::http::parse_query(std::str::from_utf8(bytes).unwrap_or("")) {
            m.insert(
                k.clone(),
                if is_secret_key(&k) || k == "assertion" {
                    json!("[REDACTED]")
                } else {
                    json!(v)
                },
            );
        }
        return Json::Object(m);
    }
    json!(format!("<{} bytes>", bytes.len()))
}

/// What a log line keeps of an answer's headers: the operation URLs it
/// handed out (the conformance check matches status polls against them)
/// and the headers the specs speak of, for the traffic validators.
pub fn logged_headers(
    headers: &axum::http::HeaderMap,
) -> (Vec<String>, serde_json::Map<String, Json>) {
    let get = |h: &str| headers.get(h)?.to_str().ok().map(str::to_string);
    let operation_urls = ["azure-asyncoperation", "location"]
        .iter()
        .filter_map(|h| get(h))
        .collect();
    let response_headers = [
        "content-type",
        "azure-asyncoperation",
        "location",
        "retry-after",
    ]
    .iter()
    .filter_map(|h| Some((h.to_string(), json!(get(h)?))))
    .collect();
    (operation_urls, response_headers)
}

/// Appends one request to the log (and to `--request-log FILE`).
pub fn record(emu: &Emulator, req: &Req, resp: &Response, took: Duration, resp_body: &[u8]) {
    let (operation_urls, response_headers) = logged_headers(resp.headers());
    let mut entry = json!({
        "time": crate::http::rfc3339(crate::http::now_ms()),
        "method": req.method.as_str(),
        "path": req.path,
        // Decoded, so tests see the values a client meant to send.
        "query": req.query,
        "api_version": req.api_version(),
        "status": resp.status().as_u16(),
        "duration_ms": took.as_millis() as u64,
        "client_request_id": req.header("x-ms-client-request-id"),
        "user_agent": req.header("user-agent"),
        "request_body": body_for_log(&req.body, req.header("content-type")),
        "response_body": body_for_log(resp_body, resp.headers().get("content-type").and_then(|v| v.to_str().ok())),
        // Where the client was told to poll: the conformance check matches
        // operation-status requests against these, not against a path shape.
        "operation_urls": operation_urls,
        "response_headers": response_headers,
    });
    // Belt and braces: no seeded secret may appear anywhere in a log line.
    let mut line = entry.to_string();
    for s in emu.seed().secrets() {
        if line.contains(&s) {
            line = line.replace(&s, "[REDACTED]");
        }
    }
    entry = serde_json::from_str(&line).unwrap_or(entry);
    // Under the lock and in one write: concurrent requests must not
    // interleave their lines.
    let mut requests = emu.requests.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(path) = &emu.request_log_file {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            line.push('\n');
            let _ = f.write_all(line.as_bytes());
        }
    }
    requests.push(entry);
}

#[derive(Deserialize)]
struct ThrottleBody {
    reads: Option<Budget>,
    writes: Option<Budget>,
}

pub fn handle(emu: &Emulator, req: &Req) -> Response {
    let rest: Vec<&str> = req.segments[1..].iter().map(String::as_str).collect();
    let bad = |m: String| json_response(400, &json!({ "error": m }));
    match (req.method.clone(), rest.as_slice()) {
        (Method::GET, ["health"]) => json_response(200, &json!({ "status": "ok" })),
        (Method::POST, ["reset"]) => {
            emu.reset();
            empty_response(204)
        }
        (Method::GET, ["secrets"]) => json_response(200, &json!(emu.seed().secrets())),
        (Method::GET, ["state"]) => json_response(
            200,
            &serde_json::to_value(&*emu.state()).unwrap_or_default(),
        ),
        (Method::GET, ["requests"]) => {
            let lines: Vec<String> = emu
                .requests
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .map(Json::to_string)
                .collect();
            let mut r = Response::new(axum::body::Body::from(
                lines.join("\n") + if lines.is_empty() { "" } else { "\n" },
            ));
            crate::http::set_header(&mut r, "content-type", "application/x-ndjson");
            r
        }
        (Method::DELETE, ["requests"]) => {
            emu.requests
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clear();
            empty_response(204)
        }
        (Method::GET, ["faults"]) => json_response(
            200,
            &serde_json::to_value(&*emu.faults.lock().unwrap_or_else(|p| p.into_inner()))
                .unwrap_or_default(),
        ),
        (Method::POST, ["faults"]) => match serde_json::from_slice::<Fault>(&req.body) {
            Ok(mut f) => {
                f.id = crate::http::guid();
                let body = serde_json::to_value(&f).unwrap_or_default();
                emu.faults.lock().unwrap_or_else(|p| p.into_inner()).push(f);
                json_response(201, &body)
            }
            Err(e) => bad(format!("not a fault: {e}")),
        },
        (Method::DELETE, ["faults"]) => {
            emu.faults.lock().unwrap_or_else(|p| p.into_inner()).clear();
            empty_response(204)
        }
        (Method::PUT, ["throttle"]) => match serde_json::from_slice::<ThrottleBody>(&req.body) {
            Ok(t) => {
                let mut l = emu.limits.lock().unwrap_or_else(|p| p.into_inner());
                let (r, w) = (t.reads.unwrap_or(l.reads), t.writes.unwrap_or(l.writes));
                l.set(r, w);
                empty_response(204)
            }
            Err(e) => bad(format!("not a throttle setting: {e}")),
        },
        (Method::GET, ["config"]) => json_response(
            200,
            &serde_json::to_value(emu.tunables()).unwrap_or_default(),
        ),
        // Fields not given keep their values.
        (Method::PUT, ["config"]) => {
            match serde_json::from_slice::<Json>(&req.body).and_then(|given| {
                let mut t = serde_json::to_value(emu.tunables())?;
                for (k, v) in given.as_object().into_iter().flatten() {
                    t[k] = v.clone();
                }
                serde_json::from_value::<Tunables>(t)
            }) {
                Ok(t) => {
                    emu.set_tunables(t);
                    empty_response(204)
                }
                Err(e) => bad(format!("not a config: {e}")),
            }
        }
        (Method::GET, ["run-commands"]) => json_response(200, &json!(emu.state().run_log)),
        (Method::POST, ["run-commands", "fail"]) => {
            let body: Json = serde_json::from_slice(&req.body).unwrap_or_default();
            if !body["vm"].is_string() {
                return bad(
                    "expected {\"vm\": \"name|id|*\", \"exit_code\": 1, \"stderr\": \"...\"}"
                        .into(),
                );
            }
            emu.state().run_failures.push(body);
            empty_response(204)
        }
        (m @ (Method::GET | Method::PATCH), ["guest"]) => {
            let Some(vm) = req.query("vm").map(|v| v.to_ascii_lowercase()) else {
                return bad("guest needs ?vm=<VM resource id>".into());
            };
            let mut st = emu.state();
            let found = st
                .subscriptions
                .values_mut()
                .find_map(|s| s.resources.get_mut(&vm));
            let Some(r) = found else {
                return json_response(404, &json!({ "error": "no such VM" }));
            };
            if !r.body["_guest"].is_object() {
                r.body["_guest"] = crate::arm::guest::new_guest(None);
            }
            if m == Method::PATCH {
                let body: Json = serde_json::from_slice(&req.body).unwrap_or_default();
                if let Some(img) = body.get("booted_image") {
                    r.body["_guest"]["booted_image"] = img.clone();
                    r.body["_guest"]["booted_digest"] = img
                        .as_str()
                        .map(|i| json!(crate::arm::guest::digest_of(i)))
                        .unwrap_or(Json::Null);
                }
                if let Some(d) = body.get("booted_digest") {
                    r.body["_guest"]["booted_digest"] = d.clone();
                }
                if let Some(d) = body.get("latest_digest") {
                    // What the image's tag points at now: `bootc upgrade` moves to it.
                    r.body["_guest"]["latest_digest"] = d.clone();
                }
                for (path, content) in body["files"].as_object().cloned().unwrap_or_default() {
                    match content {
                        Json::Null => {
                            r.body["_guest"]["files"]
                                .as_object_mut()
                                .map(|f| f.remove(&path));
                        }
                        c => r.body["_guest"]["files"][path] = c,
                    }
                }
            }
            json_response(200, &r.body["_guest"])
        }
        (Method::PUT, ["image-builder"]) => {
            let body: Json = serde_json::from_slice(&req.body).unwrap_or_default();
            let (Some(t), Some(a)) = (body["tenant_id"].as_str(), body["authorized"].as_bool())
            else {
                return bad("expected {\"tenant_id\": \"...\", \"authorized\": true|false}".into());
            };
            let mut st = emu.state();
            if a {
                st.image_builder_unauthorized
                    .remove(&t.to_ascii_lowercase());
            } else {
                st.image_builder_unauthorized.insert(t.to_ascii_lowercase());
            }
            empty_response(204)
        }
        _ => json_response(
            404,
            &json!({ "error": format!("no control route {} {}", req.method, req.path) }),
        ),
    }
}
