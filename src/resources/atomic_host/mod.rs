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
//!
//! Files: `plan` (plan-time checks), `create` (and adoption of an
//! interrupted create), `update`, `read` (read, import, delete), `list`
//! (`terraform query`), `sizes` (what a size name says). They are one
//! resource split for reading, not rooms of their own: each takes this
//! file's imports and helpers with `use super::*`.

mod create;
mod list;
mod plan;
mod read;
mod sizes;
mod update;

pub use list::AtomicHosts;
use read::{read_booted_digest, refresh};
pub use sizes::size_is_arm64;
use sizes::{on_arm64, size_mismatch};

use std::time::{Duration, Instant};

use async_trait::async_trait;
use azure_core::http::Method;
use base64::Engine as _;

use crate::arm::ArmClient;
use crate::framework::model::decode;
use crate::framework::validators::{one_of, string_matches};
use crate::framework::{
    timeouts, ApplyOutcome, Attr, AttributePath, Ctx, Diagnostic, Diagnostics, Found, ListQuery,
    ListResource, ListResults, ObjectNesting, PlanContext, Private, Resource, ResourceSchema,
    Value,
};
use crate::provider::ProviderData;
use crate::resources::common::{
    arm_diag, deadline, need, opt_str, set, set_str, sha256_hex, PLAN_CHECK_TIMEOUT,
};
use crate::resources::host_render::{self, HostSpec};
use crate::resources::run_command::run_command;

pub struct AtomicHost;

pub(super) const COMPUTE_API: &str = "2024-03-01";
pub(super) const NETWORK_API: &str = "2024-01-01";
pub(super) const DISK_API: &str = "2023-10-02";
pub(super) const CREATE_TIMEOUT: Duration = Duration::from_secs(45 * 60);
pub(super) const TIMEOUT: Duration = Duration::from_secs(30 * 60);

pub(super) fn valid_name(n: &str) -> bool {
    (1..=64).contains(&n.len())
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !n.starts_with('-')
        && !n.ends_with('-')
}

pub(super) fn valid_unit_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// The client for the host's subscription: its subnet's (Azure keeps a NIC in
/// its virtual network's subscription), else the provider's.
pub(super) fn host_arm(
    arm: &crate::arm::ArmClient,
    subnet_id: Option<&str>,
) -> crate::arm::ArmClient {
    match subnet_id.and_then(crate::arm::subscription_in) {
        Some(sub) => arm.in_subscription(&sub),
        None => arm.clone(),
    }
}

pub(super) fn vm_path(sub: &str, rg: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}")
}

pub(super) fn net_path(sub: &str, rg: &str, kind: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/{kind}/{name}")
}

/// The in-guest parts of a state or plan.
pub(super) fn host_spec(v: &Value) -> HostSpec {
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
pub(super) fn first_boot_spec(planned: &Value, config: &Value) -> HostSpec {
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
pub(super) const MARKER_TAG: &str = "rhelazure-host";

pub(super) fn creation_marker(planned: &Value) -> String {
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

/// ARM's tags, as the generated models type them.
pub(super) type Tags = std::collections::BTreeMap<String, String>;

/// The configured tags (none: an empty map, which ARM keeps as no tags).
pub(super) fn tags_of(v: &Value) -> Tags {
    decode::<Option<Tags>>(v.attr("tags"))
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Resource identity: the ARM id's subscription, resource group and name.
pub(super) const IDENTITY: crate::resources::common::ArmIdentity =
    crate::resources::common::ArmIdentity {
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
                    Attr::string("version").default("latest").description("Image version; `latest` is the newest when the VM is created (not followed afterwards)."),
                ]).optional().force_new().description("A Marketplace image (PAYG or, after Cloud Access, BYOS). Its purchase plan is derived automatically."),
                Attr::string("marketplace_agreement_id").optional().description("The `rhelazure_marketplace_agreement` that accepts this image's terms, when it is in the same configuration: orders the two and defers the plan-time terms check to apply."),
                Attr::nested("os_disk", ObjectNesting::Single, vec![
                    Attr::number("size_gb").optional().description("OS disk size (default: the image's)."),
                    Attr::string("storage_account_type").default("Premium_LRS").validate(one_of(&["Standard_LRS", "StandardSSD_LRS", "Premium_LRS", "Premium_ZRS", "StandardSSD_ZRS"])).description("Storage type of the managed OS disk."),
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
                    Attr::string("name").required().validate(string_matches("letters, digits, '-', '_', '.'", valid_unit_name)).description("Container name: the quadlet unit is `<name>.container`, the service `<name>.service`."),
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
        plan::modify_plan(ctx, plan).await
    }

    async fn create(
        &self,
        ctx: &Ctx<ProviderData>,
        planned: &Value,
        config: &Value,
    ) -> ApplyOutcome {
        create::create(ctx, planned, config).await
    }

    async fn read(
        &self,
        ctx: &Ctx<ProviderData>,
        state: &Value,
        private: &Private,
    ) -> Result<Option<(Value, Private)>, Diagnostics> {
        read::read(ctx, state, private).await
    }

    async fn update(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        planned: &Value,
        config: &Value,
        private: &Private,
    ) -> ApplyOutcome {
        update::update(ctx, prior, planned, config, private).await
    }

    async fn delete(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        private: &Private,
    ) -> Diagnostics {
        read::delete(ctx, prior, private).await
    }

    async fn import(&self, ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        read::import(ctx, id).await
    }

    fn identity(&self) -> Option<&dyn crate::framework::IdentityDef> {
        Some(&IDENTITY)
    }
}
