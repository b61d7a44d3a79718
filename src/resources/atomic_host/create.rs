//! Create of `rhelazure_atomic_host`: public IP, NIC and VM, each id in state
//! as soon as it exists; an interrupted create is adopted by the next apply.

use super::*;

pub(super) async fn create(
    ctx: &Ctx<ProviderData>,
    planned: &Value,
    config: &Value,
) -> ApplyOutcome {
    let arm = match ctx.data().and_then(|d| d.arm()) {
        Ok(a) => &host_arm(a, planned.attr("subnet_id").as_str()),
        Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
    };
    let dl = deadline(planned, "create", CREATE_TIMEOUT);
    let sub = arm.subscription_id().to_string();
    let g = |k: &str| opt_str(planned, k).unwrap_or_default();
    let (rg, name, loc) = (g("resource_group_name"), g("name"), g("location"));
    let vm_id = vm_path(&sub, &rg, &name);
    let mut state = planned.clone();
    let tags = tags_json(planned);

    // A VM of that name: ours from an interrupted create (adopted), or not
    // ours (refused rather than adopted blindly).
    let marker = creation_marker(planned);
    let nic_id = net_path(&sub, &rg, "networkInterfaces", &format!("{name}-nic"));
    match arm.get(&vm_id, COMPUTE_API, dl).await {
        Ok(Some(vm)) => {
            let nic_of_vm = vm["properties"]["networkProfile"]["networkInterfaces"][0]["id"]
                .as_str()
                .unwrap_or_default();
            if vm["tags"][MARKER_TAG] == json!(marker) && nic_of_vm.eq_ignore_ascii_case(&nic_id) {
                return adopt_interrupted(arm, state, &vm_id, dl).await;
            }
            return ApplyOutcome::failed(Value::Null, Diagnostic::error("Host already exists", format!("{vm_id} already exists and was not created by this configuration. Import it (terraform import with this id) or choose another name.")).at(AttributePath::attrs(&["name"])).into());
        }
        Ok(None) => {}
        Err(e) => {
            return ApplyOutcome::failed(
                Value::Null,
                arm_diag(&format!("check the resource group {rg}"), &e).into(),
            )
        }
    }

    // RHEL_BYOS only where Red Hat grants the subscription Cloud Access.
    let mut warnings = Diagnostics::new();
    if planned.attr("license_type").as_str() == Some("RHEL_BYOS") {
        match crate::resources::hybrid_benefit::check_license_type_byos(ctx.data(), &sub, dl).await
        {
            Ok(w) => warnings.extend(w),
            Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
        }
    }

    let mut pip_id = None;
    if planned.attr("public_ip").as_bool() == Some(true) {
        let id = net_path(&sub, &rg, "publicIPAddresses", &format!("{name}-ip"));
        let body = json!({ "location": loc, "tags": tags, "sku": { "name": "Standard" }, "properties": { "publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4" } });
        if let Err(e) = arm
            .run(Method::Put, &id, NETWORK_API, Some(&body), dl)
            .await
        {
            return ApplyOutcome::failed(Value::Null, arm_diag("create the public IP", &e).into());
        }
        set_str(&mut state, "public_ip_id", Some(&id));
        pip_id = Some(id);
    } else {
        set_str(&mut state, "public_ip_id", None);
    }
    // From here on something exists: every failure returns the state so far.
    let mut ipc = json!({ "subnet": { "id": g("subnet_id") }, "privateIPAllocationMethod": "Dynamic", "primary": true });
    if let Some(p) = &pip_id {
        ipc["publicIPAddress"] = json!({ "id": p, "properties": { "deleteOption": "Delete" } });
    }
    let nic = json!({ "location": loc, "tags": tags, "properties": { "ipConfigurations": [{ "name": "primary", "properties": ipc }] } });
    if let Err(e) = arm
        .run(Method::Put, &nic_id, NETWORK_API, Some(&nic), dl)
        .await
    {
        return ApplyOutcome::failed(
            settled(state),
            arm_diag("create the network interface", &e)
                .at(AttributePath::attrs(&["subnet_id"]))
                .into(),
        );
    }
    set_str(&mut state, "network_interface_id", Some(&nic_id));

    // The hash covers what state holds: without a write-only key, which
    // must leave no trace there, not even a hash one could test guesses on.
    let recorded = host_render::cloud_config(&host_spec(planned));
    set_str(
        &mut state,
        "first_boot_sha256",
        Some(&sha256_hex(recorded.as_bytes())),
    );
    let first_boot = host_render::cloud_config(&first_boot_spec(planned, config));
    // Read from the host later (after a switch, or by detect_host_drift):
    // right after create, cloud-init may still be running.
    set_str(&mut state, "booted_image_digest", None);
    let mut vm_tags = tags.clone();
    vm_tags[MARKER_TAG] = json!(marker);
    let body = vm_body(planned, &loc, &nic_id, &vm_tags, &first_boot);
    let put = arm
        .run(Method::Put, &vm_id, COMPUTE_API, Some(&body), dl)
        .await;
    // The VM may exist even when its creation failed (provisioningState Failed):
    // record it so the replace that follows deletes it.
    let exists = matches!(arm.get(&vm_id, COMPUTE_API, dl).await, Ok(Some(_)));
    if exists {
        set_str(&mut state, "id", Some(&vm_id));
    }
    if let Err(e) = put {
        let d = arm_diag(&format!("create the virtual machine {name}"), &e);
        if exists {
            // Its OS disk too, so the replacement deletes everything.
            let _ = refresh(arm, &mut state, dl).await;
        }
        return ApplyOutcome::failed(
            settled(if exists {
                state
            } else {
                state_without_vm(state)
            }),
            d.into(),
        );
    }
    match refresh(arm, &mut state, dl).await {
        Ok(true) if planned.attr("detect_host_drift").as_bool() == Some(true) => {
            // Only the digest: drift right after create would contradict the plan.
            match read_booted_digest(arm, &mut state, dl).await {
                Ok(()) => ApplyOutcome::failed(state, warnings),
                Err(d) => ApplyOutcome::failed(settled(state), d.into()),
            }
        }
        Ok(true) => ApplyOutcome::failed(state, warnings),
        Ok(false) => ApplyOutcome::failed(
            settled(state),
            Diagnostic::error(
                "Host vanished",
                format!("{vm_id} was created but cannot be read back."),
            )
            .into(),
        ),
        Err(d) => ApplyOutcome::failed(settled(state), d.into()),
    }
}

/// Takes over the VM of a create that was interrupted after its PUT: waits
/// for its provisioning to end, then tracks it (tainted if it failed, so
async fn adopt_interrupted(
    arm: &ArmClient,
    mut state: Value,
    vm_id: &str,
    dl: Instant,
) -> ApplyOutcome {
    tracing::info!(target: "rhelazure.resources", vm = %vm_id, "adopting the host of an interrupted create");
    set_str(&mut state, "id", Some(vm_id));
    set(&mut state, "first_boot_sha256", Value::Null);
    set_str(&mut state, "booted_image_digest", None);
    let mut last_report = Instant::now();
    let provisioning = loop {
        let vm = match arm.get(vm_id, COMPUTE_API, dl).await {
            Ok(Some(vm)) => vm,
            Ok(None) => {
                return ApplyOutcome::failed(
                    settled(state_without_vm(state)),
                    Diagnostic::error(
                        "Host vanished",
                        format!("{vm_id} disappeared while being adopted; apply again."),
                    )
                    .into(),
                )
            }
            Err(e) => {
                return ApplyOutcome::failed(
                    settled(state),
                    arm_diag("read the virtual machine", &e).into(),
                )
            }
        };
        let p = vm["properties"]["provisioningState"]
            .as_str()
            .unwrap_or("Succeeded")
            .to_string();
        if !matches!(p.as_str(), "Creating" | "Updating") || Instant::now() >= dl {
            break p;
        }
        if last_report.elapsed() >= Duration::from_secs(30) {
            tracing::info!(target: "rhelazure.resources", vm = %vm_id, state = %p, "still waiting for the interrupted create");
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    if let Err(d) = refresh(arm, &mut state, dl).await {
        return ApplyOutcome::failed(settled(state), d.into());
    }
    if provisioning != "Succeeded" {
        return ApplyOutcome::failed(
            settled(state),
            Diagnostic::error(
                "Interrupted host did not come up",
                format!("{vm_id}, created by an earlier interrupted apply, is {provisioning}. It is tracked tainted; the next apply replaces it."),
            )
            .into(),
        );
    }
    ApplyOutcome::ok(settled(state))
}

fn state_without_vm(mut s: Value) -> Value {
    set_str(&mut s, "id", None);
    s
}

/// A failed create's state: what is not known by now never will be, and
/// Terraform rejects unknown values after apply.
fn settled(mut s: Value) -> Value {
    if let Some(m) = s.as_object_mut() {
        for v in m.values_mut() {
            if v.is_unknown() {
                *v = Value::Null;
            }
        }
    }
    s
}

fn vm_body(v: &Value, loc: &str, nic_id: &str, tags: &Json, cloud_config: &str) -> Json {
    let user = opt_str(v, "admin_username").unwrap_or_else(|| "rhel".into());
    let keys: Vec<Json> = v
        .attr("ssh_public_keys")
        .to_serde()
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| json!({ "path": format!("/home/{user}/.ssh/authorized_keys"), "keyData": k }))
        .collect();
    let image = match opt_str(v, "source_image_id") {
        Some(id) => json!({ "id": id }),
        None => v.attr("marketplace_image").to_serde(),
    };
    let disk = v.attr("os_disk");
    let mut os_disk = json!({ "createOption": "FromImage", "deleteOption": "Delete", "caching": "ReadWrite",
        "managedDisk": { "storageAccountType": disk.attr("storage_account_type").as_str().unwrap_or("Premium_LRS") } });
    if let Some(n) = disk.attr("size_gb").as_number().and_then(|n| n.to_i64()) {
        os_disk["diskSizeGB"] = json!(n);
    }
    let custom = base64::engine::general_purpose::STANDARD.encode(cloud_config);
    let mut body = json!({
        "location": loc, "tags": tags,
        "properties": {
            "hardwareProfile": { "vmSize": opt_str(v, "size") },
            "storageProfile": { "imageReference": image, "osDisk": os_disk },
            "osProfile": { "computerName": opt_str(v, "name"), "adminUsername": user, "customData": custom,
                "linuxConfiguration": { "disablePasswordAuthentication": true, "ssh": { "publicKeys": keys } } },
            "networkProfile": { "networkInterfaces": [{ "id": nic_id, "properties": { "primary": true, "deleteOption": "Delete" } }] },
        },
    });
    if let Some(lt) = opt_str(v, "license_type") {
        body["properties"]["licenseType"] = json!(lt);
    }
    if let Json::Object(p) = v.attr("plan").to_serde() {
        body["plan"] = Json::Object(p);
    }
    body
}
