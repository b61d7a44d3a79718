//! What an Azure VM says about the RHEL it runs, read from its ARM model
//! alone (whoever made it): whether it is RHEL at all, how it is billed, the
//! image it came from, its RHEL version and architecture where the image
//! names them. Shared by `rhelazure_vm_license`'s read and its list resource.
//!
//! The VM is read through the Compute `VirtualMachine` model generated from
//! the spec (2024-03-01, `crate::arm::models::compute`), so a misspelt
//! property does not compile.

use crate::arm::models::compute::Plan;
pub use crate::arm::models::compute::VirtualMachine;

fn plan_publisher(p: &Plan) -> &str {
    p.publisher.as_deref().unwrap_or_default()
}

/// Where the VM's RHEL came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A pay-as-you-go RHEL image of the Marketplace (Red Hat bills through Azure).
    MarketplacePayg,
    /// A Red Hat gold image (Cloud Access, your own subscription), or an
    /// image made from one (it carries the gold image's plan).
    GoldImage,
    /// A custom image with no RHEL plan: RHEL only if its license says so.
    Custom,
}

/// How a RHEL VM is billed, as `terraform query` shows it.
pub const BILLING_MODELS: [&str; 4] = [
    "PAYG",
    "PAYG (Hybrid Benefit)",
    "BYOS (Hybrid Benefit)",
    "BYOS (gold image)",
];

/// A VM that runs RHEL, and what its model says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RhelVm {
    /// The VM's `licenseType`, `NONE` when it has none.
    pub license_type: String,
    /// One of [`BILLING_MODELS`].
    pub billing_model: &'static str,
    /// `publisher:offer:sku:version` of a Marketplace image, or the id of a custom one.
    pub image: Option<String>,
    /// `publisher:product:name` of the purchase plan.
    pub plan: Option<String>,
    /// `major.minor` (or the major alone) where the image names it.
    pub rhel_version: Option<String>,
    /// `x64` or `Arm64` where the image names it.
    pub architecture: Option<String>,
    /// `Standard`, `TrustedLaunch` or `ConfidentialVM`.
    pub security_type: String,
}

impl RhelVm {
    /// None when nothing in the VM's model says RHEL.
    pub fn of(vm: &VirtualMachine) -> Option<RhelVm> {
        let image = vm.image_reference();
        let license_type = license_type_of(vm).to_string();
        let red_hat = |s: &Option<String>| {
            s.as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case("RedHat"))
        };
        let offer = image
            .and_then(|i| i.offer.as_deref())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let plan_is_red_hat = vm
            .plan
            .as_ref()
            .is_some_and(|p| plan_publisher(p).eq_ignore_ascii_case("redhat"));
        let source = if image.is_some_and(|i| red_hat(&i.publisher)) && offer.starts_with("rhel") {
            if offer.contains("byos") {
                Source::GoldImage
            } else {
                Source::MarketplacePayg
            }
        } else if plan_is_red_hat {
            Source::GoldImage
        } else if license_type.starts_with("RHEL_") {
            Source::Custom
        } else {
            return None;
        };
        let billing_model = match (license_type.as_str(), source) {
            ("RHEL_BYOS", _) => "BYOS (Hybrid Benefit)",
            ("NONE", Source::MarketplacePayg) => "PAYG",
            ("NONE", _) => "BYOS (gold image)",
            (_, Source::MarketplacePayg) => "PAYG",
            _ => "PAYG (Hybrid Benefit)",
        };
        let urn = image.and_then(|i| {
            Some(format!(
                "{}:{}:{}:{}",
                i.publisher.as_deref()?,
                i.offer.as_deref()?,
                i.sku.as_deref()?,
                i.version.as_deref().unwrap_or("latest")
            ))
        });
        let sku = image
            .and_then(|i| i.sku.as_deref())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let rhel_version = image
            .and_then(|i| i.exact_version.as_deref().or(i.version.as_deref()))
            .and_then(version_from_image_version)
            .or_else(|| version_from_sku(&sku));
        let architecture = match source {
            Source::Custom => None,
            _ if urn.is_none() => None,
            _ if sku.contains("arm64") || offer.contains("arm64") => Some("Arm64".to_string()),
            _ => Some("x64".to_string()),
        };
        Some(RhelVm {
            license_type,
            billing_model,
            image: urn.or_else(|| image.and_then(|i| i.id.clone())),
            plan: vm.plan.as_ref().map(|p| {
                let part = |v: &Option<String>| v.clone().unwrap_or_default();
                format!(
                    "{}:{}:{}",
                    plan_publisher(p),
                    part(&p.product),
                    part(&p.name)
                )
            }),
            rhel_version,
            architecture,
            security_type: vm
                .props()
                .and_then(|p| p.security_profile.as_ref()?.security_type.as_ref())
                .map(ToString::to_string)
                .unwrap_or_else(|| "Standard".to_string()),
        })
    }
}

/// `9.4.2024061014` -> `9.4`: Red Hat's Marketplace image versions start
/// with the RHEL release.
fn version_from_image_version(v: &str) -> Option<String> {
    let mut parts = v.split('.');
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts.next()?.parse().ok()?;
    (7..=10)
        .contains(&major)
        .then(|| format!("{major}.{minor}"))
}

/// From Red Hat's SKU patterns: `9_4` and `94-gen2` -> `9.4`, `810-gen2` ->
/// `8.10`, `rhel-lvm94-gen2` -> `9.4`, `9-lvm-gen2` -> `9`.
fn version_from_sku(sku: &str) -> Option<String> {
    let start = sku.find(|c: char| c.is_ascii_digit())?;
    let rest = &sku[start..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let after = &rest[digits.len()..];
    if let Some(minor) = after
        .strip_prefix(['_', '.'])
        .map(|m| {
            m.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .filter(|m| !m.is_empty())
    {
        return Some(format!("{digits}.{minor}"));
    }
    match digits.len() {
        1 => Some(digits),
        2 if digits == "10" => Some(digits),
        2 => Some(format!("{}.{}", &digits[..1], &digits[1..])),
        3 if digits.starts_with("10") => Some(format!("10.{}", &digits[2..])),
        3 => Some(format!("{}.{}", &digits[..1], &digits[1..])),
        _ => None,
    }
}

/// The VM's license type as this provider spells it: no Hybrid Benefit is
/// `NONE` whether ARM says nothing, `NONE` or `None` (the spelling azurerm
/// sends to remove the benefit).
pub fn license_type_of(vm: &VirtualMachine) -> &str {
    vm.props()
        .and_then(|p| p.license_type.as_deref())
        .filter(|l| !l.is_empty() && !l.eq_ignore_ascii_case("none"))
        .unwrap_or("NONE")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn no_hybrid_benefit_reads_as_none_however_it_is_spelt() {
        for lt in [
            json!(null),
            json!(""),
            json!("None"),
            json!("NONE"),
            json!("none"),
        ] {
            let mut j = marketplace("RHEL", "9-lvm-gen2", "latest");
            j["properties"]["licenseType"] = lt.clone();
            assert_eq!(license_type_of(&vm(j)), "NONE", "{lt}");
        }
        let mut j = marketplace("RHEL", "9-lvm-gen2", "latest");
        j["properties"]["licenseType"] = json!("RHEL_BASE");
        assert_eq!(license_type_of(&vm(j)), "RHEL_BASE");
    }

    fn vm(j: serde_json::Value) -> VirtualMachine {
        VirtualMachine::from_json(&j).unwrap()
    }

    fn marketplace(offer: &str, sku: &str, version: &str) -> serde_json::Value {
        json!({ "properties": { "storageProfile": { "imageReference": {
            "publisher": "RedHat", "offer": offer, "sku": sku, "version": version } } } })
    }

    #[test]
    fn billing_models() {
        let payg = RhelVm::of(&vm(marketplace("RHEL", "9-lvm-gen2", "latest"))).unwrap();
        assert_eq!(payg.billing_model, "PAYG");
        assert_eq!(payg.license_type, "NONE");
        assert_eq!(payg.image.as_deref(), Some("RedHat:RHEL:9-lvm-gen2:latest"));
        assert_eq!(payg.architecture.as_deref(), Some("x64"));

        let mut converted = marketplace("RHEL", "9_4", "9.4.2024061014");
        converted["properties"]["licenseType"] = json!("RHEL_BYOS");
        let converted = RhelVm::of(&vm(converted)).unwrap();
        assert_eq!(converted.billing_model, "BYOS (Hybrid Benefit)");
        assert_eq!(converted.rhel_version.as_deref(), Some("9.4"));

        let mut gold = marketplace("rhel-byos", "rhel-lvm96-gen2", "latest");
        gold["plan"] =
            json!({ "publisher": "redhat", "product": "rhel-byos", "name": "rhel-lvm96-gen2" });
        let gold = RhelVm::of(&vm(gold)).unwrap();
        assert_eq!(gold.billing_model, "BYOS (gold image)");
        assert_eq!(gold.rhel_version.as_deref(), Some("9.6"));
        assert_eq!(
            gold.plan.as_deref(),
            Some("redhat:rhel-byos:rhel-lvm96-gen2")
        );

        let custom = json!({ "properties": { "licenseType": "RHEL_BASE", "storageProfile": {
            "imageReference": { "id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/images/i" } } } });
        let custom = RhelVm::of(&vm(custom)).unwrap();
        assert_eq!(custom.billing_model, "PAYG (Hybrid Benefit)");
        assert_eq!(custom.architecture, None);
        assert!(custom.image.unwrap().ends_with("/images/i"));

        let arm = RhelVm::of(&vm(marketplace("rhel-arm64", "9_6-arm64", "latest"))).unwrap();
        assert_eq!(arm.architecture.as_deref(), Some("Arm64"));
    }

    #[test]
    fn other_vms_are_not_rhel() {
        let ubuntu = json!({ "properties": { "storageProfile": { "imageReference": {
            "publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server" } } } });
        assert_eq!(RhelVm::of(&vm(ubuntu)), None, "not Red Hat's");
        let custom =
            json!({ "properties": { "storageProfile": { "imageReference": { "id": "/x" } } } });
        assert_eq!(
            RhelVm::of(&vm(custom)),
            None,
            "a custom image with no RHEL plan or license"
        );
        let jboss = marketplace("jboss-eap", "eap8", "latest");
        assert_eq!(RhelVm::of(&vm(jboss)), None, "Red Hat's, but not RHEL");
    }

    #[test]
    fn versions_from_skus() {
        for (sku, v) in [
            ("9_4", Some("9.4")),
            ("94-gen2", Some("9.4")),
            ("810-gen2", Some("8.10")),
            ("rhel-lvm94-gen2", Some("9.4")),
            ("9-lvm-gen2", Some("9")),
            ("8.10", Some("8.10")),
            ("10-lvm-gen2", Some("10")),
            ("100-gen2", Some("10.0")),
            ("raw", None),
        ] {
            assert_eq!(version_from_sku(sku).as_deref(), v, "{sku}");
        }
        assert_eq!(version_from_image_version("latest"), None);
    }
}
