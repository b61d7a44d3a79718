//! The VM a host action runs on, checked before anything runs: it exists,
//! it runs, it is RHEL, and which Run Command path fits its architecture
//! (managed Run Command, or the v1 action on Arm64, where Azure offers no
//! managed one). Shared by `rhelazure_host_update` and
//! `rhelazure_host_register`.

use std::time::{Duration, Instant};

use super::atomic_host::size_is_arm64;
use super::common::{arm_diag, need};
use super::rhel_vm::{RhelVm, VirtualMachine};
use crate::arm::ArmClient;
use crate::framework::{Ctx, Diagnostic, Diagnostics, Value};
use crate::provider::ProviderData;
use crate::{attr_name, attr_path};

const COMPUTE_API: &str = "2024-03-01";

/// A running RHEL VM, as an action targets it.
pub struct TargetVm {
    pub id: String,
    pub rhel: RhelVm,
    pub arm64: bool,
}

/// The part every host action's configuration shares: the VM it runs on.
#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Target {
    pub virtual_machine_id: Option<String>,
}

fn at_vm(d: Diagnostic) -> Diagnostic {
    d.at(attr_path!(Target.virtual_machine_id))
}

/// The VM an action's `virtual_machine_id` names, or a diagnostic at that
/// attribute saying why the action cannot run on it.
pub async fn running_rhel_vm(
    arm: &ArmClient,
    virtual_machine_id: Option<&str>,
    deadline: Instant,
) -> Result<TargetVm, Diagnostic> {
    let id = virtual_machine_id.unwrap_or_default().to_string();
    let vm = arm
        .get(&format!("{id}?$expand=instanceView"), COMPUTE_API, deadline)
        .await
        .map_err(|e| at_vm(arm_diag("read the virtual machine", &e)))?
        .ok_or_else(|| {
            at_vm(Diagnostic::error(
                "No such virtual machine",
                format!("{id} does not exist."),
            ))
        })?;
    let vm = VirtualMachine::from_json(&vm).unwrap_or_default();
    let power = vm.power_state().unwrap_or_else(|| "unknown".into());
    if power != "running" {
        return Err(at_vm(Diagnostic::error(
            "The virtual machine is not running",
            format!("{id} is {power}; Run Command needs a running VM. Start it first."),
        )));
    }
    let rhel = RhelVm::of(&vm).ok_or_else(|| {
        at_vm(Diagnostic::error(
            "Not a RHEL virtual machine",
            format!("Nothing in {id}'s model says RHEL (a Red Hat image, a Red Hat plan or a RHEL license type), so this action does not run on it."),
        ))
    })?;
    let arm64 = vm
        .vm_size()
        .as_deref()
        .and_then(size_is_arm64)
        .unwrap_or(false)
        || rhel.architecture.as_deref() == Some("Arm64");
    Ok(TargetVm { id, rhel, arm64 })
}

/// The plan-time check of a host action: the VM can take it. Left to the
/// invocation when the VM is not known yet or the provider not configured.
pub async fn check_target(ctx: &Ctx<ProviderData>, config: &Value) -> Diagnostics {
    // At plan time the id may be unknown: read by name, not decoded.
    let vm_id = config.attr(attr_name!(Target.virtual_machine_id));
    if vm_id.is_unknown() || !ctx.is_configured() {
        return Diagnostics::new();
    }
    let arm = match need(ctx.data().and_then(|d| d.arm()), None) {
        Ok(a) => a,
        Err(d) => return d,
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    match running_rhel_vm(arm, vm_id.as_str(), deadline).await {
        Ok(_) => Diagnostics::new(),
        Err(d) => d.into(),
    }
}
