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
    let planned_value = planned;
    let (prior, planned) = (Model::of(prior), Model::of(planned));
    let vm_id = prior.id.clone().unwrap_or_default();
    let mut state = prior.clone();
    let fail = |state: Model, d: Diagnostic| ApplyOutcome {
        state: state.to_value(),
        private: private.clone(),
        diagnostics: d.into(),
    };

    // Tags, license type: one PATCH.
    let mut patch = VirtualMachineUpdate::default();
    let tags_change = planned.tags != prior.tags;
    if tags_change {
        let mut tags = planned.tags();
        // PATCH replaces all tags: keep the creation marker.
        if let Ok(Some(vm)) = arm.get_as::<VirtualMachine>(&vm_id, COMPUTE_API, dl).await {
            if let Some(m) = vm.tag(MARKER_TAG) {
                tags.insert(MARKER_TAG.to_string(), m.to_string());
            }
        }
        patch.tags = Some(tags);
    }
    let mut warnings = Diagnostics::new();
    if planned.license_type != prior.license_type {
        let lt = planned
            .license_type
            .clone()
            .unwrap_or_else(|| "NONE".into());
        if lt == "RHEL_BYOS" {
            let sub = crate::arm::subscription_in(&vm_id).unwrap_or_default();
            match crate::resources::hybrid_benefit::check_license_type_byos(
                ctx.data(),
                &sub,
                attr_path!(Model.license_type),
                dl,
            )
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
        state.tags = planned.tags.clone();
        state.license_type = planned.license_type.clone();
        if tags_change {
            let network = [&prior.network_interface_id, &prior.public_ip_id];
            for id in network.into_iter().flatten() {
                let body = TagsObject {
                    tags: Some(planned.tags()),
                };
                if let Err(e) = arm
                    .run_with(Method::Patch, id, NETWORK_API, &body, dl)
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

    // Size: in place, deallocating when the running cluster cannot host it.
    if planned.size != prior.size {
        let size = planned.size.clone().unwrap_or_default();
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
                            .at(attr_path!(Model.size)),
                    );
                }
            }
            Err(e) => {
                return fail(
                    state,
                    arm_diag(&format!("resize to {size}"), &e).at(attr_path!(Model.size)),
                )
            }
        }
        state.size = planned.size.clone();
    }

    // What runs inside: one Run Command with only the differences.
    let (old, new) = (prior.spec(), planned.spec());
    if (old.containers(), &old.bootc_image, old.auto_update)
        != (new.containers(), &new.bootc_image, new.auto_update)
    {
        let script = host_render::update_script(&old, &new);
        if let Err(d) = run_command(
            arm,
            &vm_id,
            "rhelazure-update",
            &script,
            planned.on_arm64(),
            dl,
        )
        .await
        {
            return fail(state, d);
        }
        state.containers = planned.containers.clone();
        state.bootc_image = planned.bootc_image.clone();
        state.auto_update = planned.auto_update;
        if new.bootc_image != old.bootc_image {
            if let Err(d) = read_booted_digest(arm, &mut state, dl).await {
                return fail(state, d);
            }
        }
    }
    // Everything else is as planned (known values); refresh fills the rest.
    let mut state = Model::of(&crate::framework::plan::known_or(
        planned_value,
        &state.to_value(),
    ));
    if let Err(d) = refresh(arm, &mut state, dl).await {
        return fail(state, d);
    }
    ApplyOutcome {
        state: state.to_value(),
        private: private.clone(),
        diagnostics: warnings,
    }
}
