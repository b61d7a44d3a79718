//! Hosted Image Builder (`/api/image-builder/v1`), the Azure path: a compose
//! of `image_type: azure` with an `azure` upload request moves pending ->
//! building -> uploading -> registering -> success (or failure, with the
//! service's `error.reason`), one phase per `compose_phase_ms`. When
//! registering starts, a real `Microsoft.Compute/images` resource appears in
//! the target resource group of the emulated ARM; the compose reads
//! `registering` for one more phase (or `compose_registering_ms`) before
//! `success`, as the service creates the image before it reports the
//! compose done: a client can find the image of a compose still running.
//! Errors are `HTTPErrorList`.

use axum::http::Method;
use axum::response::Response;
use serde_json::{json, Value as Json};

use crate::http::{empty_response, json_response, now_ms, rfc3339, Req};
use crate::state::{Compose, Resource, State};
use crate::Emulator;

/// The RHEL distributions the emulated service builds (a subset of the spec's enum).
pub const DISTRIBUTIONS: [&str; 9] = [
    "rhel-8.10",
    "rhel-9",
    "rhel-95",
    "rhel-9.6",
    "rhel-9.7",
    "rhel-10",
    "rhel-10.0",
    "rhel-10.1",
    "rhel-8",
];
const PHASES: [&str; 4] = ["pending", "building", "uploading", "registering"];

pub fn error(status: u16, title: &str, detail: &str) -> Response {
    json_response(
        status,
        &json!({ "errors": [{ "title": title, "detail": detail }] }),
    )
}

fn valid_image_name(n: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let first = n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    let last = n
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    (1..=60).contains(&n.len()) && first && (n.len() == 1 || last) && n.chars().all(ok_char)
}

pub fn handle(emu: &Emulator, req: &Req, rest: &[&str]) -> Response {
    match (req.method.clone(), rest) {
        (Method::GET, ["distributions"]) => json_response(200, &json!(DISTRIBUTIONS.iter().map(|d| json!({ "name": d, "description": format!("Red Hat Enterprise Linux ({d})") })).collect::<Vec<_>>())),
        (Method::GET, ["architectures", d]) => {
            if !DISTRIBUTIONS.contains(d) {
                return error(400, "400", &format!("Distribution {d} not available"));
            }
            json_response(200, &json!([
                { "arch": "x86_64", "image_types": ["azure", "vhd", "guest-image", "image-installer"], "repositories": [] },
                { "arch": "aarch64", "image_types": ["azure", "guest-image"], "repositories": [] },
            ]))
        }
        (Method::POST, ["compose"]) => compose(emu, req),
        (Method::GET, ["composes"]) => {
            let st = emu.state();
            let limit = req.query("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(100);
            let offset = req.query("offset").and_then(|l| l.parse::<usize>().ok()).unwrap_or(0);
            let mut all: Vec<&Compose> = st.composes.values().collect();
            all.sort_by_key(|c| std::cmp::Reverse(c.created_ms));
            let data: Vec<Json> = all.iter().skip(offset).take(limit).map(|c| json!({ "id": c.id, "created_at": c.created_at, "request": c.request, "image_name": c.request["image_name"] })).collect();
            json_response(200, &json!({ "meta": { "count": all.len() }, "links": { "first": "", "last": "" }, "data": data }))
        }
        (Method::GET, ["composes", id]) => {
            let st = emu.state();
            let Some(c) = st.composes.get(*id) else { return error(404, "404", &format!("Compose {id} not found")) };
            json_response(200, &status_of(c, now_ms(), emu.tunables().compose_phase_ms))
        }
        (Method::DELETE, ["composes", id]) => {
            let mut st = emu.state();
            // Deleting the record does not delete the image it uploaded (the spec says as much).
            match st.composes.remove(*id) {
                Some(_) => empty_response(200),
                None => error(404, "404", &format!("Compose {id} not found")),
            }
        }
        _ => error(404, "404", &format!("no Image Builder route {} {}", req.method, req.path)),
    }
}

fn status_of(c: &Compose, now: u64, phase_ms: u64) -> Json {
    let opts = &c.request["image_requests"][0]["upload_request"]["options"];
    let status = match &c.status {
        Some(s) => s.clone(),
        None => {
            let phase = ((now.saturating_sub(c.created_ms)) / phase_ms.max(1)) as usize;
            PHASES[phase.min(PHASES.len() - 1)].to_string()
        }
    };
    let upload = match status.as_str() {
        "success" => "success",
        "failure" => "failure",
        "uploading" | "registering" => "running",
        _ => "pending",
    };
    let mut image_status = json!({
        "status": status,
        "upload_status": { "status": upload, "type": "azure", "options": { "image_name": opts["image_name"] } },
    });
    if let Some(e) = &c.error {
        image_status["error"] = e.clone();
    }
    json!({ "image_status": image_status, "request": c.request })
}

fn compose(emu: &Emulator, req: &Req) -> Response {
    let Ok(body) = serde_json::from_slice::<Json>(&req.body) else {
        return error(400, "400", "request body is not valid JSON");
    };
    if let Err(why) = super::compose_schema::check(&body) {
        return error(400, "400", &why);
    }
    let distro = body["distribution"].as_str().unwrap_or("");
    if !DISTRIBUTIONS.contains(&distro) {
        return error(400, "400", &format!("Distribution {distro} not available"));
    }
    let reqs = body["image_requests"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if reqs.len() != 1 {
        return error(
            400,
            "400",
            "image_requests must contain exactly one image request",
        );
    }
    let ir = &reqs[0];
    let arch = ir["architecture"].as_str().unwrap_or("");
    if !["x86_64", "aarch64"].contains(&arch) {
        return error(400, "400", &format!("Architecture {arch} not available"));
    }
    if !["azure", "vhd"].contains(&ir["image_type"].as_str().unwrap_or("")) {
        return error(
            400,
            "400",
            &format!(
                "image type {} is not supported by the local cloud (use azure)",
                ir["image_type"]
            ),
        );
    }
    let up = &ir["upload_request"];
    if up["type"] != "azure" {
        return error(
            400,
            "400",
            "upload_request.type must be azure for azure images",
        );
    }
    let o = &up["options"];
    if !o["resource_group"].is_string() {
        return error(400, "400", "request body has an error: doesn't match schema: property \"resource_group\" is missing");
    }
    let by_ids = o["tenant_id"].is_string() && o["subscription_id"].is_string();
    if !by_ids && !o["source_id"].is_string() {
        return error(400, "400", "Request must contain either (1) a source id, and no tenant or subscription ids or (2) tenant and subscription ids, and no source id.");
    }
    if let Some(n) = o["image_name"].as_str() {
        if !valid_image_name(n) {
            return error(400, "400", &format!("request body has an error: image_name \"{n}\" must be 1-60 characters of letters, digits, '_', '.' and '-', starting with a letter or digit"));
        }
    }
    if let Some(g) = o["hyper_v_generation"].as_str() {
        if !["V1", "V2"].contains(&g) {
            return error(400, "400", "hyper_v_generation must be V1 or V2");
        }
    }
    if let Some(sub) = body["customizations"]["subscription"].as_object() {
        for f in [
            "organization",
            "activation-key",
            "server-url",
            "base-url",
            "insights",
        ] {
            if !sub.contains_key(f) {
                return error(
                    400,
                    "400",
                    &format!(
                        "request body has an error: customizations.subscription.{f} is required"
                    ),
                );
            }
        }
    }
    let id = crate::http::guid();
    let fail = crate::faults::take_lro_failure(emu, req)
        .map(|e| json!({ "id": 999, "reason": e.message, "details": e.code }));
    let mut st = emu.state();
    let mut request = body.clone();
    if request["image_requests"][0]["upload_request"]["options"]["image_name"].is_null() {
        request["image_requests"][0]["upload_request"]["options"]["image_name"] =
            json!(format!("composer-api-{id}"));
    }
    st.composes.insert(
        id.clone(),
        Compose {
            id: id.clone(),
            request,
            created_ms: now_ms(),
            created_at: rfc3339(now_ms()),
            status: None,
            delivered: false,
            error: None,
            fail,
        },
    );
    json_response(201, &json!({ "id": id }))
}

/// Moves composes on with the clock: when registering starts, the image
/// appears in ARM (or the compose fails); once registering is over, the
/// compose succeeds.
pub fn advance(st: &mut State, now: u64, emu: &Emulator) {
    let tunables = emu.tunables();
    let phase = tunables.compose_phase_ms;
    let registering = tunables.compose_registering_ms.unwrap_or(phase);
    let registering_from = |c: &Compose| c.created_ms + phase * (PHASES.len() as u64 - 1);
    let due: Vec<String> = st
        .composes
        .values()
        .filter(|c| c.status.is_none() && now >= registering_from(c))
        .map(|c| c.id.clone())
        .collect();
    for id in due {
        let c = st.composes.get(&id).cloned().expect("listed");
        let outcome = if c.delivered { Ok(()) } else { finish(st, &c) };
        let entry = st.composes.get_mut(&id).expect("listed");
        match outcome {
            Ok(()) => {
                entry.delivered = true;
                if now >= registering_from(&c) + registering {
                    entry.status = Some("success".into());
                }
            }
            Err(e) => {
                entry.status = Some("failure".into());
                entry.error = Some(e);
            }
        }
    }
}

fn finish(st: &mut State, c: &Compose) -> Result<(), Json> {
    if let Some(f) = &c.fail {
        return Err(f.clone());
    }
    let o = &c.request["image_requests"][0]["upload_request"]["options"];
    let (tenant, sub_id) = match (o["tenant_id"].as_str(), o["subscription_id"].as_str()) {
        (Some(t), Some(s)) => (t.to_string(), s.to_string()),
        _ => {
            // A source id: the Azure subscription its authentication names.
            let sid = o["source_id"].as_str().unwrap_or("");
            let sub = st
                .authentications
                .values()
                .find(|a| a["_source_id"] == json!(sid))
                .and_then(|a| a["username"].as_str().map(str::to_string));
            let Some(sub) = sub else {
                return Err(
                    json!({ "id": 10, "reason": format!("Source {sid} not found or has no Azure subscription"), "details": null }),
                );
            };
            let tenant = st
                .subscriptions
                .get(&sub.to_ascii_lowercase())
                .map(|s| s.tenant_id.clone())
                .unwrap_or_default();
            (tenant, sub)
        }
    };
    let rg = o["resource_group"].as_str().unwrap_or("").to_string();
    let name = o["image_name"].as_str().unwrap_or("").to_string();
    let gen = o["hyper_v_generation"].as_str().unwrap_or("V1").to_string();
    if st
        .image_builder_unauthorized
        .contains(&tenant.to_ascii_lowercase())
    {
        return Err(json!({
            "id": 7,
            "reason": format!("Red Hat Image Builder is not authorized to upload images to resource group '{rg}' in tenant '{tenant}'"),
            "details": "Add Red Hat's Image Builder application to the tenant and give its service principal the Contributor role on the resource group (https://console.redhat.com/insights/image-builder, 'Azure authorization').",
        }));
    }
    let Some(sub) = st.subscriptions.get_mut(&sub_id.to_ascii_lowercase()) else {
        return Err(
            json!({ "id": 7, "reason": format!("Subscription '{sub_id}' not found in tenant '{tenant}'"), "details": null }),
        );
    };
    if !sub.tenant_id.eq_ignore_ascii_case(&tenant) {
        return Err(
            json!({ "id": 7, "reason": format!("Subscription '{sub_id}' does not belong to tenant '{tenant}'"), "details": null }),
        );
    }
    let Some(group) = sub.resource_groups.get(&rg.to_ascii_lowercase()).cloned() else {
        return Err(
            json!({ "id": 7, "reason": format!("Resource group '{rg}' could not be found in subscription '{sub_id}'"), "details": null }),
        );
    };
    let image_id = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/images/{name}",
        sub.id,
        group["name"].as_str().unwrap_or(&rg)
    );
    if sub.resources.contains_key(&image_id.to_ascii_lowercase()) {
        return Err(
            json!({ "id": 7, "reason": format!("Image '{name}' already exists in resource group '{rg}'"), "details": null }),
        );
    }
    let location = group["location"].as_str().unwrap_or("eastus").to_string();
    sub.resources.insert(
        image_id.to_ascii_lowercase(),
        Resource {
            body: json!({
                "id": image_id, "name": name, "type": "Microsoft.Compute/images", "location": location,
                "tags": { "created-by": "image-builder", "compose-id": c.id },
                "properties": {
                    "storageProfile": { "osDisk": { "osType": "Linux", "osState": "Generalized",
                        "blobUri": format!("https://imagebuilder{}.blob.core.windows.net/imagebuilder/{}.vhd", location, c.id),
                        "caching": "ReadWrite" }, "dataDisks": [] },
                    "hyperVGeneration": gen, "provisioningState": "Succeeded",
                },
            }),
            op: None,
        },
    );
    Ok(())
}
