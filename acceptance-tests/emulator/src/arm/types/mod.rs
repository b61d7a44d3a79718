//! The resource types the local cloud serves: their api-versions, validation
//! (required fields, enums, name rules, references, dependency rules) and the
//! shape ARM gives them back (computed properties), one function per type.
//!
//! Here: the type table and GET / PUT / PATCH / DELETE / list. `build_compute`,
//! `build_network` and `build_storage` validate and build each type's PUT;
//! `actions` holds POST actions and the guest work behind Run Command;
//! `lifecycle` what a delete cascades to and what refuses one. The files share
//! this one's helpers (`use super::*`): one service split for reading.

mod actions;
mod build_compute;
mod build_network;
mod build_storage;
mod lifecycle;

pub use actions::{action, apply_action};
use actions::{
    instance_view, require_running, run_command_view, run_on_vm, EXTENSIONS_NEED_A_RUNNING_VM,
};
pub use lifecycle::delete_resource;
use lifecycle::{after_put, check_delete};

use axum::http::Method;
use axum::response::Response;
use serde_json::{json, Value as Json};

use super::{location_headers, new_operation, Lro};
use crate::azurite::{AZURITE_ACCOUNT, AZURITE_KEY};
use crate::http::{empty_response, json_response, normalize_location, ArmError, Req};
use crate::state::{OpKind, Resource, Subscription};
use crate::Emulator;

pub const COMPUTE_API: &str = "2024-03-01";
pub const DISK_API: &str = "2023-10-02";
pub const GALLERY_API: &str = "2023-07-03";
pub const NETWORK_API: &str = "2024-01-01";
pub const STORAGE_API: &str = "2023-05-01";

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
    // Confidential VM sizes (AMD SEV-SNP), generation 2 only.
    ("Standard_DC2as_v5", &["V2"], "x64", "DCa"),
    ("Standard_DC4as_v5", &["V2"], "x64", "DCa"),
    ("Standard_DC2ads_v5", &["V2"], "x64", "DCad"),
    ("Standard_EC2as_v5", &["V2"], "x64", "ECa"),
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
        // No '-' in gallery names, unlike most resources.
        "microsoft.compute/galleries" => {
            let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
            (1..=80).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
                && edge(name.chars().next())
                && edge(name.chars().last())
        }
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
    if spec.key == "microsoft.compute/galleries" {
        return Err(bad("BadRequest", "name", format!("Gallery name '{name}' is invalid. Allowed characters in gallery name are uppercase or lowercase letters, digits, underscores and periods, and it cannot start or end with an underscore or a period.")));
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
            let replication = req
                .query("$expand")
                .is_some_and(|e| e.eq_ignore_ascii_case("ReplicationStatus"));
            if replication && spec.key == "microsoft.compute/galleries/images/versions" {
                body["properties"]["replicationStatus"] = replication_status(&r);
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
            // Compute reads an image's source blob when it makes the image,
            // and a gallery image version's VHD source.
            let profile = &body["properties"]["storageProfile"];
            let source_blob = match spec.key {
                "microsoft.compute/images" => profile["osDisk"]["blobUri"].as_str(),
                "microsoft.compute/galleries/images/versions" => {
                    profile["osDiskImage"]["source"]["uri"].as_str()
                }
                _ => None,
            };
            if let (true, Some(uri)) = (creating, source_blob) {
                // Reading Azurite takes round trips: not under the state
                // lock, which every other request of the local cloud waits on.
                drop(st);
                crate::arm::blob_source::check(emu, uri)?;
                st = emu.state();
            }
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
            let fail = crate::faults::take_lro_failure(emu, req);
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
            let fail = crate::faults::take_lro_failure(emu, req);
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

/// What every type's build step may read or change: the request, the
/// subscription being written (taken out of the state meanwhile) and the rest
/// of the state. Each per-type function takes the fields it needs.
pub(super) struct Cx<'a> {
    pub emu: &'a Emulator,
    pub st: &'a mut crate::state::State,
    pub s: &'a mut crate::state::Subscription,
    pub sub: &'a str,
    pub id: &'a str,
    pub spec: &'a TypeSpec,
    pub body: &'a Json,
    pub existing: Option<&'a Resource>,
    pub location: &'a str,
    /// The next private address to hand out (NICs, public IPs).
    pub next_host: u32,
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
    let cx = Cx {
        emu,
        st,
        s,
        sub,
        id,
        spec,
        body,
        existing,
        location,
        next_host,
    };
    match spec.key {
        "microsoft.compute/images" => {
            build_compute::image(cx, &props, &mut out)?;
        }
        "microsoft.compute/disks" => {
            build_compute::disk(cx, &props, &mut out)?;
        }
        "microsoft.network/virtualnetworks" => {
            build_network::virtual_network(cx, &props, &mut out)?;
        }
        "microsoft.network/virtualnetworks/subnets" => {
            build_network::subnet(cx, &props, &mut out)?;
        }
        "microsoft.network/publicipaddresses" => {
            build_network::public_ip_address(cx, &props, &mut out)?;
        }
        "microsoft.network/networksecuritygroups" => {
            build_network::security_group(cx, &props, &mut out)?;
        }
        "microsoft.network/networkinterfaces" => {
            build_network::network_interface(cx, &props, &mut out)?;
        }
        "microsoft.storage/storageaccounts" => {
            build_storage::storage_account(cx, &props, &mut out)?;
        }
        "microsoft.compute/virtualmachines" => {
            let Cx {
                emu,
                s,
                sub,
                id,
                body,
                existing,
                location,
                ..
            } = cx;
            out = super::catalog::build_vm(emu, s, sub, id, body, existing, location)?;
        }
        "microsoft.compute/virtualmachines/extensions" => {
            build_compute::vm_extension(cx, &props, &mut out)?;
        }
        "microsoft.compute/virtualmachines/runcommands" => {
            build_compute::run_command(cx, &props, &mut out)?;
        }
        "microsoft.compute/galleries"
        | "microsoft.compute/galleries/images"
        | "microsoft.compute/galleries/images/versions" => {
            build_compute::gallery_resource(cx, &props, &mut out)?;
        }
        _ => {}
    }
    Ok(out)
}

pub fn spec_for(key: &str) -> &'static TypeSpec {
    spec(key).expect("type in the table")
}

/// A gallery image version's replication, per target region: in progress
/// while its create or update runs, then complete.
fn replication_status(r: &Resource) -> Json {
    let done = r.op.is_none();
    let summary: Vec<Json> = r.body["properties"]["publishingProfile"]["targetRegions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            json!({
                "region": t["name"],
                "state": if done { "Completed" } else { "Replicating" },
                "progress": if done { 100 } else { 50 },
            })
        })
        .collect();
    json!({
        "aggregatedState": if done { "Completed" } else { "InProgress" },
        "summary": summary,
    })
}
