//! From Azure to state for `rhelazure_atomic_host`: read (with optional
//! in-guest drift), import by VM id, and delete with nothing left behind.

use super::*;
use crate::arm::models::compute::VirtualMachine;
use crate::arm::models::network::{NetworkInterface, PublicIPAddress};

pub(super) async fn read(
    ctx: &Ctx<ProviderData>,
    state: &Value,
    private: &Private,
) -> Result<Option<(Value, Private)>, Diagnostics> {
    let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
    let dl = deadline(state, "read", TIMEOUT);
    let mut s = Model::of(state);
    match refresh(arm, &mut s, dl).await {
        Ok(true) => {
            if s.detect_host_drift == Some(true) {
                let mut warnings = Diagnostics::new();
                read_host_drift(arm, &mut s, dl, &mut warnings).await;
                ctx.warn(warnings);
            }
            Ok(Some((s.to_value(), private.clone())))
        }
        Ok(false) => Ok(None),
        Err(d) => Err(d.into()),
    }
}

pub(super) async fn delete(
    ctx: &Ctx<ProviderData>,
    prior: &Value,
    _private: &Private,
) -> Diagnostics {
    let arm = match need(ctx.data().and_then(|d| d.arm()), None) {
        Ok(a) => a,
        Err(d) => return d,
    };
    let dl = deadline(prior, "delete", TIMEOUT);
    let prior = Model::of(prior);
    let mut diags = Diagnostics::new();
    if let Some(vm) = &prior.id {
        if prior.registration.is_some() {
            if let Err(d) = run_command(
                arm,
                vm,
                "rhelazure-unregister",
                host_render::UNREGISTER_SCRIPT,
                prior.on_arm64(),
                dl,
            )
            .await
            {
                diags.warning("Not unregistered", format!("The host could not leave Red Hat's inventory before deletion ({}); remove it at console.redhat.com.", d.summary));
            }
        }
        match arm.run(Method::Delete, vm, COMPUTE_API, None, dl).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return arm_diag("delete the virtual machine", &e).into(),
        }
    }
    // Cascades normally removed these; make sure, in dependency order.
    for (id, api) in [
        (&prior.os_disk_id, DISK_API),
        (&prior.network_interface_id, NETWORK_API),
        (&prior.public_ip_id, NETWORK_API),
    ] {
        if let Some(id) = id {
            match arm.run(Method::Delete, id, api, None, dl).await {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return arm_diag(&format!("delete {id}"), &e).into(),
            }
        }
    }
    diags
}

/// Imported by the VM id. Azure never returns customData: registration
/// reads back null and the configured one is adopted without replacement;
/// containers plan an in-place rewrite of their units.
pub(super) async fn import(ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
    let p: Vec<&str> = id.split('/').collect();
    if !(p.len() == 9 && p[7].eq_ignore_ascii_case("virtualMachines")) {
        return Err(Diagnostic::error("Invalid import id", format!("Import a host by its virtual machine id (/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachines/<name>); got {id:?}.")).into());
    }
    let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
    let dl = Instant::now() + TIMEOUT;
    let vm = arm
        .get_as::<VirtualMachine>(id, COMPUTE_API, dl)
        .await
        .map_err(|e| Diagnostics::from(arm_diag("read the virtual machine", &e)))?
        .ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "No such host",
                format!("{id} does not exist."),
            ))
        })?;
    let nic = match vm.first_nic_id() {
        Some(nic_id) => arm
            .get_as::<NetworkInterface>(nic_id, NETWORK_API, dl)
            .await
            .map_err(|e| Diagnostics::from(arm_diag("read the network interface", &e)))?
            .unwrap_or_default(),
        None => NetworkInterface::default(),
    };
    let ipc = nic.first_ip_configuration();
    let os_profile = vm.props().and_then(|p| p.os_profile.as_ref());
    let img = vm.image_reference().cloned().unwrap_or_default();
    let os = vm
        .props()
        .and_then(|p| p.storage_profile.as_ref()?.os_disk.as_ref());
    let imported = Model {
        id: Some(id.to_string()),
        name: vm.name.clone(),
        resource_group_name: Some(p[4].to_string()),
        location: vm.location.clone(),
        subnet_id: ipc.and_then(|c| c.subnet.as_ref()?.id.clone()),
        admin_username: os_profile.and_then(|o| o.admin_username.clone()),
        ssh_public_keys: Some(
            os_profile
                .and_then(|o| {
                    o.linux_configuration
                        .as_ref()?
                        .ssh
                        .as_ref()?
                        .public_keys
                        .as_ref()
                })
                .into_iter()
                .flatten()
                .filter_map(|k| k.key_data.clone())
                .collect(),
        ),
        marketplace_image: img.id.is_none().then(|| MarketplaceImage {
            publisher: img.publisher.clone(),
            offer: img.offer.clone(),
            sku: img.sku.clone(),
            version: img.version.clone(),
        }),
        source_image_id: img.id.clone(),
        os_disk: Some(OsDisk {
            size_gb: os.and_then(|d| d.disk_size_gb).map(i64::from),
            storage_account_type: os
                .and_then(|d| d.managed_disk.as_ref()?.storage_account_type.as_ref())
                .map(|t| t.to_string()),
        }),
        public_ip: Some(
            ipc.is_some_and(|c| c.public_ip_address.as_ref().is_some_and(|p| p.id.is_some())),
        ),
        auto_update: Some(true),
        detect_host_drift: Some(false),
        secure_boot: Some(true),
        vtpm: Some(true),
        ..Default::default()
    };
    Ok(imported.to_value())
}

/// Reads the VM, NIC and public IP into `s`; false when the VM is gone.
pub(super) async fn refresh(
    arm: &ArmClient,
    s: &mut Model,
    dl: Instant,
) -> Result<bool, Diagnostic> {
    let Some(vm_id) = s.id.clone() else {
        return Ok(false);
    };
    let Some(vm) = arm
        .get_as::<VirtualMachine>(&vm_id, COMPUTE_API, dl)
        .await
        .map_err(|e| arm_diag("read the virtual machine", &e))?
    else {
        return Ok(false);
    };
    let props = vm.props();
    s.vm_id = props.and_then(|p| p.vm_id.clone());
    s.size = vm.vm_size();
    s.os_disk_id = vm.os_disk_id().map(str::to_string);
    s.license_type = props
        .and_then(|p| p.license_type.clone())
        .filter(|l| l != "NONE");
    s.os_disk_security_encryption_type = props
        .and_then(|p| p.storage_profile.as_ref())
        .and_then(|p| p.os_disk.as_ref())
        .and_then(|d| d.managed_disk.as_ref())
        .and_then(|m| m.security_profile.as_ref())
        .and_then(|p| p.security_encryption_type.as_ref())
        .map(|e| e.to_string());
    let security = props.and_then(|p| p.security_profile.as_ref());
    match security.and_then(|p| p.security_type.as_ref()) {
        Some(t) => {
            s.security_type = Some(t.to_string());
            let uefi = security
                .and_then(|p| p.uefi_settings.clone())
                .unwrap_or_default();
            s.secure_boot = uefi.secure_boot_enabled.or(s.secure_boot);
            s.vtpm = uefi.v_tpm_enabled.or(s.vtpm);
        }
        None => {
            // Without Trusted Launch these mean nothing: a state from before
            // they existed reads as their defaults, not as a change.
            s.security_type = Some(STANDARD.to_string());
            s.secure_boot = s.secure_boot.or(Some(true));
            s.vtpm = s.vtpm.or(Some(true));
        }
    }
    let mut tags = vm.tags.clone().unwrap_or_default();
    tags.remove(MARKER_TAG);
    // Configured as `{}`: keep it, not null, so the plan stays empty.
    let configured_empty = s.tags.as_ref().is_some_and(Tags::is_empty);
    s.tags = (!tags.is_empty() || configured_empty).then_some(tags);
    s.plan = vm.plan.as_ref().map(|p| PurchasePlan {
        publisher: p.publisher.clone(),
        product: p.product.clone(),
        name: p.name.clone(),
    });
    s.network_interface_id = vm.first_nic_id().map(str::to_string);
    let mut pip_id = None;
    if let Some(nic_id) = &s.network_interface_id {
        if let Some(nic) = arm
            .get_as::<NetworkInterface>(nic_id, NETWORK_API, dl)
            .await
            .map_err(|e| arm_diag("read the network interface", &e))?
        {
            let ipc = nic.first_ip_configuration();
            s.private_ip_address = ipc.and_then(|c| c.private_ip_address.clone());
            pip_id = ipc.and_then(|c| c.public_ip_address.as_ref()?.id.clone());
        }
    }
    let mut address = None;
    if let Some(p) = &pip_id {
        if let Some(pip) = arm
            .get_as::<PublicIPAddress>(p, NETWORK_API, dl)
            .await
            .map_err(|e| arm_diag("read the public IP", &e))?
        {
            address = pip.properties.and_then(|p| p.ip_address);
        }
    }
    s.public_ip_id = pip_id;
    s.public_ip_address = address;
    Ok(true)
}

/// Sets `booted_image_digest` from what the host reports (after a bootc
/// switch, or when a new host is watched for drift).
pub(super) async fn read_booted_digest(
    arm: &ArmClient,
    s: &mut Model,
    dl: Instant,
) -> Result<(), Diagnostic> {
    let vm_id = s.id.clone().unwrap_or_default();
    let status = host_render::status_script(&HostSpec::default());
    let out = run_command(arm, &vm_id, "rhelazure-status", &status, s.on_arm64(), dl).await?;
    let report = host_render::parse_status(&out);
    s.booted_image_digest = report.booted_digest;
    Ok(())
}

/// Reads what the host runs into `s` (`detect_host_drift`): the booted
/// bootc image, and drops from `containers` every unit whose file is missing
/// or differs from what this provider wrote, so the plan rewrites it.
async fn read_host_drift(arm: &ArmClient, s: &mut Model, dl: Instant, diags: &mut Diagnostics) {
    let vm_id = s.id.clone().unwrap_or_default();
    let spec = s.spec();
    let out = match run_command(
        arm,
        &vm_id,
        "rhelazure-status",
        &host_render::status_script(&spec),
        s.on_arm64(),
        dl,
    )
    .await
    {
        Ok(out) => out,
        Err(d) => {
            diags.warning(
                "Host drift not checked",
                format!("detect_host_drift could not read {vm_id} ({}: {}). A stopped host cannot run commands; start it and refresh.", d.summary, d.detail),
            );
            return;
        }
    };
    let report = host_render::parse_status(&out);
    if report.bootc_known {
        s.booted_image_digest = report.booted_digest.clone();
        if spec.bootc_image.is_some() && report.booted_image != spec.bootc_image {
            diags.warning(
                "Host drift: booted image",
                format!(
                    "{vm_id} boots {} instead of {}; the plan switches it back.",
                    report.booted_image.as_deref().unwrap_or("no bootc image"),
                    spec.bootc_image.as_deref().unwrap_or_default()
                ),
            );
            s.bootc_image = report.booted_image.clone();
        }
    }
    let Some(list) = s.containers.take() else {
        return;
    };
    let mut kept = Vec::new();
    let mut drifted = Vec::new();
    for c in list {
        let path = host_render::unit_path(&c);
        let want = sha256_hex(host_render::quadlet(&c).as_bytes());
        match report.unit_sha256.get(&path) {
            Some(h) if *h == want => kept.push(c),
            Some(_) => drifted.push(format!("{path} differs from what Terraform wrote")),
            None => drifted.push(format!("{path} is missing")),
        }
    }
    if !drifted.is_empty() {
        // One warning: Terraform folds repeated summaries into "similar warnings".
        diags.warning(
            "Host drift: container units",
            format!(
                "On {vm_id}:\n  {}\nThe plan rewrites these units and restarts their containers.",
                drifted.join("\n  ")
            ),
        );
    }
    s.containers = Some(kept);
}
