//! `rhelazure_vm_license`: Azure Hybrid Benefit for any RHEL VM (ours or one
//! managed elsewhere): which RHEL license the VM is billed under. Moving a VM
//! from a bring-your-own-subscription or custom image to a pay-as-you-go type
//! first installs the `AHBForRHEL` extension, as Azure requires. `NONE`
//! means no Hybrid Benefit: the VM is billed as its image says. Destroy sets
//! the license type back to `NONE`.
//!
//! Its list resource finds every RHEL VM of a subscription, whoever made it,
//! so an estate can be inventoried (`terraform query`) and adopted.

use crate::{attr_name, attr_path};
use std::time::Duration;

use async_trait::async_trait;
use azure_core::http::Method;

use super::common::{arm_diag, deadline, need};
use super::rhel_vm::{license_type_of, RhelVm, BILLING_MODELS};
use crate::arm::models::compute::{
    VirtualMachine, VirtualMachineExtension, VirtualMachineExtensionProperties,
    VirtualMachineProperties, VirtualMachineUpdate,
};
use crate::framework::model;
use crate::framework::validators::one_of;
use crate::framework::PlanContext;
use crate::framework::{
    timeouts, ApplyOutcome, Attr, Ctx, Diagnostic, Diagnostics, Found, ListQuery, ListResource,
    ListResults, Private, Resource, ResourceSchema, Value,
};
use crate::provider::ProviderData;

pub struct VmLicense;

const API: &str = "2024-03-01";
const TIMEOUT: Duration = Duration::from_secs(1800);
pub const LICENSE_TYPES: [&str; 8] = [
    "NONE",
    "RHEL_BYOS",
    "RHEL_BASE",
    "RHEL_EUS",
    "RHEL_SAPAPPS",
    "RHEL_SAPHA",
    "RHEL_BASESAPAPPS",
    "RHEL_BASESAPHA",
];

fn valid_vm_id(id: &str) -> bool {
    let p: Vec<&str> = id.split('/').collect();
    p.len() == 9
        && p[1].eq_ignore_ascii_case("subscriptions")
        && p[7].eq_ignore_ascii_case("virtualMachines")
}

/// Applies a license type, installing AHBForRHEL first when Azure needs it;
/// returns the VM as it is afterwards (its instance view included), and the
/// warning of a Cloud Access check that could not be made.
async fn apply(
    data: &ProviderData,
    v: &Value,
    op: &str,
) -> Result<(VirtualMachine, Option<Diagnostic>), Diagnostic> {
    let arm = data.arm()?;
    let dl = deadline(v, op, TIMEOUT);
    let wanted = Model::of(v);
    let vm_id = wanted.virtual_machine_id.unwrap_or_default();
    let lt = wanted.license_type.unwrap_or_default();
    let vm = arm
        .get_as::<VirtualMachine>(&format!("{vm_id}?$expand=instanceView"), API, dl)
        .await
        .map_err(|e| arm_diag("read the virtual machine", &e))?
        .ok_or_else(|| {
            Diagnostic::error(
                "No such virtual machine",
                format!("{vm_id} does not exist."),
            )
            .at(attr_path!(Model.virtual_machine_id))
        })?;
    let mut warning = None;
    if lt == "RHEL_BYOS" && license_type_of(&vm) != "RHEL_BYOS" {
        let sub = crate::arm::subscription_in(&vm_id).unwrap_or_default();
        warning = super::hybrid_benefit::check_byos_allowed(
            data,
            &sub,
            attr_path!(Model.license_type),
            dl,
        )
        .await?;
    }
    let image = vm.image_reference();
    let byos_or_custom = image.is_some_and(|i| {
        i.id.is_some()
            || i.offer
                .as_deref()
                .is_some_and(|o| o.eq_ignore_ascii_case("rhel-byos"))
    });
    let pay_as_you_go = !matches!(lt.as_str(), "RHEL_BYOS" | "NONE");
    let ext_path = format!("{vm_id}/extensions/AHBForRHEL");
    let installed = || async {
        arm.get_as::<VirtualMachineExtension>(&ext_path, API, dl)
            .await
            .map(|e| {
                let state = e.and_then(|e| e.properties?.provisioning_state);
                state.as_deref() == Some("Succeeded")
            })
            .map_err(|e| arm_diag("read the AHBForRHEL extension", &e))
    };
    if pay_as_you_go && byos_or_custom && !installed().await? {
        // Azure changes extensions only on a running VM; the license type
        // itself can change on a deallocated one.
        let power = vm.power_state();
        if power.as_deref().is_some_and(|p| p != "running") {
            return Err(Diagnostic::error(
                "The virtual machine is not running",
                format!(
                    "{lt} on this VM needs the AHBForRHEL extension first, and Azure installs extensions only on a \
                     running VM (this one is {}). Start it (az vm start --ids {vm_id}) and apply again.",
                    power.unwrap_or_default()
                ),
            )
            .at(attr_path!(Model.license_type)));
        }
        let ext = VirtualMachineExtension {
            location: vm.location.clone(),
            properties: Some(VirtualMachineExtensionProperties {
                publisher: Some("Microsoft.Azure.AzureHybridBenefit".into()),
                r#type: Some("AHBForRHEL".into()),
                type_handler_version: Some("1.0".into()),
                auto_upgrade_minor_version: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        arm.run_with(Method::Put, &ext_path, API, &ext, dl)
            .await
            .map_err(|e| arm_diag("install the AHBForRHEL extension", &e))?;
    }
    arm.run_with(Method::Patch, &vm_id, API, &license_patch(&lt), dl)
        .await
        .map_err(|e| arm_diag(&format!("set the license type to {lt}"), &e))?;
    let vm = arm
        .get_as::<VirtualMachine>(&format!("{vm_id}?$expand=instanceView"), API, dl)
        .await
        .map_err(|e| arm_diag("read the virtual machine", &e))?
        .unwrap_or_default();
    Ok((vm, warning))
}

/// The PATCH that sets a VM's license type (`VirtualMachineUpdate`).
fn license_patch(license_type: &str) -> VirtualMachineUpdate {
    VirtualMachineUpdate {
        properties: Some(VirtualMachineProperties {
            license_type: Some(license_type.to_string()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Resource identity: the ARM id's subscription, resource group and name.
const IDENTITY: super::common::ArmIdentity = super::common::ArmIdentity {
    id_attr: "virtual_machine_id",
    resource_type: "Microsoft.Compute/virtualMachines",
    name_attr: "virtual_machine_name",
    name_description: "Name of the virtual machine whose license this is (lower case).",
};

#[async_trait]
impl Resource<ProviderData> for VmLicense {
    fn type_name(&self) -> &'static str {
        "rhelazure_vm_license"
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            "Azure Hybrid Benefit for a RHEL virtual machine: `RHEL_BYOS` (your own subscription, needs Cloud Access) or a \
             pay-as-you-go type (`RHEL_BASE`, `RHEL_EUS`, `RHEL_SAPAPPS`, `RHEL_SAPHA`, `RHEL_BASESAPAPPS`, `RHEL_BASESAPHA`). \
             Destroy sets it back to `NONE`; the RHUI repositories of a former pay-as-you-go VM are not restored.",
            vec![
                Attr::string("id").computed().use_state_for_unknown().description("The virtual machine id."),
                Attr::string("virtual_machine_id").required().force_new().description("The RHEL VM's ARM id."),
                Attr::string("license_type").required().validate(one_of(&LICENSE_TYPES)).description("The license type (changes in place); `NONE` for no Hybrid Benefit."),
                Attr::string("billing_model").computed().description(&format!("How the VM's RHEL is billed: {}.", BILLING_MODELS.map(|m| format!("`{m}`")).join(", "))),
                Attr::string("image").computed().use_state_for_unknown().description("The image the VM was made from: `publisher:offer:sku:version` for a Marketplace image, the id of a custom one."),
                Attr::string("plan").computed().use_state_for_unknown().description("The VM's Marketplace purchase plan as `publisher:product:name` (gold images carry one); null without a plan."),
                Attr::string("rhel_version").computed().use_state_for_unknown().description("The RHEL release (`9.4`, or the major alone) where the image names it."),
                Attr::string("architecture").computed().use_state_for_unknown().description("`x64` or `Arm64` where the image names it."),
                Attr::string("security_type").computed().use_state_for_unknown().description("`Standard`, `TrustedLaunch` or `ConfidentialVM`."),
                Attr::string("power_state").computed().use_state_for_unknown().description("The VM's power state when last read (`running`, `deallocated`, ...)."),
            ],
        )
        .blocks(vec![timeouts::block(&["create", "update", "delete"])])
    }

    /// A license change leaves what the VM was made from as it was, null
    /// values included (a VM without a plan keeps having none); only the
    /// billing model follows the new license.
    async fn modify_plan(&self, _ctx: &Ctx<ProviderData>, plan: &mut PlanContext<'_>) {
        if plan.is_create() {
            return;
        }
        for attr in [
            "image",
            "plan",
            "rhel_version",
            "architecture",
            "security_type",
            "power_state",
        ] {
            let prior = plan.prior.attr(attr).clone();
            // A VM whose image does not name RHEL (no billing model was read)
            // is told apart as RHEL by its license type: its facts, left null
            // under `NONE`, become known when the type changes. A VM already
            // known as RHEL keeps its facts, nulls included.
            let unrecognised = plan.prior.attr(attr_name!(Model.billing_model)).is_null();
            let license_changes = plan.config.attr(attr_name!(Model.license_type))
                != plan.prior.attr(attr_name!(Model.license_type));
            if prior.is_null() && unrecognised && license_changes {
                plan.set(attr, Value::Unknown(None));
            } else {
                plan.set(attr, prior);
            }
        }
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Some(id) = config.attr(attr_name!(Model.virtual_machine_id)).as_str() {
            if !valid_vm_id(id) {
                diags.push(Diagnostic::error("Invalid virtual machine id", format!("Expected /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachines/<name>; got {id:?}.")).at(attr_path!(Model.virtual_machine_id)));
            }
        }
    }

    async fn create(
        &self,
        ctx: &Ctx<ProviderData>,
        planned: &Value,
        _config: &Value,
        _private: &Private,
    ) -> ApplyOutcome {
        let data = match ctx.data() {
            Ok(d) => d,
            Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
        };
        match apply(data, planned, "create").await {
            Ok((vm, warning)) => {
                let mut m = Model::of(&applied_state(planned, &vm));
                m.id = m.virtual_machine_id.clone();
                ApplyOutcome::failed(m.to_value(), warning.into_iter().collect())
            }
            Err(d) => ApplyOutcome::failed(Value::Null, d.into()),
        }
    }

    async fn read(
        &self,
        ctx: &Ctx<ProviderData>,
        state: &Value,
        private: &Private,
    ) -> Result<Option<(Value, Private)>, Diagnostics> {
        let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
        let prior = Model::of(state);
        let vm_id = prior.virtual_machine_id.clone().unwrap_or_default();
        let Some(vm) = arm
            .get(
                &format!("{vm_id}?$expand=instanceView"),
                API,
                deadline(state, "read", TIMEOUT),
            )
            .await
            .map_err(|e| Diagnostics::from(arm_diag("read the virtual machine", &e)))?
        else {
            return Ok(None);
        };
        let vm = VirtualMachine::from_json(&vm).unwrap_or_default();
        let read = Model {
            id: Some(vm_id),
            ..prior.with_vm(&vm)
        };
        Ok(Some((read.to_value(), private.clone())))
    }

    async fn update(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        private: &Private,
    ) -> ApplyOutcome {
        let data = match ctx.data() {
            Ok(d) => d,
            Err(d) => return ApplyOutcome::failed(prior.clone(), d.into()),
        };
        match apply(data, planned, "update").await {
            Ok((vm, warning)) => ApplyOutcome {
                state: applied_state(planned, &vm),
                private: private.clone(),
                diagnostics: warning.into_iter().collect(),
            },
            Err(d) => ApplyOutcome {
                state: prior.clone(),
                private: private.clone(),
                diagnostics: d.into(),
            },
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
        let prior_model = Model::of(prior);
        let vm_id = prior_model.virtual_machine_id.clone().unwrap_or_default();
        let prior_type = prior_model.license_type.as_deref();
        if prior_type == Some("NONE") {
            return Diagnostics::new();
        }
        match arm
            .run_with(
                Method::Patch,
                &vm_id,
                API,
                &license_patch("NONE"),
                deadline(prior, "delete", TIMEOUT),
            )
            .await
        {
            Ok(_) => {
                let mut d = Diagnostics::new();
                if prior_type != Some("RHEL_BYOS") {
                    d.warning("RHUI repositories not restored", format!("{vm_id} no longer uses Azure Hybrid Benefit; if it used pay-as-you-go RHUI repositories, register it with Red Hat to keep receiving updates."));
                }
                d
            }
            Err(e) if e.is_not_found() => Diagnostics::new(),
            Err(e) => arm_diag("reset the license type", &e).into(),
        }
    }

    /// Imported by the VM id.
    async fn import(&self, _ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        if !valid_vm_id(id) {
            return Err(Diagnostic::error(
                "Invalid import id",
                format!("Import a license by its virtual machine id; got {id:?}."),
            )
            .into());
        }
        let imported = Model {
            id: Some(id.to_string()),
            virtual_machine_id: Some(id.to_string()),
            ..Default::default()
        };
        Ok(imported.to_value())
    }

    fn identity(&self) -> Option<&dyn crate::framework::IdentityDef> {
        Some(&IDENTITY)
    }
}

/// The resource's configuration, plan and state, typed (the schema's
/// attributes, checked against it in the tests below).
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
struct Model {
    id: Option<String>,
    virtual_machine_id: Option<String>,
    license_type: Option<String>,
    billing_model: Option<String>,
    image: Option<String>,
    plan: Option<String>,
    rhel_version: Option<String>,
    architecture: Option<String>,
    security_type: Option<String>,
    power_state: Option<String>,
    timeouts: Option<serde_json::Value>,
}

impl Model {
    fn of(v: &Value) -> Model {
        model::read(v)
    }

    /// The attributes a VM's model gives: its license and what it says about
    /// its RHEL (null for a VM that does not look like RHEL).
    fn with_vm(self, vm: &VirtualMachine) -> Model {
        let rhel = RhelVm::of(vm);
        let r = rhel.as_ref();
        Model {
            license_type: Some(license_type_of(vm).to_string()),
            billing_model: r.map(|r| r.billing_model.to_string()),
            image: r.and_then(|r| r.image.clone()),
            plan: r.and_then(|r| r.plan.clone()),
            rhel_version: r.and_then(|r| r.rhel_version.clone()),
            architecture: r.and_then(|r| r.architecture.clone()),
            security_type: r.map(|r| r.security_type.clone()),
            power_state: vm.power_state(),
            ..self
        }
    }

    fn to_value(&self) -> Value {
        model::write(self, crate::schema_type!(VmLicense.schema()))
    }
}

/// The planned state, completed from the VM as it is after the change (the
/// license type stays the planned one: it is what was just applied).
fn applied_state(planned: &Value, vm: &VirtualMachine) -> Value {
    let planned = Model::of(planned);
    Model {
        license_type: planned.license_type.clone(),
        ..planned.with_vm(vm)
    }
    .to_value()
}

/// The list resource: every RHEL VM of the subscription (or of one resource
/// group, or carrying given tags), as `rhelazure_vm_license` objects.
pub struct VmLicenses;

/// The state `read` would give for a listed VM.
fn listed_state(vm: &VirtualMachine) -> Model {
    Model {
        id: vm.id.clone(),
        virtual_machine_id: vm.id.clone(),
        ..Default::default()
    }
    .with_vm(vm)
}

/// The configuration of the `list` block.
#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct ListConfig {
    resource_group_name: Option<String>,
    tags: Option<std::collections::BTreeMap<String, String>>,
}

#[async_trait]
impl ListResource<ProviderData> for VmLicenses {
    fn type_name(&self) -> &'static str {
        "rhelazure_vm_license"
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            "Every RHEL virtual machine of the subscription, whoever made it: Marketplace pay-as-you-go images, \
             Red Hat gold images (Cloud Access), VMs converted with Azure Hybrid Benefit, and custom images carrying \
             a RHEL plan or license. Each result's name says how it is billed.",
            vec![
                Attr::string("resource_group_name").optional().description("Only the VMs of this resource group."),
                Attr::string_map("tags").optional().description("Only the VMs carrying all these tags with these values."),
            ],
        )
    }

    async fn list(
        &self,
        ctx: &Ctx<ProviderData>,
        query: &ListQuery<'_>,
        out: &mut ListResults<'_>,
    ) -> Result<(), Diagnostics> {
        let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
        let dl = std::time::Instant::now() + TIMEOUT;
        let filter: ListConfig = model::read(query.config);
        let path = match filter.resource_group_name.as_deref() {
            Some(rg) => arm.sub_path(&format!(
                "/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines"
            )),
            None => arm.sub_path("/providers/Microsoft.Compute/virtualMachines"),
        };
        let wanted_tags: Vec<(String, String)> = filter.tags.into_iter().flatten().collect();
        // Power states come from a second, status-only list of the whole
        // subscription, read only when the objects are wanted.
        let mut power: std::collections::HashMap<String, String> = Default::default();
        if query.include_resource {
            let status_path =
                arm.sub_path("/providers/Microsoft.Compute/virtualMachines?statusOnly=true");
            let mut page = arm.first_page(&status_path, API, dl).await;
            loop {
                let (items, next) = match page {
                    Ok(p) => p,
                    Err(e) => {
                        return Err(arm_diag("list the virtual machines' power states", &e).into())
                    }
                };
                for item in &items {
                    if let Some(vm) = VirtualMachine::from_json(item) {
                        if let (Some(p), Some(id)) = (vm.power_state(), &vm.id) {
                            power.insert(id.to_ascii_lowercase(), p);
                        }
                    }
                }
                let Some(next) = next else { break };
                page = arm.next_page(&next, dl).await;
            }
        }
        let mut page = arm.first_page(&path, API, dl).await;
        loop {
            let (items, next) = match page {
                Ok(p) => p,
                Err(e) => return Err(arm_diag("list the virtual machines", &e).into()),
            };
            for item in &items {
                let Some(vm) = VirtualMachine::from_json(item) else {
                    continue;
                };
                let tags = vm.tags.as_ref();
                if !wanted_tags
                    .iter()
                    .all(|(k, v)| tags.and_then(|t| t.get(k.as_str())) == Some(v))
                {
                    continue;
                }
                let id = vm.id.as_deref().unwrap_or_default();
                let Some(rhel) = RhelVm::of(&vm) else {
                    continue;
                };
                let mut state = listed_state(&vm);
                if let Some(p) = power.get(&id.to_ascii_lowercase()) {
                    state.power_state = Some(p.clone());
                }
                let group = crate::arm::segment_after(id, "resourceGroups").unwrap_or_default();
                let version = rhel
                    .rhel_version
                    .as_deref()
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default();
                let display_name = format!(
                    "{} ({group}): RHEL{version}, {}",
                    vm.name.as_deref().unwrap_or_default(),
                    rhel.billing_model
                );
                if !out
                    .send(Found {
                        state: state.to_value(),
                        display_name,
                    })
                    .await
                {
                    return Ok(());
                }
            }
            match next {
                Some(next) if out.wants_more() => page = arm.next_page(&next, dl).await,
                _ => return Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_has_the_schemas_attributes() {
        assert_eq!(
            model::mismatch::<ListConfig>(&crate::framework::ListResource::schema(&VmLicenses)),
            None
        );
        assert_eq!(model::mismatch::<Model>(&VmLicense.schema()), None);
    }

    #[test]
    fn an_applied_state_keeps_the_planned_license_type() {
        let vm = VirtualMachine::from_json(&serde_json::json!({
            "id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/v",
            "properties": {
                "licenseType": "RHEL_BASE",
                "storageProfile": { "imageReference": {
                    "publisher": "RedHat", "offer": "RHEL", "sku": "9-lvm-gen2", "version": "latest" } }
            }
        }))
        .unwrap();
        let planned = Model {
            virtual_machine_id: vm.id.clone(),
            license_type: Some("RHEL_BYOS".into()),
            ..Default::default()
        };
        let applied = Model::of(&applied_state(&planned.to_value(), &vm));
        assert_eq!(applied.license_type.as_deref(), Some("RHEL_BYOS"));
        assert_eq!(applied.billing_model.as_deref(), Some("PAYG"));
        assert_eq!(listed_state(&vm).license_type.as_deref(), Some("RHEL_BASE"));
    }
}
