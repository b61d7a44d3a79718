//! Plan-time work of `rhelazure_atomic_host`: what an imported host adopts,
//! what forces a replacement, and the checks Azure and Red Hat would only
//! make at apply time or first boot (size against image, organization).

use super::*;
use crate::arm::models::compute::Image;
use crate::arm::models::gallery::GalleryImage;
use crate::framework::AttributePath;

pub(super) async fn modify_plan(ctx: &Ctx<ProviderData>, plan: &mut PlanContext<'_>) {
    let Ok(data) = ctx.data() else { return };
    // Imported hosts: Azure never returns customData, so their first boot
    // is unknown (first_boot_sha256 null); adopting the configured
    // registration must not replace them.
    if !plan.is_create()
        && plan
            .prior
            .attr(attr_name!(Model.first_boot_sha256))
            .is_null()
    {
        let mut adopt = vec![attr_path!(Model.registration)];
        if plan.config.attr(attr_name!(Model.os_disk)).is_null() {
            // Unset in the configuration: whatever disk Azure gave it.
            adopt.push(attr_path!(Model.os_disk));
        }
        plan.requires_replace.retain(|p| !adopt.contains(p));
    }
    if !plan.is_create() {
        // In-place updates never change these, even when null (no public
        // IP, no purchase plan, an imported host's unknown first boot).
        for k in [
            attr_name!(Model.plan),
            attr_name!(Model.public_ip_id),
            attr_name!(Model.public_ip_address),
            attr_name!(Model.first_boot_sha256),
            attr_name!(Model.booted_image_digest),
        ] {
            plan.set(k, plan.prior.attr(k).clone());
        }
        if plan.config.attr(attr_name!(Model.bootc_image))
            != plan.prior.attr(attr_name!(Model.bootc_image))
        {
            plan.set(attr_name!(Model.booted_image_digest), Value::unknown());
        }
    }
    check_organization(data, plan).await;
    // Image and size must fit together: checked on create and whenever
    // the size changes (Azure would refuse it at apply, after a deallocation).
    let size_changed = !plan.is_create()
        && plan.config.attr(attr_name!(Model.size)) != plan.prior.attr(attr_name!(Model.size));
    if !plan.is_create() && !size_changed {
        return;
    }
    let size = plan
        .config
        .attr(attr_name!(Model.size))
        .as_str()
        .map(str::to_string);
    let mismatch = |why: String| {
        Diagnostic::error("Image and size do not match", why).at(attr_path!(Model.size))
    };
    let Ok(arm) = data.arm() else { return };
    let arm = &host_arm(arm, plan.config.attr(attr_name!(Model.subnet_id)).as_str());
    let dl = Instant::now() + PLAN_CHECK_TIMEOUT;
    let img = plan
        .config
        .attr(attr_name!(Model.marketplace_image))
        .clone();
    if img.is_null() {
        check_image_source(arm, plan, size.as_deref(), dl).await;
        return;
    }
    let location = plan
        .config
        .attr(attr_name!(Model.location))
        .as_str()
        .map(str::to_string);
    // Unknown parts read as unset: the check waits for the final plan.
    let img: MarketplaceImage = crate::framework::model::read(&img);
    let (Some(loc), Some(p), Some(o), Some(s)) = (location, &img.publisher, &img.offer, &img.sku)
    else {
        return;
    };
    let version = img.version.clone().unwrap_or_else(|| "latest".into());
    let at = || attr_path!(Model.marketplace_image);
    match arm.get_image_version(&loc, p, o, s, &version, dl).await {
        Ok(Some(iv)) => {
            if let Some(size) = &size {
                let why = size_mismatch(size, iv.architecture.as_deref(), iv.hyper_v_generation.as_deref());
                if let Some(why) = why {
                    plan.diagnostics.push(mismatch(format!("{p}:{o}:{s}: {why}")));
                    return;
                }
            }
            if !plan.is_create() {
                return;
            }
            let trusted = allows_trusted_launch(iv.security_type.as_deref())
                && iv.hyper_v_generation.as_deref() == Some("V2");
            plan_security_type(plan, trusted, &format!("{p}:{o}:{s} does not support Trusted Launch (it needs a generation 2 image with the SecurityType feature). Choose such an image (most RHEL `-gen2` SKUs), or security_type = \"Standard\"."));
            set_purchase_plan(plan, iv.plan.as_ref());
            if let Some(pl) = &iv.plan {
                check_terms(arm, plan, &format!("{p}:{o}:{s}"), pl, at(), dl).await;
            }
        }
        // An existing host keeps its disk even when the image is gone.
        _ if !plan.is_create() => {}
        // Terms this apply accepts (agreement id unknown) belong to an image
        // that may become visible in the same apply: gold images appear with
        // a Cloud Access enrolment. Terraform plans the host again once the
        // agreement exists; that final plan checks the image and derives
        // `plan` (unknown until then).
        Ok(None) if plan.config.attr(attr_name!(Model.marketplace_agreement_id)).is_unknown() => {}
        Ok(None) => plan.diagnostics.push(
            Diagnostic::error("No such Marketplace image", format!("{p}:{o}:{s}:{version} is not offered in {loc}. data.rhelazure_marketplace_images lists what is."))
                .at(at()),
        ),
        Err(e) => plan.diagnostics.push(arm_diag("look up the Marketplace image", &e).at(at())),
    }
}

/// A host registers at first boot, long after the apply: an organization id
/// that is not the one of the provider's Red Hat credentials (where the
/// activation key lives when this provider manages it) would fail there,
/// silently. Checked at plan time when the registration is new and Red Hat
/// credentials are configured; without them, or without the right to read
/// the organization, the plan goes on (a warning says why).
async fn check_organization(data: &ProviderData, plan: &mut PlanContext<'_>) {
    let registration = plan.config.attr(attr_name!(Model.registration));
    let Some(org) = registration
        .attr(attr_name!(Registration.organization))
        .as_number()
    else {
        return; // no registration, or not known until apply
    };
    if !plan.is_create() && registration == plan.prior.attr(attr_name!(Model.registration)) {
        return;
    }
    let Ok(redhat) = data.redhat() else { return };
    // Terraform quotes the source of top-level attributes only: a path into
    // the nested object would show the resource's first line instead.
    let at = attr_path!(Model.registration);
    let dl = Instant::now() + PLAN_CHECK_TIMEOUT;
    match redhat.organization(dl).await {
        Ok(found) if found.id.as_deref() == Some(org.to_string().as_str()) => {}
        Ok(found) => plan.diagnostics.push(
            Diagnostic::error(
                "Not the organization of the Red Hat credentials",
                format!(
                    "The host would register to Red Hat organization {org} at first boot, but the provider's Red Hat \
                     credentials belong to organization {}, where its activation keys are. Registration would fail \
                     on the host, after the apply. Use the organization id shown in the Hybrid Cloud Console \
                     (console.redhat.com, your user menu) for those credentials, or a provider alias with \
                     credentials of organization {org}.",
                    found.id.as_deref().unwrap_or("(none)")
                ),
            )
            .at(at),
        ),
        Err(e) => plan.diagnostics.push(
            Diagnostic::warning(
                "Red Hat organization not checked",
                format!(
                    "Could not read the organization of the provider's Red Hat credentials ({e}); the host's \
                     organization id {org} is used unchecked."
                ),
            )
            .at(at),
        ),
    }
}

/// The planned `plan`: the image's purchase plan, or null when it has none.
fn set_purchase_plan(plan: &mut PlanContext<'_>, pl: Option<&crate::arm::catalog::PurchasePlan>) {
    let derived = pl.map(|pl| {
        Value::Object(
            [
                (attr_name!(PurchasePlan.publisher), &pl.publisher),
                (attr_name!(PurchasePlan.product), &pl.product),
                (attr_name!(PurchasePlan.name), &pl.name),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::from(v.clone())))
            .collect(),
        )
    });
    plan.set(attr_name!(Model.plan), derived.unwrap_or(Value::Null));
}

/// A VM from a plan image needs the plan's terms accepted on the
/// subscription (Azure refuses the VM otherwise, at apply): checked here
/// unless the configuration names the agreement that accepts them.
async fn check_terms(
    arm: &ArmClient,
    plan: &mut PlanContext<'_>,
    image: &str,
    pl: &crate::arm::catalog::PurchasePlan,
    at: AttributePath,
    dl: Instant,
) {
    if !plan
        .config
        .attr(attr_name!(Model.marketplace_agreement_id))
        .is_null()
    {
        return;
    }
    match arm.get_terms(&pl.publisher, &pl.product, &pl.name, dl).await {
        Ok(Some(t)) if t.is_accepted() => {}
        Ok(_) => plan.diagnostics.push(
            Diagnostic::error(
                "Marketplace terms not accepted",
                format!(
                    "{image} is sold under the plan {}/{}/{}, whose terms are not accepted on this subscription. Add\n\n  resource \"rhelazure_marketplace_agreement\" \"{}\" {{\n    publisher = \"{}\"\n    offer     = \"{}\"\n    plan      = \"{}\"\n  }}\n\nand set marketplace_agreement_id = rhelazure_marketplace_agreement.{}.id on this host.",
                    pl.publisher, pl.product, pl.name, pl.name.replace('-', "_"), pl.publisher, pl.product, pl.name, pl.name.replace('-', "_")
                ),
            )
            .at(at),
        ),
        Err(e) => plan
            .diagnostics
            .push(arm_diag("read the image's Marketplace terms", &e).at(at)),
    }
}

/// `source_image_id`: a managed image says its generation; a gallery image
/// (a version, or a definition for its latest version) has its generation,
/// architecture and purchase plan on the definition, and a VM from it must
/// carry that plan, so it is derived here. An id not known yet (made in the
/// same apply) leaves `plan` unknown: Terraform plans the host again once
/// it is known, and that final plan derives it.
async fn check_image_source(
    arm: &ArmClient,
    plan: &mut PlanContext<'_>,
    size: Option<&str>,
    dl: Instant,
) {
    let source = plan.config.attr(attr_name!(Model.source_image_id)).clone();
    let Some(id) = source.as_str().map(str::to_string) else {
        if plan.is_create() && !source.is_unknown() {
            set_purchase_plan(plan, None);
        }
        return;
    };
    let at = || attr_path!(Model.source_image_id);
    let mismatch = |why: String| {
        Diagnostic::error("Image and size do not match", why).at(attr_path!(Model.size))
    };
    let lower = id.to_ascii_lowercase();
    if lower.contains("/providers/microsoft.compute/galleries/") {
        let definition = &id[..lower.find("/versions/").unwrap_or(id.len())];
        let found = match arm
            .get_as::<GalleryImage>(definition, super::super::gallery::API, dl)
            .await
        {
            Ok(Some(d)) => d.properties.unwrap_or_default(),
            // Missing or unreadable: Azure says so at apply, with its own words.
            Ok(None) | Err(_) => {
                if plan.is_create() {
                    set_purchase_plan(plan, None);
                    // Azure refuses the host at apply; a default is still due.
                    if plan.config.attr(attr_name!(Model.security_type)).is_null() {
                        plan.set(attr_name!(Model.security_type), STANDARD);
                    }
                }
                return;
            }
        };
        if let Some(size) = size {
            let arch = found.architecture.as_ref().map(|a| a.to_string());
            let generation = found.hyper_v_generation.as_ref().map(|g| g.to_string());
            if let Some(why) = size_mismatch(size, arch.as_deref(), generation.as_deref()) {
                plan.diagnostics
                    .push(mismatch(format!("{definition}: {why}")));
                return;
            }
        }
        if !plan.is_create() {
            return;
        }
        let feature = found
            .features
            .iter()
            .flatten()
            .find(|f| f.name.as_deref() == Some("SecurityType"))
            .and_then(|f| f.value.clone());
        let trusted = allows_trusted_launch(feature.as_deref())
            && found
                .hyper_v_generation
                .as_ref()
                .map(|g| g.to_string())
                .as_deref()
                == Some("V2");
        let required = feature.as_deref() == Some(TRUSTED_LAUNCH);
        plan_security_type_of(plan, trusted, required, &format!("The gallery image definition {definition} does not allow Trusted Launch: its security_type (the SecurityType feature) must be TrustedLaunchSupported, TrustedLaunch or TrustedLaunchAndConfidentialVmSupported, on generation V2."));
        let pl = found.purchase_plan.and_then(|p| {
            Some(crate::arm::catalog::PurchasePlan {
                publisher: p.publisher?,
                name: p.name?,
                product: p.product?,
            })
        });
        set_purchase_plan(plan, pl.as_ref());
        if let Some(pl) = &pl {
            check_terms(arm, plan, definition, pl, at(), dl).await;
        }
        return;
    }
    if plan.is_create() {
        set_purchase_plan(plan, None);
        plan_security_type(plan, false, &format!("Azure supports Trusted Launch from Marketplace and gallery images, not from managed images such as {id}. Publish the image to a gallery (rhelazure_gallery_image with security_type = \"TrustedLaunchSupported\", and a rhelazure_gallery_image_version) and boot from its version, or set security_type = \"Standard\"."));
    }
    if let (Some(size), true) = (size, lower.contains("/providers/microsoft.compute/images/")) {
        if let Ok(Some(image)) = arm.get_as::<Image>(&id, COMPUTE_API, dl).await {
            let generation = image.properties.and_then(|p| p.hyper_v_generation);
            let generation = generation.as_ref().map(|g| g.as_str());
            if let Some(why) = size_mismatch(size, None, generation) {
                plan.diagnostics.push(mismatch(format!("{id}: {why}")));
            }
        }
    }
}

/// The planned `security_type` of a new host: the configured one, refused
/// (with `why_not`) when it is Trusted Launch on an image that does not
/// allow it; unset, Trusted Launch where the image allows it, else Standard.
fn plan_security_type(plan: &mut PlanContext<'_>, trusted: bool, why_not: &str) {
    plan_security_type_of(plan, trusted, false, why_not)
}

/// As `plan_security_type`, for an image that may allow nothing but
/// Trusted Launch (a gallery definition whose feature is `TrustedLaunch`).
fn plan_security_type_of(plan: &mut PlanContext<'_>, trusted: bool, required: bool, why_not: &str) {
    let configured = plan.config.attr(attr_name!(Model.security_type)).clone();
    match configured.as_str() {
        _ if configured.is_unknown() => {}
        Some(STANDARD) if required => plan.diagnostics.push(
            Diagnostic::error(
                "Trusted Launch required",
                "The gallery image allows only Trusted Launch VMs (its definition's security_type is TrustedLaunch): set security_type = \"TrustedLaunch\", or leave it unset.",
            )
            .at(attr_path!(Model.security_type)),
        ),
        Some(TRUSTED_LAUNCH) if !trusted => plan.diagnostics.push(
            Diagnostic::error("Trusted Launch not supported", why_not)
                .at(attr_path!(Model.security_type)),
        ),
        Some(_) => {}
        None => plan.set(
            attr_name!(Model.security_type),
            if trusted { TRUSTED_LAUNCH } else { STANDARD },
        ),
    }
}
