//! `rhelazure_host_register` (an action, Terraform 1.14+): registers an
//! existing RHEL VM (made by anything) with Red Hat, with an organization
//! and an activation key, through Run Command. The key is write-only: it
//! goes to the VM as a protected Run Command parameter (which Azure never
//! returns), never into the script, the plan or the state. A VM already
//! registered with that organization is left as it is, with a message; one
//! registered with another organization is an error (unregister it first).

use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::common::need;
use super::host_target::{check_target, running_rhel_vm};
use super::run_command::run_command_reporting;
use crate::framework::{
    model, Action, ActionProgress, Attr, Ctx, Diagnostic, Diagnostics, ResourceSchema, Value,
};
use crate::provider::ProviderData;
use crate::{attr_name, attr_path};

pub struct HostRegister;

const TIMEOUT: Duration = Duration::from_secs(900);

/// The action's configuration. No `Debug`: it carries the activation key.
#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct Model {
    virtual_machine_id: Option<String>,
    organization: Option<String>,
    activation_key_wo: Option<String>,
}

/// The organization a `subscription-manager identity` output names.
fn registered_org(identity: &str) -> Option<&str> {
    identity
        .lines()
        .find_map(|l| l.trim().strip_prefix("org ID:"))
        .map(str::trim)
}

#[async_trait]
impl Action<ProviderData> for HostRegister {
    fn type_name(&self) -> &'static str {
        "rhelazure_host_register"
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            "Registers an existing RHEL virtual machine with Red Hat (an organization and an activation key) through \
             Run Command, whatever made the VM. Already registered with that organization: nothing is done.",
            vec![
                Attr::string("virtual_machine_id").required().description("The RHEL VM's ARM id; it must be running."),
                Attr::string("organization").required().description("The Red Hat organization id to register with."),
                Attr::string("activation_key_wo").required().sensitive().write_only().description("The activation key's name. Write-only: it reaches the VM as a protected Run Command parameter and is kept nowhere."),
            ],
        )
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        // Configuration values may be unknown here: read by name, not decoded.
        if config
            .attr(attr_name!(Model.organization))
            .as_str()
            .is_some_and(|o| o.is_empty() || !o.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            diags.push(
                Diagnostic::error(
                    "Invalid organization",
                    "A Red Hat organization id is letters and digits (for example `11009103`).",
                )
                .at(attr_path!(Model.organization)),
            );
        }
    }

    async fn plan(&self, ctx: &Ctx<ProviderData>, config: &Value) -> Diagnostics {
        check_target(ctx, config).await
    }

    async fn invoke(
        &self,
        ctx: &Ctx<ProviderData>,
        config: &Value,
        progress: &ActionProgress,
    ) -> Diagnostics {
        let arm = match need(ctx.data().and_then(|d| d.arm()), None) {
            Ok(a) => a,
            Err(d) => return d,
        };
        let deadline = Instant::now() + TIMEOUT;
        let config: Model = model::read(config);
        let vm = match running_rhel_vm(arm, config.virtual_machine_id.as_deref(), deadline).await {
            Ok(vm) => vm,
            Err(d) => return d.into(),
        };
        let org = config.organization.as_deref().unwrap_or_default();
        let report = |line: String| progress.report(line);
        // Registered already? `identity` fails on a system that is not.
        let identity = run_command_reporting(
            arm,
            &vm.id,
            "rhelazure-identity",
            "set -eu\nsubscription-manager identity || true\n",
            vm.arm64,
            deadline,
            &report,
            &[],
        )
        .await;
        let identity = match identity {
            Ok(out) => out,
            Err(d) => return d.into(),
        };
        match registered_org(&identity) {
            Some(o) if o == org => {
                progress.report(format!(
                    "{} is already registered with organization {org}: nothing to do",
                    vm.id
                ));
                return Diagnostics::new();
            }
            Some(other) => {
                return Diagnostic::error(
                    "Registered with another organization",
                    format!("{} is registered with organization {other}, not {org}. Unregister it first (`subscription-manager unregister`), then run this action again.", vm.id),
                )
                .at(attr_path!(Model.organization))
                .into();
            }
            None => {}
        }
        let key = config.activation_key_wo.as_deref().unwrap_or_default();
        let script = format!(
            "set -eu\nsubscription-manager register --org={org} --activationkey=\"$RH_ACTIVATION_KEY\"\n"
        );
        match run_command_reporting(
            arm,
            &vm.id,
            "rhelazure-register",
            &script,
            vm.arm64,
            deadline,
            &report,
            &[("RH_ACTIVATION_KEY", key)],
        )
        .await
        {
            Ok(_) => {
                progress.report(format!("{} registered with organization {org}", vm.id));
                Diagnostics::new()
            }
            Err(d) => d.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_has_the_schemas_attributes() {
        assert_eq!(model::mismatch::<Model>(&HostRegister.schema()), None);
    }

    #[test]
    fn the_organization_of_an_identity() {
        let out = "system identity: 0b0b\nname: host\norg name: 11009103\norg ID: 11009103\n";
        assert_eq!(super::registered_org(out), Some("11009103"));
        assert_eq!(super::registered_org(""), None);
    }
}
