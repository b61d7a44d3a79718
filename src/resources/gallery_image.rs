//! `rhelazure_gallery_image`: an image definition in an Azure Compute Gallery
//! (`Microsoft.Compute/galleries/images`): the RHEL publisher / offer / SKU a
//! family of image versions is known by, its generation (V2 by default, which
//! Trusted Launch needs), architecture, security type feature and, for images
//! derived from a Marketplace plan image (a BYOS gold image), that plan, which
//! every VM made from it must then carry.
//!
//! Azure fixes a definition's identity and shape when it is made: those
//! replace it. Description, EULA, end-of-life date and tags change in place.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use azure_core::http::Method;

use super::common::{
    arm_diag, deadline, delete_arm, imported_state, kept_tags, need, region_key, ArmChildIdentity,
};
use super::creation_marker;
use super::gallery::API;
use crate::arm::models::gallery::{
    Architecture, GalleryImage as ArmGalleryImage, GalleryImageFeature, GalleryImageIdentifier,
    GalleryImageProperties, GalleryImageUpdate, HyperVGeneration, ImagePurchasePlan,
    OperatingSystemTypes,
};
use crate::arm::ArmClient;
use crate::framework::model;
use crate::framework::validators::{one_of, string_matches};
use crate::framework::{
    timeouts, ApplyOutcome, Attr, Ctx, Diagnostic, Diagnostics, Found, ListQuery, ListResource,
    ListResults, ObjectNesting, Private, Resource, ResourceSchema, Value,
};
use crate::provider::ProviderData;
use crate::{attr_name, attr_path};

pub struct GalleryImage;

const TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// The gallery image feature that says which security types VMs from the
/// image may use.
const SECURITY_TYPE: &str = "SecurityType";

/// Azure's rule for image definition names: 1-80 letters, digits, '-', '_'
/// and '.', starting with a letter or digit and ending with one or '_'.
fn valid_definition_name(n: &str) -> bool {
    (1..=80).contains(&n.len())
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && n.chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The resource's configuration, plan and state.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct Model {
    id: Option<String>,
    name: Option<String>,
    gallery_name: Option<String>,
    resource_group_name: Option<String>,
    location: Option<String>,
    identifier: Option<Identifier>,
    os_state: Option<String>,
    hyper_v_generation: Option<String>,
    architecture: Option<String>,
    security_type: Option<String>,
    purchase_plan: Option<PurchasePlan>,
    description: Option<String>,
    eula: Option<String>,
    end_of_life_date: Option<String>,
    tags: Option<std::collections::BTreeMap<String, String>>,
    timeouts: Option<serde_json::Value>,
}

/// `identifier`: what the definition is known by.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct Identifier {
    publisher: Option<String>,
    offer: Option<String>,
    sku: Option<String>,
}

/// `purchase_plan`: the Marketplace plan the images derive from.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct PurchasePlan {
    name: Option<String>,
    publisher: Option<String>,
    product: Option<String>,
}

impl Model {
    fn of(v: &Value) -> Model {
        model::read(v)
    }

    fn to_value(&self) -> Value {
        model::write(self, crate::schema_type!(GalleryImage.schema()))
    }

    fn path(&self, arm: &ArmClient) -> String {
        let text = |x: &Option<String>| x.clone().unwrap_or_default();
        arm.sub_path(&format!(
            "/resourceGroups/{}/providers/Microsoft.Compute/galleries/{}/images/{}",
            text(&self.resource_group_name),
            text(&self.gallery_name),
            text(&self.name)
        ))
    }

    /// The creation mark: the definition's id and what replaces it when
    /// changed (region, identifier, OS state, generation, architecture,
    /// security type, purchase plan), not the texts and tags that change in place.
    fn marker(&self, id: &str) -> String {
        let mut fixed = self.body();
        fixed.location = fixed.location.as_deref().map(region_key);
        fixed.tags = None;
        if let Some(p) = fixed.properties.as_mut() {
            p.description = None;
            p.eula = None;
            p.end_of_life_date = None;
        }
        creation_marker::marker(id, &fixed)
    }

    /// The definition as ARM takes it.
    fn body(&self) -> ArmGalleryImage {
        let identifier = self.identifier.clone().unwrap_or_default();
        let features = self.security_type.as_ref().map(|t| {
            vec![GalleryImageFeature {
                name: Some(SECURITY_TYPE.to_string()),
                value: Some(t.clone()),
            }]
        });
        ArmGalleryImage {
            location: self.location.clone(),
            tags: self.tags.clone(),
            properties: Some(GalleryImageProperties {
                description: self.description.clone(),
                eula: self.eula.clone(),
                end_of_life_date: self.end_of_life_date.clone(),
                // Only Linux: these are RHEL images.
                os_type: Some(OperatingSystemTypes::Linux),
                // Checked at plan time against the same values.
                os_state: self.os_state.as_deref().and_then(|s| s.parse().ok()),
                hyper_v_generation: self
                    .hyper_v_generation
                    .as_deref()
                    .map(HyperVGeneration::from),
                architecture: self.architecture.as_deref().map(Architecture::from),
                identifier: Some(GalleryImageIdentifier {
                    publisher: identifier.publisher,
                    offer: identifier.offer,
                    sku: identifier.sku,
                }),
                purchase_plan: self.purchase_plan.as_ref().map(|p| ImagePurchasePlan {
                    name: p.name.clone(),
                    publisher: p.publisher.clone(),
                    product: p.product.clone(),
                }),
                features,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// The state for what Azure holds (configured forms kept where Azure
    /// means the same: no tags and `{}`, an unset generation and `V1`, an
    /// unset architecture and `x64`).
    fn with(&self, g: &ArmGalleryImage) -> Model {
        let p = g.properties.clone().unwrap_or_default();
        let tags = g.tags.clone();
        let identifier = p.identifier.unwrap_or_default();
        Model {
            location: g.location.clone().or_else(|| self.location.clone()),
            identifier: Some(Identifier {
                publisher: identifier.publisher,
                offer: identifier.offer,
                sku: identifier.sku,
            }),
            os_state: p.os_state.map(|s| s.to_string()),
            hyper_v_generation: Some(
                p.hyper_v_generation
                    .map_or_else(|| "V1".to_string(), |g| g.to_string()),
            ),
            architecture: Some(
                p.architecture
                    .map_or_else(|| "x64".to_string(), |a| a.to_string()),
            ),
            security_type: p
                .features
                .unwrap_or_default()
                .into_iter()
                .find(|f| f.name.as_deref() == Some(SECURITY_TYPE))
                .and_then(|f| f.value),
            purchase_plan: p.purchase_plan.map(|pl| PurchasePlan {
                name: pl.name,
                publisher: pl.publisher,
                product: pl.product,
            }),
            description: p.description.filter(|d| !d.is_empty()),
            eula: p.eula.filter(|e| !e.is_empty()),
            end_of_life_date: p.end_of_life_date,
            tags: kept_tags(tags, &self.tags),
            ..self.clone()
        }
    }
}

const IDENTITY: ArmChildIdentity = ArmChildIdentity {
    id_attr: "id",
    parent_type: "Microsoft.Compute/galleries",
    parent_attr: "gallery_name",
    parent_description: "Gallery name (lower case).",
    child_type: "images",
    name_attr: "name",
    name_description: "Image definition name (lower case).",
};

#[async_trait]
impl Resource<ProviderData> for GalleryImage {
    fn type_name(&self) -> &'static str {
        "rhelazure_gallery_image"
    }

    fn schema(&self) -> ResourceSchema {
        let fixed = |a: Attr| a.force_new();
        ResourceSchema::new(
            "An image definition in an Azure Compute Gallery: the publisher / offer / SKU a family of RHEL image \
             versions is known by, with the generation, architecture and security type VMs from it get. Hyper-V \
             generation V2 is the default (Trusted Launch and Confidential VMs need it). `description`, `eula`, \
             `end_of_life_date` and `tags` change in place; everything else replaces the definition (Azure fixes it \
             at creation). A `rhelazure-created` tag marks what this resource made (it is not shown in `tags`): a create interrupted after Azure acted is adopted by the next apply, while an object of the same name without the mark is refused (import it instead).",
            vec![
                Attr::string("id").computed().use_state_for_unknown().description("ARM id of the image definition."),
                fixed(Attr::string("name").required()).validate(string_matches("1-80 letters, digits, '-', '_' and '.', starting with a letter or digit", valid_definition_name)).description("Image definition name, unique in the gallery."),
                fixed(Attr::string("gallery_name").required()).description("The gallery (`rhelazure_gallery.name`)."),
                fixed(Attr::string("resource_group_name").required()).description("The gallery's resource group."),
                fixed(Attr::string("location").required()).description("Azure region (the gallery's)."),
                fixed(Attr::nested("identifier", ObjectNesting::Single, vec![
                    Attr::string("publisher").required().description("Publisher name, such as your organization."),
                    Attr::string("offer").required().description("Offer name, such as `rhel`."),
                    Attr::string("sku").required().description("SKU name, such as `9-gen2`."),
                ]).required()).description("What the definition is known by; unique in the gallery."),
                fixed(Attr::string("os_state").default("Generalized").validate(one_of(&crate::arm::models::gallery::OperatingSystemStateTypes::known_names()))).description("Whether versions are generalized (new hosts get their own identity at first boot, the usual case) or specialized."),
                fixed(Attr::string("hyper_v_generation").default("V2").validate(one_of(&HyperVGeneration::known_names()))).description("Hyper-V generation of the versions' disks. `V2` (the default) is what Trusted Launch and Confidential VMs need."),
                fixed(Attr::string("architecture").default("x64").validate(one_of(&Architecture::known_names()))).description("CPU architecture of the versions: `x64` or `Arm64`."),
                fixed(Attr::string("security_type").optional()).description("The `SecurityType` feature: which security types VMs from the image may use, such as `TrustedLaunchSupported`, `TrustedLaunch`, `TrustedLaunchAndConfidentialVmSupported`, `ConfidentialVmSupported` or `ConfidentialVM`. Needs `hyper_v_generation = \"V2\"`."),
                fixed(Attr::nested("purchase_plan", ObjectNesting::Single, vec![
                    Attr::string("name").required().description("Plan name (the Marketplace SKU)."),
                    Attr::string("publisher").required().description("Plan publisher, such as `redhat`."),
                    Attr::string("product").required().description("Plan product (the Marketplace offer), such as `rhel-byos`."),
                ]).optional()).description("The Marketplace plan of the image the versions derive from (a BYOS gold image); every VM from the definition then carries it. Leave unset for images built from scratch, such as Image Builder's."),
                Attr::string("description").optional().description("Description of the image definition."),
                Attr::string("eula").optional().description("End-user license agreement of the images."),
                Attr::string("end_of_life_date").optional().description("RFC 3339 date after which the definition should no longer be used (informational)."),
                Attr::string_map("tags").optional().description("Tags on the image definition."),
            ],
        )
        .blocks(vec![timeouts::block(&["create", "update", "delete"])])
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        // Values may be unknown here: read by name, not decoded. A configured
        // security type with an unset generation means the default, V2.
        let security = config.attr(attr_name!(Model.security_type)).as_str();
        let generation = config.attr(attr_name!(Model.hyper_v_generation)).as_str();
        if let (Some(t), Some("V1")) = (security, generation) {
            diags.push(
                Diagnostic::error(
                    "Security type needs generation 2",
                    format!("The security type {t} needs Hyper-V generation V2: Trusted Launch and Confidential VMs boot generation 2 disks only. Set hyper_v_generation = \"V2\" (the default), or leave security_type unset."),
                )
                .at(attr_path!(Model.security_type)),
            );
        }
    }

    async fn create(
        &self,
        ctx: &Ctx<ProviderData>,
        planned: &Value,
        _config: &Value,
        _private: &Private,
    ) -> ApplyOutcome {
        let dl = deadline(planned, "create", TIMEOUT);
        let planned = Model::of(planned);
        let arm = match ctx.data().and_then(|d| d.arm()) {
            Ok(a) => a,
            Err(d) => return ApplyOutcome::failed(Value::Null, d.into()),
        };
        let path = planned.path(arm);
        // PUT would silently take over (or try to reshape) a definition this
        // configuration did not make; one its interrupted create made is adopted.
        let marker = planned.marker(&path);
        if let Err(d) =
            creation_marker::claim(arm, &path, API, &marker, "image definition", dl).await
        {
            return ApplyOutcome::failed(Value::Null, d.at(attr_path!(Model.name)).into());
        }
        let mut body = planned.body();
        body.tags = creation_marker::with_mark(&planned.tags, &marker);
        let put = arm.run_with(Method::Put, &path, API, &body, dl).await;
        // A failed create may still have made the definition: track it (tainted).
        let made = match arm.get_as::<ArmGalleryImage>(&path, API, dl).await {
            Ok(made) => made,
            Err(e) if put.is_ok() => {
                return ApplyOutcome::failed(
                    Value::Null,
                    arm_diag("read the image definition", &e).into(),
                )
            }
            Err(_) => None,
        };
        let state = made.map(|g| {
            Model {
                id: Some(g.id.clone().unwrap_or_else(|| path.clone())),
                ..planned.clone()
            }
            .with(&g)
            .to_value()
        });
        match (put, state) {
            (Ok(_), Some(s)) => ApplyOutcome::ok(s),
            (Ok(_), None) => ApplyOutcome::failed(
                Value::Null,
                Diagnostic::error(
                    "Image definition vanished",
                    format!("{path} was created but cannot be read back."),
                )
                .into(),
            ),
            (Err(e), s) => ApplyOutcome::failed(
                s.unwrap_or(Value::Null),
                arm_diag("create the image definition", &e).into(),
            ),
        }
    }

    async fn read(
        &self,
        ctx: &Ctx<ProviderData>,
        state: &Value,
        private: &Private,
    ) -> Result<Option<(Value, Private)>, Diagnostics> {
        let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
        let prior = Model::of(state);
        let id = prior.id.clone().unwrap_or_default();
        let found = arm
            .get_as::<ArmGalleryImage>(&id, API, deadline(state, "read", TIMEOUT))
            .await
            .map_err(|e| Diagnostics::from(arm_diag("read the image definition", &e)))?;
        Ok(found.map(|g| (prior.with(&g).to_value(), private.clone())))
    }

    async fn update(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        private: &Private,
    ) -> ApplyOutcome {
        let dl = deadline(planned, "update", TIMEOUT);
        let fail = |d: Diagnostic| ApplyOutcome {
            state: prior.clone(),
            private: private.clone(),
            diagnostics: d.into(),
        };
        let arm = match ctx.data().and_then(|d| d.arm()) {
            Ok(a) => a,
            Err(d) => return fail(d),
        };
        let (was, will) = (Model::of(prior), Model::of(planned));
        let id = was.id.clone().unwrap_or_default();
        // PATCH merges: a text removed from the configuration is sent as ""
        // to clear it (and reads back as unset).
        let cleared = |was: &Option<String>, will: &Option<String>| match (was, will) {
            (Some(_), None) => Some(String::new()),
            _ => will.clone(),
        };
        let mut props = will.body().properties.unwrap_or_default();
        props.description = cleared(&was.description, &will.description);
        props.eula = cleared(&was.eula, &will.eula);
        let patch = GalleryImageUpdate {
            tags: creation_marker::with_mark(&will.tags, &will.marker(&id)),
            properties: Some(props),
            ..Default::default()
        };
        if let Err(e) = arm.run_with(Method::Patch, &id, API, &patch, dl).await {
            return fail(arm_diag("update the image definition", &e));
        }
        match arm.get_as::<ArmGalleryImage>(&id, API, dl).await {
            Ok(Some(g)) => ApplyOutcome {
                state: Model {
                    id: was.id.clone(),
                    ..will
                }
                .with(&g)
                .to_value(),
                private: private.clone(),
                diagnostics: Diagnostics::new(),
            },
            Ok(None) => fail(Diagnostic::error(
                "Image definition vanished",
                format!("{id} disappeared during the update."),
            )),
            Err(e) => fail(arm_diag("read the image definition", &e)),
        }
    }

    async fn delete(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        _private: &Private,
    ) -> Diagnostics {
        let arm = match need(ctx.data().and_then(|d| d.arm()), None) {
            Ok(a) => a,
            Err(d) => return d,
        };
        let id = Model::of(prior).id.unwrap_or_default();
        let dl = deadline(prior, "delete", TIMEOUT);
        delete_arm(arm, &id, API, "the image definition", dl).await
    }

    async fn import(&self, ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        if IDENTITY.of_id(id).is_none() {
            return Err(Diagnostic::error("Invalid import id", format!("Import an image definition by its id, /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/galleries/<gallery>/images/<name>; got {id:?}.")).into());
        }
        let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
        let g = arm
            .get_as::<ArmGalleryImage>(id, API, Instant::now() + TIMEOUT)
            .await
            .map_err(|e| Diagnostics::from(arm_diag("read the image definition", &e)))?
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "No such image definition",
                    format!("{id} does not exist."),
                ))
            })?;
        let parts: Vec<&str> = id.trim_start_matches('/').split('/').collect();
        let imported = Model {
            id: Some(id.to_string()),
            name: Some(parts[9].to_string()),
            gallery_name: Some(parts[7].to_string()),
            resource_group_name: Some(parts[3].to_string()),
            ..Default::default()
        };
        Ok(imported.with(&g).to_value())
    }

    fn identity(&self) -> Option<&dyn crate::framework::IdentityDef> {
        Some(&IDENTITY)
    }
}

/// The list resource: the image definitions of one gallery.
pub struct GalleryImages;

/// The `list` block's configuration.
#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct ListConfig {
    resource_group_name: Option<String>,
    gallery_name: Option<String>,
}

#[async_trait]
impl ListResource<ProviderData> for GalleryImages {
    fn type_name(&self) -> &'static str {
        "rhelazure_gallery_image"
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            "The image definitions of an Azure Compute Gallery, whoever made them.",
            vec![
                Attr::string("resource_group_name")
                    .required()
                    .description("The gallery's resource group."),
                Attr::string("gallery_name")
                    .required()
                    .description("The gallery."),
            ],
        )
    }

    async fn list(
        &self,
        ctx: &Ctx<ProviderData>,
        query: &ListQuery<'_>,
        out: &mut ListResults<'_>,
    ) -> Result<(), Diagnostics> {
        let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
        let filter: ListConfig = model::read(query.config);
        let gallery = Model {
            resource_group_name: filter.resource_group_name,
            gallery_name: filter.gallery_name,
            ..Default::default()
        };
        // The definitions' collection: a definition path without a name.
        let path = gallery.path(arm).trim_end_matches('/').to_string();
        let dl = Instant::now() + TIMEOUT;
        let mut page = arm.first_page(&path, API, dl).await;
        loop {
            let (items, next) = page.map_err(|e| {
                Diagnostics::from(
                    arm_diag("list the image definitions", &e)
                        .at(attr_path!(ListConfig.gallery_name)),
                )
            })?;
            for g in items
                .into_iter()
                .filter_map(|j| serde_json::from_value::<ArmGalleryImage>(j).ok())
            {
                let id = g.id.as_deref().unwrap_or_default();
                let Some(state) = imported_state(&GalleryImage, ctx, id).await? else {
                    continue;
                };
                let identifier = g
                    .properties
                    .as_ref()
                    .and_then(|p| p.identifier.clone())
                    .unwrap_or_default();
                let display_name = format!(
                    "{} ({}:{}:{})",
                    g.name.as_deref().unwrap_or_default(),
                    identifier.publisher.unwrap_or_default(),
                    identifier.offer.unwrap_or_default(),
                    identifier.sku.unwrap_or_default()
                );
                if !out
                    .send(Found {
                        state,
                        display_name,
                    })
                    .await
                {
                    return Ok(());
                }
            }
            let Some(next) = next else { break };
            page = arm.next_page(&next, dl).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_models_have_the_schemas_attributes() {
        let schema = GalleryImage.schema();
        assert_eq!(model::mismatch::<Model>(&schema), None);
        assert_eq!(
            model::mismatch_at::<Identifier>(&schema, &["identifier"]),
            None
        );
        assert_eq!(
            model::mismatch_at::<PurchasePlan>(&schema, &["purchase_plan"]),
            None
        );
    }

    #[test]
    fn a_definition_round_trips_through_arm() {
        let m = Model {
            location: Some("eastus".into()),
            identifier: Some(Identifier {
                publisher: Some("contoso".into()),
                offer: Some("rhel".into()),
                sku: Some("9-gen2".into()),
            }),
            os_state: Some("Generalized".into()),
            hyper_v_generation: Some("V2".into()),
            architecture: Some("Arm64".into()),
            security_type: Some("TrustedLaunchSupported".into()),
            purchase_plan: Some(PurchasePlan {
                name: Some("rhel-lvm96-gen2".into()),
                publisher: Some("redhat".into()),
                product: Some("rhel-byos".into()),
            }),
            description: Some("golden".into()),
            tags: Some(Default::default()),
            ..Default::default()
        };
        let body = m.body();
        assert_eq!(Model::default().with(&body).identifier, m.identifier);
        let back = Model {
            tags: Some(Default::default()),
            ..Default::default()
        }
        .with(&body);
        assert_eq!(back, m);
        assert!(!back.to_value().is_null(), "fits the schema");
    }

    #[test]
    fn definition_names_follow_azures_rule() {
        for ok in ["rhel-9", "rhel_9.6", "R9_"] {
            assert!(valid_definition_name(ok), "{ok}");
        }
        for bad in ["", "-rhel", "rhel-", "rhel 9", &"a".repeat(81)] {
            assert!(!valid_definition_name(bad), "{bad}");
        }
    }
}
