//! The RHEL Marketplace catalogue (`locations/{l}/publishers/{p}/artifacttypes/vmimage/...`)
//! and what depends on it: virtual machine creation from a marketplace or
//! custom image, with plan, terms, Cloud Access, generation and architecture
//! rules checked as Azure checks them.

use std::cmp::Ordering;

use axum::http::Method;
use axum::response::Response;
use serde_json::{json, Value as Json};

use super::types::{size, COMPUTE_API};
use crate::http::{json_response, normalize_location, ArmError, Req};
use crate::seed::{Offer, Sku};
use crate::state::{Resource, Subscription};
use crate::Emulator;

/// Marketplace versions compare component by component as numbers: 9.10 > 9.9.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let parse = |s: &str| {
        s.split('.')
            .map(|c| c.parse::<u64>().unwrap_or(0))
            .collect::<Vec<_>>()
    };
    parse(a).cmp(&parse(b))
}

fn not_found() -> ArmError {
    ArmError::new(404, "NotFound", "Artifact: VMImage was not found.")
}

/// Offers this subscription can see: gold images (BYOS) only after Cloud
/// Access enrolment, or to everyone in the `gold_images_listed_to_all` mode
/// (purchase still needs the access).
pub fn visible_offers<'a>(emu: &'a Emulator, s: &Subscription) -> impl Iterator<Item = &'a Offer> {
    let enrolled = s.cloud_access || emu.tunables().gold_images_listed_to_all;
    emu.seed()
        .catalog
        .offers
        .iter()
        .filter(move |o| !o.byos || enrolled)
}

pub struct Found<'a> {
    pub offer: &'a Offer,
    pub sku: &'a Sku,
    pub version: String,
}

/// Resolves publisher / offer / sku / version (`latest` = numerically greatest).
pub fn find<'a>(
    emu: &'a Emulator,
    s: &Subscription,
    publisher: &str,
    offer: &str,
    sku: &str,
    version: &str,
) -> Option<Found<'a>> {
    if !publisher.eq_ignore_ascii_case(&emu.seed().catalog.publisher) {
        return None;
    }
    let o = visible_offers(emu, s).find(|o| o.name.eq_ignore_ascii_case(offer))?;
    let k = o.skus.iter().find(|k| k.name.eq_ignore_ascii_case(sku))?;
    let v = if version.eq_ignore_ascii_case("latest") {
        k.versions
            .iter()
            .max_by(|a, b| compare_versions(a, b))?
            .clone()
    } else {
        k.versions.iter().find(|v| *v == version)?.clone()
    };
    Some(Found {
        offer: o,
        sku: k,
        version: v,
    })
}

/// The `SecurityType` feature of a Marketplace image (see `Sku::security_type`).
fn security_type(sku: &Sku) -> Option<String> {
    sku.security_type.clone().or_else(|| {
        (sku.generation == "V2" && sku.architecture == "x64")
            .then(|| "TrustedLaunchSupported".to_string())
    })
}

fn features(sku: &Sku) -> Json {
    let mut f = vec![json!({ "name": "IsAcceleratedNetworkSupported", "value": "True" })];
    // Azure's generation 2 RHEL images declare NVMe next to SCSI (the
    // v6 sizes boot from NVMe only); generation 1 images declare nothing.
    if sku.generation == "V2" {
        f.push(json!({ "name": "DiskControllerTypes", "value": "SCSI, NVMe" }));
    }
    if let Some(t) = security_type(sku) {
        f.push(json!({ "name": "SecurityType", "value": t }));
    }
    json!(f)
}

/// What a VM's `securityProfile.securityType` asks of its image's
/// `SecurityType` feature, as Azure answers when they do not fit.
fn check_security_type(wanted: Option<&str>, image: Option<&str>) -> Result<(), ArmError> {
    let trusted = matches!(
        image,
        Some(
            "TrustedLaunchSupported" | "TrustedLaunch" | "TrustedLaunchAndConfidentialVmSupported"
        )
    );
    match wanted {
        Some("TrustedLaunch") if !trusted => Err(ArmError::bad_request("BadRequest", "Use of TrustedLaunch setting is not supported for the provided image. Please select Trusted Launch Supported Gen2 OS Image. For more information, see https://aka.ms/TrustedLaunch-FAQ.").target("securityProfile.securityType")),
        Some("TrustedLaunch") => Ok(()),
        _ if image == Some("TrustedLaunch") => Err(ArmError::bad_request("BadRequest", "The provided gallery image only supports creation of VMs and VM Scale Sets with 'TrustedLaunch' security type.").target("securityProfile.securityType")),
        _ => Ok(()),
    }
}

/// What Azure asks of a Confidential VM: an image that allows it, a
/// confidential size, the OS disk's confidential encryption, a vTPM, and
/// Secure Boot when the disk itself is encrypted; and that disk encryption
/// only on a Confidential VM (the spec: "It can be set for only
/// Confidential VMs").
fn check_confidential(
    props: &Json,
    size: &str,
    family: &str,
    image: Option<&str>,
) -> Result<(), ArmError> {
    let security = props["securityProfile"]["securityType"].as_str();
    let encryption = props["storageProfile"]["osDisk"]["managedDisk"]["securityProfile"]
        ["securityEncryptionType"]
        .as_str();
    let target = "storageProfile.osDisk.managedDisk.securityProfile.securityEncryptionType";
    if security != Some("ConfidentialVM") {
        if image == Some("ConfidentialVM") {
            return Err(ArmError::bad_request("BadRequest", "The provided image only supports creation of VMs and VM Scale Sets with 'ConfidentialVM' security type.").target("securityProfile.securityType"));
        }
        return match encryption {
            Some(_) => Err(bad("InvalidParameter", target, "Security encryption type can be set only for Confidential VMs (securityProfile.securityType 'ConfidentialVM').")),
            None => Ok(()),
        };
    }
    if !matches!(
        image,
        Some(
            "ConfidentialVmSupported"
                | "ConfidentialVM"
                | "TrustedLaunchAndConfidentialVmSupported"
        )
    ) {
        return Err(ArmError::bad_request("BadRequest", "Use of ConfidentialVM setting is not supported for the provided image. Please select an image that supports Confidential VMs.").target("securityProfile.securityType"));
    }
    let Some(encryption) = encryption else {
        return Err(bad("InvalidParameter", target, format!("Required parameter '{target}' is missing (null): a Confidential VM's OS disk needs it.")));
    };
    if !matches!(family, "DCa" | "DCad" | "ECa" | "ECad") {
        return Err(ArmError::bad_request("BadRequest", format!("The VM size '{size}' is not supported for creation of VMs and Virtual Machine Scale Set with 'ConfidentialVM' security type and managedDisk.securityProfile.securityEncryptionType set as '{encryption}'")).target("hardwareProfile.vmSize"));
    }
    let uefi = &props["securityProfile"]["uefiSettings"];
    if uefi["vTpmEnabled"] != true {
        return Err(ArmError::bad_request(
            "BadRequest",
            "vTPM must be enabled for a VM with 'ConfidentialVM' security type.",
        )
        .target("securityProfile.uefiSettings.vTpmEnabled"));
    }
    if encryption == "DiskWithVMGuestState" && uefi["secureBootEnabled"] != true {
        return Err(ArmError::bad_request("BadRequest", "Secure Boot must be enabled for a Confidential VM whose securityEncryptionType is 'DiskWithVMGuestState'.").target("securityProfile.uefiSettings.secureBootEnabled"));
    }
    Ok(())
}

fn plan_of(offer: &Offer, sku: &Sku) -> Option<Json> {
    offer
        .byos
        .then(|| json!({ "publisher": "redhat", "name": sku.name, "product": offer.name }))
}

pub fn handle(emu: &Emulator, req: &Req, sub: &str) -> Result<Response, ArmError> {
    if req.method != Method::GET {
        return Err(ArmError::new(
            405,
            "MethodNotAllowed",
            "The catalogue is read-only.",
        ));
    }
    let v = req.api_version().unwrap_or_default();
    if v != COMPUTE_API {
        return Err(ArmError::bad_request("NoRegisteredProviderFound", format!("No registered resource provider found for location and API version '{v}' for type 'locations/publishers'. The supported api-versions are '{COMPUTE_API}'.")));
    }
    let seg = &req.segments;
    let location = normalize_location(&seg[5]);
    if !emu.seed().locations.contains(&location) {
        return Err(ArmError::bad_request("LocationNotAvailableForResourceType", format!("The provided location '{location}' is not available for resource type 'Microsoft.Compute/locations/publishers'.")));
    }
    let st = emu.state();
    let s = st.subscription(sub).expect("checked");
    let base = format!(
        "/Subscriptions/{}/Providers/Microsoft.Compute/Locations/{location}/Publishers",
        s.id
    );
    let item = |id: String, name: &str| json!({ "location": location, "name": name, "id": id });
    let rest: Vec<String> = seg[7..].iter().map(|x| x.to_ascii_lowercase()).collect();
    let publisher = &emu.seed().catalog.publisher;
    let pub_ok = |p: &str| p.eq_ignore_ascii_case(publisher);
    let body = match rest
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => json!([item(format!("{base}/{publisher}"), publisher)]),
        [p, "artifacttypes", "vmimage", "offers"] if pub_ok(p) => {
            json!(visible_offers(emu, s)
                .map(|o| item(
                    format!("{base}/{publisher}/ArtifactTypes/VMImage/Offers/{}", o.name),
                    &o.name
                ))
                .collect::<Vec<_>>())
        }
        [p, "artifacttypes", "vmimage", "offers", o, "skus"] if pub_ok(p) => {
            let offer = visible_offers(emu, s)
                .find(|x| x.name.eq_ignore_ascii_case(o))
                .ok_or_else(not_found)?;
            json!(offer
                .skus
                .iter()
                .map(|k| item(
                    format!(
                        "{base}/{publisher}/ArtifactTypes/VMImage/Offers/{}/Skus/{}",
                        offer.name, k.name
                    ),
                    &k.name
                ))
                .collect::<Vec<_>>())
        }
        [p, "artifacttypes", "vmimage", "offers", o, "skus", k, "versions"] if pub_ok(p) => {
            let offer = visible_offers(emu, s)
                .find(|x| x.name.eq_ignore_ascii_case(o))
                .ok_or_else(not_found)?;
            let sku = offer
                .skus
                .iter()
                .find(|x| x.name.eq_ignore_ascii_case(k))
                .ok_or_else(not_found)?;
            let mut versions = sku.versions.clone();
            versions.sort_by(|a, b| compare_versions(a, b));
            if req
                .query("$orderby")
                .is_some_and(|o| o.eq_ignore_ascii_case("name desc"))
            {
                versions.reverse();
            }
            if let Some(top) = req.query("$top").and_then(|t| t.parse::<usize>().ok()) {
                versions.truncate(top);
            }
            json!(versions
                .iter()
                .map(|v| item(
                    format!(
                        "{base}/{publisher}/ArtifactTypes/VMImage/Offers/{}/Skus/{}/Versions/{v}",
                        offer.name, sku.name
                    ),
                    v
                ))
                .collect::<Vec<_>>())
        }
        [p, "artifacttypes", "vmimage", "offers", o, "skus", k, "versions", v] if pub_ok(p) => {
            let f = find(emu, s, p, o, k, v)
                .filter(|f| !v.eq_ignore_ascii_case("latest") || !f.version.is_empty())
                .ok_or_else(not_found)?;
            if v.eq_ignore_ascii_case("latest") {
                // The API itself has no "latest": callers resolve it from the version list.
                return Err(not_found());
            }
            let mut props = json!({
                "hyperVGeneration": f.sku.generation,
                "architecture": f.sku.architecture,
                "osDiskImage": { "operatingSystem": "Linux", "sizeInGb": 64 },
                "dataDiskImages": [],
                "automaticOSUpgradeProperties": { "automaticOSUpgradeSupported": false },
                "disallowed": { "vmDiskType": "Unmanaged" },
                "features": features(f.sku),
                "imageDeprecationStatus": match f.sku.deprecated.get(&f.version) {
                    Some(t) => json!({ "imageState": "ScheduledForDeprecation", "scheduledDeprecationTime": t }),
                    None => json!({ "imageState": "Active" }),
                },
            });
            if let Some(plan) = plan_of(f.offer, f.sku) {
                props["plan"] = plan;
            }
            json!({
                "properties": props, "location": location, "name": f.version,
                "id": format!("{base}/{publisher}/ArtifactTypes/VMImage/Offers/{}/Skus/{}/Versions/{}", f.offer.name, f.sku.name, f.version),
            })
        }
        _ => return Err(not_found()),
    };
    Ok(json_response(200, &body))
}

fn bad(code: &str, target: &str, msg: impl Into<String>) -> ArmError {
    ArmError::bad_request(code, msg).target(target)
}

const RESERVED_USERS: [&str; 12] = [
    "root",
    "admin",
    "administrator",
    "user",
    "user1",
    "test",
    "guest",
    "sys",
    "adm",
    "daemon",
    "bin",
    "nobody",
];

/// Validates a virtual machine PUT and builds what ARM stores and returns.
pub fn build_vm(
    emu: &Emulator,
    s: &Subscription,
    _sub: &str,
    id: &str,
    body: &Json,
    existing: Option<&Resource>,
    location: &str,
) -> Result<Json, ArmError> {
    let props = &body["properties"];
    let name = id.rsplit('/').next().unwrap_or("").to_string();
    let vm_size = props["hardwareProfile"]["vmSize"].as_str().ok_or_else(|| {
        bad(
            "InvalidParameter",
            "hardwareProfile.vmSize",
            "Required parameter 'hardwareProfile.vmSize' is missing (null).",
        )
    })?;
    let (size_name, size_gens, size_arch, size_family) = *size(vm_size).ok_or_else(|| {
        ArmError::new(409, "SkuNotAvailable", format!("The requested VM size '{vm_size}' is currently not available in location '{location}'. Please try another size or deploy to a different location or different zone. See https://aka.ms/azureskunotavailable for details.")).target("vmSize")
    })?;
    let mut out = json!({ "properties": props.clone() });
    if let Some(plan) = body.get("plan") {
        out["plan"] = plan.clone();
    }

    // Azure Hybrid Benefit for RHEL: the license type must be one Azure knows;
    // pay-as-you-go types on a BYOS or custom image need the AHBForRHEL
    // extension first, and RHEL_BYOS needs Cloud Access.
    if let Some(lt) = props["licenseType"].as_str() {
        // `None` as well as `NONE`: azurerm sends `None` to remove the benefit.
        const TYPES: [&str; 10] = [
            "None",
            "RHEL_BYOS",
            "RHEL_BASE",
            "RHEL_EUS",
            "RHEL_SAPAPPS",
            "RHEL_SAPHA",
            "RHEL_BASESAPAPPS",
            "RHEL_BASESAPHA",
            "NONE",
            "RHEL_ELS_6",
        ];
        if !TYPES.contains(&lt) {
            return Err(bad("InvalidParameter", "licenseType", format!("The value '{lt}' of parameter 'licenseType' is not allowed for a Linux virtual machine.")));
        }
        // RHEL_BYOS is accepted on any RHEL VM: ARM knows nothing of Red
        // Hat Cloud Access (checking it is the caller's business).
        let image = existing
            .map(|r| r.body["properties"]["storageProfile"]["imageReference"].clone())
            .unwrap_or_else(|| props["storageProfile"]["imageReference"].clone());
        let byos_or_custom = image["id"].is_string()
            || image["offer"]
                .as_str()
                .is_some_and(|o| o.eq_ignore_ascii_case("rhel-byos"));
        if lt.starts_with("RHEL_") && lt != "RHEL_BYOS" && byos_or_custom {
            let ext = format!("{}/extensions/", id.to_ascii_lowercase());
            let has_ahb = s.resources.iter().any(|(k, r)| {
                k.starts_with(&ext)
                    && r.body["properties"]["type"]
                        .as_str()
                        .is_some_and(|t| t.eq_ignore_ascii_case("AHBForRHEL"))
            });
            if !has_ahb {
                return Err(bad("BadRequest", "licenseType", format!("License type '{lt}' on a VM from a bring-your-own-subscription or custom image requires the AHBForRHEL extension (publisher Microsoft.Azure.AzureHybridBenefit) to be installed first.")));
            }
        }
    }

    if let Some(prev) = existing {
        // Update: only what Azure lets change in place.
        let old = &prev.body["properties"];
        for (path, label) in [
            (["storageProfile", "imageReference"], "imageReference"),
            (["osProfile", "adminUsername"], "osProfile.adminUsername"),
        ] {
            let new_v = &props[path[0]][path[1]];
            if !new_v.is_null()
                && *new_v != old[path[0]][path[1]]
                && !(label == "imageReference" && same_image(new_v, &old[path[0]][path[1]]))
            {
                return Err(ArmError::new(
                    409,
                    "PropertyChangeNotAllowed",
                    format!("Changing property '{label}' is not allowed."),
                )
                .target(label));
            }
        }
        if props["osProfile"]["customData"].is_string()
            && props["osProfile"]["customData"] != prev.body["_customData"]
        {
            return Err(ArmError::new(
                409,
                "PropertyChangeNotAllowed",
                "Changing property 'customData' is not allowed.",
            )
            .target("customData"));
        }
        let old_size = old["hardwareProfile"]["vmSize"].as_str().unwrap_or("");
        let running = prev.body["_power"].as_str().unwrap_or("running") == "running";
        if !old_size.eq_ignore_ascii_case(size_name) {
            let old_family = size(old_size).map(|s| s.3).unwrap_or("");
            if running && old_family != size_family {
                return Err(ArmError::new(409, "OperationNotAllowed", format!("Unable to resize the VM '{name}' because the requested size {size_name} is not available in the current hardware cluster. The available sizes in this cluster are: {}. Read more on VM resizing strategy at https://aka.ms/azure-resizevm. Deallocate the VM and resize it, then start it again.", super::types::SIZES.iter().filter(|s| s.3 == old_family).map(|s| s.0).collect::<Vec<_>>().join(","))).target("hardwareProfile.vmSize"));
            }
            let gen = prev.body["_hyperVGeneration"].as_str().unwrap_or("V1");
            if !size_gens.contains(&gen) {
                return Err(bad("BadRequest", "hardwareProfile.vmSize", format!("The selected VM size '{size_name}' cannot boot Hypervisor Generation '{}'.", &gen[1..])));
            }
        }
        // Keep what the service computed, and what GET never returns.
        for k in ["vmId", "timeCreated"] {
            out["properties"][k] = old[k].clone();
        }
        out["properties"]["storageProfile"] = old["storageProfile"].clone();
        if props["storageProfile"]["osDisk"]["deleteOption"].is_string() {
            out["properties"]["storageProfile"]["osDisk"]["deleteOption"] =
                props["storageProfile"]["osDisk"]["deleteOption"].clone();
        }
        out["properties"]["osProfile"] = old["osProfile"].clone();
        for k in [
            "_power",
            "_customData",
            "_hyperVGeneration",
            "_osVersion",
            "_guest",
        ] {
            if let Some(v) = prev.body.get(k) {
                out[k] = v.clone();
            }
        }
        if !props["networkProfile"].is_object() {
            out["properties"]["networkProfile"] = old["networkProfile"].clone();
        }
        if let Some(plan) = prev.body.get("plan") {
            out["plan"] = plan.clone();
        }
        return Ok(out);
    }

    // Create: the image decides generation, architecture, plan.
    let image = &props["storageProfile"]["imageReference"];
    let (image_gen, image_arch, image_plan, os_version, image_ref_out, image_security) =
        if let Some(image_id) = image["id"].as_str() {
            let r = s
                .resources
                .get(&image_id.to_ascii_lowercase())
                .ok_or_else(|| {
                    ArmError::new(
                        404,
                        "NotFound",
                        format!("The Image '{image_id}' cannot be found in '{location}' region."),
                    )
                })?;
            // A gallery image (a version, or a definition for its latest) has
            // its generation, architecture and purchase plan on the definition.
            let lower = image_id.to_ascii_lowercase();
            let definition = lower
                .find("/providers/microsoft.compute/galleries/")
                .and_then(|_| {
                    let at = lower.find("/versions/").unwrap_or(lower.len());
                    s.resources.get(&lower[..at])
                });
            let p = &definition.unwrap_or(r).body["properties"];
            let gen = p["hyperVGeneration"].as_str().unwrap_or("V1").to_string();
            let arch = p["architecture"].as_str().unwrap_or("x64").to_string();
            let plan = definition
            .map(|d| &d.body["properties"]["purchasePlan"])
            .filter(|pl| pl.is_object())
            .map(|pl| json!({ "publisher": pl["publisher"], "product": pl["product"], "name": pl["name"] }));
            // Managed images have no security type: Trusted Launch needs a gallery image.
            let security = definition.and_then(|d| {
                d.body["properties"]["features"]
                    .as_array()?
                    .iter()
                    .find(|f| f["name"] == "SecurityType")?["value"]
                    .as_str()
                    .map(str::to_string)
            });
            (
                gen,
                arch,
                plan,
                "custom".to_string(),
                json!({ "id": image_id }),
                security,
            )
        } else {
            let (p, o, k, v) = (
                image["publisher"].as_str(),
                image["offer"].as_str(),
                image["sku"].as_str(),
                image["version"].as_str().unwrap_or("latest"),
            );
            let (Some(p), Some(o), Some(k)) = (p, o, k) else {
                return Err(bad(
                    "InvalidParameter",
                    "imageReference",
                    "The image reference needs an id, or publisher, offer and sku.",
                ));
            };
            let urn = format!("{p}:{o}:{k}:{v}");
            // Private (gold image) offers can only be bought by subscriptions enrolled in Cloud Access.
            let byos_offer = emu
                .seed()
                .catalog
                .offers
                .iter()
                .find(|x| x.name.eq_ignore_ascii_case(o) && x.byos);
            if let (Some(offer), false) = (byos_offer, s.cloud_access) {
                let mut e = ArmError::bad_request("MarketplacePurchaseEligibilityFailed", "Marketplace purchase eligibilty check returned errors. See inner errors for details. ");
                e.details = vec![
                    json!({ "code": "BadRequest", "message": format!("Offer with PublisherId: redhat, OfferId: {}, PlanId: {k} is private and can not be purchased by subscriptionId: {}", offer.name, s.id) }),
                ];
                return Err(e);
            }
            let f = find(emu, s, p, o, k, v).ok_or_else(|| {
            ArmError::new(404, "PlatformImageNotFound", format!("The platform image '{urn}' is not available. Verify that all fields in the storage profile are correct. For more details about storage profile information, please refer to https://aka.ms/storageprofile")).target("imageReference")
        })?;
            let plan = plan_of(f.offer, f.sku);
            let resolved = json!({ "publisher": p, "offer": o, "sku": k, "version": v, "exactVersion": f.version });
            (
                f.sku.generation.clone(),
                f.sku.architecture.clone(),
                plan,
                f.version.clone(),
                resolved,
                security_type(f.sku),
            )
        };
    check_security_type(
        props["securityProfile"]["securityType"].as_str(),
        image_security.as_deref(),
    )?;
    check_confidential(props, size_name, size_family, image_security.as_deref())?;
    if image_plan.is_none() && body.get("plan").is_some_and(Json::is_object) {
        // A plan is purchase information: an image without one has nothing to buy.
        return Err(bad("VMMarketplaceInvalidInput", "plan", format!("Creating a virtual machine from an image that does not need Plan information, with Plan information in the request, is not allowed. Remove the plan. VM: '{id}'.")));
    }
    if let Some(plan) = &image_plan {
        let given = body.get("plan");
        let Some(given) = given.filter(|g| g.is_object()) else {
            return Err(bad("VMMarketplaceInvalidInput", "plan", format!("Creating a virtual machine from Marketplace image or a custom image sourced from a Marketplace image requires Plan information in the request. VM: '{id}'.")));
        };
        let same = ["publisher", "name", "product"].iter().all(|k| {
            given[*k].as_str().map(str::to_ascii_lowercase)
                == plan[*k].as_str().map(str::to_ascii_lowercase)
        });
        if !same {
            return Err(bad("VMMarketplaceInvalidInput", "plan", format!("The purchase information does not match. Unable to deploy from the Marketplace image. OfferPublisher: '{}', Offer: '{}', Sku: '{}'.", plan["publisher"].as_str().unwrap_or(""), plan["product"].as_str().unwrap_or(""), plan["name"].as_str().unwrap_or(""))));
        }
        let key = format!(
            "redhat/{}/{}",
            plan["product"].as_str().unwrap_or("").to_ascii_lowercase(),
            plan["name"].as_str().unwrap_or("").to_ascii_lowercase()
        );
        let accepted = s
            .agreements
            .get(&key)
            .is_some_and(|a| a["accepted"] == json!(true));
        if !accepted {
            let mut e = ArmError::bad_request("MarketplacePurchaseEligibilityFailed", "Marketplace purchase eligibilty check returned errors. See inner errors for details. ");
            e.details = vec![
                json!({ "code": "BadRequest", "message": format!("Offer with PublisherId: 'redhat', OfferId: '{}' cannot be purchased due to validation errors. For more information see details. Correlation Id: '{}' You have not accepted the legal terms on this subscription: '{}' for this plan. Before the subscription can be used, you need to accept the legal terms of the image. To read and accept legal terms, use the Azure CLI commands described at https://go.microsoft.com/fwlink/?linkid=2110637 or the PowerShell commands available at https://go.microsoft.com/fwlink/?linkid=862451. Alternatively, deploying via the Azure portal provides a UI experience for reading and accepting the legal terms. Offer details: publisher='redhat' offer = '{}', sku = '{}', Correlation Id: '{}'.", plan["product"].as_str().unwrap_or(""), crate::http::guid(), s.id, plan["product"].as_str().unwrap_or(""), plan["name"].as_str().unwrap_or(""), crate::http::guid()) }),
            ];
            return Err(e);
        }
    }
    if !size_gens.contains(&image_gen.as_str()) {
        return Err(bad("BadRequest", "hardwareProfile.vmSize", format!("The selected VM size '{size_name}' cannot boot Hypervisor Generation '{}'. If this was a Create operation please check that the Hypervisor Generation of the Image matches the Hypervisor Generation of the selected VM Size. If this was an Update operation please select a Hypervisor Generation '{}' VM Size. For more information, see https://aka.ms/azuregen2vm", &image_gen[1..], &image_gen[1..])));
    }
    if !size_arch.eq_ignore_ascii_case(&image_arch) {
        return Err(bad("BadRequest", "hardwareProfile.vmSize", format!("The VM size '{size_name}' is not supported for creation of VMs and Virtual Machine Scale Set with '{image_arch}' security type... Image architecture '{image_arch}' does not match the VM size architecture '{size_arch}'.")));
    }

    // OS profile.
    let os = &props["osProfile"];
    let admin = os["adminUsername"].as_str().ok_or_else(|| {
        bad(
            "InvalidParameter",
            "adminUsername",
            "Required parameter 'adminUsername' is missing (null).",
        )
    })?;
    if RESERVED_USERS.contains(&admin.to_ascii_lowercase().as_str()) || admin.len() > 64 {
        return Err(bad(
            "InvalidParameter",
            "adminUsername",
            "The Admin Username specified is not allowed.",
        ));
    }
    let keys = os["linuxConfiguration"]["ssh"]["publicKeys"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let no_password = os["linuxConfiguration"]["disablePasswordAuthentication"]
        .as_bool()
        .unwrap_or(false);
    if no_password && keys.is_empty() {
        return Err(bad("InvalidParameter", "linuxConfiguration.ssh.publicKeys", "Authentication using either SSH or by user name and password must be enabled in Linux profile."));
    }
    if !no_password && keys.is_empty() && !os["adminPassword"].is_string() {
        return Err(bad(
            "InvalidParameter",
            "adminPassword",
            "Required parameter 'adminPassword' is missing (null).",
        ));
    }
    for k in &keys {
        let data = k["keyData"].as_str().unwrap_or("");
        if !(data.starts_with("ssh-rsa ")
            || data.starts_with("ssh-ed25519 ")
            || data.starts_with("ecdsa-sha2-"))
        {
            return Err(bad(
                "InvalidParameter",
                "linuxConfiguration.ssh.publicKeys.keyData",
                "The value of parameter linuxConfiguration.ssh.publicKeys.keyData is invalid.",
            ));
        }
    }
    let custom_data = os["customData"].as_str();
    if let Some(cd) = custom_data {
        use base64::Engine as _;
        if cd.len() > 87_380
            || base64::engine::general_purpose::STANDARD
                .decode(cd)
                .is_err()
        {
            return Err(bad("InvalidParameter", "customData", "Custom data in OSProfile must be in Base64 encoding and with a maximum length of 87380 characters."));
        }
    }

    // Network interfaces: must exist and be free.
    let nics = props["networkProfile"]["networkInterfaces"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if nics.is_empty() {
        return Err(bad(
            "InvalidParameter",
            "networkProfile",
            "At least one network interface must be specified in networkProfile.networkInterfaces.",
        ));
    }
    for n in &nics {
        let nid = n["id"].as_str().unwrap_or("");
        let nic = s.resources.get(&nid.to_ascii_lowercase()).ok_or_else(|| {
            ArmError::bad_request("InvalidResourceReference", format!("Resource {nid} referenced by resource {id} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.")).target("networkProfile.networkInterfaces")
        })?;
        if let Some(user) = nic.body["properties"]["virtualMachine"]["id"].as_str() {
            if !user.eq_ignore_ascii_case(id) {
                return Err(ArmError::bad_request("NicInUse", format!("Network Interface {nid} is used by existing resource {user}. In order to use it with this resource, please remove it from existing resource first.")));
            }
        }
    }

    // Computed parts: vmId, OS disk (a real disk resource), what GET never returns.
    let rg = id.split('/').nth(4).unwrap_or("");
    let sub_id = &s.id;
    let disk_name = format!("{name}_OsDisk_1_{}", crate::http::guid().replace('-', ""));
    let disk_id = format!(
        "/subscriptions/{sub_id}/resourceGroups/{rg}/providers/Microsoft.Compute/disks/{disk_name}"
    );
    let os_disk_in = &props["storageProfile"]["osDisk"];
    let sat = os_disk_in["managedDisk"]["storageAccountType"]
        .as_str()
        .unwrap_or("Premium_LRS");
    let size_gb = os_disk_in["diskSizeGB"].as_u64().unwrap_or(64);
    if size_gb < 64 && image["id"].is_null() {
        return Err(bad("ResourceDiskSizeTooSmall", "osDisk.diskSizeGB", format!("The specified disk size {size_gb} GB is smaller than the size of the corresponding disk in the VM image: 64 GB. This is not allowed. Please choose equal or greater size or do not specify an explicit size.")));
    }
    out["properties"]["vmId"] = json!(crate::http::guid());
    out["properties"]["timeCreated"] = json!(crate::http::rfc3339(crate::http::now_ms()));
    out["properties"]["storageProfile"] = json!({
        "imageReference": image_ref_out,
        "osDisk": {
            "osType": "Linux", "name": disk_name, "createOption": "FromImage", "caching": os_disk_in["caching"].as_str().unwrap_or("ReadWrite"),
            "managedDisk": { "storageAccountType": sat, "id": disk_id }, "deleteOption": os_disk_in["deleteOption"].as_str().unwrap_or("Detach"),
            "diskSizeGB": size_gb,
        },
        "dataDisks": [],
    });
    // A Confidential VM's disk keeps its security profile.
    if os_disk_in["managedDisk"]["securityProfile"].is_object() {
        out["properties"]["storageProfile"]["osDisk"]["managedDisk"]["securityProfile"] =
            os_disk_in["managedDisk"]["securityProfile"].clone();
    }
    let mut os_out = os.clone();
    if let Some(m) = os_out.as_object_mut() {
        // GET never returns these.
        m.remove("customData");
        m.remove("adminPassword");
        m.entry("computerName").or_insert(json!(name));
        m.insert("allowExtensionOperations".into(), json!(true));
    }
    out["properties"]["osProfile"] = os_out;
    out["_customData"] = json!(custom_data);
    out["_hyperVGeneration"] = json!(image_gen);
    out["_osVersion"] = json!(os_version);
    out["_power"] = json!("running");
    out["_guest"] = super::guest::after_first_boot(custom_data);
    out["_newOsDisk"] = json!({
        "id": disk_id, "name": disk_name, "type": "Microsoft.Compute/disks", "location": location, "tags": {},
        "managedBy": id, "sku": { "name": sat, "tier": if sat.starts_with("Premium") { "Premium" } else { "Standard" } },
        "properties": { "osType": "Linux", "hyperVGeneration": image_gen, "diskSizeGB": size_gb, "diskState": "Attached",
            "creationData": { "createOption": "FromImage" }, "provisioningState": "Succeeded", "uniqueId": crate::http::guid(),
            "timeCreated": crate::http::rfc3339(crate::http::now_ms()) },
    });
    Ok(out)
}

fn same_image(a: &Json, b: &Json) -> bool {
    if let (Some(x), Some(y)) = (a["id"].as_str(), b["id"].as_str()) {
        return x.eq_ignore_ascii_case(y);
    }
    ["publisher", "offer", "sku"].iter().all(|k| {
        a[*k].as_str().map(str::to_ascii_lowercase) == b[*k].as_str().map(str::to_ascii_lowercase)
    }) && (a["version"] == b["version"] || a["version"].is_null())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_is_numeric_not_lexical() {
        let mut v = ["8.9.2024040316", "8.10.2024071112", "8.2.1"];
        v.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(v.last(), Some(&"8.10.2024071112"));
    }
}
