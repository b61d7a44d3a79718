//! POST actions on resources (instanceView, start, deallocate, listKeys,
//! runCommand, ...) and the simulated guest work behind Run Command.

use super::*;

/// POST actions and sub-resources (instanceView, start, deallocate, listKeys, ...).
pub fn action(
    emu: &Emulator,
    req: &Req,
    sub: &str,
    id: &str,
    spec: &'static TypeSpec,
    action: &str,
) -> Result<Response, ArmError> {
    let key = lower(id);
    let mut st = emu.state();
    let r = st
        .subscription(sub)
        .expect("checked")
        .resources
        .get(&key)
        .cloned()
        .ok_or_else(|| not_found(spec, id))?;
    let a = lower(action);
    match (spec.key, a.as_str(), req.method.clone()) {
        ("microsoft.compute/virtualmachines", "instanceview", Method::GET) => {
            Ok(json_response(200, &instance_view(&r)))
        }
        (
            "microsoft.compute/virtualmachines",
            "start" | "deallocate" | "poweroff" | "restart",
            Method::POST,
        ) => {
            if r.op.is_some() {
                return Err(ArmError::new(409, "OperationNotAllowed", format!("Operation '{action}' is not allowed on VM '{}' since another operation is in progress.", name_of(id))));
            }
            let location = r.body["location"].as_str().unwrap_or("").to_string();
            let fail = crate::faults::take_lro_failure(emu, req);
            let op = new_operation(
                &mut st,
                emu,
                sub,
                "Microsoft.Compute",
                &location,
                &key,
                OpKind::Action(a.clone()),
                fail,
            );
            if let Some(res) = st
                .subscription_mut(sub)
                .expect("checked")
                .resources
                .get_mut(&key)
            {
                res.op = Some(op.clone());
            }
            let mut resp = empty_response(202);
            location_headers(
                &mut resp,
                emu,
                sub,
                "Microsoft.Compute",
                &location,
                &op,
                Lro::Both,
            );
            Ok(resp)
        }
        ("microsoft.compute/virtualmachines", "runcommand", Method::POST) => {
            let body = req.json_body()?;
            if body["commandId"] != "RunShellScript" {
                return Err(invalid(
                    "commandId",
                    "The local cloud supports commandId 'RunShellScript'.",
                ));
            }
            let script = body["script"]
                .as_array()
                .map(|lines| {
                    lines
                        .iter()
                        .filter_map(Json::as_str)
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default();
            let env: Vec<(String, String)> = body["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| {
                    Some((
                        p["name"].as_str()?.to_string(),
                        p["value"].as_str()?.to_string(),
                    ))
                })
                .collect();
            require_running(
                &r,
                "The operation requires the VM to be running (or set to run).",
            )?;
            let location = r.body["location"].as_str().unwrap_or("").to_string();
            // v1 Run Command works on Arm64 too: no managed-command size check here.
            let outcome = {
                let s = st.subscription_mut(sub).expect("checked");
                let vm = s.resources.get_mut(&key).expect("exists");
                if !vm.body["_guest"].is_object() {
                    vm.body["_guest"] = crate::arm::guest::new_guest(None);
                }
                crate::arm::guest::run(
                    &mut vm.body["_guest"],
                    &crate::arm::guest::with_environment(&script, &env),
                )
            };
            st.run_log.push(json!({ "vm": id, "name": "RunShellScript", "script": script, "exit_code": outcome.exit_code, "output": outcome.stdout, "error": outcome.stderr, "time": crate::http::rfc3339(crate::http::now_ms()) }));
            let op = new_operation(
                &mut st,
                emu,
                sub,
                "Microsoft.Compute",
                &location,
                &key,
                OpKind::Action("runcommand".into()),
                None,
            );
            if let Some(o) = st.operations.get_mut(&op) {
                o.result = Some(json!({ "value": [{
                    "code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded",
                    "message": format!("Enable succeeded: \n[stdout]\n{}\n[stderr]\n{}", crate::arm::guest::tail(&outcome.stdout), crate::arm::guest::tail(&outcome.stderr)),
                }] }));
            }
            let mut resp = empty_response(202);
            location_headers(
                &mut resp,
                emu,
                sub,
                "Microsoft.Compute",
                &location,
                &op,
                Lro::Both,
            );
            Ok(resp)
        }
        ("microsoft.storage/storageaccounts", "listkeys", Method::POST) => Ok(json_response(
            200,
            &json!({ "keys": [
                { "keyName": "key1", "value": AZURITE_KEY, "permissions": "FULL", "creationTime": crate::http::rfc3339(crate::http::now_ms()) },
                { "keyName": "key2", "value": AZURITE_KEY, "permissions": "FULL", "creationTime": crate::http::rfc3339(crate::http::now_ms()) },
            ] }),
        )),
        ("microsoft.storage/storageaccounts", "listaccountsas", Method::POST) => Ok(json_response(
            200,
            &crate::arm::sas::account_sas(&req.json_body()?)?,
        )),
        ("microsoft.storage/storageaccounts", "listservicesas", Method::POST) => Ok(json_response(
            200,
            &crate::arm::sas::service_sas(&req.json_body()?, &name_of(id))?,
        )),
        _ => Err(ArmError::bad_request(
            "InvalidResourceType",
            format!(
                "{} has no action '{action}' for {} in the local cloud.",
                spec.display, req.method
            ),
        )),
    }
}

pub(super) fn instance_view(r: &Resource) -> Json {
    let power = r.body["_power"].as_str().unwrap_or("running");
    json!({
        "computerName": r.body["properties"]["osProfile"]["computerName"],
        "osName": "redhat", "osVersion": r.body["_osVersion"],
        "vmAgent": { "vmAgentVersion": "2.10.0.8", "statuses": [{ "code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Ready" }] },
        "statuses": [
            { "code": format!("ProvisioningState/{}", r.body["properties"]["provisioningState"].as_str().unwrap_or("succeeded").to_ascii_lowercase()), "level": "Info" },
            { "code": format!("PowerState/{power}"), "level": "Info", "displayStatus": format!("VM {power}") },
        ],
    })
}

/// Applies a finished POST action.
pub fn apply_action(r: &mut Resource, action: &str) {
    let power = match action {
        "start" | "restart" => "running",
        "deallocate" => "deallocated",
        "poweroff" => "stopped",
        _ => return,
    };
    r.body["_power"] = json!(power);
}

/// Runs a script in the simulated guest of the VM at `vm_id`, honouring a
/// failure queued through the control API, and records it.
/// Besides the outcome, the execution state a queued failure asks for
/// (`TimedOut`, `Canceled`), if any.
pub(super) fn run_on_vm(
    st: &mut crate::state::State,
    s: &mut crate::state::Subscription,
    vm_id: &str,
    name: &str,
    script: &str,
    env: &[(String, String)],
) -> Result<(crate::arm::guest::Outcome, Option<String>), ArmError> {
    let vm_key = lower(vm_id);
    let vm = s.resources.get_mut(&vm_key).ok_or_else(|| ArmError::new(404, "ParentResourceNotFound", format!("Can not perform requested operation on nested resource. Parent resource '{}' not found.", name_of(vm_id))))?;
    let size_name = vm.body["properties"]["hardwareProfile"]["vmSize"]
        .as_str()
        .unwrap_or("")
        .to_string();
    if size(&size_name).is_some_and(|s| s.2 == "Arm64") {
        return Err(ArmError::new(409, "OperationNotAllowed", "Managed Run Command is not supported on Arm64 virtual machines. Use the action runCommand (RunShellScript) instead."));
    }
    // Managed Run Command is an extension of the VM (RunCommandHandlerLinux).
    require_running(vm, EXTENSIONS_NEED_A_RUNNING_VM)?;
    let vm_name = lower(&name_of(vm_id));
    let forced = st.run_failures.iter().position(|f| {
        f["vm"]
            .as_str()
            .map(lower)
            .is_some_and(|v| v == "*" || v == vm_name || v == vm_key)
    });
    let forced = forced.map(|i| st.run_failures.remove(i));
    let forced_state = forced
        .as_ref()
        .and_then(|f| f["execution_state"].as_str().map(str::to_string));
    let vm = s.resources.get_mut(&vm_key).expect("checked above");
    let outcome = match forced {
        Some(f) => crate::arm::guest::Outcome {
            exit_code: f["exit_code"].as_i64().unwrap_or(1),
            stdout: f["stdout"].as_str().unwrap_or("").to_string(),
            stderr: f["stderr"].as_str().unwrap_or("").to_string(),
        },
        None => {
            if !vm.body["_guest"].is_object() {
                vm.body["_guest"] = crate::arm::guest::new_guest(None);
            }
            // Parameters are expanded for the run only: the log keeps the
            // script as sent, so protected values never reach it.
            crate::arm::guest::run(
                &mut vm.body["_guest"],
                &crate::arm::guest::with_environment(script, env),
            )
        }
    };
    st.run_log.push(json!({
        "vm": vm_id, "name": name, "script": script, "exit_code": outcome.exit_code,
        "output": outcome.stdout, "error": outcome.stderr, "time": crate::http::rfc3339(crate::http::now_ms()),
    }));
    Ok((outcome, forced_state))
}

/// Azure's refusal to add, change or remove an extension (Run Command's
/// managed form included) on a VM that is not running, as Azure words it.
pub(super) const EXTENSIONS_NEED_A_RUNNING_VM: &str =
    "Cannot modify extensions in the VM when the VM is not running.";

/// 409 `OperationNotAllowed` with `message` unless the VM is running.
pub(super) fn require_running(vm: &Resource, message: &str) -> Result<(), ArmError> {
    if vm.body["_power"].as_str().unwrap_or("running") == "running" {
        return Ok(());
    }
    Err(ArmError::new(409, "OperationNotAllowed", message))
}

/// A managed Run Command's instance view at `now`: `Pending` for the first
/// half of the operation delay, `Running` until the script's end, then its
/// result (`Succeeded`, `Failed`, or a queued `TimedOut` / `Canceled`).
pub(super) fn run_command_view(r: &Resource, now: u64) -> Json {
    let at = |k: &str| r.body[k].as_u64().unwrap_or(0);
    if now < at("_pending_until") {
        json!({ "executionState": "Pending" })
    } else if now < at("_ends") {
        json!({ "executionState": "Running", "startTime": r.body["_result"]["startTime"] })
    } else {
        r.body["_result"].clone()
    }
}
