//! What a PUT of a Microsoft.Compute resource must hold, and what ARM stores
//! and returns for it: one function per type, called by `build`.

use super::*;

/// `microsoft.compute/images`.
pub(super) fn image(
    Cx { existing, .. }: Cx<'_>,
    props: &Json,
    out: &mut Json,
) -> Result<(), ArmError> {
    let os = &props["storageProfile"]["osDisk"];
    let has_source = props["sourceVirtualMachine"]["id"].is_string();
    if !has_source {
        if !os.is_object() {
            return Err(invalid(
                "storageProfile.osDisk",
                "Required parameter 'osDisk' is missing (null).",
            ));
        }
        one_of(&os["osType"], &["Linux", "Windows"], "osType", "").and_then(|v| {
            if v.is_empty() {
                Err(invalid(
                    "osType",
                    "Required parameter 'osType' is missing (null).",
                ))
            } else {
                Ok(v)
            }
        })?;
        one_of(
            &os["osState"],
            &["Generalized", "Specialized"],
            "osState",
            "",
        )
        .and_then(|v| {
            if v.is_empty() {
                Err(invalid(
                    "osState",
                    "Required parameter 'osState' is missing (null).",
                ))
            } else {
                Ok(v)
            }
        })?;
        let sources = [
            os["blobUri"].is_string(),
            os["managedDisk"]["id"].is_string(),
            os["snapshot"]["id"].is_string(),
        ];
        if sources.iter().filter(|b| **b).count() != 1 {
            return Err(invalid("storageProfile.osDisk", "Exactly one of blobUri, managedDisk or snapshot must be specified for the OS disk of an image."));
        }
        if let Some(uri) = os["blobUri"].as_str() {
            if !(uri.starts_with("https://") || uri.starts_with("http://"))
                || !uri.contains(".vhd") && !uri.contains('/')
            {
                return Err(invalid(
                    "blobUri",
                    format!("The blob URI '{uri}' is not valid."),
                ));
            }
        }
        out["properties"]["storageProfile"]["osDisk"]["caching"] =
            os.get("caching").cloned().unwrap_or(json!("ReadWrite"));
        if out["properties"]["storageProfile"]
            .get("dataDisks")
            .is_none()
        {
            out["properties"]["storageProfile"]["dataDisks"] = json!([]);
        }
    }
    let gen = one_of(
        &props["hyperVGeneration"],
        &["V1", "V2"],
        "hyperVGeneration",
        "V1",
    )?;
    if let Some(r) = existing {
        if r.body["properties"]["storageProfile"]["osDisk"]["blobUri"]
            != props["storageProfile"]["osDisk"]["blobUri"]
            || r.body["properties"]["hyperVGeneration"] != json!(gen)
        {
            return Err(ArmError::new(409, "PropertyChangeNotAllowed", "Changing property 'storageProfile' or 'hyperVGeneration' of an image is not allowed.").target("storageProfile"));
        }
    }
    out["properties"]["hyperVGeneration"] = json!(gen);
    Ok(())
}

/// `microsoft.compute/disks`.
pub(super) fn disk(
    Cx { body, existing, .. }: Cx<'_>,
    props: &Json,
    out: &mut Json,
) -> Result<(), ArmError> {
    let create = one_of(
        &props["creationData"]["createOption"],
        &[
            "Empty",
            "Attach",
            "FromImage",
            "Import",
            "Copy",
            "Restore",
            "Upload",
            "CopyStart",
            "ImportSecure",
            "UploadPreparedSecure",
        ],
        "creationData.createOption",
        "",
    )?;
    if create.is_empty() {
        return Err(invalid(
            "creationData.createOption",
            "Required parameter 'creationData.createOption' is missing (null).",
        ));
    }
    if create == "Empty" && !props["diskSizeGB"].is_number() {
        return Err(invalid(
            "diskSizeGB",
            "Disk size must be specified for an empty disk.",
        ));
    }
    let sku = one_of(
        &body["sku"]["name"],
        &[
            "Standard_LRS",
            "Premium_LRS",
            "StandardSSD_LRS",
            "UltraSSD_LRS",
            "Premium_ZRS",
            "StandardSSD_ZRS",
            "PremiumV2_LRS",
        ],
        "sku.name",
        "Standard_LRS",
    )?;
    out["sku"] = json!({ "name": sku, "tier": if sku.starts_with("Premium") { "Premium" } else { "Standard" } });
    let prev = existing.map(|r| r.body.clone()).unwrap_or(json!({}));
    out["properties"]["diskState"] = prev["properties"]["diskState"]
        .clone()
        .as_str()
        .map(|s| json!(s))
        .unwrap_or(json!("Unattached"));
    out["properties"]["uniqueId"] = prev["properties"]["uniqueId"]
        .as_str()
        .map(|s| json!(s))
        .unwrap_or(json!(crate::http::guid()));
    out["properties"]["timeCreated"] = prev["properties"]["timeCreated"]
        .as_str()
        .map(|s| json!(s))
        .unwrap_or(json!(crate::http::rfc3339(crate::http::now_ms())));
    if let Some(m) = prev.get("managedBy") {
        out["managedBy"] = m.clone();
    }
    Ok(())
}

/// `microsoft.compute/virtualmachines/extensions`.
pub(super) fn vm_extension(
    Cx { s, id, .. }: Cx<'_>,
    props: &Json,
    _out: &mut Json,
) -> Result<(), ArmError> {
    if let Some(vm) = s.resources.get(&lower(&parent_of(id))) {
        require_running(vm, EXTENSIONS_NEED_A_RUNNING_VM)?;
    }
    for f in ["publisher", "type", "typeHandlerVersion"] {
        if !props[f].is_string() {
            return Err(invalid(
                f,
                format!("Required parameter '{f}' is missing (null)."),
            ));
        }
    }
    let known = [
        ("Microsoft.Azure.AzureHybridBenefit", "AHBForRHEL"),
        ("Microsoft.Azure.Extensions", "CustomScript"),
        ("Microsoft.CPlat.Core", "RunCommandHandlerLinux"),
    ];
    let pair = (
        props["publisher"].as_str().unwrap_or(""),
        props["type"].as_str().unwrap_or(""),
    );
    if !known
        .iter()
        .any(|(p, t)| p.eq_ignore_ascii_case(pair.0) && t.eq_ignore_ascii_case(pair.1))
    {
        return Err(ArmError::new(404, "VMExtensionHandlerNonTransientError", format!("The handler for VM extension type '{}.{}' could not be found in the Extension Repository.", pair.0, pair.1)));
    }
    Ok(())
}

/// `microsoft.compute/virtualmachines/runcommands`.
pub(super) fn run_command(
    Cx { emu, st, s, id, .. }: Cx<'_>,
    props: &Json,
    out: &mut Json,
) -> Result<(), ArmError> {
    let Some(script) = props["source"]["script"].as_str() else {
        return Err(invalid(
            "source.script",
            "The local cloud runs inline scripts only: set source.script.",
        ));
    };
    // `parameters` and `protectedParameters` reach the script as
    // environment variables; Azure never returns protected ones.
    let env: Vec<(String, String)> = ["parameters", "protectedParameters"]
        .iter()
        .flat_map(|k| props[*k].as_array().cloned().unwrap_or_default())
        .filter_map(|p| {
            Some((
                p["name"].as_str()?.to_string(),
                p["value"].as_str()?.to_string(),
            ))
        })
        .collect();
    if let Some(m) = out["properties"].as_object_mut() {
        m.remove("protectedParameters");
    }
    let now = crate::http::now_ms();
    let (result, forced_state) = run_on_vm(st, s, &parent_of(id), &name_of(id), script, &env)?;
    // The script runs for one operation delay: within the PUT when
    // it waits for the script, after it with `asyncExecution`.
    let delay = emu.tunables().lro_delay_ms;
    let async_execution = props["asyncExecution"].as_bool().unwrap_or(false);
    let ends = now + if async_execution { 2 * delay } else { delay };
    out["_pending_until"] = json!(now + delay / 2);
    out["_ends"] = json!(ends);
    out["_result"] = json!({
        "executionState": forced_state.unwrap_or(if result.exit_code == 0 { "Succeeded" } else { "Failed" }.into()),
        "exitCode": result.exit_code, "output": crate::arm::guest::tail(&result.stdout), "error": crate::arm::guest::tail(&result.stderr),
        "startTime": crate::http::rfc3339(now), "endTime": crate::http::rfc3339(ends),
    });
    if out["_result"]["executionState"] == "TimedOut" {
        out["_result"]["executionMessage"] = json!(format!(
            "Execution timed out after {} seconds.",
            props["timeoutInSeconds"].as_i64().unwrap_or(5400)
        ));
    }
    if let Some(m) = out["properties"].as_object_mut() {
        m.remove("instanceView");
    }
    Ok(())
}

/// `microsoft.compute/galleries` | `microsoft.compute/galleries/images` | `microsoft.compute/galleries/images/versions`.
pub(super) fn gallery_resource(
    Cx {
        s,
        id,
        spec,
        sub,
        existing,
        location,
        ..
    }: Cx<'_>,
    props: &Json,
    out: &mut Json,
) -> Result<(), ArmError> {
    if spec.key == "microsoft.compute/galleries" {
        // Azure names each gallery uniquely as <subscription>-<NAME>.
        let name = id.rsplit('/').next().unwrap_or_default();
        out["properties"]["identifier"] =
            json!({ "uniqueName": format!("{sub}-{}", name.to_ascii_uppercase()) });
    }
    if spec.key == "microsoft.compute/galleries/images" {
        // What a definition is, Azure fixes when it is made.
        if let Some(was) = existing {
            let before = &was.body["properties"];
            for p in [
                "identifier",
                "osType",
                "osState",
                "hyperVGeneration",
                "architecture",
                "purchasePlan",
            ] {
                let (old, new) = (&before[p], &props[p]);
                // Unset in a PUT keeps what is there, as ARM's PUT of a
                // definition does for these defaulted properties.
                if !new.is_null() && old != new {
                    return Err(ArmError::new(
                        409,
                        "PropertyChangeNotAllowed",
                        format!("Changing property 'galleryImage.properties.{p}' is not allowed."),
                    )
                    .target(&format!("galleryImage.properties.{p}")));
                }
            }
        }
        for (f, t) in [
            (&props["osType"], "osType"),
            (&props["osState"], "osState"),
            (&props["identifier"]["publisher"], "identifier.publisher"),
            (&props["identifier"]["offer"], "identifier.offer"),
            (&props["identifier"]["sku"], "identifier.sku"),
        ] {
            if !f.is_string() {
                return Err(invalid(
                    t,
                    format!("Required parameter '{t}' is missing (null)."),
                ));
            }
        }
        out["properties"]["hyperVGeneration"] = json!(one_of(
            &props["hyperVGeneration"],
            &["V1", "V2"],
            "hyperVGeneration",
            "V1"
        )?);
    }
    if spec.key == "microsoft.compute/galleries/images/versions" {
        if let Some(was) = existing {
            // The disk of a version is what it is: only its publishing changes.
            if !props["storageProfile"].is_null()
                && props["storageProfile"] != was.body["properties"]["storageProfile"]
            {
                return Err(ArmError::new(
                    409,
                    "PropertyChangeNotAllowed",
                    "Changing property 'galleryImageVersion.properties.storageProfile' is not allowed.",
                )
                .target("galleryImageVersion.properties.storageProfile"));
            }
        }
        let src = props["storageProfile"]["source"]["id"]
            .as_str()
            .or(props["storageProfile"]["osDiskImage"]["source"]["id"].as_str());
        match src {
            Some(src) => {
                existing_ref(s, src, id)?;
            }
            None if props["storageProfile"]["osDiskImage"]["source"]["uri"].is_string() => {
                if !props["storageProfile"]["osDiskImage"]["source"]["storageAccountId"].is_string() {
                    return Err(invalid("storageProfile.osDiskImage.source.storageAccountId", "Required parameter 'storageAccountId' is missing (null). A VHD source needs the id of the storage account that holds the blob."));
                }
            }
            None => return Err(invalid("storageProfile.source", "The gallery image version needs storageProfile.source.id or an osDiskImage source.")),
        }
        // Publishing: the version's own region is always a target; Azure
        // stamps the publishing date once.
        let location = location.to_string();
        let profile = &props["publishingProfile"];
        let mut targets: Vec<Json> = profile["targetRegions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let default_count = profile["replicaCount"].as_i64().unwrap_or(1);
        if targets.is_empty() {
            targets.push(json!({ "name": location }));
        }
        for t in &mut targets {
            let Some(name) = t["name"].as_str() else {
                return Err(invalid(
                    "publishingProfile.targetRegions.name",
                    "Required parameter 'name' is missing (null).",
                ));
            };
            t["name"] = json!(crate::http::normalize_location(name));
            if t["regionalReplicaCount"].is_null() {
                t["regionalReplicaCount"] = json!(default_count);
            }
            if t["storageAccountType"].is_null() {
                t["storageAccountType"] = profile["storageAccountType"].clone();
                if t["storageAccountType"].is_null() {
                    t["storageAccountType"] = json!("Standard_LRS");
                }
            }
        }
        out["properties"]["publishingProfile"]["targetRegions"] = json!(targets);
        out["properties"]["publishingProfile"]["replicaCount"] = json!(default_count);
        out["properties"]["publishingProfile"]["excludeFromLatest"] =
            json!(profile["excludeFromLatest"].as_bool().unwrap_or(false));
        out["properties"]["publishingProfile"]["publishedDate"] = existing
            .map(|r| r.body["properties"]["publishingProfile"]["publishedDate"].clone())
            .filter(|d| d.is_string())
            .unwrap_or_else(|| json!(crate::http::rfc3339(crate::http::now_ms())));
    }
    Ok(())
}
