//! In-place update of `rhelazure_atomic_host`: tags, size and license through
//! ARM; containers, the bootc image and update timers through Run Command.

use super::*;
use crate::arm::models::compute::{
    HardwareProfile, VirtualMachine, VirtualMachineProperties, VirtualMachineSizeTypes,
    VirtualMachineUpdate,
};
use crate::arm::models::network::TagsObject;

pub(super) async fn update(
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
    let mut patch = VirtualMachineUpdate::default();
    if planned.attr("tags") != prior.attr("tags") {
        let mut tags = tags_of(planned);
        // PATCH replaces all tags: keep the creation marker.
        if let Ok(Some(vm)) = arm.get_as::<VirtualMachine>(&vm_id, COMPUTE_API, dl).await {
            if let Some(m) = vm.tag(MARKER_TAG) {
                tags.insert(MARKER_TAG.to_string(), m.to_string());
            }
        }
        patch.tags = Some(tags);
    }
    let mut warnings = Diagnostics::new();
    if planned.attr("license_type") != prior.attr("license_type") {
        let lt = opt_str(planned, "license_type").unwrap_or_else(|| "NONE".into());
        if lt == "RHEL_BYOS" {
            let sub = crate::arm::subscription_in(&vm_id).unwrap_or_default();
            match crate::resources::hybrid_benefit::check_license_type_byos(ctx.data(), &sub, dl)
                .await
            {
                Ok(w) => warnings.extend(w),
                Err(d) => return fail(state, d),
            }
        }
        patch.properties = Some(VirtualMachineProperties {
            license_type: Some(lt),
            ..Default::default()
        });
    }
    if patch != VirtualMachineUpdate::default() {
        if let Err(e) = arm
            .run_with(Method::Patch, &vm_id, COMPUTE_API, &patch, dl)
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
                    let body = TagsObject {
                        tags: Some(tags_of(planned)),
                    };
                    if let Err(e) = arm
                        .run_with(Method::Patch, &id, NETWORK_API, &body, dl)
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
        let body = VirtualMachineUpdate {
            properties: Some(VirtualMachineProperties {
                hardware_profile: Some(HardwareProfile {
                    vm_size: Some(VirtualMachineSizeTypes::from(size.as_str())),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        match arm
            .run_with(Method::Patch, &vm_id, COMPUTE_API, &body, dl)
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
                    arm.run_with(Method::Patch, &vm_id, COMPUTE_API, &body, dl)
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
                    arm_diag(&format!("resize to {size}"), &e).at(AttributePath::attrs(&["size"])),
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
