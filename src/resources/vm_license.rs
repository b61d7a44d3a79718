//! `rhelazure_vm_license`: Azure Hybrid Benefit for any RHEL VM (ours or one
//! managed elsewhere): which RHEL license the VM is billed under. Moving a VM
//! from a bring-your-own-subscription or custom image to a pay-as-you-go type
//! first installs the `AHBForRHEL` extension, as Azure requires. Destroy sets
//! the license type back to `NONE`.

use std::time::Duration;

use async_trait::async_trait;
use azure_core::http::Method;
use serde_json::json;

use super::common::{arm_diag, deadline, need, opt_str};
use crate::framework::validators::one_of;
use crate::framework::{
    timeouts, ApplyOutcome, Attr, AttributePath, Ctx, Diagnostic, Diagnostics, Private, Resource,
    ResourceSchema, Value,
};
use crate::provider::ProviderData;

pub struct VmLicense;

const API: &str = "2024-03-01";
const TIMEOUT: Duration = Duration::from_secs(1800);
pub const LICENSE_TYPES: [&str; 7] = [
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

/// Applies a license type, installing AHBForRHEL first when Azure needs it.
async fn apply(data: &ProviderData, v: &Value, op: &str) -> Result<(), Diagnostic> {
    let arm = data.arm()?;
    let dl = deadline(v, op, TIMEOUT);
    let vm_id = opt_str(v, "virtual_machine_id").unwrap_or_default();
    let lt = opt_str(v, "license_type").unwrap_or_default();
    let vm = arm
        .get(&vm_id, API, dl)
        .await
        .map_err(|e| arm_diag("read the virtual machine", &e))?
        .ok_or_else(|| {
            Diagnostic::error(
                "No such virtual machine",
                format!("{vm_id} does not exist."),
            )
            .at(AttributePath::attrs(&["virtual_machine_id"]))
        })?;
    let image = &vm["properties"]["storageProfile"]["imageReference"];
    let byos_or_custom = image["id"].is_string()
        || image["offer"]
            .as_str()
            .is_some_and(|o| o.eq_ignore_ascii_case("rhel-byos"));
    if lt != "RHEL_BYOS" && byos_or_custom {
        let ext = json!({
            "location": vm["location"],
            "properties": { "publisher": "Microsoft.Azure.AzureHybridBenefit", "type": "AHBForRHEL", "typeHandlerVersion": "1.0", "autoUpgradeMinorVersion": true },
        });
        arm.run(
            Method::Put,
            &format!("{vm_id}/extensions/AHBForRHEL"),
            API,
            Some(&ext),
            dl,
        )
        .await
        .map_err(|e| arm_diag("install the AHBForRHEL extension", &e))?;
    }
    arm.run(
        Method::Patch,
        &vm_id,
        API,
        Some(&json!({ "properties": { "licenseType": lt } })),
        dl,
    )
    .await
    .map_err(|e| arm_diag(&format!("set the license type to {lt}"), &e))?;
    Ok(())
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
                Attr::string("license_type").required().validate(one_of(&LICENSE_TYPES)).description("The license type (changes in place)."),
            ],
        )
        .blocks(vec![timeouts::block(&["create", "update", "delete"])])
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Some(id) = config.attr("virtual_machine_id").as_str() {
            if !valid_vm_id(id) {
                diags.push(Diagnostic::error("Invalid virtual machine id", format!("Expected /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachines/<name>; got {id:?}.")).at(AttributePath::attrs(&["virtual_machine_id"])));
            }
        }
    }

    async fn create(
        &self,
        ctx: &Ctx<ProviderData>,
        planned: &Value,
        _config: &Value,
    ) -> ApplyOutcome {
        let data = match ctx.data() {
            Ok(d) => d,
            Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
        };
        match apply(data, planned, "create").await {
            Ok(()) => {
                let mut s = planned.clone();
                if let Some(m) = s.as_object_mut() {
                    m.insert("id".into(), planned.attr("virtual_machine_id").clone());
                }
                ApplyOutcome::ok(s)
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
        let vm_id = opt_str(state, "virtual_machine_id").unwrap_or_default();
        let Some(vm) = arm
            .get(&vm_id, API, deadline(state, "read", TIMEOUT))
            .await
            .map_err(|e| Diagnostics::from(arm_diag("read the virtual machine", &e)))?
        else {
            return Ok(None);
        };
        let lt = vm["properties"]["licenseType"].as_str().unwrap_or("NONE");
        if lt == "NONE" {
            // Hybrid Benefit removed out of band: gone, re-created by the next apply.
            return Ok(None);
        }
        let mut s = state.clone();
        if let Some(m) = s.as_object_mut() {
            m.insert("license_type".into(), Value::from(lt.to_string()));
            m.insert("id".into(), Value::from(vm_id));
        }
        Ok(Some((s, private.clone())))
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
            Ok(()) => ApplyOutcome {
                state: planned.clone(),
                private: private.clone(),
                diagnostics: Diagnostics::new(),
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
        let vm_id = opt_str(prior, "virtual_machine_id").unwrap_or_default();
        match arm
            .run(
                Method::Patch,
                &vm_id,
                API,
                Some(&json!({ "properties": { "licenseType": "NONE" } })),
                deadline(prior, "delete", TIMEOUT),
            )
            .await
        {
            Ok(_) => {
                let mut d = Diagnostics::new();
                if prior.attr("license_type").as_str() != Some("RHEL_BYOS") {
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
        Ok(Value::Object(
            [("id", id), ("virtual_machine_id", id)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), Value::from(v)))
                .collect(),
        ))
    }

    fn identity(&self) -> Option<&dyn crate::framework::IdentityDef> {
        Some(&IDENTITY)
    }
}
