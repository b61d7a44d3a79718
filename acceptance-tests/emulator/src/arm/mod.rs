//! Azure Resource Manager: subscriptions ([`subscriptions`]), resource groups, resource provider
//! registration, long-running operations, and a generic resource engine driven
//! by the type table in [`types`] (validation and shaping per type). The
//! Marketplace catalogue and terms live in [`catalog`] and [`agreements`].
//!
//! Order of checks on every request, as ARM does it: subscription, token,
//! throttling budget, api-version, registration of the namespace, then the
//! operation itself.

pub mod agreements;
pub mod blob_source;
pub mod catalog;
pub mod guest;
pub mod sas;
pub mod subscriptions;
pub mod types;

use axum::http::Method;
use axum::response::Response;
use serde_json::{json, Value as Json};

use crate::http::{empty_response, json_response, now_ms, rfc3339, set_header, ArmError, Req};
use crate::ratelimit::Take;
use crate::seed::Seed;
use crate::state::{OpKind, Operation, Resource, State};
use crate::Emulator;

pub const RESOURCES_API: &str = "2024-03-01";

pub fn handle(emu: &Emulator, req: &Req) -> Response {
    match serve(emu, req) {
        Ok(r) => r,
        Err(e) => e.response(),
    }
}

fn serve(emu: &Emulator, req: &Req) -> Result<Response, ArmError> {
    let seg = &req.segments;
    if seg.len() == 1 {
        return subscriptions::list(emu, req);
    }
    let sub_id = seg.get(1).cloned().unwrap_or_default();
    let tenant = {
        let st = emu.state();
        st.subscription(&sub_id).map(|s| s.tenant_id.clone())
    };
    let Some(tenant) = tenant else {
        // Authenticate against the home tenant first, as ARM does, then say the subscription is unknown.
        crate::auth::check_arm(emu, req, &emu.seed().tenants[0].id)?;
        return Err(ArmError::new(
            404,
            "SubscriptionNotFound",
            format!("The subscription '{sub_id}' could not be found."),
        ));
    };
    crate::auth::check_arm(emu, req, &tenant)?;

    let write = !matches!(req.method, Method::GET | Method::HEAD);
    let remaining = {
        let mut limits = emu.limits.lock().unwrap_or_else(|p| p.into_inner());
        match limits.take(&sub_id, write, now_ms()) {
            Take::Ok(n) => n,
            Take::Throttled(after) => {
                let kind = if write { "write" } else { "read" };
                return Err(ArmError::new(
                    429,
                    "SubscriptionRequestsThrottled",
                    format!(
                        "Number of '{kind}' requests for subscription '{sub_id}' actor '{}' exceeded. Please try again after '{after}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information.",
                        crate::http::guid()
                    ),
                )
                .header("Retry-After", after.to_string())
                .header(if write { "x-ms-ratelimit-remaining-subscription-writes" } else { "x-ms-ratelimit-remaining-subscription-reads" }, "0"));
            }
        }
    };
    if req.api_version().is_none() {
        return Err(ArmError::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    }
    let mut resp = dispatch(emu, req, &sub_id)?;
    let header = if write {
        "x-ms-ratelimit-remaining-subscription-writes"
    } else {
        "x-ms-ratelimit-remaining-subscription-reads"
    };
    set_header(&mut resp, header, &remaining.to_string());
    Ok(resp)
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

fn check_api(req: &Req, supported: &[&str], what: &str) -> Result<(), ArmError> {
    let v = req.api_version().unwrap_or_default();
    if supported.contains(&v) {
        return Ok(());
    }
    Err(ArmError::bad_request(
        "NoRegisteredProviderFound",
        format!(
            "No registered resource provider found for location 'global' and API version '{v}' for type '{what}'. The supported api-versions are '{}'.",
            supported.join(", ")
        ),
    ))
}

/// The api-version check of Microsoft.Resources' own types (resource groups,
/// providers, subscriptions): ARM's front door answers
/// `InvalidApiVersionParameter` there, where a resource provider's types get
/// `NoRegisteredProviderFound`.
fn check_resources_api(req: &Req, supported: &[&str]) -> Result<(), ArmError> {
    let v = req.api_version().unwrap_or_default();
    if supported.contains(&v) {
        return Ok(());
    }
    Err(ArmError::bad_request(
        "InvalidApiVersionParameter",
        format!(
            "The api-version '{v}' is invalid. The supported versions are '{}'.",
            supported.join(",")
        ),
    ))
}

fn dispatch(emu: &Emulator, req: &Req, sub: &str) -> Result<Response, ArmError> {
    let seg: Vec<String> = req.segments.iter().map(|s| lower(s)).collect();
    let s: Vec<&str> = seg.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["subscriptions", _] if req.method == Method::GET => subscriptions::get(emu, req, sub),
        ["subscriptions", _, "locations"] if req.method == Method::GET => {
            subscriptions::list_locations(emu, req, sub)
        }
        ["subscriptions", _, "resourcegroups"] => {
            check_resources_api(req, &[RESOURCES_API])?;
            list_groups(emu, req, sub)
        }
        ["subscriptions", _, "resourcegroups", _] => {
            check_resources_api(req, &[RESOURCES_API])?;
            resource_group(emu, req, sub, &req.segments[3])
        }
        ["subscriptions", _, "providers", ns] => {
            check_resources_api(req, &[RESOURCES_API])?;
            provider_state(emu, sub, &req.segments[3], ns, false)
        }
        ["subscriptions", _, "providers", ns, "register"] if req.method == Method::POST => {
            check_resources_api(req, &[RESOURCES_API])?;
            provider_state(emu, sub, &req.segments[3], ns, true)
        }
        ["subscriptions", _, "providers", _, "locations", _, "operations", _] => {
            operation_status(emu, req, sub, false)
        }
        ["subscriptions", _, "providers", _, "locations", _, "operationresults", _]
        | ["subscriptions", _, "operationresults", _]
        | ["subscriptions", _, "providers", "microsoft.storage", "locations", _, "asyncoperations", _] => {
            operation_status(emu, req, sub, true)
        }
        ["subscriptions", _, "providers", "microsoft.compute", kind @ ("virtualmachines" | "images" | "galleries")]
            if req.method == Method::GET =>
        {
            let spec = types::spec(&format!("microsoft.compute/{kind}")).expect("a known type");
            check_api(req, spec.api_versions, spec.display)?;
            require_registered(emu, sub, "Microsoft.Compute")?;
            types::list_all(emu, req, sub, spec)
        }
        ["subscriptions", _, "providers", "microsoft.compute", "locations", _, "publishers", ..] => {
            require_registered(emu, sub, "Microsoft.Compute")?;
            catalog::handle(emu, req, sub)
        }
        ["subscriptions", _, "providers", "microsoft.marketplaceordering", ..] => {
            require_registered(emu, sub, "Microsoft.MarketplaceOrdering")?;
            agreements::handle(emu, req, sub)
        }
        ["subscriptions", _, "resourcegroups", _, "providers", _, ..] => {
            resource_request(emu, req, sub)
        }
        _ => Err(ArmError::new(
            404,
            "InvalidResourceType",
            format!(
                "The resource type could not be found for path '{}'.",
                req.path
            ),
        )),
    }
}

/// `MissingSubscriptionRegistration` unless the namespace is registered.
pub fn require_registered(emu: &Emulator, sub: &str, namespace: &str) -> Result<(), ArmError> {
    let st = emu.state();
    let registered = st
        .subscription(sub)
        .is_some_and(|s| s.registered.contains(&lower(namespace)));
    if registered {
        return Ok(());
    }
    let msg = format!("The subscription is not registered to use namespace '{namespace}'. See https://aka.ms/rps-not-found for how to register subscriptions.");
    // ARM's own shape: the namespace is named only in the detail's `target`.
    let mut e = ArmError::new(409, "MissingSubscriptionRegistration", msg.clone());
    e.details = vec![
        json!({ "code": "MissingSubscriptionRegistration", "target": namespace, "message": msg }),
    ];
    Err(e)
}

fn provider_state(
    emu: &Emulator,
    sub: &str,
    ns_display: &str,
    ns: &str,
    register: bool,
) -> Result<Response, ArmError> {
    let known = [
        "microsoft.compute",
        "microsoft.network",
        "microsoft.storage",
        "microsoft.marketplaceordering",
        "microsoft.resources",
    ];
    if !known.contains(&ns) {
        return Err(ArmError::new(
            404,
            "InvalidResourceNamespace",
            format!("The resource namespace '{ns_display}' is invalid."),
        ));
    }
    let mut st = emu.state();
    let s = st.subscription_mut(sub).expect("checked");
    if register && !s.registered.contains(ns) {
        // Registration takes a little while, as in Azure.
        s.registering
            .entry(ns.to_string())
            .or_insert(now_ms() + emu.tunables().lro_delay_ms);
    }
    let state = if s.registered.contains(ns) {
        "Registered"
    } else if s.registering.contains_key(ns) {
        "Registering"
    } else {
        "NotRegistered"
    };
    Ok(json_response(
        200,
        &json!({
            "id": format!("/subscriptions/{}/providers/{ns_display}", s.id),
            "namespace": ns_display,
            "registrationState": state,
            "registrationPolicy": "RegistrationRequired",
        }),
    ))
}

fn list_groups(emu: &Emulator, req: &Req, sub: &str) -> Result<Response, ArmError> {
    if req.method != Method::GET {
        return Err(ArmError::new(
            405,
            "MethodNotAllowed",
            "Only GET lists resource groups.",
        ));
    }
    let st = emu.state();
    let groups: Vec<Json> = st
        .subscription(sub)
        .map(|s| s.resource_groups.values().cloned().collect())
        .unwrap_or_default();
    Ok(json_response(200, &json!({ "value": groups })))
}

fn valid_group_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 90
        && !name.ends_with('.')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'))
}

fn resource_group(emu: &Emulator, req: &Req, sub: &str, name: &str) -> Result<Response, ArmError> {
    let key = lower(name);
    let not_found = || {
        ArmError::new(
            404,
            "ResourceGroupNotFound",
            format!("Resource group '{name}' could not be found."),
        )
    };
    match req.method {
        Method::GET | Method::HEAD => {
            let st = emu.state();
            match st
                .subscription(sub)
                .and_then(|s| s.resource_groups.get(&key))
            {
                Some(g) if req.method == Method::HEAD => {
                    let _ = g;
                    Ok(empty_response(204))
                }
                Some(g) => Ok(json_response(200, g)),
                None if req.method == Method::HEAD => Ok(empty_response(404)),
                None => Err(not_found()),
            }
        }
        Method::PUT | Method::PATCH => {
            let body = req.json_body()?;
            if !valid_group_name(name) {
                return Err(ArmError::bad_request("InvalidResourceGroup", format!("The provided resource group name '{name}' has these invalid characters or length.")).target("resourceGroupName"));
            }
            let mut st = emu.state();
            let s = st.subscription_mut(sub).expect("checked");
            let existing = s.resource_groups.get(&key).cloned();
            if req.method == Method::PATCH {
                let Some(mut g) = existing else {
                    return Err(not_found());
                };
                if let Some(tags) = body.get("tags") {
                    g["tags"] = tags.clone();
                }
                s.resource_groups.insert(key, g.clone());
                return Ok(json_response(200, &g));
            }
            let location = body
                .get("location")
                .and_then(Json::as_str)
                .map(crate::http::normalize_location)
                .ok_or_else(|| {
                    ArmError::bad_request(
                        "LocationRequired",
                        "The location property is required for this definition.",
                    )
                    .target("location")
                })?;
            if !emu.seed().locations.contains(&location) {
                return Err(ArmError::bad_request("LocationNotAvailableForResourceGroup", format!("The provided location '{location}' is not available for resource group. List of available regions is '{}'.", emu.seed().locations.join(","))).target("location"));
            }
            if let Some(g) = &existing {
                if g["location"] != json!(location) {
                    return Err(ArmError::new(409, "InvalidResourceGroupLocation", format!("Invalid resource group location '{location}'. The Resource group already exists in location '{}'.", g["location"].as_str().unwrap_or(""))));
                }
            }
            let g = json!({
                "id": format!("/subscriptions/{}/resourceGroups/{name}", s.id),
                "name": name,
                "type": "Microsoft.Resources/resourceGroups",
                "location": location,
                "tags": body.get("tags").cloned().unwrap_or(json!({})),
                "properties": { "provisioningState": "Succeeded" },
            });
            s.resource_groups.insert(key, g.clone());
            Ok(json_response(
                if existing.is_some() { 200 } else { 201 },
                &g,
            ))
        }
        Method::DELETE => {
            let mut st = emu.state();
            let s = st.subscription_mut(sub).expect("checked");
            let Some(g) = s.resource_groups.get_mut(&key) else {
                return Err(not_found());
            };
            g["properties"]["provisioningState"] = json!("Deleting");
            let group_id = lower(g["id"].as_str().unwrap_or(""));
            let location = g["location"].as_str().unwrap_or("global").to_string();
            let op = new_operation(
                &mut st,
                emu,
                sub,
                "Microsoft.Resources",
                &location,
                &group_id,
                OpKind::Delete,
                None,
            );
            let mut r = empty_response(202);
            location_headers(
                &mut r,
                emu,
                sub,
                "Microsoft.Resources",
                &location,
                &op,
                Lro::Location,
            );
            Ok(r)
        }
        _ => Err(ArmError::new(
            405,
            "MethodNotAllowed",
            "Unsupported method for resource groups.",
        )),
    }
}

/// Starts a long-running operation; returns its id.
#[allow(clippy::too_many_arguments)]
pub fn new_operation(
    st: &mut State,
    emu: &Emulator,
    sub: &str,
    namespace: &str,
    location: &str,
    resource_key: &str,
    kind: OpKind,
    fail: Option<ArmError>,
) -> String {
    let id = crate::http::guid();
    let now = now_ms();
    st.operations.insert(
        id.clone(),
        Operation {
            id: id.clone(),
            subscription: lower(sub),
            namespace: namespace.to_string(),
            location: location.to_string(),
            resource_key: resource_key.to_string(),
            kind,
            status: "InProgress".into(),
            start_ms: now,
            end_ms: None,
            due_ms: now + emu.tunables().lro_delay_ms,
            fail,
            result: None,
        },
    );
    id
}

fn retry_after(emu: &Emulator) -> String {
    // Whole seconds, as ARM sends; 0 when the local cloud is set to be instant.
    emu.tunables().lro_delay_ms.div_ceil(1000).to_string()
}

/// Which operation headers a long-running answer carries. Azure differs per
/// operation, and clients must follow whichever they are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lro {
    /// `Azure-AsyncOperation` only (Compute and Network creates and updates).
    AsyncOperation,
    /// `Location` only (resource group delete, storage account create).
    Location,
    /// Both (deletes and POST actions of the resource providers).
    Both,
}

/// `Azure-AsyncOperation` and/or `Location` and `Retry-After` for an operation.
/// The `Location` URL has the shape Azure uses per namespace: ARM's own
/// `/subscriptions/{id}/operationresults/{op}` for Microsoft.Resources,
/// Storage's `.../asyncoperations/{op}?monitor=true`, else the resource
/// provider's `operationResults`.
pub fn location_headers(
    r: &mut Response,
    emu: &Emulator,
    sub: &str,
    ns: &str,
    location: &str,
    op: &str,
    style: Lro,
) {
    let base = emu.base_url();
    let api = api_for_namespace(ns);
    let status_url = format!("{base}/subscriptions/{sub}/providers/{ns}/locations/{location}/operations/{op}?api-version={api}");
    let result_url = match lower(ns).as_str() {
        "microsoft.resources" => {
            format!("{base}/subscriptions/{sub}/operationresults/{op}?api-version={api}")
        }
        "microsoft.storage" => format!("{base}/subscriptions/{sub}/providers/{ns}/locations/{location}/asyncoperations/{op}?monitor=true&api-version={api}"),
        _ => format!("{base}/subscriptions/{sub}/providers/{ns}/locations/{location}/operationResults/{op}?api-version={api}"),
    };
    if style != Lro::Location {
        set_header(r, "azure-asyncoperation", &status_url);
    }
    if style != Lro::AsyncOperation {
        set_header(r, "location", &result_url);
    }
    set_header(r, "retry-after", &retry_after(emu));
}

pub fn api_for_namespace(ns: &str) -> &'static str {
    match lower(ns).as_str() {
        "microsoft.compute" => types::COMPUTE_API,
        "microsoft.network" => types::NETWORK_API,
        "microsoft.storage" => types::STORAGE_API,
        _ => RESOURCES_API,
    }
}

fn operation_status(
    emu: &Emulator,
    req: &Req,
    sub: &str,
    location_style: bool,
) -> Result<Response, ArmError> {
    let id = req.segments.last().cloned().unwrap_or_default();
    let st = emu.state();
    let Some(op) = st
        .operations
        .get(&id)
        .filter(|o| o.subscription == lower(sub))
    else {
        return Err(ArmError::new(
            404,
            "OperationNotFound",
            format!("The operation '{id}' could not be found."),
        ));
    };
    if location_style {
        // Location polling: 202 while running, then the final answer.
        if op.status == "InProgress" {
            // Still running: poll the same URL again.
            let mut r = empty_response(202);
            let query: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&req.query)
                .finish();
            set_header(
                &mut r,
                "location",
                &format!("{}{}?{query}", emu.base_url(), req.path),
            );
            set_header(&mut r, "retry-after", &retry_after(emu));
            return Ok(r);
        }
        if let Some(err) = &op.fail {
            let mut e = err.clone();
            e.status = 400;
            return Err(e);
        }
        // A create or update polled by its Location ends with the resource.
        let resource = st
            .subscription(sub)
            .and_then(|s| Some(types::render(s, s.resources.get(&op.resource_key)?)));
        return Ok(match (&op.result, &op.kind, resource) {
            (Some(body), _, _) => json_response(200, body),
            // ResourceGroups_Delete declares 200 and 202 only; the
            // providers' deletes end 204.
            (None, OpKind::Delete, _) if lower(&op.namespace) == "microsoft.resources" => {
                empty_response(200)
            }
            (None, OpKind::Delete, _) => empty_response(204),
            (None, OpKind::Create | OpKind::Update, Some(r)) => json_response(200, &r),
            (None, _, _) => empty_response(200),
        });
    }
    let mut body = json!({
        "name": op.id,
        "status": op.status,
        "startTime": rfc3339(op.start_ms),
    });
    if let Some(end) = op.end_ms {
        body["endTime"] = json!(rfc3339(end));
    }
    if let (Some(err), "Failed") = (&op.fail, op.status.as_str()) {
        body["error"] = json!({ "code": err.code, "message": err.message });
    }
    let mut r = json_response(200, &body);
    if op.status == "InProgress" {
        set_header(&mut r, "retry-after", &retry_after(emu));
    }
    Ok(r)
}

/// Finishes a due operation: provisioning state, deletions and their cascades.
pub fn complete_operation(st: &mut State, id: &str, now: u64, emu: &Emulator) {
    let Some(op) = st.operations.get(id).cloned() else {
        return;
    };
    let failed = op.fail.is_some();
    let status = if failed { "Failed" } else { "Succeeded" };
    if let Some(o) = st.operations.get_mut(id) {
        o.status = status.into();
        o.end_ms = Some(now);
    }
    let Some(s) = st.subscriptions.get_mut(&op.subscription) else {
        return;
    };
    match &op.kind {
        OpKind::Delete if op.resource_key.contains("/providers/") => {
            if !failed {
                types::delete_resource(s, &op.resource_key);
            }
        }
        OpKind::Delete => {
            // A resource group: everything in it goes, then the group.
            if !failed {
                let prefix = format!("{}/", op.resource_key);
                let keys: Vec<String> = s
                    .resources
                    .keys()
                    .filter(|k| k.starts_with(&prefix))
                    .cloned()
                    .collect();
                for k in keys {
                    s.resources.remove(&k);
                }
                let name = op.resource_key.rsplit('/').next().unwrap_or("").to_string();
                s.resource_groups.remove(&name);
            }
        }
        OpKind::Create | OpKind::Update => {
            if let Some(r) = s.resources.get_mut(&op.resource_key) {
                r.op = None;
                r.body["properties"]["provisioningState"] = json!(status);
            }
        }
        OpKind::Action(action) => {
            if let Some(r) = s.resources.get_mut(&op.resource_key) {
                r.op = None;
                if !failed {
                    types::apply_action(r, action);
                }
            }
        }
    }
    let _ = emu;
}

/// Generic resource requests under `/subscriptions/{s}/resourceGroups/{g}/providers/{ns}/...`.
fn resource_request(emu: &Emulator, req: &Req, sub: &str) -> Result<Response, ArmError> {
    let seg = &req.segments;
    let rg = seg[3].clone();
    let ns = seg[5].clone();
    // Split the rest into (type, name) pairs; a trailing odd segment is a collection or an action.
    let rest = &seg[6..];
    let pairs: Vec<(String, String)> = rest
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| (c[0].clone(), c[1].clone()))
        .collect();
    let tail = if rest.len() % 2 == 1 {
        Some(rest[rest.len() - 1].clone())
    } else {
        None
    };
    let type_path: Vec<String> = pairs
        .iter()
        .map(|(t, _)| lower(t))
        .chain(tail.iter().map(|t| lower(t)))
        .collect();

    require_registered(emu, sub, &ns)?;
    {
        let st = emu.state();
        if !st
            .subscription(sub)
            .is_some_and(|s| s.resource_groups.contains_key(&lower(&rg)))
        {
            return Err(ArmError::new(
                404,
                "ResourceGroupNotFound",
                format!("Resource group '{rg}' could not be found."),
            ));
        }
    }
    // Collection GET or POST action?
    if let Some(t) = &tail {
        let full_type = format!("{}/{}", lower(&ns), type_path.join("/"));
        if let Some(spec) = types::spec(&full_type) {
            if req.method != Method::GET {
                return Err(ArmError::new(
                    405,
                    "MethodNotAllowed",
                    "Collections can only be listed.",
                ));
            }
            check_api(req, spec.api_versions, spec.display)?;
            let parent = resource_id(sub, &rg, &ns, &pairs);
            return types::list(emu, req, sub, &parent, spec);
        }
        // An action on the resource named by `pairs`.
        let full_type = format!(
            "{}/{}",
            lower(&ns),
            pairs
                .iter()
                .map(|(t, _)| lower(t))
                .collect::<Vec<_>>()
                .join("/")
        );
        let spec = types::spec(&full_type).ok_or_else(|| unknown_type(&ns, &type_path))?;
        check_api(req, spec.api_versions, spec.display)?;
        let id = resource_id(sub, &rg, &ns, &pairs);
        return types::action(emu, req, sub, &id, spec, t);
    }
    let full_type = format!("{}/{}", lower(&ns), type_path.join("/"));
    let spec = types::spec(&full_type).ok_or_else(|| unknown_type(&ns, &type_path))?;
    check_api(req, spec.api_versions, spec.display)?;
    let id = resource_id(sub, &rg, &ns, &pairs);
    types::crud(emu, req, sub, &rg, &id, spec)
}

fn unknown_type(ns: &str, types: &[String]) -> ArmError {
    ArmError::bad_request(
        "InvalidResourceType",
        format!("The resource type '{}' could not be found in the namespace '{ns}' for api version in the local cloud.", types.join("/")),
    )
}

/// The ARM id with the casing the caller used for names and ARM's casing for types.
pub fn resource_id(sub: &str, rg: &str, ns: &str, pairs: &[(String, String)]) -> String {
    let mut id = format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/{}",
        types::namespace_display(ns)
    );
    let mut type_so_far = lower(ns);
    for (t, n) in pairs {
        type_so_far = format!("{type_so_far}/{}", lower(t));
        let display_seg = types::spec(&type_so_far)
            .map(|s| s.display.rsplit('/').next().unwrap_or(t).to_string())
            .unwrap_or_else(|| t.clone());
        id = format!("{id}/{display_seg}/{n}");
    }
    id
}

/// The demo resource group, virtual network and subnet from the seed.
pub fn seed_demo(st: &mut State, seed: &Seed) {
    let d = &seed.demo;
    let Some(s) = st.subscriptions.get_mut(&lower(&d.subscription_id)) else {
        return;
    };
    let sub = s.id.clone();
    s.resource_groups.insert(
        lower(&d.resource_group),
        json!({
            "id": format!("/subscriptions/{sub}/resourceGroups/{}", d.resource_group),
            "name": d.resource_group, "type": "Microsoft.Resources/resourceGroups", "location": d.location,
            "tags": {}, "properties": { "provisioningState": "Succeeded" },
        }),
    );
    let vnet_id = format!(
        "/subscriptions/{sub}/resourceGroups/{}/providers/Microsoft.Network/virtualNetworks/{}",
        d.resource_group, d.virtual_network
    );
    s.resources.insert(
        lower(&vnet_id),
        Resource {
            body: json!({
                "id": vnet_id, "name": d.virtual_network, "type": "Microsoft.Network/virtualNetworks", "location": d.location,
                "etag": format!("W/\"{}\"", crate::http::guid()), "tags": {},
                "properties": { "provisioningState": "Succeeded", "resourceGuid": crate::http::guid(),
                    "addressSpace": { "addressPrefixes": [d.address_space] } },
            }),
            op: None,
        },
    );
    let subnet_id = format!("{vnet_id}/subnets/{}", d.subnet);
    s.resources.insert(
        lower(&subnet_id),
        Resource {
            body: json!({
                "id": subnet_id, "name": d.subnet, "type": "Microsoft.Network/virtualNetworks/subnets",
                "etag": format!("W/\"{}\"", crate::http::guid()),
                "properties": { "provisioningState": "Succeeded", "addressPrefix": d.subnet_prefix },
            }),
            op: None,
        },
    );
}
