//! `rhelazure_atomic_host`: a small RHEL container host (image mode / bootc
//! or package mode running Podman quadlets) as one Azure VM with its NIC and
//! optional public IP. First boot is cloud-init (registration, quadlet units,
//! update timers); later changes to containers, the bootc image and the update
//! timers go through managed Run Command, so they never replace the VM.
//!
//! Create is PUT public IP -> PUT NIC -> PUT VM; each id is put into state as
//! soon as it exists, so a failed create is tracked (tainted) and the replace
//! that follows deletes what was made. Delete cascades NIC and OS disk
//! (`deleteOption: Delete`) and then makes sure nothing is left.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use azure_core::http::Method;
use base64::Engine as _;
use serde_json::{json, Value as Json};

use super::common::{
    arm_diag, deadline, need, opt_str, set, set_str, sha256_hex, PLAN_CHECK_TIMEOUT,
};
use super::host_render::{self, HostSpec};
use super::run_command::run_command;
use crate::arm::ArmClient;
use crate::framework::model::decode;
use crate::framework::validators::{one_of, string_matches};
use crate::framework::{
    timeouts, ApplyOutcome, Attr, AttributePath, Ctx, Diagnostic, Diagnostics, Found, ListQuery,
    ListResource, ListResults, ObjectNesting, PlanContext, Private, Resource, ResourceSchema,
    Value,
};
use crate::provider::ProviderData;

pub struct AtomicHost;

const COMPUTE_API: &str = "2024-03-01";
const NETWORK_API: &str = "2024-01-01";
const DISK_API: &str = "2023-10-02";
const CREATE_TIMEOUT: Duration = Duration::from_secs(45 * 60);
const TIMEOUT: Duration = Duration::from_secs(30 * 60);

fn valid_name(n: &str) -> bool {
    (1..=64).contains(&n.len())
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !n.starts_with('-')
        && !n.ends_with('-')
}

fn valid_unit_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Whether a VM size is Arm64, from Azure's size naming convention
/// (`Standard_<family><vCPUs><features>_<version>`, where feature `p` means an
/// Arm-based processor: `Standard_D2ps_v5`, `Standard_B2pls_v2`). None when
/// the name does not follow the convention.
pub fn size_is_arm64(size: &str) -> Option<bool> {
    let body = size.strip_prefix("Standard_")?;
    let head = body.split('_').next()?;
    let digits_at = head.find(|c: char| c.is_ascii_digit())?;
    let after = &head[digits_at..];
    let features = after.trim_start_matches(|c: char| c.is_ascii_digit() || c == '-');
    Some(features.contains('p'))
}

/// The Hyper-V generations a VM size boots, for the families where Azure's
/// documentation settles it by name; None means "ask Azure" (the resource SKU
/// API is not among the operations this provider calls). Arm64 and the v6
/// families boot only generation 2; the A family (Basic, A0-A11, Av2) only
/// generation 1.
pub fn size_generations(size: &str) -> Option<&'static [&'static str]> {
    if size.starts_with("Basic_A") {
        return Some(&["V1"]);
    }
    let body = size.strip_prefix("Standard_")?;
    if size_is_arm64(size) == Some(true) || body.ends_with("_v6") {
        return Some(&["V2"]);
    }
    let family: String = body.chars().take_while(char::is_ascii_alphabetic).collect();
    (family == "A").then_some(&["V1"][..])
}

/// Why an image of `arch` / `generation` cannot boot on `size`, if it cannot.
fn size_mismatch(size: &str, arch: Option<&str>, generation: Option<&str>) -> Option<String> {
    if let Some(arch) = arch {
        let image_arm = arch.eq_ignore_ascii_case("arm64");
        if size_is_arm64(size).is_some_and(|size_arm| size_arm != image_arm) {
            return Some(format!(
                "the image is {arch} but {size} is {} size. Choose {}.",
                if image_arm { "an x64" } else { "an Arm64" },
                if image_arm {
                    "an Arm64 size such as Standard_D2ps_v5"
                } else {
                    "an x64 size such as Standard_D2s_v5"
                }
            ));
        }
    }
    let generation = generation?.to_ascii_uppercase();
    let boots = size_generations(size)?;
    (!boots.contains(&generation.as_str())).then(|| {
        format!(
            "the image is Hyper-V generation {} but {size} boots only generation {}. Choose {} (or an image of the other generation, such as a `-gen2` SKU).",
            &generation[1..],
            &boots[0][1..],
            if generation == "V2" { "a generation 2 size such as Standard_D2s_v5" } else { "a size that boots generation 1, such as Standard_D2s_v5" }
        )
    })
}

/// True when the host's size is Arm64, where managed Run Command is not
/// offered and the action `runCommand` (RunShellScript) is used instead.
fn on_arm64(v: &Value) -> bool {
    v.attr("size")
        .as_str()
        .and_then(size_is_arm64)
        .unwrap_or(false)
}

/// The client for the host's subscription: its subnet's (Azure keeps a NIC in
/// its virtual network's subscription), else the provider's.
fn host_arm(arm: &crate::arm::ArmClient, subnet_id: Option<&str>) -> crate::arm::ArmClient {
    match subnet_id.and_then(crate::arm::subscription_in) {
        Some(sub) => arm.in_subscription(&sub),
        None => arm.clone(),
    }
}

fn vm_path(sub: &str, rg: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}")
}

fn net_path(sub: &str, rg: &str, kind: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/{kind}/{name}")
}

/// The in-guest parts of a state or plan.
fn host_spec(v: &Value) -> HostSpec {
    let pick = |k: &str| v.attr(k).clone();
    let obj = Value::Object(
        ["containers", "registration", "bootc_image", "auto_update"]
            .into_iter()
            .map(|k| (k.to_string(), pick(k)))
            .collect(),
    );
    decode(&obj).unwrap_or_default()
}

/// What first boot gets: the planned host, with the write-only activation
/// key (`activation_key_wo`) taken from the configuration, the only place
/// Terraform ever sends it.
fn first_boot_spec(planned: &Value, config: &Value) -> HostSpec {
    let mut spec = host_spec(planned);
    if let Some(r) = spec.registration.as_mut() {
        if r.activation_key.is_none() {
            r.activation_key = config
                .attr("registration")
                .attr("activation_key_wo")
                .as_str()
                .map(str::to_string);
        }
    }
    spec
}

/// The tag that marks a VM as created by this provider for this host, so a
/// create interrupted after the VM PUT (provider killed, network lost) is
/// adopted by the next apply instead of failing on "already exists". Its value
/// is derived from the name and the non-secret first-boot content (never the
/// activation key, since tags are widely readable); it is hidden from `tags`.
const MARKER_TAG: &str = "rhelazure-host";

fn creation_marker(planned: &Value) -> String {
    let mut spec = host_spec(planned);
    let org = spec
        .registration
        .take()
        .and_then(|r| r.organization)
        .map(|o| o.to_string());
    let text = format!(
        "{}\n{}\n{}",
        opt_str(planned, "name").unwrap_or_default(),
        org.unwrap_or_default(),
        host_render::cloud_config(&spec)
    );
    sha256_hex(text.as_bytes())[..16].to_string()
}

fn tags_json(v: &Value) -> Json {
    match v.attr("tags").to_serde() {
        Json::Null => json!({}),
        t => t,
    }
}

/// Resource identity: the ARM id's subscription, resource group and name.
const IDENTITY: super::common::ArmIdentity = super::common::ArmIdentity {
    id_attr: "id",
    resource_type: "Microsoft.Compute/virtualMachines",
    name_attr: "name",
    name_description: "Virtual machine name (lower case).",
};

#[async_trait]
impl Resource<ProviderData> for AtomicHost {
    fn type_name(&self) -> &'static str {
        "rhelazure_atomic_host"
    }

    fn schema(&self) -> ResourceSchema {
        let fn_str = |n: &str, d: &str| Attr::string(n).required().force_new().description(d);
        ResourceSchema::new(
            "A small-footprint RHEL container host: one Azure VM (with its NIC and optional public IP) booting a RHEL image \
             (image mode / bootc, or package mode), registered with Red Hat on first boot, running `containers` as Podman \
             quadlet units. `size`, `tags`, `license_type`, `containers`, `bootc_image` and `auto_update` change in place \
             (containers and image through Azure's managed Run Command); the image, network and first-boot registration \
             replace the host.",
            vec![
                Attr::string("id").computed().use_state_for_unknown().description("ARM id of the virtual machine."),
                fn_str("name", "VM name (also the host name).").validate(string_matches("1-64 letters, digits and '-', not starting or ending with '-'", valid_name)),
                fn_str("resource_group_name", "Existing resource group."),
                fn_str("location", "Azure region."),
                fn_str("subnet_id", "ARM id of the subnet the NIC joins. The host is created in the subnet's subscription (Azure keeps a NIC in its virtual network's subscription), which may differ from the provider's."),
                Attr::string("size").required().description("VM size, such as `Standard_D2s_v5` (changes in place; the VM is deallocated when Azure needs it)."),
                Attr::string("admin_username").default("rhel").force_new().description("Administrator user."),
                Attr::string_list("ssh_public_keys").required().force_new().description("SSH public keys of the administrator."),
                Attr::string("source_image_id").optional().force_new().description("A managed or gallery image (`rhelazure_image`, `rhelazure_image_build`). Exactly one of this and `marketplace_image`."),
                Attr::nested("marketplace_image", ObjectNesting::Single, vec![
                    Attr::string("publisher").required().description("Image publisher, such as `RedHat`."),
                    Attr::string("offer").required().description("Image offer, such as `RHEL` or `rhel-byos`."),
                    Attr::string("sku").required().description("Image SKU, such as `9-lvm-gen2`."),
                    Attr::string("version").default("latest"),
                ]).optional().force_new().description("A Marketplace image (PAYG or, after Cloud Access, BYOS). Its purchase plan is derived automatically."),
                Attr::string("marketplace_agreement_id").optional().description("The `rhelazure_marketplace_agreement` that accepts this image's terms, when it is in the same configuration: orders the two and defers the plan-time terms check to apply."),
                Attr::nested("os_disk", ObjectNesting::Single, vec![
                    Attr::number("size_gb").optional().description("OS disk size (default: the image's)."),
                    Attr::string("storage_account_type").default("Premium_LRS").validate(one_of(&["Standard_LRS", "StandardSSD_LRS", "Premium_LRS", "Premium_ZRS", "StandardSSD_ZRS"])),
                ]).optional().force_new().description("OS disk settings."),
                Attr::bool("public_ip").default(false).force_new().description("Give the host a static public IP."),
                Attr::string_map("tags").optional().description("Tags on the VM, NIC and public IP (change in place)."),
                Attr::string("license_type").optional().validate(one_of(&super::vm_license::LICENSE_TYPES)).description("Azure Hybrid Benefit license type (changes in place)."),
                Attr::nested("registration", ObjectNesting::Single, vec![
                    Attr::number("organization").required().description("Red Hat organization id."),
                    Attr::string("activation_key").optional().sensitive().description("Activation key (`rhelazure_activation_key`); kept in state, marked sensitive. Or use `activation_key_wo`."),
                    Attr::string("activation_key_wo").optional().sensitive().write_only().description("The activation key, write-only (Terraform 1.11+): sent at create, never stored in plan or state. Set instead of `activation_key`; change `activation_key_wo_version` to use a new key (the host is replaced, since registration happens at first boot)."),
                    Attr::number("activation_key_wo_version").optional().description("Any number; changing it replaces the host so it registers with the current `activation_key_wo`."),
                    Attr::bool("insights").optional().description("Also register with Red Hat Insights."),
                ]).optional().force_new().description("Register with Red Hat on first boot (cloud-init `rh_subscription`, no auto-attach). Leave unset on pay-as-you-go images: RHUI already serves them, and registering bills RHEL twice."),
                Attr::string("bootc_image").optional().description("Image-mode hosts: the bootc image to run, such as `registry.redhat.io/rhel9/rhel-bootc:9.6` (switched in place)."),
                Attr::nested("containers", ObjectNesting::List, vec![
                    Attr::string("name").required().validate(string_matches("letters, digits, '-', '_', '.'", valid_unit_name)),
                    Attr::string("image").required().description("Container image, such as `registry.access.redhat.com/ubi9/httpd-24`."),
                    Attr::string_list("ports").optional().description("`host:container` port mappings."),
                    Attr::string_map("environment").optional().description("Environment variables of the container."),
                    Attr::string_list("command").optional().description("Command and arguments, instead of the image's."),
                ]).optional().description("Containers run as Podman quadlet units (changed in place; only changed containers restart)."),
                Attr::bool("auto_update").default(true).description("Enable podman-auto-update and bootc update timers."),
                Attr::bool("detect_host_drift").default(false).description("On every refresh, run a read-only command on the host (Run Command) that reports the booted bootc image and the hashes of the container units, so a changed image or unit plans an in-place fix (default false: each refresh then costs a Run Command per host)."),
                Attr::string("booted_image_digest").computed().use_state_for_unknown().description("Image-mode hosts: digest of the booted bootc image, as `bootc status` reports it (read after `bootc_image` changes and by `detect_host_drift`)."),
                Attr::string("first_boot_sha256").computed().use_state_for_unknown().description("SHA-256 of the cloud-config the host first booted with, without a write-only activation key (null for imported hosts)."),
                Attr::string("vm_id").computed().use_state_for_unknown().description("Azure's unique VM id."),
                Attr::string("network_interface_id").computed().use_state_for_unknown().description("ARM id of the host's network interface."),
                Attr::string("public_ip_id").computed().use_state_for_unknown().description("ARM id of the host's public IP (null without `public_ip`)."),
                Attr::string("os_disk_id").computed().use_state_for_unknown().description("ARM id of the OS disk."),
                Attr::string("private_ip_address").computed().use_state_for_unknown().description("The host's private IP address in its subnet."),
                Attr::string("public_ip_address").computed().use_state_for_unknown().description("The host's public IP address (null without `public_ip`)."),
                Attr::nested("plan", ObjectNesting::Single, vec![
                    Attr::string("publisher").computed().description("Plan publisher."),
                    Attr::string("product").computed().description("Plan product (the offer)."),
                    Attr::string("name").computed().description("Plan name (the SKU)."),
                ]).computed().use_state_for_unknown().description("The purchase plan derived from the image (null when it has none)."),
            ],
        )
        .blocks(vec![timeouts::block(&["create", "update", "delete"])])
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let registration = config.attr("registration");
        if !registration.is_null() && !registration.is_unknown() {
            let (key, key_wo) = (
                registration.attr("activation_key"),
                registration.attr("activation_key_wo"),
            );
            let at = |attr: &str| AttributePath::attrs(&["registration", attr]);
            if !key.is_unknown() && !key_wo.is_unknown() && key.is_null() == key_wo.is_null() {
                diags.push(
                    Diagnostic::error(
                        "One activation key",
                        "Set exactly one of registration.activation_key and registration.activation_key_wo (write-only).",
                    )
                    .at(at("activation_key")),
                );
            }
            if key_wo.is_null() && !registration.attr("activation_key_wo_version").is_null() {
                diags.push(
                    Diagnostic::error(
                        "Version without a write-only key",
                        "registration.activation_key_wo_version goes with registration.activation_key_wo.",
                    )
                    .at(at("activation_key_wo_version")),
                );
            }
        }
        let (a, b) = (
            config.attr("source_image_id"),
            config.attr("marketplace_image"),
        );
        if !a.is_unknown() && !b.is_unknown() && a.is_null() == b.is_null() {
            diags.push(
                Diagnostic::error(
                    "One image source",
                    "Set exactly one of source_image_id and marketplace_image.",
                )
                .at(AttributePath::attrs(&["source_image_id"])),
            );
        }
        if let Some(list) = config.attr("containers").as_elements() {
            let mut seen = std::collections::BTreeSet::new();
            for c in list {
                if let Some(n) = c.attr("name").as_str() {
                    if !seen.insert(n.to_string()) {
                        diags.push(
                            Diagnostic::error(
                                "Duplicate container",
                                format!("Two containers are named {n:?}."),
                            )
                            .at(AttributePath::attrs(&["containers"])),
                        );
                    }
                }
            }
        }
    }

    async fn modify_plan(&self, ctx: &Ctx<ProviderData>, plan: &mut PlanContext<'_>) {
        let Ok(data) = ctx.data() else { return };
        // Imported hosts: Azure never returns customData, so their first boot
        // is unknown (first_boot_sha256 null); adopting the configured
        // registration must not replace them.
        if !plan.is_create() && plan.prior.attr("first_boot_sha256").is_null() {
            let mut adopt = vec![AttributePath::attrs(&["registration"])];
            if plan.config.attr("os_disk").is_null() {
                // Unset in the configuration: whatever disk Azure gave it.
                adopt.push(AttributePath::attrs(&["os_disk"]));
            }
            plan.requires_replace.retain(|p| !adopt.contains(p));
        }
        if !plan.is_create() {
            // In-place updates never change these, even when null (no public
            // IP, no purchase plan, an imported host's unknown first boot).
            for k in [
                "plan",
                "public_ip_id",
                "public_ip_address",
                "first_boot_sha256",
                "booted_image_digest",
            ] {
                plan.set(k, plan.prior.attr(k).clone());
            }
            if plan.config.attr("bootc_image") != plan.prior.attr("bootc_image") {
                plan.set("booted_image_digest", Value::unknown());
            }
        }
        check_organization(data, plan).await;
        // Image and size must fit together: checked on create and whenever
        // the size changes (Azure would refuse it at apply, after a deallocation).
        let size_changed = !plan.is_create() && plan.config.attr("size") != plan.prior.attr("size");
        if !plan.is_create() && !size_changed {
            return;
        }
        let size = plan.config.attr("size").as_str().map(str::to_string);
        let mismatch = |why: String| {
            Diagnostic::error("Image and size do not match", why)
                .at(AttributePath::attrs(&["size"]))
        };
        let Ok(arm) = data.arm() else { return };
        let arm = &host_arm(arm, plan.config.attr("subnet_id").as_str());
        let dl = Instant::now() + PLAN_CHECK_TIMEOUT;
        let img = plan.config.attr("marketplace_image").clone();
        if img.is_null() {
            if plan.is_create() {
                plan.set("plan", Value::Null);
            }
            // A managed image says its generation; gallery images and images
            // created in the same apply (unknown id) are left to Azure.
            let source = plan
                .config
                .attr("source_image_id")
                .as_str()
                .map(str::to_string);
            if let (Some(id), Some(size)) = (source, &size) {
                if id
                    .to_ascii_lowercase()
                    .contains("/providers/microsoft.compute/images/")
                {
                    if let Ok(Some(image)) = arm.get(&id, COMPUTE_API, dl).await {
                        let generation = image["properties"]["hyperVGeneration"].as_str();
                        if let Some(why) = size_mismatch(size, None, generation) {
                            plan.diagnostics.push(mismatch(format!("{id}: {why}")));
                        }
                    }
                }
            }
            return;
        }
        let location = plan.config.attr("location").as_str().map(str::to_string);
        let parts: Vec<Option<String>> = ["publisher", "offer", "sku", "version"]
            .iter()
            .map(|k| img.attr(k).as_str().map(str::to_string))
            .collect();
        let (Some(loc), [Some(p), Some(o), Some(s), v]) = (location, parts.as_slice()) else {
            return;
        };
        let version = v.clone().unwrap_or_else(|| "latest".into());
        let at = || AttributePath::attrs(&["marketplace_image"]);
        match arm.get_image_version(&loc, p, o, s, &version, dl).await {
            Ok(Some(iv)) => {
                if let Some(size) = &size {
                    let why = size_mismatch(size, iv.architecture.as_deref(), iv.hyper_v_generation.as_deref());
                    if let Some(why) = why {
                        plan.diagnostics.push(mismatch(format!("{p}:{o}:{s}: {why}")));
                        return;
                    }
                }
                if !plan.is_create() {
                    return;
                }
                let Some(pl) = iv.plan else {
                    plan.set("plan", Value::Null);
                    return;
                };
                plan.set(
                    "plan",
                    Value::Object(
                        [("publisher", &pl.publisher), ("product", &pl.product), ("name", &pl.name)]
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), Value::from(v.clone())))
                            .collect(),
                    ),
                );
                if !plan.config.attr("marketplace_agreement_id").is_null() {
                    return;
                }
                match arm.get_terms(&pl.publisher, &pl.product, &pl.name, dl).await {
                    Ok(Some(t)) if t["properties"]["accepted"] == json!(true) => {}
                    Ok(_) => plan.diagnostics.push(
                        Diagnostic::error(
                            "Marketplace terms not accepted",
                            format!(
                                "{p}:{o}:{s} is sold under the plan {}/{}/{}, whose terms are not accepted on this subscription. Add\n\n  resource \"rhelazure_marketplace_agreement\" \"{}\" {{\n    publisher = \"{}\"\n    offer     = \"{}\"\n    plan      = \"{}\"\n  }}\n\nand set marketplace_agreement_id = rhelazure_marketplace_agreement.{}.id on this host.",
                                pl.publisher, pl.product, pl.name, pl.name.replace('-', "_"), pl.publisher, pl.product, pl.name, pl.name.replace('-', "_")
                            ),
                        )
                        .at(at()),
                    ),
                    Err(e) => plan.diagnostics.push(arm_diag("read the image's Marketplace terms", &e).at(at())),
                }
            }
            // An existing host keeps its disk even when the image is gone.
            _ if !plan.is_create() => {}
            // Terms this apply accepts (agreement id unknown) belong to an image
            // that may become visible in the same apply: gold images appear with
            // a Cloud Access enrolment. Terraform plans the host again once the
            // agreement exists; that final plan checks the image and derives
            // `plan` (unknown until then).
            Ok(None) if plan.config.attr("marketplace_agreement_id").is_unknown() => {}
            Ok(None) => plan.diagnostics.push(
                Diagnostic::error("No such Marketplace image", format!("{p}:{o}:{s}:{version} is not offered in {loc}. data.rhelazure_marketplace_images lists what is."))
                    .at(at()),
            ),
            Err(e) => plan.diagnostics.push(arm_diag("look up the Marketplace image", &e).at(at())),
        }
    }

    async fn create(
        &self,
        ctx: &Ctx<ProviderData>,
        planned: &Value,
        config: &Value,
    ) -> ApplyOutcome {
        let arm = match ctx.data().and_then(|d| d.arm()) {
            Ok(a) => &host_arm(a, planned.attr("subnet_id").as_str()),
            Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
        };
        let dl = deadline(planned, "create", CREATE_TIMEOUT);
        let sub = arm.subscription_id().to_string();
        let g = |k: &str| opt_str(planned, k).unwrap_or_default();
        let (rg, name, loc) = (g("resource_group_name"), g("name"), g("location"));
        let vm_id = vm_path(&sub, &rg, &name);
        let mut state = planned.clone();
        let tags = tags_json(planned);

        // A VM of that name: ours from an interrupted create (adopted), or not
        // ours (refused rather than adopted blindly).
        let marker = creation_marker(planned);
        let nic_id = net_path(&sub, &rg, "networkInterfaces", &format!("{name}-nic"));
        match arm.get(&vm_id, COMPUTE_API, dl).await {
            Ok(Some(vm)) => {
                let nic_of_vm = vm["properties"]["networkProfile"]["networkInterfaces"][0]["id"]
                    .as_str()
                    .unwrap_or_default();
                if vm["tags"][MARKER_TAG] == json!(marker)
                    && nic_of_vm.eq_ignore_ascii_case(&nic_id)
                {
                    return adopt_interrupted(arm, state, &vm_id, dl).await;
                }
                return ApplyOutcome::failed(Value::Null, Diagnostic::error("Host already exists", format!("{vm_id} already exists and was not created by this configuration. Import it (terraform import with this id) or choose another name.")).at(AttributePath::attrs(&["name"])).into());
            }
            Ok(None) => {}
            Err(e) => {
                return ApplyOutcome::failed(
                    Value::Null,
                    arm_diag(&format!("check the resource group {rg}"), &e).into(),
                )
            }
        }

        // RHEL_BYOS only where Red Hat grants the subscription Cloud Access.
        let mut warnings = Diagnostics::new();
        if planned.attr("license_type").as_str() == Some("RHEL_BYOS") {
            let checked = match ctx.data() {
                Ok(data) => {
                    super::hybrid_benefit::check_byos_allowed(data, &sub, &["license_type"], dl)
                        .await
                }
                Err(d) => Err(d),
            };
            match checked {
                Ok(w) => warnings.extend(w.into_iter().collect()),
                Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
            }
        }

        let mut pip_id = None;
        if planned.attr("public_ip").as_bool() == Some(true) {
            let id = net_path(&sub, &rg, "publicIPAddresses", &format!("{name}-ip"));
            let body = json!({ "location": loc, "tags": tags, "sku": { "name": "Standard" }, "properties": { "publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4" } });
            if let Err(e) = arm
                .run(Method::Put, &id, NETWORK_API, Some(&body), dl)
                .await
            {
                return ApplyOutcome::failed(
                    Value::Null,
                    arm_diag("create the public IP", &e).into(),
                );
            }
            set_str(&mut state, "public_ip_id", Some(&id));
            pip_id = Some(id);
        } else {
            set_str(&mut state, "public_ip_id", None);
        }
        // From here on something exists: every failure returns the state so far.
        let mut ipc = json!({ "subnet": { "id": g("subnet_id") }, "privateIPAllocationMethod": "Dynamic", "primary": true });
        if let Some(p) = &pip_id {
            ipc["publicIPAddress"] = json!({ "id": p, "properties": { "deleteOption": "Delete" } });
        }
        let nic = json!({ "location": loc, "tags": tags, "properties": { "ipConfigurations": [{ "name": "primary", "properties": ipc }] } });
        if let Err(e) = arm
            .run(Method::Put, &nic_id, NETWORK_API, Some(&nic), dl)
            .await
        {
            return ApplyOutcome::failed(
                settled(state),
                arm_diag("create the network interface", &e)
                    .at(AttributePath::attrs(&["subnet_id"]))
                    .into(),
            );
        }
        set_str(&mut state, "network_interface_id", Some(&nic_id));

        // The hash covers what state holds: without a write-only key, which
        // must leave no trace there, not even a hash one could test guesses on.
        let recorded = host_render::cloud_config(&host_spec(planned));
        set_str(
            &mut state,
            "first_boot_sha256",
            Some(&sha256_hex(recorded.as_bytes())),
        );
        let first_boot = host_render::cloud_config(&first_boot_spec(planned, config));
        // Read from the host later (after a switch, or by detect_host_drift):
        // right after create, cloud-init may still be running.
        set_str(&mut state, "booted_image_digest", None);
        let mut vm_tags = tags.clone();
        vm_tags[MARKER_TAG] = json!(marker);
        let body = vm_body(planned, &loc, &nic_id, &vm_tags, &first_boot);
        let put = arm
            .run(Method::Put, &vm_id, COMPUTE_API, Some(&body), dl)
            .await;
        // The VM may exist even when its creation failed (provisioningState Failed):
        // record it so the replace that follows deletes it.
        let exists = matches!(arm.get(&vm_id, COMPUTE_API, dl).await, Ok(Some(_)));
        if exists {
            set_str(&mut state, "id", Some(&vm_id));
        }
        if let Err(e) = put {
            let d = arm_diag(&format!("create the virtual machine {name}"), &e);
            if exists {
                // Its OS disk too, so the replacement deletes everything.
                let _ = refresh(arm, &mut state, dl).await;
            }
            return ApplyOutcome::failed(
                settled(if exists {
                    state
                } else {
                    state_without_vm(state)
                }),
                d.into(),
            );
        }
        match refresh(arm, &mut state, dl).await {
            Ok(true) if planned.attr("detect_host_drift").as_bool() == Some(true) => {
                // Only the digest: drift right after create would contradict the plan.
                match read_booted_digest(arm, &mut state, dl).await {
                    Ok(()) => ApplyOutcome::failed(state, warnings),
                    Err(d) => ApplyOutcome::failed(settled(state), d.into()),
                }
            }
            Ok(true) => ApplyOutcome::failed(state, warnings),
            Ok(false) => ApplyOutcome::failed(
                settled(state),
                Diagnostic::error(
                    "Host vanished",
                    format!("{vm_id} was created but cannot be read back."),
                )
                .into(),
            ),
            Err(d) => ApplyOutcome::failed(settled(state), d.into()),
        }
    }

    async fn read(
        &self,
        ctx: &Ctx<ProviderData>,
        state: &Value,
        private: &Private,
    ) -> Result<Option<(Value, Private)>, Diagnostics> {
        let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
        let mut s = state.clone();
        let dl = deadline(state, "read", TIMEOUT);
        match refresh(arm, &mut s, dl).await {
            Ok(true) => {
                if s.attr("detect_host_drift").as_bool() == Some(true) {
                    let mut warnings = Diagnostics::new();
                    read_host_drift(arm, &mut s, dl, &mut warnings).await;
                    ctx.warn(warnings);
                }
                Ok(Some((s, private.clone())))
            }
            Ok(false) => Ok(None),
            Err(d) => Err(d.into()),
        }
    }

    async fn update(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        private: &Private,
    ) -> ApplyOutcome {
        let arm = match ctx.data().and_then(|d| d.arm()) {
            Ok(a) => a,
            Err(d) => {
                return ApplyOutcome {
                    state: prior.clone(),
                    private: private.clone(),
                    diagnostics: d.into(),
                }
            }
        };
        let dl = deadline(planned, "update", TIMEOUT);
        let vm_id = opt_str(prior, "id").unwrap_or_default();
        let mut state = prior.clone();
        let fail = |state: Value, d: Diagnostic| ApplyOutcome {
            state,
            private: private.clone(),
            diagnostics: d.into(),
        };

        // Tags, license type: one PATCH.
        let mut patch = json!({});
        if planned.attr("tags") != prior.attr("tags") {
            patch["tags"] = tags_json(planned);
            // PATCH replaces all tags: keep the creation marker.
            if let Ok(Some(vm)) = arm.get(&vm_id, COMPUTE_API, dl).await {
                if let Some(m) = vm["tags"].get(MARKER_TAG) {
                    patch["tags"][MARKER_TAG] = m.clone();
                }
            }
        }
        let mut warnings = Diagnostics::new();
        if planned.attr("license_type") != prior.attr("license_type") {
            let lt = opt_str(planned, "license_type").unwrap_or_else(|| "NONE".into());
            if lt == "RHEL_BYOS" {
                let sub = crate::arm::subscription_in(&vm_id).unwrap_or_default();
                let checked = match ctx.data() {
                    Ok(data) => {
                        super::hybrid_benefit::check_byos_allowed(data, &sub, &["license_type"], dl)
                            .await
                    }
                    Err(d) => Err(d),
                };
                match checked {
                    Ok(w) => warnings.extend(w.into_iter().collect()),
                    Err(d) => return fail(state, d),
                }
            }
            patch["properties"] = json!({ "licenseType": lt });
        }
        if patch != json!({}) {
            if let Err(e) = arm
                .run(Method::Patch, &vm_id, COMPUTE_API, Some(&patch), dl)
                .await
            {
                return fail(state, arm_diag("update the virtual machine", &e));
            }
            for k in ["tags", "license_type"] {
                set(&mut state, k, planned.attr(k).clone());
            }
            if planned.attr("tags") != prior.attr("tags") {
                for k in ["network_interface_id", "public_ip_id"] {
                    if let Some(id) = opt_str(prior, k) {
                        let body = json!({ "tags": tags_json(planned) });
                        if let Err(e) = arm
                            .run(Method::Patch, &id, NETWORK_API, Some(&body), dl)
                            .await
                        {
                            return fail(
                                state,
                                arm_diag("update the tags of the network resources", &e),
                            );
                        }
                    }
                }
            }
        }

        // Size: in place, deallocating when the running cluster cannot host it.
        if planned.attr("size") != prior.attr("size") {
            let size = opt_str(planned, "size").unwrap_or_default();
            let body = json!({ "properties": { "hardwareProfile": { "vmSize": size } } });
            match arm
                .run(Method::Patch, &vm_id, COMPUTE_API, Some(&body), dl)
                .await
            {
                Ok(_) => {}
                Err(e) if e.code() == Some("OperationNotAllowed") => {
                    tracing::info!(target: "rhelazure.resources", vm = %vm_id, %size, "resize needs deallocation");
                    let steps = async {
                        arm.run(
                            Method::Post,
                            &format!("{vm_id}/deallocate"),
                            COMPUTE_API,
                            None,
                            dl,
                        )
                        .await?;
                        arm.run(Method::Patch, &vm_id, COMPUTE_API, Some(&body), dl)
                            .await?;
                        arm.run(
                            Method::Post,
                            &format!("{vm_id}/start"),
                            COMPUTE_API,
                            None,
                            dl,
                        )
                        .await
                    };
                    if let Err(e) = steps.await {
                        return fail(
                            state,
                            arm_diag(&format!("resize to {size} (deallocate, resize, start)"), &e)
                                .at(AttributePath::attrs(&["size"])),
                        );
                    }
                }
                Err(e) => {
                    return fail(
                        state,
                        arm_diag(&format!("resize to {size}"), &e)
                            .at(AttributePath::attrs(&["size"])),
                    )
                }
            }
            set(&mut state, "size", planned.attr("size").clone());
        }

        // What runs inside: one Run Command with only the differences.
        let (old, new) = (host_spec(prior), host_spec(planned));
        if (old.containers(), &old.bootc_image, old.auto_update)
            != (new.containers(), &new.bootc_image, new.auto_update)
        {
            let script = host_render::update_script(&old, &new);
            if let Err(d) = run_command(
                arm,
                &vm_id,
                "rhelazure-update",
                &script,
                on_arm64(planned),
                dl,
            )
            .await
            {
                return fail(state, d);
            }
            for k in ["containers", "bootc_image", "auto_update"] {
                set(&mut state, k, planned.attr(k).clone());
            }
            if new.bootc_image != old.bootc_image {
                if let Err(d) = read_booted_digest(arm, &mut state, dl).await {
                    return fail(state, d);
                }
            }
        }
        // Everything else is as planned (known values); refresh fills the rest.
        let mut state = match (planned.as_object(), state.as_object()) {
            (Some(p), Some(done)) => Value::Object(
                p.iter()
                    .map(|(k, v)| {
                        let v = if v.is_unknown() {
                            done.get(k).cloned().unwrap_or(Value::Null)
                        } else {
                            v.clone()
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            _ => state,
        };
        if let Err(d) = refresh(arm, &mut state, dl).await {
            return fail(state, d);
        }
        ApplyOutcome {
            state,
            private: private.clone(),
            diagnostics: warnings,
        }
    }

    async fn delete(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        _private: &Private,
    ) -> Diagnostics {
        let arm = match need(ctx.data().and_then(|d| d.arm()), None) {
            Ok(a) => a,
            Err(d) => return d,
        };
        let dl = deadline(prior, "delete", TIMEOUT);
        let mut diags = Diagnostics::new();
        let vm_id = opt_str(prior, "id");
        if let Some(vm) = &vm_id {
            if !prior.attr("registration").is_null() {
                if let Err(d) = run_command(
                    arm,
                    vm,
                    "rhelazure-unregister",
                    host_render::UNREGISTER_SCRIPT,
                    on_arm64(prior),
                    dl,
                )
                .await
                {
                    diags.warning("Not unregistered", format!("The host could not leave Red Hat's inventory before deletion ({}); remove it at console.redhat.com.", d.summary));
                }
            }
            match arm.run(Method::Delete, vm, COMPUTE_API, None, dl).await {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return arm_diag("delete the virtual machine", &e).into(),
            }
        }
        // Cascades normally removed these; make sure, in dependency order.
        for (k, api) in [
            ("os_disk_id", DISK_API),
            ("network_interface_id", NETWORK_API),
            ("public_ip_id", NETWORK_API),
        ] {
            if let Some(id) = opt_str(prior, k) {
                match arm.run(Method::Delete, &id, api, None, dl).await {
                    Ok(_) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return arm_diag(&format!("delete {id}"), &e).into(),
                }
            }
        }
        diags
    }

    /// Imported by the VM id. Azure never returns customData: registration
    /// reads back null and the configured one is adopted without replacement;
    /// containers plan an in-place rewrite of their units.
    async fn import(&self, ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        let p: Vec<&str> = id.split('/').collect();
        if !(p.len() == 9 && p[7].eq_ignore_ascii_case("virtualMachines")) {
            return Err(Diagnostic::error("Invalid import id", format!("Import a host by its virtual machine id (/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachines/<name>); got {id:?}.")).into());
        }
        let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
        let dl = Instant::now() + TIMEOUT;
        let vm = arm
            .get(id, COMPUTE_API, dl)
            .await
            .map_err(|e| Diagnostics::from(arm_diag("read the virtual machine", &e)))?
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "No such host",
                    format!("{id} does not exist."),
                ))
            })?;
        let props = &vm["properties"];
        let nic_id = props["networkProfile"]["networkInterfaces"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let nic = arm
            .get(&nic_id, NETWORK_API, dl)
            .await
            .map_err(|e| Diagnostics::from(arm_diag("read the network interface", &e)))?
            .unwrap_or_default();
        let ipc = &nic["properties"]["ipConfigurations"][0]["properties"];
        let img = &props["storageProfile"]["imageReference"];
        let s = |j: &Json| {
            j.as_str()
                .map(|x| Value::from(x.to_string()))
                .unwrap_or(Value::Null)
        };
        let mut v = Value::Object(Default::default());
        set(&mut v, "id", Value::from(id.to_string()));
        set(&mut v, "name", s(&vm["name"]));
        set(&mut v, "resource_group_name", Value::from(p[4].to_string()));
        set(&mut v, "location", s(&vm["location"]));
        set(&mut v, "subnet_id", s(&ipc["subnet"]["id"]));
        set(
            &mut v,
            "admin_username",
            s(&props["osProfile"]["adminUsername"]),
        );
        let keys: Vec<Value> = props["osProfile"]["linuxConfiguration"]["ssh"]["publicKeys"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|k| s(&k["keyData"]))
            .collect();
        set(&mut v, "ssh_public_keys", Value::List(keys));
        if img["id"].is_string() {
            set(&mut v, "source_image_id", s(&img["id"]));
        } else {
            set(
                &mut v,
                "marketplace_image",
                Value::Object(
                    ["publisher", "offer", "sku", "version"]
                        .iter()
                        .map(|k| (k.to_string(), s(&img[*k])))
                        .collect(),
                ),
            );
        }
        let os = &props["storageProfile"]["osDisk"];
        set(
            &mut v,
            "os_disk",
            Value::Object(
                [
                    (
                        "size_gb".to_string(),
                        os["diskSizeGB"]
                            .as_i64()
                            .map(Value::from)
                            .unwrap_or(Value::Null),
                    ),
                    (
                        "storage_account_type".to_string(),
                        s(&os["managedDisk"]["storageAccountType"]),
                    ),
                ]
                .into_iter()
                .collect(),
            ),
        );
        set(
            &mut v,
            "public_ip",
            Value::Bool(ipc["publicIPAddress"]["id"].is_string()),
        );
        set(&mut v, "auto_update", Value::Bool(true));
        set(&mut v, "detect_host_drift", Value::Bool(false));
        Ok(v)
    }

    fn identity(&self) -> Option<&dyn crate::framework::IdentityDef> {
        Some(&IDENTITY)
    }
}

/// Takes over the VM of a create that was interrupted after its PUT: waits
/// for its provisioning to end, then tracks it (tainted if it failed, so
/// the next apply replaces it).
/// A host registers at first boot, long after the apply: an organization id
/// that is not the one of the provider's Red Hat credentials (where the
/// activation key lives when this provider manages it) would fail there,
/// silently. Checked at plan time when the registration is new and Red Hat
/// credentials are configured; without them, or without the right to read
/// the organization, the plan goes on (a warning says why).
async fn check_organization(data: &ProviderData, plan: &mut PlanContext<'_>) {
    let registration = plan.config.attr("registration");
    let Some(org) = registration.attr("organization").as_number() else {
        return; // no registration, or not known until apply
    };
    if !plan.is_create() && registration == plan.prior.attr("registration") {
        return;
    }
    let Ok(redhat) = data.redhat() else { return };
    // Terraform quotes the source of top-level attributes only: a path into
    // the nested object would show the resource's first line instead.
    let at = AttributePath::attrs(&["registration"]);
    let dl = Instant::now() + PLAN_CHECK_TIMEOUT;
    match redhat.organization(dl).await {
        Ok(found) if found.id.as_deref() == Some(org.to_string().as_str()) => {}
        Ok(found) => plan.diagnostics.push(
            Diagnostic::error(
                "Not the organization of the Red Hat credentials",
                format!(
                    "The host would register to Red Hat organization {org} at first boot, but the provider's Red Hat \
                     credentials belong to organization {}, where its activation keys are. Registration would fail \
                     on the host, after the apply. Use the organization id shown in the Hybrid Cloud Console \
                     (console.redhat.com, your user menu) for those credentials, or a provider alias with \
                     credentials of organization {org}.",
                    found.id.as_deref().unwrap_or("(none)")
                ),
            )
            .at(at),
        ),
        Err(e) => plan.diagnostics.push(
            Diagnostic::warning(
                "Red Hat organization not checked",
                format!(
                    "Could not read the organization of the provider's Red Hat credentials ({e}); the host's \
                     organization id {org} is used unchecked."
                ),
            )
            .at(at),
        ),
    }
}

async fn adopt_interrupted(
    arm: &ArmClient,
    mut state: Value,
    vm_id: &str,
    dl: Instant,
) -> ApplyOutcome {
    tracing::info!(target: "rhelazure.resources", vm = %vm_id, "adopting the host of an interrupted create");
    set_str(&mut state, "id", Some(vm_id));
    set(&mut state, "first_boot_sha256", Value::Null);
    set_str(&mut state, "booted_image_digest", None);
    let mut last_report = Instant::now();
    let provisioning = loop {
        let vm = match arm.get(vm_id, COMPUTE_API, dl).await {
            Ok(Some(vm)) => vm,
            Ok(None) => {
                return ApplyOutcome::failed(
                    settled(state_without_vm(state)),
                    Diagnostic::error(
                        "Host vanished",
                        format!("{vm_id} disappeared while being adopted; apply again."),
                    )
                    .into(),
                )
            }
            Err(e) => {
                return ApplyOutcome::failed(
                    settled(state),
                    arm_diag("read the virtual machine", &e).into(),
                )
            }
        };
        let p = vm["properties"]["provisioningState"]
            .as_str()
            .unwrap_or("Succeeded")
            .to_string();
        if !matches!(p.as_str(), "Creating" | "Updating") || Instant::now() >= dl {
            break p;
        }
        if last_report.elapsed() >= Duration::from_secs(30) {
            tracing::info!(target: "rhelazure.resources", vm = %vm_id, state = %p, "still waiting for the interrupted create");
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    if let Err(d) = refresh(arm, &mut state, dl).await {
        return ApplyOutcome::failed(settled(state), d.into());
    }
    if provisioning != "Succeeded" {
        return ApplyOutcome::failed(
            settled(state),
            Diagnostic::error(
                "Interrupted host did not come up",
                format!("{vm_id}, created by an earlier interrupted apply, is {provisioning}. It is tracked tainted; the next apply replaces it."),
            )
            .into(),
        );
    }
    ApplyOutcome::ok(settled(state))
}

fn state_without_vm(mut s: Value) -> Value {
    set_str(&mut s, "id", None);
    s
}

/// A failed create's state: what is not known by now never will be, and
/// Terraform rejects unknown values after apply.
fn settled(mut s: Value) -> Value {
    if let Some(m) = s.as_object_mut() {
        for v in m.values_mut() {
            if v.is_unknown() {
                *v = Value::Null;
            }
        }
    }
    s
}

fn vm_body(v: &Value, loc: &str, nic_id: &str, tags: &Json, cloud_config: &str) -> Json {
    let user = opt_str(v, "admin_username").unwrap_or_else(|| "rhel".into());
    let keys: Vec<Json> = v
        .attr("ssh_public_keys")
        .to_serde()
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| json!({ "path": format!("/home/{user}/.ssh/authorized_keys"), "keyData": k }))
        .collect();
    let image = match opt_str(v, "source_image_id") {
        Some(id) => json!({ "id": id }),
        None => v.attr("marketplace_image").to_serde(),
    };
    let disk = v.attr("os_disk");
    let mut os_disk = json!({ "createOption": "FromImage", "deleteOption": "Delete", "caching": "ReadWrite",
        "managedDisk": { "storageAccountType": disk.attr("storage_account_type").as_str().unwrap_or("Premium_LRS") } });
    if let Some(n) = disk.attr("size_gb").as_number().and_then(|n| n.to_i64()) {
        os_disk["diskSizeGB"] = json!(n);
    }
    let custom = base64::engine::general_purpose::STANDARD.encode(cloud_config);
    let mut body = json!({
        "location": loc, "tags": tags,
        "properties": {
            "hardwareProfile": { "vmSize": opt_str(v, "size") },
            "storageProfile": { "imageReference": image, "osDisk": os_disk },
            "osProfile": { "computerName": opt_str(v, "name"), "adminUsername": user, "customData": custom,
                "linuxConfiguration": { "disablePasswordAuthentication": true, "ssh": { "publicKeys": keys } } },
            "networkProfile": { "networkInterfaces": [{ "id": nic_id, "properties": { "primary": true, "deleteOption": "Delete" } }] },
        },
    });
    if let Some(lt) = opt_str(v, "license_type") {
        body["properties"]["licenseType"] = json!(lt);
    }
    if let Json::Object(p) = v.attr("plan").to_serde() {
        body["plan"] = Json::Object(p);
    }
    body
}

/// Reads the VM, NIC and public IP into `s`; false when the VM is gone.
async fn refresh(arm: &ArmClient, s: &mut Value, dl: Instant) -> Result<bool, Diagnostic> {
    let Some(vm_id) = opt_str(s, "id") else {
        return Ok(false);
    };
    let Some(vm) = arm
        .get(&vm_id, COMPUTE_API, dl)
        .await
        .map_err(|e| arm_diag("read the virtual machine", &e))?
    else {
        return Ok(false);
    };
    let props = &vm["properties"];
    set_str(s, "vm_id", props["vmId"].as_str());
    set_str(s, "size", props["hardwareProfile"]["vmSize"].as_str());
    set_str(
        s,
        "os_disk_id",
        props["storageProfile"]["osDisk"]["managedDisk"]["id"].as_str(),
    );
    let lt = props["licenseType"].as_str().filter(|l| *l != "NONE");
    set_str(s, "license_type", lt);
    let mut tags = vm["tags"].as_object().cloned().unwrap_or_default();
    tags.remove(MARKER_TAG);
    let tags = Some(&tags).filter(|t| !t.is_empty());
    set(
        s,
        "tags",
        match tags {
            Some(t) => Value::Map(
                t.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            Value::from(v.as_str().unwrap_or_default().to_string()),
                        )
                    })
                    .collect(),
            ),
            None if s.attr("tags").as_object().is_some_and(|m| m.is_empty()) => {
                s.attr("tags").clone()
            }
            None => Value::Null,
        },
    );
    set(
        s,
        "plan",
        match vm["plan"].as_object() {
            Some(p) => Value::Object(
                ["publisher", "product", "name"]
                    .iter()
                    .map(|k| {
                        (
                            k.to_string(),
                            p.get(*k)
                                .and_then(Json::as_str)
                                .map(|x| Value::from(x.to_string()))
                                .unwrap_or(Value::Null),
                        )
                    })
                    .collect(),
            ),
            None => Value::Null,
        },
    );
    let nic_id = props["networkProfile"]["networkInterfaces"][0]["id"]
        .as_str()
        .map(str::to_string);
    set_str(s, "network_interface_id", nic_id.as_deref());
    let mut pip_id = None;
    if let Some(nic_id) = nic_id {
        if let Some(nic) = arm
            .get(&nic_id, NETWORK_API, dl)
            .await
            .map_err(|e| arm_diag("read the network interface", &e))?
        {
            let ipc = &nic["properties"]["ipConfigurations"][0]["properties"];
            set_str(s, "private_ip_address", ipc["privateIPAddress"].as_str());
            pip_id = ipc["publicIPAddress"]["id"].as_str().map(str::to_string);
        }
    }
    set_str(s, "public_ip_id", pip_id.as_deref());
    let mut address = None;
    if let Some(p) = &pip_id {
        if let Some(pip) = arm
            .get(p, NETWORK_API, dl)
            .await
            .map_err(|e| arm_diag("read the public IP", &e))?
        {
            address = pip["properties"]["ipAddress"].as_str().map(str::to_string);
        }
    }
    set_str(s, "public_ip_address", address.as_deref());
    Ok(true)
}

/// Sets `booted_image_digest` from what the host reports (after a bootc
/// switch, or when a new host is watched for drift).
async fn read_booted_digest(arm: &ArmClient, s: &mut Value, dl: Instant) -> Result<(), Diagnostic> {
    let vm_id = opt_str(s, "id").unwrap_or_default();
    let status = host_render::status_script(&HostSpec::default());
    let out = run_command(arm, &vm_id, "rhelazure-status", &status, on_arm64(s), dl).await?;
    let report = host_render::parse_status(&out);
    set_str(s, "booted_image_digest", report.booted_digest.as_deref());
    Ok(())
}

/// Reads what the host runs into `s` (`detect_host_drift`): the booted
/// bootc image, and drops from `containers` every unit whose file is missing
/// or differs from what this provider wrote, so the plan rewrites it.
async fn read_host_drift(arm: &ArmClient, s: &mut Value, dl: Instant, diags: &mut Diagnostics) {
    let vm_id = opt_str(s, "id").unwrap_or_default();
    let spec = host_spec(s);
    let out = match run_command(
        arm,
        &vm_id,
        "rhelazure-status",
        &host_render::status_script(&spec),
        on_arm64(s),
        dl,
    )
    .await
    {
        Ok(out) => out,
        Err(d) => {
            diags.warning(
                "Host drift not checked",
                format!("detect_host_drift could not read {vm_id} ({}: {}). A stopped host cannot run commands; start it and refresh.", d.summary, d.detail),
            );
            return;
        }
    };
    let report = host_render::parse_status(&out);
    if report.bootc_known {
        set_str(s, "booted_image_digest", report.booted_digest.as_deref());
        if spec.bootc_image.is_some() && report.booted_image != spec.bootc_image {
            diags.warning(
                "Host drift: booted image",
                format!(
                    "{vm_id} boots {} instead of {}; the plan switches it back.",
                    report.booted_image.as_deref().unwrap_or("no bootc image"),
                    spec.bootc_image.as_deref().unwrap_or_default()
                ),
            );
            set_str(s, "bootc_image", report.booted_image.as_deref());
        }
    }
    let Some(list) = s.attr("containers").as_elements().map(<[Value]>::to_vec) else {
        return;
    };
    let mut kept = Vec::new();
    let mut drifted = Vec::new();
    for (c, v) in spec.containers().iter().zip(list) {
        let path = host_render::unit_path(c);
        let want = sha256_hex(host_render::quadlet(c).as_bytes());
        match report.unit_sha256.get(&path) {
            Some(h) if *h == want => kept.push(v),
            Some(_) => drifted.push(format!("{path} differs from what Terraform wrote")),
            None => drifted.push(format!("{path} is missing")),
        }
    }
    if !drifted.is_empty() {
        // One warning: Terraform folds repeated summaries into "similar warnings".
        diags.warning(
            "Host drift: container units",
            format!(
                "On {vm_id}:\n  {}\nThe plan rewrites these units and restarts their containers.",
                drifted.join("\n  ")
            ),
        );
    }
    set(s, "containers", Value::List(kept));
}

/// The list resource: the Atomic hosts of the subscription, whoever applied
/// them (the VMs this provider made carry its marker tag), each as an import
/// reads it.
pub struct AtomicHosts;

#[async_trait]
impl ListResource<ProviderData> for AtomicHosts {
    fn type_name(&self) -> &'static str {
        "rhelazure_atomic_host"
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            "The RHEL container hosts of the subscription made by this provider (from any configuration: \
             the VMs carry its marker tag). For every RHEL VM whatever made it, list `rhelazure_vm_license`.",
            vec![Attr::string("resource_group_name")
                .optional()
                .description("Only the hosts of this resource group.")],
        )
    }

    async fn list(
        &self,
        ctx: &Ctx<ProviderData>,
        query: &ListQuery<'_>,
        out: &mut ListResults<'_>,
    ) -> Result<(), Diagnostics> {
        let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
        let group = query.config.attr("resource_group_name").as_str();
        let vms = match super::common::all_of_type(
            arm,
            "Microsoft.Compute/virtualMachines",
            group,
            Instant::now() + TIMEOUT,
        )
        .await
        {
            Ok(v) => v,
            Err(e) => return Err(arm_diag("list the virtual machines", &e).into()),
        };
        for vm in vms.iter().filter(|vm| vm["tags"][MARKER_TAG].is_string()) {
            let id = vm["id"].as_str().unwrap_or_default();
            let state = match super::common::imported_state(&AtomicHost, ctx, id).await {
                Ok(Some(s)) => s,
                Ok(None) => continue,
                Err(d) => return Err(d),
            };
            let group = crate::arm::segment_after(id, "resourceGroups").unwrap_or_default();
            let display_name = format!(
                "{} ({group}): {}",
                vm["name"].as_str().unwrap_or_default(),
                vm["properties"]["hardwareProfile"]["vmSize"]
                    .as_str()
                    .unwrap_or_default()
            );
            if !out
                .send(Found {
                    state,
                    display_name,
                })
                .await
            {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn arm64_sizes_by_name() {
        use super::size_is_arm64 as a;
        assert_eq!(a("Standard_D2ps_v5"), Some(true));
        assert_eq!(a("Standard_B2pls_v2"), Some(true));
        assert_eq!(a("Standard_D2s_v5"), Some(false));
        assert_eq!(a("Standard_E2bds_v5"), Some(false));
        assert_eq!(a("Standard_B1s"), Some(false));
        assert_eq!(a("Basic_A1"), None);
    }
}
