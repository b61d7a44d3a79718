//! What a PUT of a Microsoft.Network resource must hold, and what ARM stores
//! and returns for it: one function per type, called by `build`.

use super::*;

/// `microsoft.network/virtualnetworks`.
pub(super) fn virtual_network(
    Cx {
        s, id, existing, ..
    }: Cx<'_>,
    props: &Json,
    out: &mut Json,
) -> Result<(), ArmError> {
    let prefixes = props["addressSpace"]["addressPrefixes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if prefixes.is_empty() {
        return Err(bad("InvalidRequestFormat", "properties.addressSpace.addressPrefixes", "Cannot parse the request: the virtual network needs at least one address prefix in addressSpace.addressPrefixes."));
    }
    for p in &prefixes {
        if !p.as_str().is_some_and(valid_cidr) {
            return Err(bad("InvalidAddressPrefixFormat", "properties.addressSpace.addressPrefixes", format!("Address prefix {p} of resource {id} is not formatted correctly. It should follow CIDR notation, for example 10.0.0.0/24.")));
        }
    }
    // Azure replaces the subnet list with what the body carries; subnets in use cannot go.
    let wanted: Vec<Json> = props["subnets"].as_array().cloned().unwrap_or_default();
    let vnet_prefix = format!("{}/subnets/", lower(id));
    let wanted_names: Vec<String> = wanted
        .iter()
        .filter_map(|w| w["name"].as_str().map(lower))
        .collect();
    let stale: Vec<String> = s
        .resources
        .keys()
        .filter(|k| {
            k.starts_with(&vnet_prefix)
                && !wanted_names.contains(&k[vnet_prefix.len()..].to_string())
        })
        .cloned()
        .collect();
    for k in &stale {
        let sub_spec = spec_for("microsoft.network/virtualnetworks/subnets");
        check_delete(s, sub_spec, s.resources.get(k).expect("listed"))?;
    }
    for w in &wanted {
        let name = w["name"]
            .as_str()
            .ok_or_else(|| invalid("subnets.name", "Every subnet needs a name."))?;
        if !w["properties"]["addressPrefix"]
            .as_str()
            .is_some_and(valid_cidr)
            && w["properties"]["addressPrefixes"].as_array().is_none()
        {
            return Err(bad(
                "InvalidRequestFormat",
                "subnets.properties.addressPrefix",
                format!("Subnet '{name}' needs an addressPrefix in CIDR notation."),
            ));
        }
    }
    let st_sub = &mut *s;
    for k in stale {
        st_sub.resources.remove(&k);
    }
    for w in wanted {
        let name = w["name"].as_str().unwrap_or_default();
        let sid = format!("{id}/subnets/{name}");
        st_sub.resources.insert(lower(&sid), Resource {
            body: json!({ "id": sid, "name": name, "type": "Microsoft.Network/virtualNetworks/subnets", "etag": etag(),
                "properties": merge_patch(&w["properties"], &json!({ "provisioningState": "Succeeded" })) }),
            op: None,
        });
    }
    out["properties"]["resourceGuid"] = existing
        .map(|r| r.body["properties"]["resourceGuid"].clone())
        .unwrap_or(json!(crate::http::guid()));
    Ok(())
}

/// `microsoft.network/virtualnetworks/subnets`.
pub(super) fn subnet(
    Cx { s, id, .. }: Cx<'_>,
    props: &Json,
    _out: &mut Json,
) -> Result<(), ArmError> {
    let ok = props["addressPrefix"].as_str().is_some_and(valid_cidr)
        || props["addressPrefixes"]
            .as_array()
            .is_some_and(|a| !a.is_empty());
    if !ok {
        return Err(bad(
            "InvalidRequestFormat",
            "properties.addressPrefix",
            "Cannot parse the request: the subnet needs an addressPrefix in CIDR notation.",
        ));
    }
    if let Some(nsg) = props["networkSecurityGroup"]["id"].as_str() {
        existing_ref(s, nsg, id)?;
    }
    Ok(())
}

/// `microsoft.network/publicipaddresses`.
pub(super) fn public_ip_address(
    Cx {
        st,
        id,
        body,
        existing,
        next_host,
        ..
    }: Cx<'_>,
    props: &Json,
    out: &mut Json,
) -> Result<(), ArmError> {
    let sku = one_of(
        &body["sku"]["name"],
        &["Basic", "Standard"],
        "sku.name",
        "Basic",
    )?;
    let alloc = one_of(
        &props["publicIPAllocationMethod"],
        &["Static", "Dynamic"],
        "publicIPAllocationMethod",
        if sku == "Standard" {
            "Static"
        } else {
            "Dynamic"
        },
    )?;
    if sku == "Standard" && alloc == "Dynamic" {
        return Err(bad(
            "StandardSkuPublicIPAddressesMustBeStatic",
            "publicIPAllocationMethod",
            format!("Standard sku publicIp {id} must have AllocationMethod set to Static."),
        ));
    }
    out["sku"] = json!({ "name": sku, "tier": "Regional" });
    out["properties"]["publicIPAllocationMethod"] = json!(alloc);
    out["properties"]["publicIPAddressVersion"] = json!("IPv4");
    out["properties"]["idleTimeoutInMinutes"] = props
        .get("idleTimeoutInMinutes")
        .cloned()
        .unwrap_or(json!(4));
    let prev = existing
        .map(|r| r.body["properties"].clone())
        .unwrap_or(json!({}));
    out["properties"]["ipAddress"] = prev.get("ipAddress").cloned().unwrap_or(json!(format!(
        "20.{}.{}.{}",
        40 + next_host / 65536 % 200,
        next_host / 256 % 256,
        next_host % 256
    )));
    if let Some(ipc) = prev.get("ipConfiguration") {
        out["properties"]["ipConfiguration"] = ipc.clone();
    }
    st.next_host += 1;
    Ok(())
}

/// `microsoft.network/networksecuritygroups`.
pub(super) fn security_group(
    Cx { existing, .. }: Cx<'_>,
    props: &Json,
    out: &mut Json,
) -> Result<(), ArmError> {
    for r in props["securityRules"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let name = r["name"]
            .as_str()
            .ok_or_else(|| invalid("securityRules.name", "Every security rule needs a name."))?;
        let p = &r["properties"];
        let prio = p["priority"].as_i64().unwrap_or(0);
        if !(100..=4096).contains(&prio) {
            return Err(bad("SecurityRuleInvalidPriority", "securityRules.priority", format!("Security rule {name} has invalid priority {prio}. Value provided: {prio} Allowed range 100-4096.")));
        }
        one_of(&p["direction"], &["Inbound", "Outbound"], "direction", "")?;
        one_of(&p["access"], &["Allow", "Deny"], "access", "")?;
        one_of(
            &p["protocol"],
            &["Tcp", "Udp", "Icmp", "Esp", "*", "Ah"],
            "protocol",
            "",
        )?;
    }
    out["properties"]["resourceGuid"] = existing
        .map(|r| r.body["properties"]["resourceGuid"].clone())
        .unwrap_or(json!(crate::http::guid()));
    Ok(())
}

/// `microsoft.network/networkinterfaces`.
pub(super) fn network_interface(
    Cx {
        st,
        s,
        id,
        existing,
        next_host,
        ..
    }: Cx<'_>,
    props: &Json,
    out: &mut Json,
) -> Result<(), ArmError> {
    let ipcs = props["ipConfigurations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if ipcs.is_empty() {
        return Err(bad(
            "NetworkInterfaceMustHaveAtLeastOneIpConfiguration",
            "properties.ipConfigurations",
            format!("Network interface {id} must have one or more IP configurations."),
        ));
    }
    let prev = existing
        .map(|r| r.body["properties"].clone())
        .unwrap_or(json!({}));
    let mut shaped = Vec::new();
    for (i, ipc) in ipcs.iter().enumerate() {
        let name = ipc["name"].as_str().ok_or_else(|| {
            invalid(
                "ipConfigurations.name",
                "Every IP configuration needs a name.",
            )
        })?;
        let p = &ipc["properties"];
        let subnet = p["subnet"]["id"].as_str().ok_or_else(|| {
            bad(
                "InvalidRequestFormat",
                "ipConfigurations.properties.subnet",
                format!("IP configuration {name} must reference a subnet."),
            )
        })?;
        let subnet_r = existing_ref(s, subnet, id)?;
        if let Some(pip) = p["publicIPAddress"]["id"].as_str() {
            let pip_r = existing_ref(s, pip, id)?;
            let own = format!("{}/ipconfigurations/", lower(id));
            if let Some(user) = pip_r.body["properties"]["ipConfiguration"]["id"].as_str() {
                if !lower(user).starts_with(&own) {
                    return Err(bad("PublicIPAddressInUse", "", format!("Resource {pip} is referenced by resource {user}, so it cannot be used by {id}.")));
                }
            }
        }
        let alloc = one_of(
            &p["privateIPAllocationMethod"],
            &["Static", "Dynamic"],
            "privateIPAllocationMethod",
            "Dynamic",
        )?;
        let prev_ip = prev["ipConfigurations"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == json!(name)))
            .and_then(|x| {
                x["properties"]["privateIPAddress"]
                    .as_str()
                    .map(str::to_string)
            });
        let ip = match (alloc.as_str(), p["privateIPAddress"].as_str(), prev_ip) {
            ("Static", Some(ip), _) => ip.to_string(),
            ("Static", None, _) => {
                return Err(invalid(
                    "privateIPAddress",
                    "A static private IP allocation needs privateIPAddress.",
                ))
            }
            (_, _, Some(ip)) => ip,
            _ => {
                let base = subnet_r.body["properties"]["addressPrefix"]
                    .as_str()
                    .unwrap_or("10.0.0.0/24");
                let octets: Vec<&str> = base
                    .split('/')
                    .next()
                    .unwrap_or("10.0.0.0")
                    .split('.')
                    .collect();
                let host = st.next_host;
                st.next_host += 1;
                format!(
                    "{}.{}.{}.{}",
                    octets[0],
                    octets.get(1).unwrap_or(&"0"),
                    (host / 250
                        + octets
                            .get(2)
                            .and_then(|o| o.parse::<u32>().ok())
                            .unwrap_or(0))
                        % 256,
                    host % 250 + 4
                )
            }
        };
        let mut shaped_p = p.clone();
        shaped_p["privateIPAddress"] = json!(ip);
        shaped_p["privateIPAllocationMethod"] = json!(alloc);
        shaped_p["provisioningState"] = json!("Succeeded");
        shaped_p["primary"] = json!(p.get("primary").and_then(Json::as_bool).unwrap_or(i == 0));
        shaped_p["privateIPAddressVersion"] = json!("IPv4");
        shaped.push(json!({ "name": name, "id": format!("{id}/ipConfigurations/{name}"), "type": "Microsoft.Network/networkInterfaces/ipConfigurations", "properties": shaped_p }));
    }
    if let Some(nsg) = props["networkSecurityGroup"]["id"].as_str() {
        existing_ref(s, nsg, id)?;
    }
    out["properties"]["ipConfigurations"] = json!(shaped);
    out["properties"]["resourceGuid"] = prev
        .get("resourceGuid")
        .cloned()
        .unwrap_or(json!(crate::http::guid()));
    out["properties"]["macAddress"] = prev.get("macAddress").cloned().unwrap_or(json!(format!(
        "00-0D-3A-{:02X}-{:02X}-{:02X}",
        next_host / 65536 % 256,
        next_host / 256 % 256,
        next_host % 256
    )));
    if let Some(vm) = prev.get("virtualMachine") {
        out["properties"]["virtualMachine"] = vm.clone();
    }
    out["properties"]["nicType"] = json!("Standard");
    Ok(())
}
