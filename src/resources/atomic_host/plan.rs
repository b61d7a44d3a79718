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
        // Unset in the configuration: the disk's encryption as it is (null
        // on hosts that are not Confidential VMs), never a replacement.
        let encryption = attr_name!(Model.os_disk_security_encryption_type);
        if plan.config.attr(encryption).is_null() {
            plan.set(encryption, plan.prior.attr(encryption).clone());
            plan.requires_replace
                .retain(|p| *p != attr_path!(Model.os_disk_security_encryption_type));
        }
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
    if size_changed
        && plan.prior.attr(attr_name!(Model.security_type)).as_str() == Some(CONFIDENTIAL_VM)
    {
        check_confidential_size(plan);
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
            let allowed = Allowed::of(iv.security_type.as_deref(), iv.hyper_v_generation.as_deref());
            plan_security_type(plan, allowed, &format!("{p}:{o}:{s}"), "Choose an image that does (most RHEL `-gen2` SKUs allow Trusted Launch; Red Hat's CVM images, offer rhel-cvm, Confidential VMs), or security_type = \"Standard\".");
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
                    // Azure refuses the host at apply; defaults are still due.
                    let configured = plan.config.attr(attr_name!(Model.security_type)).clone();
                    if configured.is_null() {
                        plan.set(attr_name!(Model.security_type), STANDARD);
                    }
                    if !configured.is_unknown() {
                        plan_disk_encryption(plan, configured.as_str().unwrap_or(STANDARD));
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
        let generation = found.hyper_v_generation.as_ref().map(|g| g.to_string());
        let allowed = Allowed::of(feature.as_deref(), generation.as_deref());
        plan_security_type(plan, allowed, &format!("The gallery image definition {definition}"), "Its security_type (the SecurityType feature), on generation V2, decides: TrustedLaunchSupported or TrustedLaunch for Trusted Launch, ConfidentialVmSupported or ConfidentialVM for Confidential VMs, TrustedLaunchAndConfidentialVmSupported for both.");
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
        plan_security_type(plan, Allowed::default(), &format!("The managed image {id}"), "Azure supports Trusted Launch and Confidential VMs from Marketplace and gallery images, not from managed images. Publish the image to a gallery (rhelazure_gallery_image with security_type = \"TrustedLaunchSupported\", and a rhelazure_gallery_image_version) and boot from its version, or set security_type = \"Standard\".");
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

/// Which security types an image lets its VMs have, from its `SecurityType`
/// feature and generation (both need generation 2).
#[derive(Clone, Copy, Default)]
pub(super) struct Allowed {
    trusted: bool,
    confidential: bool,
    /// The feature `TrustedLaunch`: nothing but Trusted Launch.
    only_trusted: bool,
    /// The feature `ConfidentialVM`: nothing but Confidential VMs.
    only_confidential: bool,
}

impl Allowed {
    pub(super) fn of(feature: Option<&str>, generation: Option<&str>) -> Allowed {
        let gen2 = generation.is_some_and(|g| g.eq_ignore_ascii_case("V2"));
        Allowed {
            trusted: gen2 && allows_trusted_launch(feature),
            confidential: gen2 && allows_confidential_vm(feature),
            only_trusted: feature == Some(TRUSTED_LAUNCH),
            only_confidential: feature == Some(CONFIDENTIAL_VM),
        }
    }
}

/// The planned `security_type` of a new host: the configured one, refused
/// when the image (`image`, as a diagnostic names it; `fix` says what to do)
/// does not allow it; unset, what the image allows first (Trusted Launch,
/// else a Confidential VM where that is all it allows, else Standard). A
/// Confidential VM's disk encryption defaults to the guest state only.
fn plan_security_type(plan: &mut PlanContext<'_>, allowed: Allowed, image: &str, fix: &str) {
    let configured = plan.config.attr(attr_name!(Model.security_type)).clone();
    let refuse = |plan: &mut PlanContext<'_>, summary: &str, why: String| {
        plan.diagnostics
            .push(Diagnostic::error(summary, why).at(attr_path!(Model.security_type)));
    };
    let planned = match configured.as_str() {
        _ if configured.is_unknown() => return,
        Some(TRUSTED_LAUNCH) if !allowed.trusted => {
            return refuse(
                plan,
                "Trusted Launch not supported",
                format!("{image} does not allow Trusted Launch. {fix}"),
            );
        }
        Some(CONFIDENTIAL_VM) if !allowed.confidential => {
            return refuse(
                plan,
                "Confidential VM not supported",
                format!("{image} does not allow Confidential VMs. {fix}"),
            );
        }
        Some(t) if allowed.only_trusted && t != TRUSTED_LAUNCH => {
            return refuse(plan, "Trusted Launch required", format!("{image} allows only Trusted Launch VMs (its security_type is TrustedLaunch): set security_type = \"TrustedLaunch\", or leave it unset."));
        }
        Some(t) if allowed.only_confidential && t != CONFIDENTIAL_VM => {
            return refuse(plan, "Confidential VM required", format!("{image} allows only Confidential VMs (its security_type is ConfidentialVM): set security_type = \"ConfidentialVM\" with a confidential size, or leave it unset."));
        }
        Some(t) => t.to_string(),
        None => {
            let t = if allowed.trusted {
                TRUSTED_LAUNCH
            } else if allowed.only_confidential {
                CONFIDENTIAL_VM
            } else {
                STANDARD
            };
            plan.set(attr_name!(Model.security_type), t);
            t.to_string()
        }
    };
    plan_disk_encryption(plan, &planned);
}

/// The OS disk's confidential encryption: configured, or the guest state
/// only on a Confidential VM (whose size is checked too), else none.
fn plan_disk_encryption(plan: &mut PlanContext<'_>, security_type: &str) {
    let encryption = attr_name!(Model.os_disk_security_encryption_type);
    if security_type == CONFIDENTIAL_VM {
        if plan.config.attr(encryption).is_null() {
            plan.set(encryption, VM_GUEST_STATE_ONLY);
        }
        check_confidential_size(plan);
    } else if plan.config.attr(encryption).is_null() {
        plan.set(encryption, Value::Null);
    }
}

/// A Confidential VM runs only on a confidential size: Azure refuses the
/// VM at apply, after the network interface exists.
fn check_confidential_size(plan: &mut PlanContext<'_>) {
    let Some(size) = plan.config.attr(attr_name!(Model.size)).as_str() else {
        return;
    };
    if size_is_confidential(size) == Some(false) {
        plan.diagnostics.push(
            Diagnostic::error(
                "Not a confidential size",
                format!("{size} cannot run a Confidential VM. Choose a confidential size: the DCasv5, DCadsv5, ECasv5 or ECadsv5 series (AMD SEV-SNP, which Red Hat's CVM images need), such as Standard_DC2as_v5."),
            )
            .at(attr_path!(Model.size)),
        );
    }
}
