//! What a delete removes with a resource (children, disks and NICs with
//! `deleteOption: Delete`), what refuses a delete, and what a stored
//! resource changes in others (references).

use super::*;

/// Removes a resource, its children, and what it cascades to (VM disks and NICs
/// with `deleteOption: Delete`); detaches what it does not delete.
pub fn delete_resource(s: &mut Subscription, key: &str) {
    let Some(r) = s.resources.remove(key) else {
        return;
    };
    let prefix = format!("{key}/");
    s.resources.retain(|k, _| !k.starts_with(&prefix));
    match r.body["type"].as_str().unwrap_or("") {
        "Microsoft.Compute/virtualMachines" => {
            let p = &r.body["properties"];
            let disk = lower(
                p["storageProfile"]["osDisk"]["managedDisk"]["id"]
                    .as_str()
                    .unwrap_or(""),
            );
            if p["storageProfile"]["osDisk"]["deleteOption"] == "Delete" {
                s.resources.remove(&disk);
            } else if let Some(d) = s.resources.get_mut(&disk) {
                d.body.as_object_mut().map(|m| m.remove("managedBy"));
                d.body["properties"]["diskState"] = json!("Unattached");
            }
            for nic in p["networkProfile"]["networkInterfaces"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let nic_key = lower(nic["id"].as_str().unwrap_or(""));
                if nic["properties"]["deleteOption"] == "Delete" {
                    delete_resource(s, &nic_key);
                } else if let Some(n) = s.resources.get_mut(&nic_key) {
                    n.body["properties"]
                        .as_object_mut()
                        .map(|m| m.remove("virtualMachine"));
                }
            }
        }
        "Microsoft.Network/networkInterfaces" => {
            for ipc in r.body["properties"]["ipConfigurations"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let pip = lower(
                    ipc["properties"]["publicIPAddress"]["id"]
                        .as_str()
                        .unwrap_or(""),
                );
                if let Some(p) = s.resources.get_mut(&pip) {
                    p.body["properties"]
                        .as_object_mut()
                        .map(|m| m.remove("ipConfiguration"));
                }
            }
        }
        _ => {}
    }
}

/// Dependency rules that refuse a delete.
pub(super) fn check_delete(
    s: &Subscription,
    spec: &TypeSpec,
    r: &Resource,
) -> Result<(), ArmError> {
    let id = r.body["id"].as_str().unwrap_or("");
    let p = &r.body["properties"];
    match spec.key {
        "microsoft.compute/virtualmachines/extensions"
        | "microsoft.compute/virtualmachines/runcommands" => {
            if let Some(vm) = s.resources.get(&lower(&parent_of(id))) {
                require_running(vm, EXTENSIONS_NEED_A_RUNNING_VM)?;
            }
        }
        "microsoft.network/networkinterfaces" => {
            if let Some(vm) = p["virtualMachine"]["id"].as_str() {
                return Err(bad("NicInUse", "", format!("Network Interface {id} is used by existing resource {vm}. In order to delete the network interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.")));
            }
        }
        "microsoft.network/publicipaddresses" => {
            if let Some(ipc) = p["ipConfiguration"]["id"].as_str() {
                return Err(bad("PublicIPAddressCannotBeDeleted", "", format!("Public IP address {id} can not be deleted since it is still allocated to resource {ipc}. In order to delete the public IP, disassociate/detach the Public IP address from the resource.  To learn how to do this, see aka.ms/deletepublicip.")));
            }
        }
        "microsoft.network/virtualnetworks/subnets" | "microsoft.network/virtualnetworks" => {
            let prefix = lower(id);
            for nic in s
                .resources
                .values()
                .filter(|x| x.body["type"] == "Microsoft.Network/networkInterfaces")
            {
                for ipc in nic.body["properties"]["ipConfigurations"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                {
                    let subnet = lower(ipc["properties"]["subnet"]["id"].as_str().unwrap_or(""));
                    if subnet == prefix || subnet.starts_with(&format!("{prefix}/")) {
                        return Err(bad("InUseSubnetCannotBeDeleted", "", format!("Subnet {} is in use by {} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.", name_of(&subnet), ipc["id"].as_str().unwrap_or(""))));
                    }
                }
            }
        }
        "microsoft.network/networksecuritygroups" => {
            for nic in s
                .resources
                .values()
                .filter(|x| x.body["type"] == "Microsoft.Network/networkInterfaces")
            {
                if nic.body["properties"]["networkSecurityGroup"]["id"]
                    .as_str()
                    .map(lower)
                    == Some(lower(id))
                {
                    return Err(bad("InUseNetworkSecurityGroupCannotBeDeleted", "", format!("Network security group {id} cannot be deleted because it is in use by the following resources: {}.", nic.body["id"].as_str().unwrap_or(""))));
                }
            }
        }
        "microsoft.compute/disks" => {
            if let Some(vm) = r.body["managedBy"].as_str() {
                return Err(ArmError::new(
                    409,
                    "OperationNotAllowed",
                    format!("Disk {} is attached to VM {vm}.", name_of(id)),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Side effects once a resource is stored (references from other resources).
pub(super) fn after_put(s: &mut Subscription, key: &str) {
    let r = s.resources.get(key).cloned().expect("just stored");
    match r.body["type"].as_str().unwrap_or("") {
        "Microsoft.Network/networkInterfaces" => {
            let nic_id = r.body["id"].as_str().unwrap_or("").to_string();
            // Public IPs point back at the ip configuration that uses them.
            let nic_prefix = format!("{}/", lower(&nic_id));
            for pip in s
                .resources
                .values_mut()
                .filter(|x| x.body["type"] == "Microsoft.Network/publicIPAddresses")
            {
                if pip.body["properties"]["ipConfiguration"]["id"]
                    .as_str()
                    .is_some_and(|i| lower(i).starts_with(&nic_prefix))
                {
                    pip.body["properties"]
                        .as_object_mut()
                        .map(|m| m.remove("ipConfiguration"));
                }
            }
            for ipc in r.body["properties"]["ipConfigurations"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                if let Some(pip) = ipc["properties"]["publicIPAddress"]["id"].as_str() {
                    if let Some(p) = s.resources.get_mut(&lower(pip)) {
                        p.body["properties"]["ipConfiguration"] = json!({ "id": ipc["id"] });
                    }
                }
            }
        }
        "Microsoft.Compute/virtualMachines" => {
            let vm_id = r.body["id"].clone();
            for nic in r.body["properties"]["networkProfile"]["networkInterfaces"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                if let Some(n) = s
                    .resources
                    .get_mut(&lower(nic["id"].as_str().unwrap_or("")))
                {
                    n.body["properties"]["virtualMachine"] = json!({ "id": vm_id });
                }
            }
            if let Some(disk) = r.body.get("_newOsDisk").cloned() {
                let dk = lower(disk["id"].as_str().unwrap_or(""));
                s.resources.insert(
                    dk,
                    Resource {
                        body: disk,
                        op: None,
                    },
                );
                if let Some(vm) = s.resources.get_mut(key) {
                    vm.body.as_object_mut().map(|m| m.remove("_newOsDisk"));
                }
            }
        }
        _ => {}
    }
}
