//! Scripts run on a VM through Azure Run Command: managed Run Command
//! (script, exit code and output kept apart), or, on Arm64 sizes where Azure
//! does not offer it, the v1 action `runCommand` (RunShellScript). Shared by
//! the Atomic host's in-place updates and the host actions, which also
//! report progress while the script runs.

use std::time::{Duration, Instant};

use azure_core::http::Method;

use super::common::arm_diag;
use crate::arm::models::compute::{
    RunCommandInput, RunCommandInputParameter, RunCommandResult, VirtualMachine,
    VirtualMachineRunCommand, VirtualMachineRunCommandInstanceView,
    VirtualMachineRunCommandProperties, VirtualMachineRunCommandScriptSource,
};
use crate::arm::ArmClient;
use crate::framework::Diagnostic;

const COMPUTE_API: &str = "2024-03-01";

/// Runs a script on the host and returns its stdout. Managed Run Command
/// (script, exit code and output kept apart), or on Arm64 sizes, where Azure
/// does not offer it, the action `runCommand` (RunShellScript). A failing
/// script becomes a diagnostic with its exit code and stderr tail.
pub async fn run_command(
    arm: &ArmClient,
    vm_id: &str,
    name: &str,
    script: &str,
    arm64: bool,
    dl: Instant,
) -> Result<String, Diagnostic> {
    run_command_reporting(arm, vm_id, name, script, arm64, dl, &|_| {}, &[]).await
}

/// [`run_command`], telling `progress` what the command is doing while it
/// runs (its execution state and the tail of its output), as often as it is
/// polled (the v1 action reports only its end), and giving the script
/// `protected` (name, value) pairs as environment variables: managed Run
/// Command's protected parameters, which Azure never returns, so secrets stay
/// out of the script and out of what ARM keeps.
#[allow(clippy::too_many_arguments)]
pub async fn run_command_reporting(
    arm: &ArmClient,
    vm_id: &str,
    name: &str,
    script: &str,
    arm64: bool,
    dl: Instant,
    progress: &(dyn Fn(String) + Sync),
    protected: &[(&str, &str)],
) -> Result<String, Diagnostic> {
    let parameters: Vec<RunCommandInputParameter> = protected
        .iter()
        .map(|(name, value)| RunCommandInputParameter {
            name: Some(name.to_string()),
            value: Some(value.to_string()),
        })
        .collect();
    if arm64 {
        progress(format!("{name}: running (action runCommand, Arm64 host)"));
        return run_action(arm, vm_id, name, script, &parameters, dl).await;
    }
    let path = format!("{vm_id}/runCommands/{name}");
    let vm = arm
        .get_as::<VirtualMachine>(vm_id, COMPUTE_API, dl)
        .await
        .map_err(|e| arm_diag("read the virtual machine", &e))?
        .unwrap_or_default();
    // What is left of the caller's deadline, within Run Command's own limit
    // of 90 minutes per script.
    let timeout = dl
        .saturating_duration_since(Instant::now())
        .as_secs()
        .clamp(60, 5400);
    // Asynchronous: the PUT returns at once and the instance view below
    // shows the command's progress until it ends.
    let body = VirtualMachineRunCommand {
        location: vm.location,
        properties: Some(VirtualMachineRunCommandProperties {
            source: Some(VirtualMachineRunCommandScriptSource {
                script: Some(script.to_string()),
                ..Default::default()
            }),
            protected_parameters: Some(parameters),
            async_execution: Some(true),
            timeout_in_seconds: i32::try_from(timeout).ok(),
            ..Default::default()
        }),
        ..Default::default()
    };
    arm.run_with(Method::Put, &path, COMPUTE_API, &body, dl)
        .await
        .map_err(|e| arm_diag("run a command on the host", &e))?;
    // Scripts take seconds to minutes: poll soon, then less often.
    let mut wait = Duration::from_millis(500);
    let mut stateless = 0;
    let view = loop {
        let r = arm
            .get_as::<VirtualMachineRunCommand>(
                &format!("{path}?$expand=instanceView"),
                COMPUTE_API,
                dl,
            )
            .await
            .map_err(|e| arm_diag("read the command's result", &e))?
            .unwrap_or_default();
        let view = r
            .properties
            .and_then(|p| p.instance_view)
            .unwrap_or_default();
        let st = state_of(&view);
        let st = st.as_str();
        let last = view
            .output
            .as_deref()
            .and_then(|o| o.lines().rev().find(|l| !l.trim().is_empty()))
            .unwrap_or("");
        progress(format!(
            "{name}: {}{}",
            if st.is_empty() { "Unknown" } else { st },
            if last.is_empty() {
                String::new()
            } else {
                format!(": {last}")
            }
        ));
        stateless = if matches!(st, "" | "Unknown") {
            stateless + 1
        } else {
            0
        };
        let timed_out = Instant::now() + wait > dl;
        match execution_step(st, stateless, timed_out) {
            Step::Wait => {}
            Step::Ended => break view,
            Step::Gave(why) => {
                let _ = arm.run(Method::Delete, &path, COMPUTE_API, None, dl).await;
                return Err(Diagnostic::error(
                    "Command on the host did not finish",
                    format!("Run Command {name} on {vm_id}: {why}"),
                ));
            }
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    };
    let _ = arm.run(Method::Delete, &path, COMPUTE_API, None, dl).await;
    let stdout = view.output.clone().unwrap_or_default();
    let exit_code = view.exit_code.unwrap_or(0);
    if state_of(&view) == "Succeeded" && exit_code == 0 {
        return Ok(stdout);
    }
    Err(Diagnostic::error(
        "Command on the host failed",
        format!(
            "Run Command {name} on {vm_id} ended {} with exit code {}{}.\n\nstderr (tail):\n{}\n\nstdout (tail):\n{stdout}",
            view.execution_state.as_ref().map_or("unknown", |s| s.as_str()),
            view.exit_code.map_or("null".to_string(), |c| c.to_string()),
            view.execution_message
                .as_deref()
                .filter(|m| !m.is_empty())
                .map(|m| format!(" ({m})"))
                .unwrap_or_default(),
            view.error.as_deref().unwrap_or(""),
        ),
    ))
}

/// The execution state as Azure spells it; empty when there is none.
fn state_of(view: &VirtualMachineRunCommandInstanceView) -> String {
    view.execution_state
        .as_ref()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default()
}

/// What to do after reading a managed Run Command's execution state.
#[derive(Debug, PartialEq)]
enum Step {
    Wait,
    Ended,
    /// Stop waiting, for the reason given.
    Gave(String),
}

/// How many reads in a row without an execution state (none, or `Unknown`)
/// are waited out before giving up, rather than spinning to the deadline.
const STATELESS_READS: u32 = 5;

/// `Pending` and `Running` are waited for; `Succeeded`, `Failed`, `TimedOut`
/// and `Canceled` end it (the caller reads which); a missing state is
/// waited out only a few reads; the deadline ends any wait.
fn execution_step(state: &str, stateless_reads: u32, deadline_passed: bool) -> Step {
    match state {
        "Succeeded" | "Failed" | "TimedOut" | "Canceled" => Step::Ended,
        _ if deadline_passed => Step::Gave(format!(
            "still {} when the timeout ended; it may go on running on the host.",
            if state.is_empty() {
                "without an execution state"
            } else {
                state
            }
        )),
        "" | "Unknown" if stateless_reads >= STATELESS_READS => Step::Gave(format!(
            "Azure reported no execution state in {stateless_reads} reads in a row; \
             the VM agent may not be ready (see the VM's boot diagnostics)."
        )),
        _ => Step::Wait,
    }
}

/// The last line every script run through the action prints: the action
/// reports no exit code, and every script stops at its first failure
/// (`set -eu`), so a missing marker means the script failed.
const DONE_MARKER: &str = "rhelazure: done";

/// Run Command the v1 way (POST `runCommand`, RunShellScript): the result
/// is one message with `[stdout]` and `[stderr]` sections.
async fn run_action(
    arm: &ArmClient,
    vm_id: &str,
    name: &str,
    script: &str,
    parameters: &[RunCommandInputParameter],
    dl: Instant,
) -> Result<String, Diagnostic> {
    let mut lines: Vec<&str> = script.lines().collect();
    let marker = format!("echo '{DONE_MARKER}'");
    lines.push(&marker);
    // The v1 action keeps no resource, so its parameters are not stored.
    let body = RunCommandInput {
        command_id: Some("RunShellScript".into()),
        script: Some(lines.iter().map(|l| l.to_string()).collect()),
        parameters: Some(parameters.to_vec()),
    };
    let what = "run a command on the host (action runCommand)";
    let answer = arm
        .run_with(
            Method::Post,
            &format!("{vm_id}/runCommand"),
            COMPUTE_API,
            &body,
            dl,
        )
        .await
        .map_err(|e| arm_diag(what, &e))?
        .unwrap_or_default();
    let result: RunCommandResult = serde_json::from_value(answer).unwrap_or_default();
    let message = result
        .value
        .as_ref()
        .and_then(|v| v.first())
        .and_then(|s| s.message.as_deref())
        .unwrap_or("");
    let (stdout, stderr) = match message.split_once("[stdout]") {
        Some((_, rest)) => match rest.split_once("[stderr]") {
            Some((o, e)) => (o.trim_matches('\n'), e.trim_matches('\n')),
            None => (rest.trim_matches('\n'), ""),
        },
        None => ("", message),
    };
    if stdout.lines().any(|l| l.trim() == DONE_MARKER) {
        return Ok(stdout.to_string());
    }
    Err(Diagnostic::error(
        "Command on the host failed",
        format!("Run Command {name} (action runCommand, Arm64 host) on {vm_id} stopped before its end.\n\nstderr (tail):\n{stderr}\n\nstdout (tail):\n{stdout}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::{execution_step, Step, STATELESS_READS};

    #[test]
    fn run_command_states_end_the_wait_or_not() {
        for s in ["Pending", "Running"] {
            assert_eq!(execution_step(s, 0, false), Step::Wait);
            assert!(matches!(execution_step(s, 0, true), Step::Gave(w) if w.contains(s)));
        }
        for s in ["Succeeded", "Failed", "TimedOut", "Canceled"] {
            assert_eq!(execution_step(s, 0, false), Step::Ended);
            assert_eq!(
                execution_step(s, 0, true),
                Step::Ended,
                "a result beats the deadline"
            );
        }
        assert_eq!(execution_step("", 1, false), Step::Wait);
        assert_eq!(
            execution_step("Unknown", STATELESS_READS - 1, false),
            Step::Wait
        );
        assert!(matches!(
            execution_step("", STATELESS_READS, false),
            Step::Gave(w) if w.contains("no execution state")
        ));
    }
}
