//! `rhelazure_host_update` (an action, Terraform 1.14+): updates one RHEL
//! VM in place through Run Command, whatever made it: `dnf_upgrade` for
//! package-mode hosts, `bootc_upgrade` / `bootc_switch` for image-mode
//! (Atomic) hosts, with a reboot policy. Progress (the command's state and
//! the last line of its output) streams to Terraform while it runs; a
//! failure ends with the exit code and the tail of stderr.
//!
//! Invoked with `terraform apply -invoke=action.rhelazure_host_update.NAME`
//! or from a resource's `lifecycle { action_trigger { ... } }`.

use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::common::need;
use super::host_target::{check_target, running_rhel_vm};
use super::run_command::run_command_reporting;
use crate::framework::validators::{duration, one_of, parse_duration};
use crate::framework::{
    model, Action, ActionProgress, Attr, Ctx, Diagnostic, Diagnostics, ResourceSchema, Value,
};
use crate::provider::ProviderData;
use crate::{attr_name, attr_path};

pub struct HostUpdate;

const MODES: [&str; 3] = ["dnf_upgrade", "bootc_upgrade", "bootc_switch"];
const REBOOTS: [&str; 3] = ["if_needed", "always", "never"];
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

/// The script for a mode and reboot policy. bootc stages the new image and
/// boots into it on the next reboot (`--apply` reboots at once when there is
/// a new one); dnf replaces packages in place, and `needs-restarting -r`
/// says whether the kernel or core libraries call for a reboot.
fn script(mode: &str, image: Option<&str>, reboot: &str) -> String {
    let apply = if reboot == "never" { "" } else { " --apply" };
    let body = match mode {
        "dnf_upgrade" => {
            let after = match reboot {
                "always" => "systemctl reboot\n",
                "if_needed" => "if ! dnf needs-restarting -r; then systemctl reboot; fi\n",
                _ => "",
            };
            format!("dnf -y upgrade\n{after}")
        }
        "bootc_upgrade" => format!("bootc upgrade{apply}\n"),
        _ => format!(
            "bootc switch{apply} '{}'\n",
            image.unwrap_or_default().replace('\'', "")
        ),
    };
    format!("set -eu\n{body}")
}

/// The action's configuration.
#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct Model {
    virtual_machine_id: Option<String>,
    mode: Option<String>,
    image: Option<String>,
    reboot: Option<String>,
    timeout: Option<String>,
}

impl Model {
    fn timeout(&self) -> Duration {
        self.timeout
            .as_deref()
            .and_then(|t| parse_duration(t).ok())
            .unwrap_or(DEFAULT_TIMEOUT)
    }
}

#[async_trait]
impl Action<ProviderData> for HostUpdate {
    fn type_name(&self) -> &'static str {
        "rhelazure_host_update"
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            "Updates a RHEL virtual machine in place through Run Command (whatever made it): `dnf_upgrade` for \
             package-mode hosts, `bootc_upgrade` or `bootc_switch` for image-mode hosts. Progress streams while it \
             runs; a failure reports the exit code and the tail of stderr.",
            vec![
                Attr::string("virtual_machine_id").required().description("The RHEL VM's ARM id; it must be running."),
                Attr::string("mode").required().validate(one_of(&MODES)).description("What to update: packages (`dnf_upgrade`), the booted image to its latest (`bootc_upgrade`), or to another image (`bootc_switch`, with `image`)."),
                Attr::string("image").optional().description("The bootc image reference to switch to (`bootc_switch` only)."),
                Attr::string("reboot").optional().validate(one_of(&REBOOTS)).description("`if_needed` (default: when dnf says the update needs it, or when bootc has a new image), `always`, or `never` (bootc stages the image for the next boot)."),
                Attr::string("timeout").optional().validate(duration()).description("How long the update may run (default `30m`; Run Command stops a script after 90 minutes)."),
            ],
        )
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        // Configuration values may be unknown here: read by name, not decoded.
        let mode = config.attr(attr_name!(Model.mode)).as_str();
        let image = config.attr(attr_name!(Model.image));
        if mode == Some("bootc_switch") && image.is_null() {
            diags.push(
                Diagnostic::error(
                    "Missing image",
                    "`bootc_switch` needs the `image` to switch to.",
                )
                .at(attr_path!(Model.image)),
            );
        }
        if mode.is_some_and(|m| m != "bootc_switch") && !image.is_null() && !image.is_unknown() {
            diags.push(
                Diagnostic::error("Unexpected image", "`image` is for `bootc_switch` only.")
                    .at(attr_path!(Model.image)),
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
        let config: Model = model::read(config);
        let deadline = Instant::now() + config.timeout();
        let vm = match running_rhel_vm(arm, config.virtual_machine_id.as_deref(), deadline).await {
            Ok(vm) => vm,
            Err(d) => return d.into(),
        };
        let mode = config.mode.as_deref().unwrap_or("dnf_upgrade");
        let reboot = config.reboot.as_deref().unwrap_or("if_needed");
        let script = script(mode, config.image.as_deref(), reboot);
        progress.report(format!(
            "{mode} on {} (RHEL{}, {})",
            vm.id,
            vm.rhel
                .rhel_version
                .as_deref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default(),
            if vm.arm64 {
                "Arm64: action runCommand"
            } else {
                "managed Run Command"
            }
        ));
        let report = |line: String| progress.report(line);
        match run_command_reporting(
            arm,
            &vm.id,
            "rhelazure-host-update",
            &script,
            vm.arm64,
            deadline,
            &report,
            &[],
        )
        .await
        {
            Ok(out) => {
                let last = out
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("done");
                progress.report(format!("{mode} finished: {last}"));
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
        assert_eq!(model::mismatch::<Model>(&HostUpdate.schema()), None);
    }

    #[test]
    fn scripts_follow_the_reboot_policy() {
        assert_eq!(
            script("bootc_upgrade", None, "never"),
            "set -eu\nbootc upgrade\n"
        );
        assert_eq!(
            script("bootc_upgrade", None, "if_needed"),
            "set -eu\nbootc upgrade --apply\n"
        );
        assert_eq!(
            script("bootc_switch", Some("quay.io/me/os:2"), "always"),
            "set -eu\nbootc switch --apply 'quay.io/me/os:2'\n"
        );
        assert!(script("dnf_upgrade", None, "if_needed").contains("needs-restarting -r"));
        assert!(!script("dnf_upgrade", None, "never").contains("reboot"));
    }
}
