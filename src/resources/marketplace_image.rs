//! data `rhelazure_marketplace_image` (one RHEL image, by offer + SKU or by a
//! selector, `latest` numerically) and data `rhelazure_marketplace_images`
//! (the catalogue of a region as a list). Plan images (rhel-byos) report their
//! plan and whether its terms are accepted in the subscription.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use async_trait::async_trait;

use super::common::{arm_diag, arm_in_subscription, need};
use super::rhel_sku::Selector;
use crate::arm::catalog::ImageVersion;
use crate::framework::model;
use crate::framework::validators::one_of;
use crate::framework::{
    Attr, AttributePath, Ctx, DataSource, Diagnostic, Diagnostics, ObjectNesting, ResourceSchema,
    Type, Value,
};
use crate::provider::ProviderData;
use crate::{attr_name, attr_path};

pub struct MarketplaceImage;
pub struct MarketplaceImages;

const TIMEOUT: Duration = Duration::from_secs(120);

fn plan_type() -> Type {
    Type::object([
        ("publisher", Type::String),
        ("product", Type::String),
        ("name", Type::String),
    ])
}

fn selector_attrs() -> Vec<Attr> {
    vec![
        Attr::string("rhel_version")
            .optional()
            .description("RHEL version: `\"9\"` (latest minor) or `\"9.6\"` (pinned, EUS)."),
        Attr::string("architecture")
            .optional()
            .validate(one_of(&["x64", "arm64"]))
            .description("`x64` (default) or `arm64`."),
        Attr::string("hyper_v_generation")
            .optional_computed()
            .validate(one_of(&["V1", "V2"]))
            .description("Hyper-V generation of the image (`V2` when unset)."),
        Attr::string("partitioning")
            .optional()
            .validate(one_of(&["lvm", "raw"]))
            .description("`lvm` (default) or `raw`."),
        Attr::string("variant")
            .optional()
            .validate(one_of(&super::rhel_sku::VARIANTS))
            .description("`base` (default), `ha`, `sap-apps` or `sap-ha`."),
        Attr::string("billing")
            .optional()
            .validate(one_of(&["payg", "byos"]))
            .description(
                "`payg` (default, RHEL billed by Azure) or `byos` (Cloud Access gold images).",
            ),
    ]
}

/// The RHEL selector the configuration sets (unknown values read as unset).
fn selector(config: &Model) -> Result<Option<Selector>, Diagnostic> {
    let Some(version) = &config.rhel_version else {
        return Ok(None);
    };
    Selector::parse(
        version,
        config.architecture.as_deref(),
        config.hyper_v_generation.as_deref(),
        config.partitioning.as_deref(),
        config.variant.as_deref(),
        config.billing.as_deref(),
    )
    .map(Some)
    .map_err(|e| {
        Diagnostic::error("Invalid RHEL selector", e.message).at(AttributePath::attrs(&[e.attr]))
    })
}

#[async_trait]
impl DataSource<ProviderData> for MarketplaceImage {
    fn type_name(&self) -> &'static str {
        "rhelazure_marketplace_image"
    }

    fn schema(&self) -> ResourceSchema {
        let out = |n: &str, d: &str| Attr::string(n).computed().description(d);
        let mut attrs = vec![
            Attr::string("location").required().description("Azure region, such as `eastus`."),
            Attr::string("subscription_id").optional_computed().description("Subscription whose Marketplace view and terms are read (default: the provider's): gold images appear only in subscriptions enrolled in Cloud Access."),
            Attr::string("publisher").optional_computed().description("Publisher (default `RedHat`)."),
            Attr::string("offer").optional_computed().description("Offer, such as `RHEL` or `rhel-byos`; set with `sku`, or leave both to the selector."),
            Attr::string("sku").optional_computed().description("SKU, such as `9-lvm-gen2`; set with `offer`, or leave both to the selector."),
            Attr::string("version").optional_computed().description("Image version; `latest` (default) is the numerically greatest (9.10 > 9.9)."),
        ];
        attrs.extend(selector_attrs());
        attrs.extend([
            out("urn", "`publisher:offer:sku:version` with the exact version."),
            out("id", "ARM id of the image version."),
            Attr::of_type("plan", plan_type()).computed().description("Purchase plan (`publisher`, `product`, `name`) of plan images such as rhel-byos; null otherwise."),
            Attr::bool("requires_plan").computed().description("Whether VMs from this image need a `plan` (and accepted terms)."),
            Attr::bool("terms_accepted").computed().description("For plan images: whether the subscription accepted the terms."),
            out("architecture_resolved", "Architecture of the image (`x64` or `Arm64`)."),
            out("security_type", "The image's `SecurityType` feature: `TrustedLaunchSupported`, `TrustedLaunchAndConfidentialVmSupported`, `TrustedLaunch`, `ConfidentialVmSupported`, ...; null for images that boot only as Standard VMs."),
            Attr::bool("accelerated_networking").computed().description("Whether the image supports accelerated networking (its `IsAcceleratedNetworkSupported` feature)."),
            Attr::string_list("disk_controller_types").computed().description("Disk controllers the image boots from (its `DiskControllerTypes` feature, such as `[\"SCSI\", \"NVMe\"]`); empty when it declares none (SCSI only)."),
            Attr::string_map("features").computed().description("Every feature the image declares, by name, as Azure reports it."),
            out("image_state", "`Active`, `ScheduledForDeprecation` or `Deprecated`."),
            out("scheduled_deprecation_time", "When the image is scheduled to be deprecated, if it is."),
        ]);
        ResourceSchema::new("Finds a RHEL image in the Azure Marketplace by offer and SKU, or by RHEL version and variant.", attrs)
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        // Configuration values may be unknown here: read by name, not decoded.
        let (offer, sku) = (
            config.attr(attr_name!(Model.offer)),
            config.attr(attr_name!(Model.sku)),
        );
        if offer.is_null() != sku.is_null() && !offer.is_unknown() && !sku.is_unknown() {
            diags.push(
                Diagnostic::error(
                    "offer and sku go together",
                    "Set both offer and sku, or neither (and use rhel_version).",
                )
                .at(attr_path!(Model.sku)),
            );
        }
        if offer.is_null() && config.attr(attr_name!(Model.rhel_version)).is_null() {
            diags.push(Diagnostic::error("Nothing to look up", "Set rhel_version (and optionally architecture, variant, billing...), or offer and sku.").at(attr_path!(Model.rhel_version)));
        }
        let configured: Model = model::read(config);
        if let Err(d) = selector(&configured) {
            diags.push(d);
        }
        if let Ok(Some(s)) = selector(&configured) {
            if let Err(e) = s.sku() {
                diags.push(
                    Diagnostic::error("Invalid RHEL selector", e.message)
                        .at(AttributePath::attrs(&[e.attr])),
                );
            }
        }
    }

    async fn read(&self, ctx: &Ctx<ProviderData>, config: &Value) -> Result<Value, Diagnostics> {
        let mut configured: Model = model::read(config);
        let arm = &in_configured_subscription(ctx, &mut configured.subscription_id)?;
        let dl = Instant::now() + TIMEOUT;
        let location = configured.location.clone().unwrap_or_default();
        let publisher = configured
            .publisher
            .clone()
            .unwrap_or_else(|| "RedHat".into());
        let (offer, sku) = match (configured.offer.clone(), configured.sku.clone()) {
            (Some(o), Some(k)) => (o, k),
            _ => {
                let s = selector(&configured)
                    .map_err(Diagnostics::from)?
                    .ok_or_else(|| {
                        Diagnostics::from(Diagnostic::error(
                            "Nothing to look up",
                            "Set rhel_version, or offer and sku.",
                        ))
                    })?;
                let sku = s.sku().map_err(|e| {
                    Diagnostics::from(
                        Diagnostic::error("Invalid RHEL selector", e.message)
                            .at(AttributePath::attrs(&[e.attr])),
                    )
                })?;
                (s.offer().to_string(), sku)
            }
        };
        let version = configured
            .version
            .clone()
            .unwrap_or_else(|| "latest".into());
        let found = arm
            .get_image_version(&location, &publisher, &offer, &sku, &version, dl)
            .await
            .map_err(|e| Diagnostics::from(arm_diag("look up the image", &e)))?;
        let Some(img) = found else {
            return Err(
                not_found(arm, &location, &publisher, &offer, &sku, &version, dl)
                    .await
                    .into(),
            );
        };
        let terms_accepted = match &img.plan {
            Some(p) => arm
                .get_terms(&p.publisher, &p.product, &p.name, dl)
                .await
                .map_err(|e| Diagnostics::from(arm_diag("read the image's Marketplace terms", &e)))?
                .map(|t| t.is_accepted()),
            None => None,
        };
        Ok(state(configured, &publisher, &img, terms_accepted))
    }
}

/// The data source's configuration and result, typed (the schema's
/// attributes, checked against it in the tests below).
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
struct Model {
    location: Option<String>,
    subscription_id: Option<String>,
    publisher: Option<String>,
    offer: Option<String>,
    sku: Option<String>,
    version: Option<String>,
    rhel_version: Option<String>,
    architecture: Option<String>,
    hyper_v_generation: Option<String>,
    partitioning: Option<String>,
    variant: Option<String>,
    billing: Option<String>,
    urn: Option<String>,
    id: Option<String>,
    plan: Option<PlanModel>,
    requires_plan: Option<bool>,
    terms_accepted: Option<bool>,
    architecture_resolved: Option<String>,
    security_type: Option<String>,
    accelerated_networking: Option<bool>,
    disk_controller_types: Option<Vec<String>>,
    features: Option<BTreeMap<String, String>>,
    image_state: Option<String>,
    scheduled_deprecation_time: Option<String>,
}

/// `plan`: a Marketplace purchase plan.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
struct PlanModel {
    publisher: String,
    product: String,
    name: String,
}

/// The configuration completed with the image found.
fn state(
    configured: Model,
    publisher: &str,
    img: &ImageVersion,
    terms_accepted: Option<bool>,
) -> Value {
    let found = Model {
        publisher: Some(publisher.to_string()),
        offer: Some(img.offer.clone()),
        sku: Some(img.sku.clone()),
        version: Some(img.version.clone()),
        urn: Some(format!(
            "{publisher}:{}:{}:{}",
            img.offer, img.sku, img.version
        )),
        id: Some(img.id.clone()),
        hyper_v_generation: img.hyper_v_generation.clone(),
        architecture_resolved: img.architecture.clone(),
        security_type: img.security_type.clone(),
        accelerated_networking: Some(accelerated_networking(img)),
        disk_controller_types: Some(disk_controller_types(img)),
        features: Some(img.features.clone()),
        image_state: img.image_state.clone(),
        scheduled_deprecation_time: img.scheduled_deprecation_time.clone(),
        requires_plan: Some(img.plan.is_some()),
        plan: img.plan.as_ref().map(|p| PlanModel {
            publisher: p.publisher.clone(),
            product: p.product.clone(),
            name: p.name.clone(),
        }),
        terms_accepted,
        ..configured
    };
    model::write(&found, crate::schema_type!(MarketplaceImage.schema()))
}

/// The image's `IsAcceleratedNetworkSupported` feature (`True` / `False`).
fn accelerated_networking(img: &ImageVersion) -> bool {
    img.features
        .get("IsAcceleratedNetworkSupported")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The image's `DiskControllerTypes` feature, a comma-separated list
/// (`SCSI, NVMe`).
fn disk_controller_types(img: &ImageVersion) -> Vec<String> {
    img.features
        .get("DiskControllerTypes")
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A not-found diagnostic that says what *is* there.
async fn not_found(
    arm: &crate::arm::ArmClient,
    location: &str,
    publisher: &str,
    offer: &str,
    sku: &str,
    version: &str,
    dl: Instant,
) -> Diagnostic {
    let offers = arm
        .list_offers(location, publisher, dl)
        .await
        .unwrap_or_default();
    let detail = if !offers.iter().any(|o| o.eq_ignore_ascii_case(offer)) {
        let byos = if offer.eq_ignore_ascii_case("rhel-byos") {
            "\n\nrhel-byos (gold images) is visible only to subscriptions enrolled in Red Hat Cloud Access: add a rhelazure_cloud_access resource and make this data source depend on it."
        } else {
            ""
        };
        format!(
            "{publisher} publishes no offer {offer:?} in {location}. Offers there: {}.{byos}",
            offers.join(", ")
        )
    } else {
        let skus = arm
            .list_skus(location, publisher, offer, dl)
            .await
            .unwrap_or_default();
        if skus.iter().any(|k| k.eq_ignore_ascii_case(sku)) {
            format!("{publisher}:{offer}:{sku} has no version {version:?} in {location}.")
        } else {
            format!(
                "{publisher}:{offer} has no SKU {sku:?} in {location}. SKUs there: {}.",
                skus.join(", ")
            )
        }
    };
    Diagnostic::error("No such RHEL image", detail)
}

#[async_trait]
impl DataSource<ProviderData> for MarketplaceImages {
    fn type_name(&self) -> &'static str {
        "rhelazure_marketplace_images"
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            "The RHEL images of a region as a list (latest version of each SKU), optionally filtered by offer and RHEL major version.",
            vec![
                Attr::string("location").required().description("Azure region."),
            Attr::string("subscription_id").optional_computed().description("Subscription whose Marketplace view is listed (default: the provider's)."),
                Attr::string("offer").optional().description("Only this offer (such as `RHEL`)."),
                Attr::string("rhel_major").optional().validate(one_of(&["8", "9", "10"])).description("Only SKUs of this RHEL major version."),
                Attr::nested("images", ObjectNesting::List, vec![
                    Attr::string("offer").computed().description("Image offer."),
                    Attr::string("sku").computed().description("Image SKU."),
                    Attr::string("version").computed().description("The newest version of the SKU."),
                    Attr::string("urn").computed().description("`publisher:offer:sku:version`."),
                    Attr::string("hyper_v_generation").computed().description("Hyper-V generation, `V1` or `V2`."),
                    Attr::string("architecture").computed().description("`x64` or `Arm64`."),
                    Attr::string("security_type").computed().description("The image's `SecurityType` feature (`TrustedLaunchSupported`, ...); null for Standard-only images."),
                    Attr::bool("accelerated_networking").computed().description("Whether the image supports accelerated networking."),
                    Attr::string_list("disk_controller_types").computed().description("Disk controllers the image boots from (`SCSI`, `NVMe`); empty when it declares none."),
                    Attr::string_map("features").computed().description("Every feature the image declares, by name."),
                ])
                .computed()
                .description("Each SKU's latest image."),
            ],
        )
    }

    async fn read(&self, ctx: &Ctx<ProviderData>, config: &Value) -> Result<Value, Diagnostics> {
        let mut listed: ImagesModel = model::read(config);
        let arm = &in_configured_subscription(ctx, &mut listed.subscription_id)?;
        let dl = Instant::now() + TIMEOUT;
        let location = listed.location.clone().unwrap_or_default();
        let major = listed.rhel_major.clone();
        let offers = match listed.offer.clone() {
            Some(o) => vec![o],
            None => arm
                .list_offers(&location, "RedHat", dl)
                .await
                .map_err(|e| Diagnostics::from(arm_diag("list RHEL offers", &e)))?,
        };
        let mut skus = Vec::new();
        for offer in offers {
            for sku in arm
                .list_skus(&location, "RedHat", &offer, dl)
                .await
                .map_err(|e| Diagnostics::from(arm_diag("list RHEL SKUs", &e)))?
            {
                if major.is_none() || sku_major(&sku) == major {
                    skus.push((offer.clone(), sku));
                }
            }
        }
        // Each SKU's latest version, read whole (generation, architecture,
        // features): a few reads at once, in the listing's order.
        let mut reads = Vec::with_capacity(skus.len());
        for (offer, sku) in &skus {
            reads.push(arm.get_image_version(&location, "RedHat", offer, sku, "latest", dl));
        }
        let found: Vec<_> = futures_util::stream::iter(reads)
            .buffered(CATALOGUE_READS_IN_FLIGHT)
            .collect()
            .await;
        let mut items = Vec::new();
        for image in found {
            let image = image.map_err(|e| Diagnostics::from(arm_diag("read an image", &e)))?;
            if let Some(img) = image {
                items.push(ListedImage::of(&img));
            }
        }
        listed.images = Some(items);
        model::encode(&listed, &MarketplaceImages.schema().value_type()).map_err(Diagnostics::from)
    }
}

/// `rhelazure_marketplace_images`, typed (checked against its schema below).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct ImagesModel {
    location: Option<String>,
    subscription_id: Option<String>,
    offer: Option<String>,
    rhel_major: Option<String>,
    images: Option<Vec<ListedImage>>,
}

/// One of `images`: a SKU's latest image.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct ListedImage {
    offer: String,
    sku: String,
    version: String,
    urn: String,
    hyper_v_generation: Option<String>,
    architecture: Option<String>,
    security_type: Option<String>,
    accelerated_networking: bool,
    disk_controller_types: Vec<String>,
    features: BTreeMap<String, String>,
}

impl ListedImage {
    fn of(img: &ImageVersion) -> ListedImage {
        ListedImage {
            urn: format!(
                "{}:{}:{}:{}",
                img.publisher, img.offer, img.sku, img.version
            ),
            offer: img.offer.clone(),
            sku: img.sku.clone(),
            version: img.version.clone(),
            hyper_v_generation: img.hyper_v_generation.clone(),
            architecture: img.architecture.clone(),
            security_type: img.security_type.clone(),
            accelerated_networking: accelerated_networking(img),
            disk_controller_types: disk_controller_types(img),
            features: img.features.clone(),
        }
    }
}

/// Catalogue reads `rhelazure_marketplace_images` keeps in flight: enough to
/// hide the round trips of a region's few dozen RHEL SKUs, few enough to
/// stay far inside ARM's read budget.
const CATALOGUE_READS_IN_FLIGHT: usize = 8;

/// The client for the configured subscription (or the provider's), which
/// fills in `subscription_id`.
fn in_configured_subscription(
    ctx: &Ctx<ProviderData>,
    subscription_id: &mut Option<String>,
) -> Result<crate::arm::ArmClient, Diagnostics> {
    let (arm, sub) = need(
        arm_in_subscription(ctx.data(), subscription_id.as_deref()),
        None,
    )?;
    *subscription_id = Some(sub);
    Ok(arm)
}

/// The RHEL major version a SKU name is for (`96-gen2` -> 9, `10_1` -> 10, `rhel-lvm95` -> 9).
fn sku_major(sku: &str) -> Option<String> {
    let rest = sku
        .trim_start_matches("rhel-lvm")
        .trim_start_matches("rhel-raw");
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.starts_with("10") {
        Some("10".into())
    } else {
        digits.get(..1).map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_has_the_schemas_attributes() {
        assert_eq!(model::mismatch::<Model>(&MarketplaceImage.schema()), None);
        // Selector errors name their attribute by the selector's field: each
        // is an attribute of the data source too.
        let selector =
            serde_json::to_value(crate::resources::rhel_sku::SelectorArgs::default()).unwrap();
        let schema = MarketplaceImage.schema();
        for k in selector.as_object().unwrap().keys() {
            assert!(schema.attrs.iter().any(|a| a.name() == k), "{k}");
        }
        assert_eq!(
            model::mismatch::<ImagesModel>(&MarketplaceImages.schema()),
            None
        );
        assert_eq!(
            model::mismatch_at::<ListedImage>(&MarketplaceImages.schema(), &["images"]),
            None
        );
    }

    #[test]
    fn the_found_image_completes_the_configuration() {
        let config = Model {
            location: Some("eastus".into()),
            rhel_version: Some("9".into()),
            ..Default::default()
        };
        let img = ImageVersion {
            publisher: "RedHat".into(),
            offer: "rhel-byos".into(),
            sku: "rhel-lvm96-gen2".into(),
            version: "9.6.2025".into(),
            id: "/x".into(),
            hyper_v_generation: Some("V2".into()),
            architecture: Some("x64".into()),
            security_type: Some("TrustedLaunchSupported".into()),
            features: [
                ("SecurityType", "TrustedLaunchSupported"),
                ("DiskControllerTypes", "SCSI, NVMe"),
                ("IsAcceleratedNetworkSupported", "True"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
            plan: Some(crate::arm::catalog::PurchasePlan {
                publisher: "redhat".into(),
                product: "rhel-byos".into(),
                name: "rhel-lvm96-gen2".into(),
            }),
            image_state: None,
            scheduled_deprecation_time: None,
        };
        let got: Model = model::decode(&state(config, "RedHat", &img, Some(true))).unwrap();
        assert_eq!(got.location.as_deref(), Some("eastus"));
        assert_eq!(got.rhel_version.as_deref(), Some("9"));
        assert_eq!(
            got.urn.as_deref(),
            Some("RedHat:rhel-byos:rhel-lvm96-gen2:9.6.2025")
        );
        assert_eq!(got.requires_plan, Some(true));
        assert_eq!(
            got.disk_controller_types,
            Some(vec!["SCSI".to_string(), "NVMe".to_string()])
        );
        assert_eq!(got.accelerated_networking, Some(true));
        assert_eq!(got.plan.map(|p| p.product), Some("rhel-byos".to_string()));
        assert_eq!(got.terms_accepted, Some(true));
    }

    #[test]
    fn sku_majors() {
        for (sku, want) in [
            ("96-gen2", "9"),
            ("10_1", "10"),
            ("rhel-lvm95", "9"),
            ("8-lvm-gen2", "8"),
            ("10-raw-gen2", "10"),
            ("96sapha-gen2", "9"),
        ] {
            assert_eq!(super::sku_major(sku).as_deref(), Some(want), "{sku}");
        }
    }
}
