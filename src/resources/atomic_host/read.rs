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
    let mut s = state.clone();
    let dl = deadline(state, "read", TIMEOUT);
    match refresh(arm, &mut s, dl).await {
        Ok(true) => {
            if s.attr("detect_host_drift").as_bool() == Some(true) {
                let mut warnings = Diagnostics::new();
                read_host_drift(arm, &mut s, dl, &mut warnings).await;
                ctx.warn(warnings);
            }
            Ok(Some((s, private.clone())))
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
    let mut diags = Diagnostics::new();
    let vm_id = opt_str(prior, "id");
    if let Some(vm) = &vm_id {
        if !prior.attr("registration").is_null() {
            if let Err(d) = run_command(
                arm,
                vm,
                "rhelazure-unregister",
                host_render::UNREGISTER_SCRIPT,
                on_arm64(prior),
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
    for (k, api) in [
        ("os_disk_id", DISK_API),
        ("network_interface_id", NETWORK_API),
        ("public_ip_id", NETWORK_API),
    ] {
        if let Some(id) = opt_str(prior, k) {
            match arm.run(Method::Delete, &id, api, None, dl).await {
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
    let text = |t: Option<&str>| t.map(|x| Value::from(x.to_string())).unwrap_or(Value::Null);
    let os_profile = vm.props().and_then(|p| p.os_profile.as_ref());
    let mut v = Value::Object(Default::default());
    set(&mut v, "id", Value::from(id.to_string()));
    set(&mut v, "name", text(vm.name.as_deref()));
    set(&mut v, "resource_group_name", Value::from(p[4].to_string()));
    set(&mut v, "location", text(vm.location.as_deref()));
    let subnet = ipc.and_then(|c| c.subnet.as_ref()?.id.as_deref());
    set(&mut v, "subnet_id", text(subnet));
    let admin = os_profile.and_then(|o| o.admin_username.as_deref());
    set(&mut v, "admin_username", text(admin));
    let keys: Vec<Value> = os_profile
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
        .map(|k| text(k.key_data.as_deref()))
        .collect();
    set(&mut v, "ssh_public_keys", Value::List(keys));
    let img = vm.image_reference().cloned().unwrap_or_default();
    if img.id.is_some() {
        set(&mut v, "source_image_id", text(img.id.as_deref()));
    } else {
        let fields = [
            ("publisher", &img.publisher),
            ("offer", &img.offer),
            ("sku", &img.sku),
            ("version", &img.version),
        ];
        let image = fields
            .into_iter()
            .map(|(k, x)| (k.to_string(), text(x.as_deref())))
            .collect();
        set(&mut v, "marketplace_image", Value::Object(image));
    }
    let os = vm
        .props()
        .and_then(|p| p.storage_profile.as_ref()?.os_disk.as_ref());
    let size_gb = os
        .and_then(|d| d.disk_size_gb)
        .map(|n| Value::from(i64::from(n)))
        .unwrap_or(Value::Null);
    let storage = os
        .and_then(|d| d.managed_disk.as_ref()?.storage_account_type.as_ref())
        .map(|t| Value::from(t.to_string()))
        .unwrap_or(Value::Null);
    let disk = [("size_gb", size_gb), ("storage_account_type", storage)];
    set(
        &mut v,
        "os_disk",
        Value::Object(disk.into_iter().map(|(k, x)| (k.to_string(), x)).collect()),
    );
    let has_public_ip =
        ipc.is_some_and(|c| c.public_ip_address.as_ref().is_some_and(|p| p.id.is_some()));
    set(&mut v, "public_ip", Value::Bool(has_public_ip));
    set(&mut v, "auto_update", Value::Bool(true));
    set(&mut v, "detect_host_drift", Value::Bool(false));
    Ok(v)
}

/// Reads the VM, NIC and public IP into `s`; false when the VM is gone.
pub(super) async fn refresh(
    arm: &ArmClient,
    s: &mut Value,
    dl: Instant,
) -> Result<bool, Diagnostic> {
    let Some(vm_id) = opt_str(s, "id") else {
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
    set_str(s, "vm_id", props.and_then(|p| p.vm_id.as_deref()));
    set_str(s, "size", vm.vm_size().as_deref());
    set_str(s, "os_disk_id", vm.os_disk_id());
    let lt = props
        .and_then(|p| p.license_type.as_deref())
        .filter(|l| *l != "NONE");
    set_str(s, "license_type", lt);
    let mut tags = vm.tags.clone().unwrap_or_default();
    tags.remove(MARKER_TAG);
    let tags = match tags.is_empty() {
        false => Value::Map(tags.into_iter().map(|(k, v)| (k, Value::from(v))).collect()),
        // Configured as `{}`: keep it, not null, so the plan stays empty.
        true if s.attr("tags").as_object().is_some_and(|m| m.is_empty()) => s.attr("tags").clone(),
        true => Value::Null,
    };
    set(s, "tags", tags);
    let plan = match &vm.plan {
        Some(p) => Value::Object(
            [
                ("publisher", &p.publisher),
                ("product", &p.product),
                ("name", &p.name),
            ]
            .into_iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    v.clone().map(Value::from).unwrap_or(Value::Null),
                )
            })
            .collect(),
        ),
        None => Value::Null,
    };
    set(s, "plan", plan);
    let nic_id = vm.first_nic_id().map(str::to_string);
    set_str(s, "network_interface_id", nic_id.as_deref());
    let mut pip_id = None;
    if let Some(nic_id) = nic_id {
        if let Some(nic) = arm
            .get_as::<NetworkInterface>(&nic_id, NETWORK_API, dl)
            .await
            .map_err(|e| arm_diag("read the network interface", &e))?
        {
            let ipc = nic.first_ip_configuration();
            set_str(
                s,
                "private_ip_address",
                ipc.and_then(|c| c.private_ip_address.as_deref()),
            );
            pip_id = ipc.and_then(|c| c.public_ip_address.as_ref()?.id.clone());
        }
    }
    set_str(s, "public_ip_id", pip_id.as_deref());
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
    set_str(s, "public_ip_address", address.as_deref());
    Ok(true)
}

/// Sets `booted_image_digest` from what the host reports (after a bootc
/// switch, or when a new host is watched for drift).
pub(super) async fn read_booted_digest(
    arm: &ArmClient,
    s: &mut Value,
    dl: Instant,
) -> Result<(), Diagnostic> {
    let vm_id = opt_str(s, "id").unwrap_or_default();
    let status = host_render::status_script(&HostSpec::default());
    let out = run_command(arm, &vm_id, "rhelazure-status", &status, on_arm64(s), dl).await?;
    let report = host_render::parse_status(&out);
    set_str(s, "booted_image_digest", report.booted_digest.as_deref());
    Ok(())
}

/// Reads what the host runs into `s` (`detect_host_drift`): the booted
/// bootc image, and drops from `containers` every unit whose file is missing
/// or differs from what this provider wrote, so the plan rewrites it.
async fn read_host_drift(arm: &ArmClient, s: &mut Value, dl: Instant, diags: &mut Diagnostics) {
    let vm_id = opt_str(s, "id").unwrap_or_default();
    let spec = host_spec(s);
    let out = match run_command(
        arm,
        &vm_id,
        "rhelazure-status",
        &host_render::status_script(&spec),
        on_arm64(s),
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
        set_str(s, "booted_image_digest", report.booted_digest.as_deref());
        if spec.bootc_image.is_some() && report.booted_image != spec.bootc_image {
            diags.warning(
                "Host drift: booted image",
                format!(
                    "{vm_id} boots {} instead of {}; the plan switches it back.",
                    report.booted_image.as_deref().unwrap_or("no bootc image"),
                    spec.bootc_image.as_deref().unwrap_or_default()
                ),
            );
            set_str(s, "bootc_image", report.booted_image.as_deref());
        }
    }
    let Some(list) = s.attr("containers").as_elements().map(<[Value]>::to_vec) else {
        return;
    };
    let mut kept = Vec::new();
    let mut drifted = Vec::new();
    for (c, v) in spec.containers().iter().zip(list) {
        let path = host_render::unit_path(c);
        let want = sha256_hex(host_render::quadlet(c).as_bytes());
        match report.unit_sha256.get(&path) {
            Some(h) if *h == want => kept.push(v),
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
    set(s, "containers", Value::List(kept));
}
