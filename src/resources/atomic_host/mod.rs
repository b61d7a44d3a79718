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
use sizes::{on_arm64, size_is_confidential, size_mismatch};

use std::time::{Duration, Instant};

use async_trait::async_trait;
use azure_core::http::Method;
use base64::Engine as _;

use crate::arm::ArmClient;
use crate::framework::validators::{one_of, string_matches};
use crate::framework::{
    timeouts, ApplyOutcome, Attr, Ctx, Diagnostic, Diagnostics, Found, ListQuery, ListResource,
    ListResults, ObjectNesting, PlanContext, Private, Resource, ResourceSchema, Value,
};
use crate::provider::ProviderData;
use crate::resources::common::{arm_diag, deadline, need, sha256_hex, PLAN_CHECK_TIMEOUT};
use crate::resources::host_render::{self, Container, HostSpec};
use crate::resources::run_command::run_command;
use crate::{attr_name, attr_path};

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

/// `rhelazure_atomic_host` as Terraform holds it: plan, configuration and
/// state are read into it, and state is written from it. No `Debug`: it
/// carries the activation key.
#[derive(Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub(super) struct Model {
    id: Option<String>,
    name: Option<String>,
    resource_group_name: Option<String>,
    location: Option<String>,
    subnet_id: Option<String>,
    size: Option<String>,
    admin_username: Option<String>,
    ssh_public_keys: Option<Vec<String>>,
    source_image_id: Option<String>,
    marketplace_image: Option<MarketplaceImage>,
    marketplace_agreement_id: Option<String>,
    os_disk: Option<OsDisk>,
    public_ip: Option<bool>,
    security_type: Option<String>,
    secure_boot: Option<bool>,
    vtpm: Option<bool>,
    os_disk_security_encryption_type: Option<String>,
    tags: Option<Tags>,
    license_type: Option<String>,
    registration: Option<Registration>,
    bootc_image: Option<String>,
    containers: Option<Vec<host_render::Container>>,
    auto_update: Option<bool>,
    detect_host_drift: Option<bool>,
    booted_image_digest: Option<String>,
    first_boot_sha256: Option<String>,
    vm_id: Option<String>,
    network_interface_id: Option<String>,
    public_ip_id: Option<String>,
    os_disk_id: Option<String>,
    private_ip_address: Option<String>,
    public_ip_address: Option<String>,
    plan: Option<PurchasePlan>,
    timeouts: Option<serde_json::Value>,
}

#[derive(Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub(super) struct MarketplaceImage {
    publisher: Option<String>,
    offer: Option<String>,
    sku: Option<String>,
    version: Option<String>,
}

#[derive(Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub(super) struct OsDisk {
    size_gb: Option<i64>,
    storage_account_type: Option<String>,
}

#[derive(Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub(super) struct Registration {
    organization: Option<serde_json::Number>,
    activation_key: Option<String>,
    activation_key_wo: Option<String>,
    activation_key_wo_version: Option<serde_json::Number>,
    insights: Option<bool>,
}

#[derive(Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub(super) struct PurchasePlan {
    publisher: Option<String>,
    product: Option<String>,
    name: Option<String>,
}

impl Model {
    pub(super) fn of(v: &Value) -> Model {
        crate::framework::model::read(v)
    }

    pub(super) fn to_value(&self) -> Value {
        crate::framework::model::write(self, crate::schema_type!(AtomicHost.schema()))
    }

    /// The in-guest parts: what cloud-init and Run Command put on the host.
    /// The activation key is the stored one (`activation_key`); see
    /// `first_boot_spec` for the write-only one.
    pub(super) fn spec(&self) -> HostSpec {
        HostSpec {
            containers: self.containers.clone(),
            registration: self
                .registration
                .as_ref()
                .map(|r| host_render::Registration {
                    organization: r.organization.clone(),
                    activation_key: r.activation_key.clone(),
                    insights: r.insights,
                }),
            bootc_image: self.bootc_image.clone(),
            auto_update: self.auto_update,
        }
    }

    /// The configured tags (none: an empty map, which ARM keeps as no tags).
    pub(super) fn tags(&self) -> Tags {
        self.tags.clone().unwrap_or_default()
    }

    /// True when the host's size is Arm64 (see `sizes::on_arm64`).
    pub(super) fn on_arm64(&self) -> bool {
        on_arm64(self.size.as_deref())
    }
}

/// What first boot gets: the planned host, with the write-only activation
/// key (`activation_key_wo`) taken from the configuration, the only place
/// Terraform ever sends it.
pub(super) fn first_boot_spec(planned: &Model, config: &Model) -> HostSpec {
    let mut spec = planned.spec();
    if let Some(r) = spec.registration.as_mut() {
        if r.activation_key.is_none() {
            r.activation_key = config
                .registration
                .as_ref()
                .and_then(|c| c.activation_key_wo.clone());
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

pub(super) fn creation_marker(planned: &Model) -> String {
    let mut spec = planned.spec();
    let org = spec
        .registration
        .take()
        .and_then(|r| r.organization)
        .map(|o| o.to_string());
    let text = format!(
        "{}\n{}\n{}",
        planned.name.as_deref().unwrap_or_default(),
        org.unwrap_or_default(),
        host_render::cloud_config(&spec)
    );
    sha256_hex(text.as_bytes())[..16].to_string()
}

/// The spec's storage account types a managed OS disk can have: all but
/// Ultra Disk and Premium SSD v2, which Azure offers for data disks only.
fn os_disk_storage_types() -> Vec<&'static str> {
    use crate::arm::models::compute::StorageAccountTypes;
    StorageAccountTypes::known_names()
        .into_iter()
        .filter(|t| !["UltraSSD_LRS", "PremiumV2_LRS"].contains(t))
        .collect()
}

/// `security_type`: Azure's `TrustedLaunch` or `ConfidentialVM`, or
/// `Standard` for none.
pub(super) const STANDARD: &str = "Standard";
pub(super) const TRUSTED_LAUNCH: &str = "TrustedLaunch";
pub(super) const CONFIDENTIAL_VM: &str = "ConfidentialVM";
const SECURITY_TYPES: [&str; 3] = [STANDARD, TRUSTED_LAUNCH, CONFIDENTIAL_VM];
/// A Confidential VM's OS disk encryption when none is configured: the
/// guest state only (the disk itself keeps Azure's platform encryption).
pub(super) const VM_GUEST_STATE_ONLY: &str = "VMGuestStateOnly";

/// Whether an image's `SecurityType` feature allows Confidential VMs.
pub(super) fn allows_confidential_vm(feature: Option<&str>) -> bool {
    matches!(
        feature,
        Some(
            "ConfidentialVmSupported"
                | "ConfidentialVM"
                | "TrustedLaunchAndConfidentialVmSupported"
        )
    )
}

/// Whether an image's `SecurityType` feature allows Trusted Launch VMs.
pub(super) fn allows_trusted_launch(feature: Option<&str>) -> bool {
    matches!(
        feature,
        Some(
            "TrustedLaunchSupported" | "TrustedLaunch" | "TrustedLaunchAndConfidentialVmSupported"
        )
    )
}

/// What Azure asks of a Confidential VM's settings: a vTPM, Secure Boot when
/// the disk itself is encrypted, and disk encryption only on a Confidential VM.
fn validate_confidential(config: &Value, diags: &mut Diagnostics) {
    let security = config.attr(attr_name!(Model.security_type));
    let encryption = config.attr(attr_name!(Model.os_disk_security_encryption_type));
    let off = |attr: &str| config.attr(attr).as_bool() == Some(false);
    match security.as_str() {
        Some(CONFIDENTIAL_VM) => {
            if off(attr_name!(Model.vtpm)) {
                diags.push(
                    Diagnostic::error("A Confidential VM needs its vTPM", "Azure keeps a Confidential VM's keys in its virtual TPM: remove vtpm = false.")
                        .at(attr_path!(Model.vtpm)),
                );
            }
            if encryption.as_str() == Some("DiskWithVMGuestState") && off(attr_name!(Model.secure_boot)) {
                diags.push(
                    Diagnostic::error("Disk encryption needs Secure Boot", "os_disk_security_encryption_type = \"DiskWithVMGuestState\" needs Secure Boot: remove secure_boot = false, or use \"VMGuestStateOnly\".")
                        .at(attr_path!(Model.secure_boot)),
                );
            }
        }
        Some(other) if !encryption.is_null() && !encryption.is_unknown() => diags.push(
            Diagnostic::error("Only for Confidential VMs", format!("os_disk_security_encryption_type applies to Confidential VMs only, and security_type is {other}: remove it, or set security_type = \"ConfidentialVM\"."))
                .at(attr_path!(Model.os_disk_security_encryption_type)),
        ),
        _ => {}
    }
}

/// ARM's tags, as the generated models type them.
pub(super) type Tags = std::collections::BTreeMap<String, String>;

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
                    Attr::string("storage_account_type").default("Premium_LRS").validate(one_of(&os_disk_storage_types())).description("Storage type of the managed OS disk."),
                ]).optional().force_new().description("OS disk settings."),
                Attr::bool("public_ip").default(false).force_new().description("Give the host a static public IP."),
                Attr::string("security_type").optional_computed().use_state_for_unknown().force_new().validate(one_of(&SECURITY_TYPES)).description("`TrustedLaunch` (Secure Boot and a virtual TPM), `ConfidentialVM` (memory encrypted by the CPU, AMD SEV-SNP or Intel TDX: Red Hat's CVM images, such as `RedHat:rhel-cvm:9_3_cvm_sev_snp`, on a confidential size such as `Standard_DC2as_v5`) or `Standard`. When unset: `TrustedLaunch` if the image supports it (a Marketplace image with the `SecurityType` feature, or a gallery image whose definition allows it), else `Standard`. Azure supports Trusted Launch and Confidential VMs from Marketplace and gallery images, not from managed images: publish those to a gallery (`rhelazure_gallery_image_version`)."),
                Attr::bool("secure_boot").default(true).force_new().description("Trusted Launch and Confidential VMs: UEFI Secure Boot (not used with `Standard`)."),
                Attr::bool("vtpm").default(true).force_new().description("Trusted Launch and Confidential VMs: a virtual TPM (not used with `Standard`; a Confidential VM needs it)."),
                Attr::string("os_disk_security_encryption_type").optional_computed().use_state_for_unknown().force_new().validate(one_of(&crate::arm::models::compute::SecurityEncryptionTypes::known_names())).description("Confidential VMs only: what the OS disk's confidential encryption covers, `VMGuestStateOnly` (the default: the VM guest state) or `DiskWithVMGuestState` (the disk too; needs `secure_boot`), or `NonPersistedTPM`. Null on other hosts."),
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
        // Configuration values may be unknown here: read by name, not decoded.
        validate_confidential(config, diags);
        let registration = config.attr(attr_name!(Model.registration));
        if !registration.is_null() && !registration.is_unknown() {
            let (key, key_wo) = (
                registration.attr(attr_name!(Registration.activation_key)),
                registration.attr(attr_name!(Registration.activation_key_wo)),
            );
            if !key.is_unknown() && !key_wo.is_unknown() && key.is_null() == key_wo.is_null() {
                diags.push(
                    Diagnostic::error(
                        "One activation key",
                        "Set exactly one of registration.activation_key and registration.activation_key_wo (write-only).",
                    )
                    .at(attr_path!(Model.registration, Registration.activation_key)),
                );
            }
            let version = registration.attr(attr_name!(Registration.activation_key_wo_version));
            if key_wo.is_null() && !version.is_null() {
                diags.push(
                    Diagnostic::error(
                        "Version without a write-only key",
                        "registration.activation_key_wo_version goes with registration.activation_key_wo.",
                    )
                    .at(attr_path!(Model.registration, Registration.activation_key_wo_version)),
                );
            }
        }
        let (a, b) = (
            config.attr(attr_name!(Model.source_image_id)),
            config.attr(attr_name!(Model.marketplace_image)),
        );
        if !a.is_unknown() && !b.is_unknown() && a.is_null() == b.is_null() {
            diags.push(
                Diagnostic::error(
                    "One image source",
                    "Set exactly one of source_image_id and marketplace_image.",
                )
                .at(attr_path!(Model.source_image_id)),
            );
        }
        if let Some(list) = config.attr(attr_name!(Model.containers)).as_elements() {
            let mut seen = std::collections::BTreeSet::new();
            for c in list {
                if let Some(n) = c.attr(attr_name!(Container.name)).as_str() {
                    if !seen.insert(n.to_string()) {
                        diags.push(
                            Diagnostic::error(
                                "Duplicate container",
                                format!("Two containers are named {n:?}."),
                            )
                            .at(attr_path!(Model.containers)),
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
        _private: &Private,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::model::{mismatch, mismatch_at};

    #[test]
    fn the_models_have_the_schemas_attributes() {
        let schema = AtomicHost.schema();
        assert_eq!(mismatch::<Model>(&schema), None);
        assert_eq!(
            mismatch_at::<MarketplaceImage>(&schema, &["marketplace_image"]),
            None
        );
        assert_eq!(mismatch_at::<OsDisk>(&schema, &["os_disk"]), None);
        assert_eq!(
            mismatch_at::<Registration>(&schema, &["registration"]),
            None
        );
        assert_eq!(mismatch_at::<Container>(&schema, &["containers"]), None);
        assert_eq!(mismatch_at::<PurchasePlan>(&schema, &["plan"]), None);
        assert_eq!(
            mismatch::<crate::resources::common::ResourceGroupFilter>(
                &crate::framework::ListResource::schema(&AtomicHosts)
            ),
            None
        );
    }

    #[test]
    fn a_full_model_round_trips_through_the_schema() {
        let m = Model {
            name: Some("web".into()),
            ssh_public_keys: Some(vec!["ssh-ed25519 AAAA".into()]),
            marketplace_image: Some(MarketplaceImage {
                publisher: Some("RedHat".into()),
                version: Some("latest".into()),
                ..Default::default()
            }),
            os_disk: Some(OsDisk {
                size_gb: Some(64),
                storage_account_type: Some("Premium_LRS".into()),
            }),
            tags: Some(Tags::new()),
            registration: Some(Registration {
                organization: Some(12345.into()),
                activation_key_wo_version: Some(2.into()),
                insights: Some(true),
                ..Default::default()
            }),
            containers: Some(vec![Container {
                name: "httpd".into(),
                image: "ubi9/httpd-24".into(),
                ports: Some(vec!["80:8080".into()]),
                environment: Some([("A".to_string(), "b".to_string())].into()),
                command: None,
            }]),
            plan: Some(PurchasePlan {
                name: Some("rhel-lvm96".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let v = m.to_value();
        assert!(!v.is_null(), "the model does not fit the schema");
        assert!(Model::of(&v) == m);
    }
}
