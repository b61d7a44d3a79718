//! The resource types the local cloud serves: their api-versions, validation
//! (required fields, enums, name rules, references, dependency rules) and the
//! shape ARM gives them back (computed properties), one function per type.

use axum::http::Method;
use axum::response::Response;
use serde_json::{json, Value as Json};

use super::{location_headers, new_operation, Lro};
use crate::http::{empty_response, json_response, normalize_location, ArmError, Req};
use crate::state::{OpKind, Resource, Subscription};
use crate::Emulator;

pub const COMPUTE_API: &str = "2024-03-01";
pub const DISK_API: &str = "2023-10-02";
pub const GALLERY_API: &str = "2023-07-03";
pub const NETWORK_API: &str = "2024-01-01";
pub const STORAGE_API: &str = "2023-05-01";

/// Azurite's well-known development account key (public, documented by Microsoft).
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";

#[derive(Debug)]
pub struct TypeSpec {
    /// Lower-cased `namespace/type[/child]`.
    pub key: &'static str,
    /// ARM's casing, as in `type`.
    pub display: &'static str,
    pub api_versions: &'static [&'static str],
    /// Has location and tags (child resources do not).
    pub tracked: bool,
    /// Status code for a create (201, or 202 for types whose PUT answers Accepted).
    pub create_status: u16,
    /// The operation headers a create or update answers with: Network and
    /// Compute send `Azure-AsyncOperation` only, managed disks both,
    /// storage accounts `Location` only.
    pub put_lro: Lro,
    /// The spec's resource definition has a read-only `etag` (VMs and the
    /// network types do; images, disks, galleries and storage accounts do
    /// not, and Azure sends none for them).
    pub etag: bool,
}

pub static TYPES: &[TypeSpec] = &[
    TypeSpec {
        key: "microsoft.compute/images",
        display: "Microsoft.Compute/images",
        api_versions: &[COMPUTE_API],
        tracked: true,
        create_status: 201,
        etag: false,
        put_lro: Lro::AsyncOperation,
    },
    TypeSpec {
        key: "microsoft.compute/disks",
        display: "Microsoft.Compute/disks",
        api_versions: &[DISK_API],
        tracked: true,
        create_status: 202,
        etag: false,
        put_lro: Lro::Both,
    },
    TypeSpec {
        key: "microsoft.compute/virtualmachines",
        display: "Microsoft.Compute/virtualMachines",
        api_versions: &[COMPUTE_API],
        tracked: true,
        create_status: 201,
        etag: true,
        put_lro: Lro::AsyncOperation,
    },
    TypeSpec {
        key: "microsoft.compute/virtualmachines/runcommands",
        display: "Microsoft.Compute/virtualMachines/runCommands",
        api_versions: &[COMPUTE_API],
        tracked: true,
        create_status: 201,
        etag: false,
        put_lro: Lro::AsyncOperation,
    },
    TypeSpec {
        key: "microsoft.compute/virtualmachines/extensions",
        display: "Microsoft.Compute/virtualMachines/extensions",
        api_versions: &[COMPUTE_API],
        tracked: true,
        create_status: 201,
        etag: false,
        put_lro: Lro::AsyncOperation,
    },
    TypeSpec {
        key: "microsoft.compute/galleries",
        display: "Microsoft.Compute/galleries",
        api_versions: &[GALLERY_API],
        tracked: true,
        create_status: 201,
        etag: false,
        put_lro: Lro::AsyncOperation,
    },
    TypeSpec {
        key: "microsoft.compute/galleries/images",
        display: "Microsoft.Compute/galleries/images",
        api_versions: &[GALLERY_API],
        tracked: true,
        create_status: 201,
        etag: false,
        put_lro: Lro::AsyncOperation,
    },
    TypeSpec {
        key: "microsoft.compute/galleries/images/versions",
        display: "Microsoft.Compute/galleries/images/versions",
        api_versions: &[GALLERY_API],
        tracked: true,
        create_status: 201,
        etag: false,
        put_lro: Lro::AsyncOperation,
    },
    TypeSpec {
        key: "microsoft.network/virtualnetworks",
        display: "Microsoft.Network/virtualNetworks",
        api_versions: &[NETWORK_API],
        tracked: true,
        create_status: 201,
        etag: true,
        put_lro: Lro::AsyncOperation,
    },
    TypeSpec {
        key: "microsoft.network/virtualnetworks/subnets",
        display: "Microsoft.Network/virtualNetworks/subnets",
        api_versions: &[NETWORK_API],
        tracked: false,
        create_status: 201,
        etag: true,
        put_lro: Lro::AsyncOperation,
    },
    TypeSpec {
        key: "microsoft.network/networkinterfaces",
        display: "Microsoft.Network/networkInterfaces",
        api_versions: &[NETWORK_API],
        tracked: true,
        create_status: 201,
        etag: true,
        put_lro: Lro::AsyncOperation,
    },
    TypeSpec {
        key: "microsoft.network/publicipaddresses",
        display: "Microsoft.Network/publicIPAddresses",
        api_versions: &[NETWORK_API],
        tracked: true,
        create_status: 201,
        etag: true,
        put_lro: Lro::AsyncOperation,
    },
    TypeSpec {
        key: "microsoft.network/networksecuritygroups",
        display: "Microsoft.Network/networkSecurityGroups",
        api_versions: &[NETWORK_API],
        tracked: true,
        create_status: 201,
        etag: true,
        put_lro: Lro::AsyncOperation,
    },
    TypeSpec {
        key: "microsoft.storage/storageaccounts",
        display: "Microsoft.Storage/storageAccounts",
        api_versions: &[STORAGE_API],
        tracked: true,
        create_status: 202,
        etag: false,
        put_lro: Lro::Location,
    },
];

pub fn spec(key: &str) -> Option<&'static TypeSpec> {
    TYPES.iter().find(|t| t.key == key)
}

pub fn namespace_display(ns: &str) -> &'static str {
    match ns.to_ascii_lowercase().as_str() {
        "microsoft.compute" => "Microsoft.Compute",
        "microsoft.network" => "Microsoft.Network",
        "microsoft.storage" => "Microsoft.Storage",
        "microsoft.marketplaceordering" => "Microsoft.MarketplaceOrdering",
        _ => "Microsoft.Resources",
    }
}

/// VM sizes: (name, Hyper-V generations, architecture, family for resize rules).
pub const SIZES: &[(&str, &[&str], &str, &str)] = &[
    ("Standard_B1s", &["V1", "V2"], "x64", "B"),
    ("Standard_B2s", &["V1", "V2"], "x64", "B"),
    ("Standard_B2ms", &["V1", "V2"], "x64", "B"),
    ("Standard_D2s_v5", &["V1", "V2"], "x64", "D"),
    ("Standard_D4s_v5", &["V1", "V2"], "x64", "D"),
    ("Standard_D8s_v5", &["V1", "V2"], "x64", "D"),
    ("Standard_E2s_v5", &["V1", "V2"], "x64", "E"),
    ("Standard_E4s_v5", &["V1", "V2"], "x64", "E"),
    ("Standard_A1_v2", &["V1"], "x64", "A"),
    ("Standard_A2_v2", &["V1"], "x64", "A"),
    ("Standard_D2ps_v5", &["V2"], "Arm64", "Dp"),
    ("Standard_D4ps_v5", &["V2"], "Arm64", "Dp"),
    ("Standard_B2pls_v2", &["V2"], "Arm64", "Bp"),
];

pub fn size(
    name: &str,
) -> Option<&'static (
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
)> {
    SIZES.iter().find(|s| s.0.eq_ignore_ascii_case(name))
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

fn bad(code: &str, target: &str, msg: impl Into<String>) -> ArmError {
    ArmError::bad_request(code, msg).target(target)
}

fn invalid(target: &str, msg: impl Into<String>) -> ArmError {
    bad("InvalidParameter", target, msg)
}

fn name_of(id: &str) -> String {
    id.rsplit('/').next().unwrap_or("").to_string()
}

fn parent_of(id: &str) -> String {
    let mut parts: Vec<&str> = id.split('/').collect();
    parts.truncate(parts.len().saturating_sub(2));
    parts.join("/")
}

fn rg_of(id: &str) -> String {
    let parts: Vec<&str> = id.split('/').collect();
    parts.get(4).map(|s| s.to_string()).unwrap_or_default()
}

fn etag() -> String {
    format!("W/\"{}\"", crate::http::guid())
}

/// What GET returns: private bookkeeping (`_*` keys) removed, children rendered.
pub fn render(s: &Subscription, r: &Resource) -> Json {
    let mut b = r.body.clone();
    if let Some(m) = b.as_object_mut() {
        m.retain(|k, _| !k.starts_with('_'));
    }
    if b["type"] == "Microsoft.Network/virtualNetworks" {
        let prefix = format!("{}/subnets/", lower(r.body["id"].as_str().unwrap_or("")));
        let subnets: Vec<Json> = s
            .resources
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, r)| render(s, r))
            .collect();
        b["properties"]["subnets"] = json!(subnets);
    }
    b
}

fn not_found(spec: &TypeSpec, id: &str) -> ArmError {
    ArmError::new(
        404,
        "ResourceNotFound",
        format!(
            "The Resource '{}/{}' under resource group '{}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
            spec.display,
            name_of(id),
            rg_of(id)
        ),
    )
}

fn valid_name(spec: &TypeSpec, name: &str) -> Result<(), ArmError> {
    let ok = match spec.key {
        "microsoft.storage/storageaccounts" => {
            (3..=24).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        }
        _ => {
            let max = if spec.key == "microsoft.compute/virtualmachines" {
                64
            } else {
                80
            };
            let first_ok = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric());
            let last_ok = name
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            !name.is_empty()
                && name.len() <= max
                && first_ok
                && last_ok
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        }
    };
    if ok {
        return Ok(());
    }
    if spec.key == "microsoft.storage/storageaccounts" {
        return Err(bad("AccountNameInvalid", "name", format!("{name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.")));
    }
    Err(bad("InvalidResourceName", "name", format!("The resource name '{name}' is invalid. It must be 1-80 characters of letters, digits, '.', '-' or '_', start with a letter or digit and end with a letter, digit or '_'.")))
}

/// GET / PUT / PATCH / DELETE of one resource.
pub fn crud(
    emu: &Emulator,
    req: &Req,
    sub: &str,
    rg: &str,
    id: &str,
    spec: &'static TypeSpec,
) -> Result<Response, ArmError> {
    let key = lower(id);
    let parent_key = lower(&parent_of(id));
    let is_child = spec.key.matches('/').count() > 1;
    let mut st = emu.state();
    let location_default = {
        let s = st.subscription(sub).expect("checked");
        s.resource_groups
            .get(&lower(rg))
            .and_then(|g| g["location"].as_str().map(str::to_string))
            .unwrap_or_default()
    };
    if is_child
        && !st
            .subscription(sub)
            .expect("checked")
            .resources
            .contains_key(&parent_key)
    {
        return Err(ArmError::new(404, "ParentResourceNotFound", format!("Can not perform requested operation on nested resource. Parent resource '{}' not found.", name_of(&parent_of(id)))));
    }
    let existing = st
        .subscription(sub)
        .expect("checked")
        .resources
        .get(&key)
        .cloned();
    if let (Some(r), Some(m)) = (&existing, req.header("if-match")) {
        if m != "*" && r.body["etag"].as_str() != Some(m) {
            return Err(ArmError::new(
                412,
                "PreconditionFailed",
                "The condition specified using HTTP conditional header(s) is not met.",
            ));
        }
    }
    if existing.is_none() && req.header("if-match").is_some() && req.method != Method::GET {
        return Err(ArmError::new(
            412,
            "PreconditionFailed",
            "The condition specified using HTTP conditional header(s) is not met.",
        ));
    }
    match req.method {
        Method::GET => {
            let r = existing.ok_or_else(|| not_found(spec, id))?;
            let s = st.subscription(sub).expect("checked");
            let mut body = render(s, &r);
            let expand = req
                .query("$expand")
                .is_some_and(|e| e.eq_ignore_ascii_case("instanceView"));
            if expand && spec.key == "microsoft.compute/virtualmachines" {
                body["properties"]["instanceView"] = instance_view(&r);
            }
            if expand && spec.key == "microsoft.compute/virtualmachines/runcommands" {
                body["properties"]["instanceView"] = run_command_view(&r, crate::http::now_ms());
            }
            Ok(json_response(200, &body))
        }
        Method::PUT | Method::PATCH => {
            if req.method == Method::PUT
                && existing.is_some()
                && req.header("if-none-match") == Some("*")
            {
                return Err(ArmError::new(
                    412,
                    "PreconditionFailed",
                    "The resource already exists (If-None-Match: *).",
                ));
            }
            if let Some(r) = &existing {
                if r.op.is_some() {
                    return Err(ArmError::new(409, "AnotherOperationInProgress", format!("Operation on {} '{}' is not allowed: another operation is in progress on it.", spec.display, name_of(id))));
                }
            } else if req.method == Method::PATCH {
                return Err(not_found(spec, id));
            }
            valid_name(spec, &name_of(id))?;
            let mut body = req.json_body()?;
            if req.method == Method::PATCH {
                body = merge_patch(&existing.as_ref().expect("checked").body, &body);
            }
            let location = if spec.tracked {
                let l = body
                    .get("location")
                    .and_then(Json::as_str)
                    .map(normalize_location)
                    .ok_or_else(|| {
                        bad(
                            "LocationRequired",
                            "location",
                            "The location property is required for this definition.",
                        )
                    })?;
                if !emu.seed().locations.contains(&l) {
                    return Err(bad("LocationNotAvailableForResourceType", "location", format!("The provided location '{l}' is not available for resource type '{}'. List of available regions for the resource type is '{}'.", spec.display, emu.seed().locations.join(","))));
                }
                if let Some(r) = &existing {
                    if r.body["location"].as_str() != Some(l.as_str()) {
                        return Err(bad("InvalidResourceLocation", "location", format!("The resource '{}' already exists in location '{}' in resource group '{rg}'. A resource with the same name cannot be created in location '{l}'. Please select a new resource name.", name_of(id), r.body["location"].as_str().unwrap_or(""))));
                    }
                }
                l
            } else {
                location_default.clone()
            };
            let creating = existing.is_none();
            let mut built = build(
                emu,
                &mut st,
                sub,
                id,
                spec,
                &body,
                existing.as_ref(),
                &location,
            )?;
            let obj = built.as_object_mut().expect("built bodies are objects");
            obj.insert("id".into(), json!(id));
            obj.insert("name".into(), json!(name_of(id)));
            obj.insert("type".into(), json!(spec.display));
            if spec.etag {
                obj.insert("etag".into(), json!(etag()));
            }
            if spec.tracked {
                obj.insert("location".into(), json!(location));
                obj.insert(
                    "tags".into(),
                    body.get("tags").cloned().unwrap_or(json!({})),
                );
            }
            // Storage's ProvisioningState enum has no Updating (Creating,
            // ResolvingDNS, Succeeded): an account is never shown updating.
            let storage = spec.key == "microsoft.storage/storageaccounts";
            built["properties"]["provisioningState"] = json!(if creating || storage {
                "Creating"
            } else {
                "Updating"
            });
            if spec.key == "microsoft.network/virtualnetworks" {
                if let Some(m) = built["properties"].as_object_mut() {
                    m.remove("subnets");
                }
            }
            let fail = crate::control::take_lro_failure(emu, req);
            let kind = if creating {
                OpKind::Create
            } else {
                OpKind::Update
            };
            let ns = namespace_display(spec.key.split('/').next().unwrap_or(""));
            let op = new_operation(&mut st, emu, sub, ns, &location, &key, kind, fail);
            let s = st.subscription_mut(sub).expect("checked");
            s.resources.insert(
                key.clone(),
                Resource {
                    body: built,
                    op: Some(op.clone()),
                },
            );
            after_put(s, &key);
            let rendered = render(s, s.resources.get(&key).expect("just inserted"));
            let status = if creating { spec.create_status } else { 200 };
            let mut r = if status == 202 && spec.key == "microsoft.storage/storageaccounts" {
                empty_response(202)
            } else {
                json_response(status, &rendered)
            };
            location_headers(&mut r, emu, sub, ns, &location, &op, spec.put_lro);
            Ok(r)
        }
        Method::DELETE => {
            let Some(r) = existing else {
                return Ok(empty_response(204));
            };
            if r.op.is_some()
                && !matches!(
                    st.operations
                        .get(r.op.as_deref().unwrap_or(""))
                        .map(|o| &o.kind),
                    Some(OpKind::Delete)
                )
            {
                return Err(ArmError::new(409, "AnotherOperationInProgress", format!("Operation on {} '{}' is not allowed: another operation is in progress on it.", spec.display, name_of(id))));
            }
            check_delete(st.subscription(sub).expect("checked"), spec, &r)?;
            let location = r.body["location"]
                .as_str()
                .map(str::to_string)
                .unwrap_or(location_default);
            let fail = crate::control::take_lro_failure(emu, req);
            let ns = namespace_display(spec.key.split('/').next().unwrap_or(""));
            let op = new_operation(&mut st, emu, sub, ns, &location, &key, OpKind::Delete, fail);
            let s = st.subscription_mut(sub).expect("checked");
            if let Some(res) = s.resources.get_mut(&key) {
                res.body["properties"]["provisioningState"] = json!("Deleting");
                res.op = Some(op.clone());
            }
            if spec.key == "microsoft.storage/storageaccounts" {
                // Storage deletes synchronously (200 / 204 in the spec).
                drop(st);
                let mut st = emu.state();
                crate::arm::complete_operation(&mut st, &op, crate::http::now_ms(), emu);
                return Ok(empty_response(200));
            }
            let mut resp = empty_response(202);
            location_headers(&mut resp, emu, sub, ns, &location, &op, Lro::Both);
            Ok(resp)
        }
        _ => Err(ArmError::new(
            405,
            "MethodNotAllowed",
            format!("{} does not support {}.", spec.display, req.method),
        )),
    }
}

/// RFC 7386-style merge for PATCH bodies.
fn merge_patch(base: &Json, patch: &Json) -> Json {
    match (base, patch) {
        (Json::Object(b), Json::Object(p)) => {
            let mut out = b.clone();
            for (k, v) in p {
                if v.is_null() {
                    out.remove(k);
                } else {
                    let merged = merge_patch(b.get(k).unwrap_or(&Json::Null), v);
                    out.insert(k.clone(), merged);
                }
            }
            Json::Object(out)
        }
        (_, p) => p.clone(),
    }
}

pub fn list(
    emu: &Emulator,
    req: &Req,
    sub: &str,
    parent: &str,
    spec: &TypeSpec,
) -> Result<Response, ArmError> {
    let st = emu.state();
    let s = st.subscription(sub).expect("checked");
    let prefix = format!(
        "{}/{}/",
        lower(parent),
        spec.display
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    );
    let items: Vec<Json> = s
        .resources
        .iter()
        .filter(|(k, r)| {
            k.starts_with(&prefix)
                && !k[prefix.len()..].contains('/')
                && r.body["type"] == spec.display
        })
        .map(|(_, r)| render(s, r))
        .collect();
    page(emu, req, items)
}

/// A subscription-wide list (`VirtualMachines_ListAll`, `Images_List`):
/// every resource of the type, whatever its resource group. For VMs,
/// `statusOnly=true` makes each item the VM's run-time status (its instance
/// view) instead of its model.
pub fn list_all(
    emu: &Emulator,
    req: &Req,
    sub: &str,
    spec: &TypeSpec,
) -> Result<Response, ArmError> {
    let status_only = spec.key == "microsoft.compute/virtualmachines"
        && req
            .query("statusOnly")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let st = emu.state();
    let s = st.subscription(sub).expect("checked");
    let items: Vec<Json> = s
        .resources
        .values()
        .filter(|r| r.body["type"] == spec.display)
        .map(|r| {
            if status_only {
                json!({
                    "id": r.body["id"], "name": r.body["name"], "type": r.body["type"],
                    "location": r.body["location"],
                    "properties": { "instanceView": instance_view(r) },
                })
            } else {
                render(s, r)
            }
        })
        .collect();
    page(emu, req, items)
}

/// One page of a list, as ARM answers: `value`, and `nextLink` (the same
/// request with a `$skiptoken`) while more remain.
fn page(emu: &Emulator, req: &Req, mut items: Vec<Json>) -> Result<Response, ArmError> {
    let size = emu.tunables().list_page_size.max(1);
    let skip = match req.query("$skiptoken") {
        None => 0,
        Some(t) => t.parse::<usize>().map_err(|_| {
            ArmError::bad_request(
                "InvalidSkipToken",
                format!("The skip token '{t}' is not valid."),
            )
        })?,
    };
    let rest = items.split_off(skip.min(items.len()));
    let more = rest.len() > size;
    let value: Vec<Json> = rest.into_iter().take(size).collect();
    let mut body = json!({ "value": value });
    if more {
        let query: Vec<String> = req
            .query
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken"))
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .chain([format!("%24skiptoken={}", skip + size)])
            .collect();
        body["nextLink"] = json!(format!(
            "{}{}?{}",
            emu.base_url(),
            req.path,
            query.join("&")
        ));
    }
    Ok(json_response(200, &body))
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// POST actions and sub-resources (instanceView, start, deallocate, listKeys, ...).
pub fn action(
    emu: &Emulator,
    req: &Req,
    sub: &str,
    id: &str,
    spec: &'static TypeSpec,
    action: &str,
) -> Result<Response, ArmError> {
    let key = lower(id);
    let mut st = emu.state();
    let r = st
        .subscription(sub)
        .expect("checked")
        .resources
        .get(&key)
        .cloned()
        .ok_or_else(|| not_found(spec, id))?;
    let a = lower(action);
    match (spec.key, a.as_str(), req.method.clone()) {
        ("microsoft.compute/virtualmachines", "instanceview", Method::GET) => {
            Ok(json_response(200, &instance_view(&r)))
        }
        (
            "microsoft.compute/virtualmachines",
            "start" | "deallocate" | "poweroff" | "restart",
            Method::POST,
        ) => {
            if r.op.is_some() {
                return Err(ArmError::new(409, "OperationNotAllowed", format!("Operation '{action}' is not allowed on VM '{}' since another operation is in progress.", name_of(id))));
            }
            let location = r.body["location"].as_str().unwrap_or("").to_string();
            let fail = crate::control::take_lro_failure(emu, req);
            let op = new_operation(
                &mut st,
                emu,
                sub,
                "Microsoft.Compute",
                &location,
                &key,
                OpKind::Action(a.clone()),
                fail,
            );
            if let Some(res) = st
                .subscription_mut(sub)
                .expect("checked")
                .resources
                .get_mut(&key)
            {
                res.op = Some(op.clone());
            }
            let mut resp = empty_response(202);
            location_headers(
                &mut resp,
                emu,
                sub,
                "Microsoft.Compute",
                &location,
                &op,
                Lro::Both,
            );
            Ok(resp)
        }
        ("microsoft.compute/virtualmachines", "runcommand", Method::POST) => {
            let body = req.json_body()?;
            if body["commandId"] != "RunShellScript" {
                return Err(invalid(
                    "commandId",
                    "The local cloud supports commandId 'RunShellScript'.",
                ));
            }
            let script = body["script"]
                .as_array()
                .map(|lines| {
                    lines
                        .iter()
                        .filter_map(Json::as_str)
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default();
            let env: Vec<(String, String)> = body["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| {
                    Some((
                        p["name"].as_str()?.to_string(),
                        p["value"].as_str()?.to_string(),
                    ))
                })
                .collect();
            require_running(
                &r,
                "The operation requires the VM to be running (or set to run).",
            )?;
            let location = r.body["location"].as_str().unwrap_or("").to_string();
            // v1 Run Command works on Arm64 too: no managed-command size check here.
            let outcome = {
                let s = st.subscription_mut(sub).expect("checked");
                let vm = s.resources.get_mut(&key).expect("exists");
                if !vm.body["_guest"].is_object() {
                    vm.body["_guest"] = super::guest::new_guest(None);
                }
                super::guest::run(
                    &mut vm.body["_guest"],
                    &super::guest::with_environment(&script, &env),
                )
            };
            st.run_log.push(json!({ "vm": id, "name": "RunShellScript", "script": script, "exit_code": outcome.exit_code, "output": outcome.stdout, "error": outcome.stderr, "time": crate::http::rfc3339(crate::http::now_ms()) }));
            let op = new_operation(
                &mut st,
                emu,
                sub,
                "Microsoft.Compute",
                &location,
                &key,
                OpKind::Action("runcommand".into()),
                None,
            );
            if let Some(o) = st.operations.get_mut(&op) {
                o.result = Some(json!({ "value": [{
                    "code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded",
                    "message": format!("Enable succeeded: \n[stdout]\n{}\n[stderr]\n{}", super::guest::tail(&outcome.stdout), super::guest::tail(&outcome.stderr)),
                }] }));
            }
            let mut resp = empty_response(202);
            location_headers(
                &mut resp,
                emu,
                sub,
                "Microsoft.Compute",
                &location,
                &op,
                Lro::Both,
            );
            Ok(resp)
        }
        ("microsoft.storage/storageaccounts", "listkeys", Method::POST) => Ok(json_response(
            200,
            &json!({ "keys": [
                { "keyName": "key1", "value": AZURITE_KEY, "permissions": "FULL", "creationTime": crate::http::rfc3339(crate::http::now_ms()) },
                { "keyName": "key2", "value": AZURITE_KEY, "permissions": "FULL", "creationTime": crate::http::rfc3339(crate::http::now_ms()) },
            ] }),
        )),
        ("microsoft.storage/storageaccounts", "listaccountsas", Method::POST) => Ok(json_response(
            200,
            &super::sas::account_sas(&req.json_body()?)?,
        )),
        ("microsoft.storage/storageaccounts", "listservicesas", Method::POST) => Ok(json_response(
            200,
            &super::sas::service_sas(&req.json_body()?, &name_of(id))?,
        )),
        _ => Err(ArmError::bad_request(
            "InvalidResourceType",
            format!(
                "{} has no action '{action}' for {} in the local cloud.",
                spec.display, req.method
            ),
        )),
    }
}

fn instance_view(r: &Resource) -> Json {
    let power = r.body["_power"].as_str().unwrap_or("running");
    json!({
        "computerName": r.body["properties"]["osProfile"]["computerName"],
        "osName": "redhat", "osVersion": r.body["_osVersion"],
        "vmAgent": { "vmAgentVersion": "2.10.0.8", "statuses": [{ "code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Ready" }] },
        "statuses": [
            { "code": format!("ProvisioningState/{}", r.body["properties"]["provisioningState"].as_str().unwrap_or("succeeded").to_ascii_lowercase()), "level": "Info" },
            { "code": format!("PowerState/{power}"), "level": "Info", "displayStatus": format!("VM {power}") },
        ],
    })
}

/// Applies a finished POST action.
pub fn apply_action(r: &mut Resource, action: &str) {
    let power = match action {
        "start" | "restart" => "running",
        "deallocate" => "deallocated",
        "poweroff" => "stopped",
        _ => return,
    };
    r.body["_power"] = json!(power);
}

/// Removes a resource, its children, and what it cascades to (VM disks and NICs
/// with `deleteOption: Delete`); detaches what it does not delete.
pub fn delete_resource(s: &mut Subscription, key: &str) {
    let Some(r) = s.resources.remove(key) else {
        return;
    };
    let prefix = format!("{key}/");
    s.resources.retain(|k, _| !k.starts_with(&prefix));
    match r.body["type"].as_str().unwrap_or("") {
        "Microsoft.Compute/virtualMachines" => {
            let p = &r.body["properties"];
            let disk = lower(
                p["storageProfile"]["osDisk"]["managedDisk"]["id"]
                    .as_str()
                    .unwrap_or(""),
            );
            if p["storageProfile"]["osDisk"]["deleteOption"] == "Delete" {
                s.resources.remove(&disk);
            } else if let Some(d) = s.resources.get_mut(&disk) {
                d.body.as_object_mut().map(|m| m.remove("managedBy"));
                d.body["properties"]["diskState"] = json!("Unattached");
            }
            for nic in p["networkProfile"]["networkInterfaces"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let nic_key = lower(nic["id"].as_str().unwrap_or(""));
                if nic["properties"]["deleteOption"] == "Delete" {
                    delete_resource(s, &nic_key);
                } else if let Some(n) = s.resources.get_mut(&nic_key) {
                    n.body["properties"]
                        .as_object_mut()
                        .map(|m| m.remove("virtualMachine"));
                }
            }
        }
        "Microsoft.Network/networkInterfaces" => {
            for ipc in r.body["properties"]["ipConfigurations"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let pip = lower(
                    ipc["properties"]["publicIPAddress"]["id"]
                        .as_str()
                        .unwrap_or(""),
                );
                if let Some(p) = s.resources.get_mut(&pip) {
                    p.body["properties"]
                        .as_object_mut()
                        .map(|m| m.remove("ipConfiguration"));
                }
            }
        }
        _ => {}
    }
}

/// Dependency rules that refuse a delete.
fn check_delete(s: &Subscription, spec: &TypeSpec, r: &Resource) -> Result<(), ArmError> {
    let id = r.body["id"].as_str().unwrap_or("");
    let p = &r.body["properties"];
    match spec.key {
        "microsoft.compute/virtualmachines/extensions"
        | "microsoft.compute/virtualmachines/runcommands" => {
            if let Some(vm) = s.resources.get(&lower(&parent_of(id))) {
                require_running(vm, EXTENSIONS_NEED_A_RUNNING_VM)?;
            }
        }
        "microsoft.network/networkinterfaces" => {
            if let Some(vm) = p["virtualMachine"]["id"].as_str() {
                return Err(bad("NicInUse", "", format!("Network Interface {id} is used by existing resource {vm}. In order to delete the network interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.")));
            }
        }
        "microsoft.network/publicipaddresses" => {
            if let Some(ipc) = p["ipConfiguration"]["id"].as_str() {
                return Err(bad("PublicIPAddressCannotBeDeleted", "", format!("Public IP address {id} can not be deleted since it is still allocated to resource {ipc}. In order to delete the public IP, disassociate/detach the Public IP address from the resource.  To learn how to do this, see aka.ms/deletepublicip.")));
            }
        }
        "microsoft.network/virtualnetworks/subnets" | "microsoft.network/virtualnetworks" => {
            let prefix = lower(id);
            for nic in s
                .resources
                .values()
                .filter(|x| x.body["type"] == "Microsoft.Network/networkInterfaces")
            {
                for ipc in nic.body["properties"]["ipConfigurations"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                {
                    let subnet = lower(ipc["properties"]["subnet"]["id"].as_str().unwrap_or(""));
                    if subnet == prefix || subnet.starts_with(&format!("{prefix}/")) {
                        return Err(bad("InUseSubnetCannotBeDeleted", "", format!("Subnet {} is in use by {} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.", name_of(&subnet), ipc["id"].as_str().unwrap_or(""))));
                    }
                }
            }
        }
        "microsoft.network/networksecuritygroups" => {
            for nic in s
                .resources
                .values()
                .filter(|x| x.body["type"] == "Microsoft.Network/networkInterfaces")
            {
                if nic.body["properties"]["networkSecurityGroup"]["id"]
                    .as_str()
                    .map(lower)
                    == Some(lower(id))
                {
                    return Err(bad("InUseNetworkSecurityGroupCannotBeDeleted", "", format!("Network security group {id} cannot be deleted because it is in use by the following resources: {}.", nic.body["id"].as_str().unwrap_or(""))));
                }
            }
        }
        "microsoft.compute/disks" => {
            if let Some(vm) = r.body["managedBy"].as_str() {
                return Err(ArmError::new(
                    409,
                    "OperationNotAllowed",
                    format!("Disk {} is attached to VM {vm}.", name_of(id)),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Side effects once a resource is stored (references from other resources).
fn after_put(s: &mut Subscription, key: &str) {
    let r = s.resources.get(key).cloned().expect("just stored");
    match r.body["type"].as_str().unwrap_or("") {
        "Microsoft.Network/networkInterfaces" => {
            let nic_id = r.body["id"].as_str().unwrap_or("").to_string();
            // Public IPs point back at the ip configuration that uses them.
            let nic_prefix = format!("{}/", lower(&nic_id));
            for pip in s
                .resources
                .values_mut()
                .filter(|x| x.body["type"] == "Microsoft.Network/publicIPAddresses")
            {
                if pip.body["properties"]["ipConfiguration"]["id"]
                    .as_str()
                    .is_some_and(|i| lower(i).starts_with(&nic_prefix))
                {
                    pip.body["properties"]
                        .as_object_mut()
                        .map(|m| m.remove("ipConfiguration"));
                }
            }
            for ipc in r.body["properties"]["ipConfigurations"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                if let Some(pip) = ipc["properties"]["publicIPAddress"]["id"].as_str() {
                    if let Some(p) = s.resources.get_mut(&lower(pip)) {
                        p.body["properties"]["ipConfiguration"] = json!({ "id": ipc["id"] });
                    }
                }
            }
        }
        "Microsoft.Compute/virtualMachines" => {
            let vm_id = r.body["id"].clone();
            for nic in r.body["properties"]["networkProfile"]["networkInterfaces"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                if let Some(n) = s
                    .resources
                    .get_mut(&lower(nic["id"].as_str().unwrap_or("")))
                {
                    n.body["properties"]["virtualMachine"] = json!({ "id": vm_id });
                }
            }
            if let Some(disk) = r.body.get("_newOsDisk").cloned() {
                let dk = lower(disk["id"].as_str().unwrap_or(""));
                s.resources.insert(
                    dk,
                    Resource {
                        body: disk,
                        op: None,
                    },
                );
                if let Some(vm) = s.resources.get_mut(key) {
                    vm.body.as_object_mut().map(|m| m.remove("_newOsDisk"));
                }
            }
        }
        _ => {}
    }
}

fn one_of(v: &Json, allowed: &[&str], target: &str, default: &str) -> Result<String, ArmError> {
    match v.as_str() {
        None => Ok(default.to_string()),
        Some(s) => allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(s))
            .map(|a| a.to_string())
            .ok_or_else(|| invalid(target, format!("The value '{s}' of parameter '{target}' is not allowed. Allowed values are '{}'.", allowed.join("', '")))),
    }
}

fn existing_ref(s: &Subscription, id: &str, referrer: &str) -> Result<Resource, ArmError> {
    s.resources.get(&lower(id)).cloned().ok_or_else(|| {
        bad("InvalidResourceReference", "", format!("Resource {id} referenced by resource {referrer} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region."))
    })
}

fn valid_cidr(c: &str) -> bool {
    let Some((ip, bits)) = c.split_once('/') else {
        return false;
    };
    let octets: Vec<&str> = ip.split('.').collect();
    octets.len() == 4
        && octets.iter().all(|o| o.parse::<u8>().is_ok())
        && bits.parse::<u8>().is_ok_and(|b| b <= 32)
}

/// Validates a PUT body and builds the stored representation (without id/name/type/location/tags).
#[allow(clippy::too_many_arguments)]
fn build(
    emu: &Emulator,
    st: &mut crate::state::State,
    sub: &str,
    id: &str,
    spec: &TypeSpec,
    body: &Json,
    existing: Option<&Resource>,
    location: &str,
) -> Result<Json, ArmError> {
    // The subscription is taken out of the state while the body is built, so
    // it can be read and changed next to the rest of the state without a
    // copy (copying it on every write made large estates quadratic).
    let key = sub.to_ascii_lowercase();
    let mut s = st.subscriptions.remove(&key).expect("checked");
    let built = build_in(emu, st, &mut s, sub, id, spec, body, existing, location);
    st.subscriptions.insert(key, s);
    built
}

#[allow(clippy::too_many_arguments)]
fn build_in(
    emu: &Emulator,
    st: &mut crate::state::State,
    s: &mut crate::state::Subscription,
    sub: &str,
    id: &str,
    spec: &TypeSpec,
    body: &Json,
    existing: Option<&Resource>,
    location: &str,
) -> Result<Json, ArmError> {
    let props = body.get("properties").cloned().unwrap_or(json!({}));
    if !props.is_object() {
        return Err(bad(
            "InvalidRequestContent",
            "properties",
            "properties must be an object.",
        ));
    }
    let next_host = st.next_host;
    let mut out = json!({ "properties": props.clone() });
    match spec.key {
        "microsoft.compute/images" => {
            let os = &props["storageProfile"]["osDisk"];
            let has_source = props["sourceVirtualMachine"]["id"].is_string();
            if !has_source {
                if !os.is_object() {
                    return Err(invalid(
                        "storageProfile.osDisk",
                        "Required parameter 'osDisk' is missing (null).",
                    ));
                }
                one_of(&os["osType"], &["Linux", "Windows"], "osType", "").and_then(|v| {
                    if v.is_empty() {
                        Err(invalid(
                            "osType",
                            "Required parameter 'osType' is missing (null).",
                        ))
                    } else {
                        Ok(v)
                    }
                })?;
                one_of(
                    &os["osState"],
                    &["Generalized", "Specialized"],
                    "osState",
                    "",
                )
                .and_then(|v| {
                    if v.is_empty() {
                        Err(invalid(
                            "osState",
                            "Required parameter 'osState' is missing (null).",
                        ))
                    } else {
                        Ok(v)
                    }
                })?;
                let sources = [
                    os["blobUri"].is_string(),
                    os["managedDisk"]["id"].is_string(),
                    os["snapshot"]["id"].is_string(),
                ];
                if sources.iter().filter(|b| **b).count() != 1 {
                    return Err(invalid("storageProfile.osDisk", "Exactly one of blobUri, managedDisk or snapshot must be specified for the OS disk of an image."));
                }
                if let Some(uri) = os["blobUri"].as_str() {
                    if !(uri.starts_with("https://") || uri.starts_with("http://"))
                        || !uri.contains(".vhd") && !uri.contains('/')
                    {
                        return Err(invalid(
                            "blobUri",
                            format!("The blob URI '{uri}' is not valid."),
                        ));
                    }
                }
                out["properties"]["storageProfile"]["osDisk"]["caching"] =
                    os.get("caching").cloned().unwrap_or(json!("ReadWrite"));
                if out["properties"]["storageProfile"]
                    .get("dataDisks")
                    .is_none()
                {
                    out["properties"]["storageProfile"]["dataDisks"] = json!([]);
                }
            }
            let gen = one_of(
                &props["hyperVGeneration"],
                &["V1", "V2"],
                "hyperVGeneration",
                "V1",
            )?;
            if let Some(r) = existing {
                if r.body["properties"]["storageProfile"]["osDisk"]["blobUri"]
                    != props["storageProfile"]["osDisk"]["blobUri"]
                    || r.body["properties"]["hyperVGeneration"] != json!(gen)
                {
                    return Err(ArmError::new(409, "PropertyChangeNotAllowed", "Changing property 'storageProfile' or 'hyperVGeneration' of an image is not allowed.").target("storageProfile"));
                }
            }
            out["properties"]["hyperVGeneration"] = json!(gen);
        }
        "microsoft.compute/disks" => {
            let create = one_of(
                &props["creationData"]["createOption"],
                &[
                    "Empty",
                    "Attach",
                    "FromImage",
                    "Import",
                    "Copy",
                    "Restore",
                    "Upload",
                    "CopyStart",
                    "ImportSecure",
                    "UploadPreparedSecure",
                ],
                "creationData.createOption",
                "",
            )?;
            if create.is_empty() {
                return Err(invalid(
                    "creationData.createOption",
                    "Required parameter 'creationData.createOption' is missing (null).",
                ));
            }
            if create == "Empty" && !props["diskSizeGB"].is_number() {
                return Err(invalid(
                    "diskSizeGB",
                    "Disk size must be specified for an empty disk.",
                ));
            }
            let sku = one_of(
                &body["sku"]["name"],
                &[
                    "Standard_LRS",
                    "Premium_LRS",
                    "StandardSSD_LRS",
                    "UltraSSD_LRS",
                    "Premium_ZRS",
                    "StandardSSD_ZRS",
                    "PremiumV2_LRS",
                ],
                "sku.name",
                "Standard_LRS",
            )?;
            out["sku"] = json!({ "name": sku, "tier": if sku.starts_with("Premium") { "Premium" } else { "Standard" } });
            let prev = existing.map(|r| r.body.clone()).unwrap_or(json!({}));
            out["properties"]["diskState"] = prev["properties"]["diskState"]
                .clone()
                .as_str()
                .map(|s| json!(s))
                .unwrap_or(json!("Unattached"));
            out["properties"]["uniqueId"] = prev["properties"]["uniqueId"]
                .as_str()
                .map(|s| json!(s))
                .unwrap_or(json!(crate::http::guid()));
            out["properties"]["timeCreated"] = prev["properties"]["timeCreated"]
                .as_str()
                .map(|s| json!(s))
                .unwrap_or(json!(crate::http::rfc3339(crate::http::now_ms())));
            if let Some(m) = prev.get("managedBy") {
                out["managedBy"] = m.clone();
            }
        }
        "microsoft.network/virtualnetworks" => {
            let prefixes = props["addressSpace"]["addressPrefixes"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if prefixes.is_empty() {
                return Err(bad("InvalidRequestFormat", "properties.addressSpace.addressPrefixes", "Cannot parse the request: the virtual network needs at least one address prefix in addressSpace.addressPrefixes."));
            }
            for p in &prefixes {
                if !p.as_str().is_some_and(valid_cidr) {
                    return Err(bad("InvalidAddressPrefixFormat", "properties.addressSpace.addressPrefixes", format!("Address prefix {p} of resource {id} is not formatted correctly. It should follow CIDR notation, for example 10.0.0.0/24.")));
                }
            }
            // Azure replaces the subnet list with what the body carries; subnets in use cannot go.
            let wanted: Vec<Json> = props["subnets"].as_array().cloned().unwrap_or_default();
            let vnet_prefix = format!("{}/subnets/", lower(id));
            let wanted_names: Vec<String> = wanted
                .iter()
                .filter_map(|w| w["name"].as_str().map(lower))
                .collect();
            let stale: Vec<String> = s
                .resources
                .keys()
                .filter(|k| {
                    k.starts_with(&vnet_prefix)
                        && !wanted_names.contains(&k[vnet_prefix.len()..].to_string())
                })
                .cloned()
                .collect();
            for k in &stale {
                let sub_spec = spec_for("microsoft.network/virtualnetworks/subnets");
                check_delete(s, sub_spec, s.resources.get(k).expect("listed"))?;
            }
            for w in &wanted {
                let name = w["name"]
                    .as_str()
                    .ok_or_else(|| invalid("subnets.name", "Every subnet needs a name."))?;
                if !w["properties"]["addressPrefix"]
                    .as_str()
                    .is_some_and(valid_cidr)
                    && w["properties"]["addressPrefixes"].as_array().is_none()
                {
                    return Err(bad(
                        "InvalidRequestFormat",
                        "subnets.properties.addressPrefix",
                        format!("Subnet '{name}' needs an addressPrefix in CIDR notation."),
                    ));
                }
            }
            let st_sub = &mut *s;
            for k in stale {
                st_sub.resources.remove(&k);
            }
            for w in wanted {
                let name = w["name"].as_str().unwrap_or_default();
                let sid = format!("{id}/subnets/{name}");
                st_sub.resources.insert(lower(&sid), Resource {
                    body: json!({ "id": sid, "name": name, "type": "Microsoft.Network/virtualNetworks/subnets", "etag": etag(),
                        "properties": merge_patch(&w["properties"], &json!({ "provisioningState": "Succeeded" })) }),
                    op: None,
                });
            }
            out["properties"]["resourceGuid"] = existing
                .map(|r| r.body["properties"]["resourceGuid"].clone())
                .unwrap_or(json!(crate::http::guid()));
        }
        "microsoft.network/virtualnetworks/subnets" => {
            let ok = props["addressPrefix"].as_str().is_some_and(valid_cidr)
                || props["addressPrefixes"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty());
            if !ok {
                return Err(bad(
                    "InvalidRequestFormat",
                    "properties.addressPrefix",
                    "Cannot parse the request: the subnet needs an addressPrefix in CIDR notation.",
                ));
            }
            if let Some(nsg) = props["networkSecurityGroup"]["id"].as_str() {
                existing_ref(s, nsg, id)?;
            }
        }
        "microsoft.network/publicipaddresses" => {
            let sku = one_of(
                &body["sku"]["name"],
                &["Basic", "Standard"],
                "sku.name",
                "Basic",
            )?;
            let alloc = one_of(
                &props["publicIPAllocationMethod"],
                &["Static", "Dynamic"],
                "publicIPAllocationMethod",
                if sku == "Standard" {
                    "Static"
                } else {
                    "Dynamic"
                },
            )?;
            if sku == "Standard" && alloc == "Dynamic" {
                return Err(bad(
                    "StandardSkuPublicIPAddressesMustBeStatic",
                    "publicIPAllocationMethod",
                    format!("Standard sku publicIp {id} must have AllocationMethod set to Static."),
                ));
            }
            out["sku"] = json!({ "name": sku, "tier": "Regional" });
            out["properties"]["publicIPAllocationMethod"] = json!(alloc);
            out["properties"]["publicIPAddressVersion"] = json!("IPv4");
            out["properties"]["idleTimeoutInMinutes"] = props
                .get("idleTimeoutInMinutes")
                .cloned()
                .unwrap_or(json!(4));
            let prev = existing
                .map(|r| r.body["properties"].clone())
                .unwrap_or(json!({}));
            out["properties"]["ipAddress"] =
                prev.get("ipAddress").cloned().unwrap_or(json!(format!(
                    "20.{}.{}.{}",
                    40 + next_host / 65536 % 200,
                    next_host / 256 % 256,
                    next_host % 256
                )));
            if let Some(ipc) = prev.get("ipConfiguration") {
                out["properties"]["ipConfiguration"] = ipc.clone();
            }
            st.next_host += 1;
        }
        "microsoft.network/networksecuritygroups" => {
            for r in props["securityRules"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let name = r["name"].as_str().ok_or_else(|| {
                    invalid("securityRules.name", "Every security rule needs a name.")
                })?;
                let p = &r["properties"];
                let prio = p["priority"].as_i64().unwrap_or(0);
                if !(100..=4096).contains(&prio) {
                    return Err(bad("SecurityRuleInvalidPriority", "securityRules.priority", format!("Security rule {name} has invalid priority {prio}. Value provided: {prio} Allowed range 100-4096.")));
                }
                one_of(&p["direction"], &["Inbound", "Outbound"], "direction", "")?;
                one_of(&p["access"], &["Allow", "Deny"], "access", "")?;
                one_of(
                    &p["protocol"],
                    &["Tcp", "Udp", "Icmp", "Esp", "*", "Ah"],
                    "protocol",
                    "",
                )?;
            }
            out["properties"]["resourceGuid"] = existing
                .map(|r| r.body["properties"]["resourceGuid"].clone())
                .unwrap_or(json!(crate::http::guid()));
        }
        "microsoft.network/networkinterfaces" => {
            let ipcs = props["ipConfigurations"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if ipcs.is_empty() {
                return Err(bad(
                    "NetworkInterfaceMustHaveAtLeastOneIpConfiguration",
                    "properties.ipConfigurations",
                    format!("Network interface {id} must have one or more IP configurations."),
                ));
            }
            let prev = existing
                .map(|r| r.body["properties"].clone())
                .unwrap_or(json!({}));
            let mut shaped = Vec::new();
            for (i, ipc) in ipcs.iter().enumerate() {
                let name = ipc["name"].as_str().ok_or_else(|| {
                    invalid(
                        "ipConfigurations.name",
                        "Every IP configuration needs a name.",
                    )
                })?;
                let p = &ipc["properties"];
                let subnet = p["subnet"]["id"].as_str().ok_or_else(|| {
                    bad(
                        "InvalidRequestFormat",
                        "ipConfigurations.properties.subnet",
                        format!("IP configuration {name} must reference a subnet."),
                    )
                })?;
                let subnet_r = existing_ref(s, subnet, id)?;
                if let Some(pip) = p["publicIPAddress"]["id"].as_str() {
                    let pip_r = existing_ref(s, pip, id)?;
                    let own = format!("{}/ipconfigurations/", lower(id));
                    if let Some(user) = pip_r.body["properties"]["ipConfiguration"]["id"].as_str() {
                        if !lower(user).starts_with(&own) {
                            return Err(bad("PublicIPAddressInUse", "", format!("Resource {pip} is referenced by resource {user}, so it cannot be used by {id}.")));
                        }
                    }
                }
                let alloc = one_of(
                    &p["privateIPAllocationMethod"],
                    &["Static", "Dynamic"],
                    "privateIPAllocationMethod",
                    "Dynamic",
                )?;
                let prev_ip = prev["ipConfigurations"]
                    .as_array()
                    .and_then(|a| a.iter().find(|x| x["name"] == json!(name)))
                    .and_then(|x| {
                        x["properties"]["privateIPAddress"]
                            .as_str()
                            .map(str::to_string)
                    });
                let ip = match (alloc.as_str(), p["privateIPAddress"].as_str(), prev_ip) {
                    ("Static", Some(ip), _) => ip.to_string(),
                    ("Static", None, _) => {
                        return Err(invalid(
                            "privateIPAddress",
                            "A static private IP allocation needs privateIPAddress.",
                        ))
                    }
                    (_, _, Some(ip)) => ip,
                    _ => {
                        let base = subnet_r.body["properties"]["addressPrefix"]
                            .as_str()
                            .unwrap_or("10.0.0.0/24");
                        let octets: Vec<&str> = base
                            .split('/')
                            .next()
                            .unwrap_or("10.0.0.0")
                            .split('.')
                            .collect();
                        let host = st.next_host;
                        st.next_host += 1;
                        format!(
                            "{}.{}.{}.{}",
                            octets[0],
                            octets.get(1).unwrap_or(&"0"),
                            (host / 250
                                + octets
                                    .get(2)
                                    .and_then(|o| o.parse::<u32>().ok())
                                    .unwrap_or(0))
                                % 256,
                            host % 250 + 4
                        )
                    }
                };
                let mut shaped_p = p.clone();
                shaped_p["privateIPAddress"] = json!(ip);
                shaped_p["privateIPAllocationMethod"] = json!(alloc);
                shaped_p["provisioningState"] = json!("Succeeded");
                shaped_p["primary"] =
                    json!(p.get("primary").and_then(Json::as_bool).unwrap_or(i == 0));
                shaped_p["privateIPAddressVersion"] = json!("IPv4");
                shaped.push(json!({ "name": name, "id": format!("{id}/ipConfigurations/{name}"), "type": "Microsoft.Network/networkInterfaces/ipConfigurations", "properties": shaped_p }));
            }
            if let Some(nsg) = props["networkSecurityGroup"]["id"].as_str() {
                existing_ref(s, nsg, id)?;
            }
            out["properties"]["ipConfigurations"] = json!(shaped);
            out["properties"]["resourceGuid"] = prev
                .get("resourceGuid")
                .cloned()
                .unwrap_or(json!(crate::http::guid()));
            out["properties"]["macAddress"] =
                prev.get("macAddress").cloned().unwrap_or(json!(format!(
                    "00-0D-3A-{:02X}-{:02X}-{:02X}",
                    next_host / 65536 % 256,
                    next_host / 256 % 256,
                    next_host % 256
                )));
            if let Some(vm) = prev.get("virtualMachine") {
                out["properties"]["virtualMachine"] = vm.clone();
            }
            out["properties"]["nicType"] = json!("Standard");
        }
        "microsoft.storage/storageaccounts" => {
            let sku = one_of(
                &body["sku"]["name"],
                &[
                    "Standard_LRS",
                    "Standard_GRS",
                    "Standard_RAGRS",
                    "Standard_ZRS",
                    "Premium_LRS",
                    "Premium_ZRS",
                    "Standard_GZRS",
                    "Standard_RAGZRS",
                ],
                "sku.name",
                "",
            )?;
            if sku.is_empty() {
                return Err(invalid(
                    "sku",
                    "Required parameter 'sku' is missing (null).",
                ));
            }
            let kind = one_of(
                &body["kind"],
                &[
                    "Storage",
                    "StorageV2",
                    "BlobStorage",
                    "FileStorage",
                    "BlockBlobStorage",
                ],
                "kind",
                "",
            )?;
            if kind.is_empty() {
                return Err(invalid(
                    "kind",
                    "Required parameter 'kind' is missing (null).",
                ));
            }
            // Storage account names are global in Azure: taken anywhere means taken.
            let name = name_of(id);
            let suffix = format!(
                "/providers/microsoft.storage/storageaccounts/{}",
                lower(&name)
            );
            let taken = st
                .subscriptions
                .values()
                .flat_map(|x| x.resources.keys())
                .any(|k| k.ends_with(&suffix) && *k != lower(id));
            if taken {
                return Err(ArmError::new(
                    409,
                    "StorageAccountAlreadyTaken",
                    format!("The storage account named {name} is already taken."),
                ));
            }
            out["sku"] = json!({ "name": sku, "tier": if sku.starts_with("Premium") { "Premium" } else { "Standard" } });
            out["kind"] = json!(kind);
            let blob = emu
                .blob_endpoint
                .clone()
                .map(|b| format!("{}/", b.trim_end_matches('/')))
                .unwrap_or_else(|| format!("http://127.0.0.1:10000/{AZURITE_ACCOUNT}/"));
            out["properties"]["primaryEndpoints"] = json!({ "blob": blob });
            out["properties"]["primaryLocation"] = json!(location);
            out["properties"]["statusOfPrimary"] = json!("available");
            out["properties"]["creationTime"] = existing
                .map(|r| r.body["properties"]["creationTime"].clone())
                .unwrap_or(json!(crate::http::rfc3339(crate::http::now_ms())));
            out["properties"]["supportsHttpsTrafficOnly"] = props
                .get("supportsHttpsTrafficOnly")
                .cloned()
                .unwrap_or(json!(true));
            out["properties"]["allowSharedKeyAccess"] = props
                .get("allowSharedKeyAccess")
                .cloned()
                .unwrap_or(json!(true));
            // Azurite holds every local storage account's blobs under its one development account.
            out["_azuriteAccount"] = json!(AZURITE_ACCOUNT);
        }
        "microsoft.compute/virtualmachines" => {
            out = super::catalog::build_vm(emu, s, sub, id, body, existing, location)?;
        }
        "microsoft.compute/virtualmachines/extensions" => {
            if let Some(vm) = s.resources.get(&lower(&parent_of(id))) {
                require_running(vm, EXTENSIONS_NEED_A_RUNNING_VM)?;
            }
            for f in ["publisher", "type", "typeHandlerVersion"] {
                if !props[f].is_string() {
                    return Err(invalid(
                        f,
                        format!("Required parameter '{f}' is missing (null)."),
                    ));
                }
            }
            let known = [
                ("Microsoft.Azure.AzureHybridBenefit", "AHBForRHEL"),
                ("Microsoft.Azure.Extensions", "CustomScript"),
                ("Microsoft.CPlat.Core", "RunCommandHandlerLinux"),
            ];
            let pair = (
                props["publisher"].as_str().unwrap_or(""),
                props["type"].as_str().unwrap_or(""),
            );
            if !known
                .iter()
                .any(|(p, t)| p.eq_ignore_ascii_case(pair.0) && t.eq_ignore_ascii_case(pair.1))
            {
                return Err(ArmError::new(404, "VMExtensionHandlerNonTransientError", format!("The handler for VM extension type '{}.{}' could not be found in the Extension Repository.", pair.0, pair.1)));
            }
        }
        "microsoft.compute/virtualmachines/runcommands" => {
            let Some(script) = props["source"]["script"].as_str() else {
                return Err(invalid(
                    "source.script",
                    "The local cloud runs inline scripts only: set source.script.",
                ));
            };
            // `parameters` and `protectedParameters` reach the script as
            // environment variables; Azure never returns protected ones.
            let env: Vec<(String, String)> = ["parameters", "protectedParameters"]
                .iter()
                .flat_map(|k| props[*k].as_array().cloned().unwrap_or_default())
                .filter_map(|p| {
                    Some((
                        p["name"].as_str()?.to_string(),
                        p["value"].as_str()?.to_string(),
                    ))
                })
                .collect();
            if let Some(m) = out["properties"].as_object_mut() {
                m.remove("protectedParameters");
            }
            let now = crate::http::now_ms();
            let (result, forced_state) =
                run_on_vm(st, s, &parent_of(id), &name_of(id), script, &env)?;
            // The script runs for one operation delay: within the PUT when
            // it waits for the script, after it with `asyncExecution`.
            let delay = emu.tunables().lro_delay_ms;
            let async_execution = props["asyncExecution"].as_bool().unwrap_or(false);
            let ends = now + if async_execution { 2 * delay } else { delay };
            out["_pending_until"] = json!(now + delay / 2);
            out["_ends"] = json!(ends);
            out["_result"] = json!({
                "executionState": forced_state.unwrap_or(if result.exit_code == 0 { "Succeeded" } else { "Failed" }.into()),
                "exitCode": result.exit_code, "output": super::guest::tail(&result.stdout), "error": super::guest::tail(&result.stderr),
                "startTime": crate::http::rfc3339(now), "endTime": crate::http::rfc3339(ends),
            });
            if out["_result"]["executionState"] == "TimedOut" {
                out["_result"]["executionMessage"] = json!(format!(
                    "Execution timed out after {} seconds.",
                    props["timeoutInSeconds"].as_i64().unwrap_or(5400)
                ));
            }
            if let Some(m) = out["properties"].as_object_mut() {
                m.remove("instanceView");
            }
        }
        "microsoft.compute/galleries"
        | "microsoft.compute/galleries/images"
        | "microsoft.compute/galleries/images/versions" => {
            if spec.key == "microsoft.compute/galleries/images" {
                for (f, t) in [
                    (&props["osType"], "osType"),
                    (&props["osState"], "osState"),
                    (&props["identifier"]["publisher"], "identifier.publisher"),
                    (&props["identifier"]["offer"], "identifier.offer"),
                    (&props["identifier"]["sku"], "identifier.sku"),
                ] {
                    if !f.is_string() {
                        return Err(invalid(
                            t,
                            format!("Required parameter '{t}' is missing (null)."),
                        ));
                    }
                }
                out["properties"]["hyperVGeneration"] = json!(one_of(
                    &props["hyperVGeneration"],
                    &["V1", "V2"],
                    "hyperVGeneration",
                    "V1"
                )?);
            }
            if spec.key == "microsoft.compute/galleries/images/versions" {
                let src = props["storageProfile"]["source"]["id"]
                    .as_str()
                    .or(props["storageProfile"]["osDiskImage"]["source"]["id"].as_str());
                match src {
                    Some(src) => {
                        existing_ref(s, src, id)?;
                    }
                    None if props["storageProfile"]["osDiskImage"]["source"]["uri"].is_string() => {}
                    None => return Err(invalid("storageProfile.source", "The gallery image version needs storageProfile.source.id or an osDiskImage source.")),
                }
            }
        }
        _ => {}
    }
    Ok(out)
}

/// Runs a script in the simulated guest of the VM at `vm_id`, honouring a
/// failure queued through the control API, and records it.
/// Besides the outcome, the execution state a queued failure asks for
/// (`TimedOut`, `Canceled`), if any.
fn run_on_vm(
    st: &mut crate::state::State,
    s: &mut crate::state::Subscription,
    vm_id: &str,
    name: &str,
    script: &str,
    env: &[(String, String)],
) -> Result<(super::guest::Outcome, Option<String>), ArmError> {
    let vm_key = lower(vm_id);
    let vm = s.resources.get_mut(&vm_key).ok_or_else(|| ArmError::new(404, "ParentResourceNotFound", format!("Can not perform requested operation on nested resource. Parent resource '{}' not found.", name_of(vm_id))))?;
    let size_name = vm.body["properties"]["hardwareProfile"]["vmSize"]
        .as_str()
        .unwrap_or("")
        .to_string();
    if size(&size_name).is_some_and(|s| s.2 == "Arm64") {
        return Err(ArmError::new(409, "OperationNotAllowed", "Managed Run Command is not supported on Arm64 virtual machines. Use the action runCommand (RunShellScript) instead."));
    }
    // Managed Run Command is an extension of the VM (RunCommandHandlerLinux).
    require_running(vm, EXTENSIONS_NEED_A_RUNNING_VM)?;
    let vm_name = lower(&name_of(vm_id));
    let forced = st.run_failures.iter().position(|f| {
        f["vm"]
            .as_str()
            .map(lower)
            .is_some_and(|v| v == "*" || v == vm_name || v == vm_key)
    });
    let forced = forced.map(|i| st.run_failures.remove(i));
    let forced_state = forced
        .as_ref()
        .and_then(|f| f["execution_state"].as_str().map(str::to_string));
    let vm = s.resources.get_mut(&vm_key).expect("checked above");
    let outcome = match forced {
        Some(f) => super::guest::Outcome {
            exit_code: f["exit_code"].as_i64().unwrap_or(1),
            stdout: f["stdout"].as_str().unwrap_or("").to_string(),
            stderr: f["stderr"].as_str().unwrap_or("").to_string(),
        },
        None => {
            if !vm.body["_guest"].is_object() {
                vm.body["_guest"] = super::guest::new_guest(None);
            }
            // Parameters are expanded for the run only: the log keeps the
            // script as sent, so protected values never reach it.
            super::guest::run(
                &mut vm.body["_guest"],
                &super::guest::with_environment(script, env),
            )
        }
    };
    st.run_log.push(json!({
        "vm": vm_id, "name": name, "script": script, "exit_code": outcome.exit_code,
        "output": outcome.stdout, "error": outcome.stderr, "time": crate::http::rfc3339(crate::http::now_ms()),
    }));
    Ok((outcome, forced_state))
}

/// Azure's refusal to add, change or remove an extension (Run Command's
/// managed form included) on a VM that is not running, as Azure words it.
const EXTENSIONS_NEED_A_RUNNING_VM: &str =
    "Cannot modify extensions in the VM when the VM is not running.";

/// 409 `OperationNotAllowed` with `message` unless the VM is running.
fn require_running(vm: &Resource, message: &str) -> Result<(), ArmError> {
    if vm.body["_power"].as_str().unwrap_or("running") == "running" {
        return Ok(());
    }
    Err(ArmError::new(409, "OperationNotAllowed", message))
}

/// A managed Run Command's instance view at `now`: `Pending` for the first
/// half of the operation delay, `Running` until the script's end, then its
/// result (`Succeeded`, `Failed`, or a queued `TimedOut` / `Canceled`).
fn run_command_view(r: &Resource, now: u64) -> Json {
    let at = |k: &str| r.body[k].as_u64().unwrap_or(0);
    if now < at("_pending_until") {
        json!({ "executionState": "Pending" })
    } else if now < at("_ends") {
        json!({ "executionState": "Running", "startTime": r.body["_result"]["startTime"] })
    } else {
        r.body["_result"].clone()
    }
}

pub fn spec_for(key: &str) -> &'static TypeSpec {
    spec(key).expect("type in the table")
}
