//! Create of `rhelazure_atomic_host`: public IP, NIC and VM, each id in state
//! as soon as it exists; an interrupted create is adopted by the next apply.

use super::*;
use crate::arm::models::compute::{
    self, CachingTypes, DiskCreateOptionTypes, DiskDeleteOptionTypes, HardwareProfile,
    ImageReference, LinuxConfiguration, ManagedDiskParameters, NetworkInterfaceReference,
    NetworkInterfaceReferenceProperties, NetworkProfile, OSDisk, OSProfile, Plan, SecurityProfile,
    SecurityTypes, SshConfiguration, SshPublicKey, StorageAccountTypes, StorageProfile,
    UefiSettings, VirtualMachine, VirtualMachineProperties, VirtualMachineSizeTypes,
};
use crate::arm::models::network::{
    self, IPAllocationMethod, IPVersion, NetworkInterface, NetworkInterfaceIPConfiguration,
    NetworkInterfaceIPConfigurationPropertiesFormat, NetworkInterfacePropertiesFormat,
    PublicIPAddress, PublicIPAddressPropertiesFormat, PublicIPAddressSku, PublicIPAddressSkuName,
    Subnet,
};

pub(super) async fn create(
    ctx: &Ctx<ProviderData>,
    planned: &Value,
    config: &Value,
) -> ApplyOutcome {
    let dl = deadline(planned, "create", CREATE_TIMEOUT);
    let (planned, config) = (Model::of(planned), Model::of(config));
    let arm = match ctx.data().and_then(|d| d.arm()) {
        Ok(a) => &host_arm(a, planned.subnet_id.as_deref()),
        Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
    };
    let sub = arm.subscription_id().to_string();
    let text = |x: &Option<String>| x.clone().unwrap_or_default();
    let (rg, name, loc) = (
        text(&planned.resource_group_name),
        text(&planned.name),
        text(&planned.location),
    );
    let vm_id = vm_path(&sub, &rg, &name);
    // Unknown computed values read as unset: what a failed create leaves
    // unset never will be known, and Terraform rejects unknowns after apply.
    let mut state = planned.clone();
    let tags = planned.tags();

    // A VM of that name: ours from an interrupted create (adopted), or not
    // ours (refused rather than adopted blindly).
    let marker = creation_marker(&planned);
    let nic_id = net_path(&sub, &rg, "networkInterfaces", &format!("{name}-nic"));
    match arm.get_as::<VirtualMachine>(&vm_id, COMPUTE_API, dl).await {
        Ok(Some(vm)) => {
            let nic_of_vm = vm.first_nic_id().unwrap_or_default();
            if vm.tag(MARKER_TAG) == Some(marker.as_str())
                && nic_of_vm.eq_ignore_ascii_case(&nic_id)
            {
                return adopt_interrupted(arm, state, &vm_id, dl).await;
            }
            return ApplyOutcome::failed(Value::Null, Diagnostic::error("Host already exists", format!("{vm_id} already exists and was not created by this configuration. Import it (terraform import with this id) or choose another name.")).at(attr_path!(Model.name)).into());
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
    if planned.license_type.as_deref() == Some("RHEL_BYOS") {
        match crate::resources::hybrid_benefit::check_license_type_byos(
            ctx.data(),
            &sub,
            attr_path!(Model.license_type),
            dl,
        )
        .await
        {
            Ok(w) => warnings.extend(w),
            Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
        }
    }

    state.public_ip_id = None;
    if planned.public_ip == Some(true) {
        let id = net_path(&sub, &rg, "publicIPAddresses", &format!("{name}-ip"));
        let body = public_ip_body(&loc, &tags);
        if let Err(e) = arm.run_with(Method::Put, &id, NETWORK_API, &body, dl).await {
            return ApplyOutcome::failed(Value::Null, arm_diag("create the public IP", &e).into());
        }
        state.public_ip_id = Some(id);
    }
    // From here on something exists: every failure returns the state so far.
    let nic = nic_body(
        &loc,
        &tags,
        &text(&planned.subnet_id),
        state.public_ip_id.as_deref(),
    );
    if let Err(e) = arm
        .run_with(Method::Put, &nic_id, NETWORK_API, &nic, dl)
        .await
    {
        return ApplyOutcome::failed(
            state.to_value(),
            arm_diag("create the network interface", &e)
                .at(attr_path!(Model.subnet_id))
                .into(),
        );
    }
    state.network_interface_id = Some(nic_id.clone());

    // The hash covers what state holds: without a write-only key, which
    // must leave no trace there, not even a hash one could test guesses on.
    let recorded = host_render::cloud_config(&planned.spec());
    state.first_boot_sha256 = Some(sha256_hex(recorded.as_bytes()));
    let first_boot = host_render::cloud_config(&first_boot_spec(&planned, &config));
    // Read from the host later (after a switch, or by detect_host_drift):
    // right after create, cloud-init may still be running.
    state.booted_image_digest = None;
    let mut vm_tags = tags.clone();
    vm_tags.insert(MARKER_TAG.to_string(), marker);
    let body = vm_body(&planned, &loc, &nic_id, vm_tags, &first_boot);
    let put = arm
        .run_with(Method::Put, &vm_id, COMPUTE_API, &body, dl)
        .await;
    // The VM may exist even when its creation failed (provisioningState Failed):
    // record it so the replace that follows deletes it.
    let exists = matches!(arm.get(&vm_id, COMPUTE_API, dl).await, Ok(Some(_)));
    if exists {
        state.id = Some(vm_id.clone());
    }
    if let Err(e) = put {
        let d = arm_diag(&format!("create the virtual machine {name}"), &e);
        if exists {
            // Its OS disk too, so the replacement deletes everything.
            let _ = refresh(arm, &mut state, dl).await;
        } else {
            state.id = None;
        }
        return ApplyOutcome::failed(state.to_value(), d.into());
    }
    match refresh(arm, &mut state, dl).await {
        Ok(true) if planned.detect_host_drift == Some(true) => {
            // Only the digest: drift right after create would contradict the plan.
            match read_booted_digest(arm, &mut state, dl).await {
                Ok(()) => ApplyOutcome::failed(state.to_value(), warnings),
                Err(d) => ApplyOutcome::failed(state.to_value(), d.into()),
            }
        }
        Ok(true) => ApplyOutcome::failed(state.to_value(), warnings),
        Ok(false) => ApplyOutcome::failed(
            state.to_value(),
            Diagnostic::error(
                "Host vanished",
                format!("{vm_id} was created but cannot be read back."),
            )
            .into(),
        ),
        Err(d) => ApplyOutcome::failed(state.to_value(), d.into()),
    }
}

/// Takes over the VM of a create that was interrupted after its PUT: waits
/// for its provisioning to end, then tracks it (tainted if it failed, so
/// the next apply replaces it).
async fn adopt_interrupted(
    arm: &ArmClient,
    mut state: Model,
    vm_id: &str,
    dl: Instant,
) -> ApplyOutcome {
    tracing::info!(target: "rhelazure.resources", vm = %vm_id, "adopting the host of an interrupted create");
    state.id = Some(vm_id.to_string());
    state.first_boot_sha256 = None;
    state.booted_image_digest = None;
    let mut last_report = Instant::now();
    let provisioning = loop {
        let vm = match arm.get_as::<VirtualMachine>(vm_id, COMPUTE_API, dl).await {
            Ok(Some(vm)) => vm,
            Ok(None) => {
                state.id = None;
                return ApplyOutcome::failed(
                    state.to_value(),
                    Diagnostic::error(
                        "Host vanished",
                        format!("{vm_id} disappeared while being adopted; apply again."),
                    )
                    .into(),
                );
            }
            Err(e) => {
                return ApplyOutcome::failed(
                    state.to_value(),
                    arm_diag("read the virtual machine", &e).into(),
                )
            }
        };
        let p = vm
            .props()
            .and_then(|p| p.provisioning_state.clone())
            .unwrap_or_else(|| "Succeeded".into());
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
        return ApplyOutcome::failed(state.to_value(), d.into());
    }
    if provisioning != "Succeeded" {
        return ApplyOutcome::failed(
            state.to_value(),
            Diagnostic::error(
                "Interrupted host did not come up",
                format!("{vm_id}, created by an earlier interrupted apply, is {provisioning}. It is tracked tainted; the next apply replaces it."),
            )
            .into(),
        );
    }
    ApplyOutcome::ok(state.to_value())
}

fn public_ip_body(loc: &str, tags: &Tags) -> PublicIPAddress {
    PublicIPAddress {
        location: Some(loc.to_string()),
        tags: Some(tags.clone()),
        sku: Some(PublicIPAddressSku {
            name: Some(PublicIPAddressSkuName::Standard),
            ..Default::default()
        }),
        properties: Some(Box::new(PublicIPAddressPropertiesFormat {
            public_ip_allocation_method: Some(IPAllocationMethod::Static),
            public_ip_address_version: Some(IPVersion::IPv4),
            ..Default::default()
        })),
        ..Default::default()
    }
}

fn nic_body(
    loc: &str,
    tags: &Tags,
    subnet_id: &str,
    public_ip_id: Option<&str>,
) -> NetworkInterface {
    // The public IP goes with the NIC (deleteOption), as the NIC goes with the VM.
    let public_ip = public_ip_id.map(|id| PublicIPAddress {
        id: Some(id.to_string()),
        properties: Some(Box::new(PublicIPAddressPropertiesFormat {
            delete_option: Some(network::DeleteOptions::Delete),
            ..Default::default()
        })),
        ..Default::default()
    });
    let primary = NetworkInterfaceIPConfiguration {
        name: Some("primary".into()),
        properties: Some(NetworkInterfaceIPConfigurationPropertiesFormat {
            subnet: Some(Subnet {
                id: Some(subnet_id.to_string()),
                ..Default::default()
            }),
            private_ip_allocation_method: Some(IPAllocationMethod::Dynamic),
            primary: Some(true),
            public_ip_address: public_ip,
            ..Default::default()
        }),
        ..Default::default()
    };
    NetworkInterface {
        location: Some(loc.to_string()),
        tags: Some(tags.clone()),
        properties: Some(NetworkInterfacePropertiesFormat {
            ip_configurations: Some(vec![primary]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn vm_body(v: &Model, loc: &str, nic_id: &str, tags: Tags, cloud_config: &str) -> VirtualMachine {
    let user = v.admin_username.clone().unwrap_or_else(|| "rhel".into());
    let keys: Vec<SshPublicKey> = v
        .ssh_public_keys
        .iter()
        .flatten()
        .map(|k| SshPublicKey {
            path: Some(format!("/home/{user}/.ssh/authorized_keys")),
            key_data: Some(k.to_string()),
        })
        .collect();
    let image = match (&v.source_image_id, &v.marketplace_image) {
        (Some(id), _) => ImageReference {
            id: Some(id.clone()),
            ..Default::default()
        },
        (None, Some(m)) => ImageReference {
            publisher: m.publisher.clone(),
            offer: m.offer.clone(),
            sku: m.sku.clone(),
            version: m.version.clone(),
            ..Default::default()
        },
        (None, None) => ImageReference::default(),
    };
    let disk = v.os_disk.clone().unwrap_or_default();
    let storage_type = disk
        .storage_account_type
        .as_deref()
        .unwrap_or("Premium_LRS");
    let os_disk = OSDisk {
        create_option: Some(DiskCreateOptionTypes::FromImage),
        delete_option: Some(DiskDeleteOptionTypes::Delete),
        caching: Some(CachingTypes::ReadWrite),
        managed_disk: Some(ManagedDiskParameters {
            storage_account_type: Some(StorageAccountTypes::from(storage_type)),
            // Set on Confidential VMs only (planned null elsewhere).
            security_profile: v.os_disk_security_encryption_type.as_deref().map(|e| {
                compute::VMDiskSecurityProfile {
                    security_encryption_type: Some(compute::SecurityEncryptionTypes::from(e)),
                    ..Default::default()
                }
            }),
            ..Default::default()
        }),
        disk_size_gb: disk.size_gb.and_then(|n| i32::try_from(n).ok()),
        ..Default::default()
    };
    let custom = base64::engine::general_purpose::STANDARD.encode(cloud_config);
    let nic = NetworkInterfaceReference {
        id: Some(nic_id.to_string()),
        properties: Some(NetworkInterfaceReferenceProperties {
            primary: Some(true),
            delete_option: Some(compute::DeleteOptions::Delete),
        }),
    };
    VirtualMachine {
        location: Some(loc.to_string()),
        tags: Some(tags),
        plan: v.plan.as_ref().map(|p| Plan {
            publisher: p.publisher.clone(),
            product: p.product.clone(),
            name: p.name.clone(),
            ..Default::default()
        }),
        properties: Some(VirtualMachineProperties {
            hardware_profile: Some(HardwareProfile {
                vm_size: v.size.as_deref().map(VirtualMachineSizeTypes::from),
                ..Default::default()
            }),
            storage_profile: Some(StorageProfile {
                image_reference: Some(image),
                os_disk: Some(os_disk),
                ..Default::default()
            }),
            os_profile: Some(OSProfile {
                computer_name: v.name.clone(),
                admin_username: Some(user),
                custom_data: Some(custom),
                linux_configuration: Some(LinuxConfiguration {
                    disable_password_authentication: Some(true),
                    ssh: Some(SshConfiguration {
                        public_keys: Some(keys),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            network_profile: Some(NetworkProfile {
                network_interfaces: Some(vec![nic]),
                ..Default::default()
            }),
            license_type: v.license_type.clone(),
            security_profile: v
                .security_type
                .as_deref()
                .filter(|t| *t != STANDARD)
                .map(|t| SecurityProfile {
                    security_type: Some(SecurityTypes::from(t)),
                    uefi_settings: Some(UefiSettings {
                        secure_boot_enabled: Some(v.secure_boot.unwrap_or(true)),
                        v_tpm_enabled: Some(v.vtpm.unwrap_or(true)),
                    }),
                    ..Default::default()
                }),
            ..Default::default()
        }),
        ..Default::default()
    }
}
